import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isAlive, type RunningCli, runCli, startDify } from '../helpers/cli.js';
import { FakeDaemon } from '../helpers/fake-daemon.js';
import { copyPlugin, EXAMPLE, pluginWith, REPO, tempDir } from '../helpers/plugin.js';

/**
 * What only a real process shows about `dify plugin run`: real signals to the CLI, a CLI killed
 * outright, the plugin's interpreter as a process tree. Everything else is tested in-process
 * (test/commands/run.test.ts and local-run.test.ts).
 */

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');
const KEY = 'test-key';

const running: RunningCli[] = [];
const daemons: FakeDaemon[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
  await Promise.all(daemons.splice(0).map((d) => d.close()));
});

async function daemon(): Promise<FakeDaemon> {
  const d = await FakeDaemon.start();
  daemons.push(d);
  return d;
}

function start(args: string[], env: Record<string, string> = {}): RunningCli {
  const cli = startDify(['plugin', 'run', ...args], { env });
  running.push(cli);
  return cli;
}

/** The pid the fake plugin logs when it starts. */
async function pluginPid(cli: RunningCli): Promise<number> {
  await cli.waitFor(/fake plugin started \(pid \d+\)/);
  return Number(/fake plugin started \(pid (\d+)\)/.exec(cli.output())![1]);
}

/**
 * Whether a process runs: exists, and is not a zombie. An orphan's exit is reaped by whichever
 * process adopted it, possibly a good while later; until then signal 0 still reaches it.
 */
function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return !existsSync('/proc'); // gone meanwhile; or no /proc to tell, and signal 0 has to do
  }
}

/** Nothing tells this process when one it did not start is gone: look until it is. */
async function gone(pid: number, timeoutMs = 5000): Promise<boolean> {
  await vi.waitUntil(() => !isRunning(pid), { timeout: timeoutMs, interval: 20 }).catch(() => undefined);
  return !isRunning(pid);
}

describe('dify plugin run (remote debugging), as a process', () => {
  it('SIGINT stops the plugin and exits 0; killing the CLI leaves no orphan either', async () => {
    const d = await daemon();
    const args = [await copyPlugin(EXAMPLE), '--url', d.url, '--key', KEY, '--python', FAKE_PYTHON];
    const cli = start(args, { FAKE_HEARTBEAT_MS: '200' });
    await d.nextRegistered();
    const pid = await pluginPid(cli);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(await gone(pid)).toBe(true);

    const cli2 = start(args, { FAKE_HEARTBEAT_MS: '200' });
    await d.nextRegistered();
    const pid2 = await pluginPid(cli2);
    cli2.child.kill('SIGKILL');
    expect(await gone(pid2)).toBe(true); // it notices it is orphaned, as the SDK does
  });

  const python3 = (() => {
    try {
      execFileSync('python3', ['-c', 'import ctypes'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  // A plugin that speaks just enough of the stdio protocol and never checks for its parent: only
  // the kernel can stop it once the CLI is gone. It records what it sees of its own start.
  const PROBE = [
    'import json, os, sys, time',
    'seen = {"name": __name__, "argv": sys.argv, "path0": sys.path[0], "spec": __spec__.name, "file": __file__, "pid": os.getpid()}',
    'with open(os.environ["PROBE_FILE"] + ".tmp", "w") as f:',
    '    json.dump(seen, f)',
    'os.replace(os.environ["PROBE_FILE"] + ".tmp", os.environ["PROBE_FILE"])',
    'if os.environ.get("PROBE_ONLY") == "1":',
    '    sys.exit(0)',
    'print(json.dumps({"name": "probe"}), flush=True)',
    'while True:',
    '    time.sleep(1)',
    '',
  ].join('\n');

  it.skipIf(process.platform !== 'linux' || !python3)('on Linux the plugin dies with a killed CLI, and runs as `python -m <entrypoint>` would', async () => {
    const d = await daemon();
    const dir = await pluginWith({ 'main.py': PROBE });
    const probe = path.join(await tempDir(), 'probe.json');
    const cli = start([dir, '--url', d.url, '--key', KEY, '--python', 'python3'], { PROBE_FILE: probe });
    await d.nextRegistered();
    await vi.waitUntil(() => existsSync(probe), { timeout: 10_000 });
    const seen = JSON.parse(readFileSync(probe, 'utf8')) as Record<string, unknown> & { pid: number };
    try {
      cli.child.kill('SIGKILL');
      expect(await gone(seen.pid, 3000)).toBe(true);
    } finally {
      if (isRunning(seen.pid)) process.kill(seen.pid, 'SIGKILL');
    }
    const direct = path.join(await tempDir(), 'direct.json');
    execFileSync('python3', ['-m', 'main'], { cwd: dir, env: { ...process.env, PROBE_FILE: direct, PROBE_ONLY: '1' } });
    const expected = JSON.parse(readFileSync(direct, 'utf8')) as Record<string, unknown>;
    expect({ ...seen, pid: 0 }).toEqual({ ...expected, pid: 0 });
  });
});

describe('dify plugin run <file.difypkg> (local run), as a process', () => {
  let pkg = '';
  beforeAll(async () => {
    pkg = path.join(await tempDir(), 'hello.difypkg');
    expect((await runCli(['plugin', 'package', EXAMPLE, '-o', pkg])).code).toBe(0);
  });

  /** A run's own TMPDIR, to see what it leaves behind, and the file where the fake plugin says where it runs. */
  async function workspace() {
    const work = await tempDir();
    const tmp = path.join(work, 'tmp');
    await mkdir(tmp);
    const spyFile = path.join(work, 'plugin.json');
    return {
      env: { TMPDIR: tmp, FAKE_SPY_FILE: spyFile, FAKE_HEARTBEAT_MS: '200' },
      leftovers: () => readdirSync(tmp),
      plugin: () => (existsSync(spyFile) ? (JSON.parse(readFileSync(spyFile, 'utf8')) as { pid: number; cwd: string }) : undefined),
    };
  }

  it('SIGTERM during start-up stops the plugin, removes the copy and exits 0', async () => {
    const ws = await workspace();
    const cli = start([pkg, '--python', FAKE_PYTHON], { ...ws.env, FAKE_NEVER_READY: '1' });
    await vi.waitUntil(() => ws.plugin() !== undefined, { timeout: 10_000 });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(ws.leftovers()).toEqual([]);
    expect(existsSync(ws.plugin()!.cwd)).toBe(false);
    expect(await gone(ws.plugin()!.pid)).toBe(true);
  });

  it('SIGINT with stdin still open stops the plugin, removes the copy and exits 0', async () => {
    const ws = await workspace();
    // stdin is a pipe the test keeps open, as a terminal or a harness leaves it
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'dify.js'), 'plugin', 'run', pkg, '-r', 'json', '--python', FAKE_PYTHON], {
      env: { ...process.env, NO_COLOR: '1', ...ws.env },
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      let out = '';
      await new Promise<void>((resolve) =>
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('"plugin_ready"')) resolve();
        }),
      );
      const plugin = ws.plugin()!;
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(ws.leftovers()).toEqual([]);
      expect(existsSync(plugin.cwd)).toBe(false);
      expect(await gone(plugin.pid)).toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
