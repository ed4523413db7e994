// What only a real process shows: bin/dify.js as installed, its exit status, stdout and stderr as
// separate pipes, signals, terminals, and the launcher's Node version check (its code cache:
// code-cache.test.ts).
// Everything else about the commands is tested in-process, in test/commands/.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, watch, writeFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { dify, type RunningCli, runCli, startDify, type CliResult } from '../helpers/cli.js';
import { FakeDaemon } from '../helpers/fake-daemon.js';
import { gone, isRunning } from '../helpers/processes.js';
import { localRunWorkspace } from '../helpers/local-run-workspace.js';
import { copyPlugin, EXAMPLE, pluginWith, REAL_FIXTURES, REPO, tempDir } from '../helpers/plugin.js';

const BIN = path.join(REPO, 'bin', 'dify.js');
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** Collects what a child prints and how it ends; the child is killed if the test ends first. */
function finished(child: ChildProcess): Promise<CliResult> {
  onTestFinished(() => void child.kill());
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A JavaScript stack trace, as Node prints an uncaught error. */
const STACK = /^\s+at .+(\(.+:\d+:\d+\)|:\d+:\d+)$/m;

describe('exit status and streams', () => {
  it('0, 2 and 1 as a process; output on stdout, one-line errors on stderr', async () => {
    const [ok, usage, failed] = await Promise.all([
      dify(['--version']),
      dify(['plugin', 'package', '--chek', 'x']),
      dify(['plugin', 'checksum', path.join(REPO, 'nowhere')]),
    ]);
    expect(ok).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(usage.stderr).toMatch(/^error: unknown option '--chek'\n/);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^error: cannot compute the checksum/);
    expect(failed.stderr).not.toMatch(STACK);
  });

  it('bad input gives diagnostics, never a stack trace or a Node warning; a pipe gets no colour', async () => {
    const dir = await pluginWith({
      'manifest.yaml': Buffer.from([0, 159, 146, 150, 255]),
      'provider/hello_world.yaml': '[',
    });
    const r = await dify(['plugin', 'package', '--check', dir, path.join(dir, 'nowhere')], {
      env: { NO_COLOR: undefined },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('file/invalid-utf8');
    expect(r.stdout).toContain('plugin/not-found');
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(r.stdout).not.toMatch(STACK);
    expect(r.stderr).toBe('');
  });

  it('colours a pipe when FORCE_COLOR asks for it', async () => {
    const r = await dify(['plugin', 'package', '--check', EXAMPLE], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(r.stdout).toMatch(/\x1b\[32m✓ no problems/);
  });

  it('is quiet when the reader of its output goes away early (`| head`)', async () => {
    const child = spawn(process.execPath, [BIN, 'plugin', 'package', '--list', EXAMPLE], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = finished(child);
    child.stdout!.destroy(); // gone before the first line: every write of the CLI fails with EPIPE
    const r = await result;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('signals and terminals', () => {
  it('Ctrl-C while packing leaves no partial file', async () => {
    const cwd = await tempDir();
    const plugin = await copyPlugin(EXAMPLE);
    // Enough incompressible bytes that packing is still going when the signal comes.
    for (let i = 0; i < 8; i++)
      await writeFile(path.join(plugin, '_assets', `photo_${i}.png`), randomBytes(4 * 1024 * 1024));
    const watcher = watch(cwd);
    const cli = startDify(['plugin', 'package', plugin, '-o', 'big.difypkg'], { cwd });
    const sawPartial = await new Promise<boolean>((resolve) => {
      watcher.on('change', (_event, file) => {
        if (String(file).endsWith('.tmp')) resolve(true);
      });
      void cli.exited.then(() => resolve(false));
    });
    watcher.close();
    if (sawPartial) cli.child.kill('SIGINT');
    const code = await cli.exited;
    expect(sawPartial).toBe(true);
    expect(code).not.toBe(0);
    expect(await readdir(cwd)).toEqual([]);
  });

  // The 15 s limit is the assertion: a CLI reading the open pipe would never end.
  it('does not wait for input when there is no terminal, even with stdin left open', { timeout: 15_000 }, async () => {
    const dir = await copyPlugin(EXAMPLE);
    const child = spawn(process.execPath, [BIN, 'plugin', 'permission', dir], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'], // stdin is a pipe nobody writes to or closes
    });
    const r = await finished(child);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hint: pass the permissions to grant as flags');
  });

  /** `script` (util-linux) runs the CLI on a real pseudo-terminal. */
  const hasScript = spawnSync('script', ['--version']).status === 0;

  it.skipIf(!hasScript)(
    'init prompts on a terminal, and Ctrl-C at the first question exits 130 leaving nothing behind',
    async () => {
      const cwd = await tempDir();
      const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} plugin init`, '/dev/null'], {
        cwd,
        env: { ...process.env, TERM: 'xterm', CI: undefined },
      });
      let screen = '';
      let sent = false;
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        screen += d;
        if (!sent && screen.includes('Plugin name')) {
          sent = true;
          child.stdin.write('\u0003');
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(screen).toContain('Plugin name');
      expect(screen).toContain('cancelled; nothing was written');
      expect(code).toBe(130); // as a shell reports a command Ctrl-C ends
      expect(await readdir(cwd)).toEqual([]);
    },
  );
});

describe('the built CLI', () => {
  it('runs uv when it is installed', async () => {
    const cwd = await tempDir();
    const uv = path.join(cwd, 'uv');
    await writeFile(uv, '#!/bin/sh\necho "pydantic==2.0.0"\n', { mode: 0o755 });
    const plugin = path.join(REAL_FIXTURES, 'self_refine_agent');
    const r = await dify(['plugin', 'package', plugin, '-o', 'out.difypkg'], { cwd, env: { UV_PATH: uv } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const unzip = spawnSync('unzip', ['-p', path.join(cwd, 'out.difypkg'), 'requirements.txt'], { encoding: 'utf8' });
    expect(unzip.stdout).toBe('pydantic==2.0.0\n');
  });

  it('says plainly that it needs Node.js 20.15', async () => {
    // Node 20.14 as far as the launcher can tell.
    const older =
      'data:text/javascript,Object.defineProperty(process, "versions", { value: { ...process.versions, node: "20.14.0" } }); Object.defineProperty(process, "version", { value: "v20.14.0" });';
    const r = await finished(
      spawn(process.execPath, ['--import', older, BIN, '--version'], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: dify-plugin-cli needs Node.js 20.15 or newer; this is v20.14.0\n');
  });
});

// `dify plugin run`

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

describe('dify plugin run (remote debugging), as a process', () => {
  it('SIGINT stops the plugin and exits 0; killing the CLI outright leaves no orphan either', async () => {
    const d = await daemon();
    const args = [await copyPlugin(EXAMPLE), '--url', d.url, '--key', KEY, '--python', FAKE_PYTHON];
    const cli = start(args, { FAKE_HEARTBEAT_MS: '200' });
    await d.nextRegistered();
    const pid = await pluginPid(cli);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(await gone(pid)).toBe(true);

    // A plugin that never notices it is orphaned (the SDK's check fails under a subreaper): nothing
    // of the CLI runs any more, and the guard beside the plugin kills it.
    // No heartbeat either: a write to the closed pipe would end it as well.
    const cli2 = start(args, { FAKE_HEARTBEAT_MS: '600000', FAKE_NO_ORPHAN_CHECK: '1' });
    await d.nextRegistered();
    const pid2 = await pluginPid(cli2);
    cli2.child.kill('SIGKILL');
    try {
      expect(await gone(pid2)).toBe(true);
    } finally {
      if (isRunning(pid2)) process.kill(pid2, 'SIGKILL');
    }
  });

  it('--watch: the bundle loads its watcher when asked, and sees save after save by rename', async () => {
    const d = await daemon();
    const dir = await copyPlugin(EXAMPLE);
    const cli = start([dir, '--url', d.url, '--key', KEY, '--python', FAKE_PYTHON, '--watch'], {
      FAKE_HEARTBEAT_MS: '200',
    });
    await d.nextRegistered();
    await cli.waitFor('✓ Watching for changes');
    const code = path.join(dir, 'tools', 'greet.py');
    const original = readFileSync(code, 'utf8');
    for (let save = 1; save <= 3; save++) {
      writeFileSync(`${code}.sedtmp`, `${original}\n# save ${save}\n`);
      renameSync(`${code}.sedtmp`, code);
      await cli.waitFor(new RegExp(`(↻ tools/greet\\.py changed[^]*?✓ Plugin restarted[^]*){${save}}`));
    }
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  // The interpreter itself: `python3` on PATH may be a wrapper (a pyenv shim) that execs it later.
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout?.trim();

  // A plugin that speaks just enough of the stdio protocol and starts a process of its own, as a
  // plugin running a tool binary does. It records what it sees of its own start.
  const PROBE = [
    'import json, os, subprocess, sys, time',
    'seen = {"name": __name__, "argv": sys.argv, "path0": sys.path[0], "spec": __spec__.name, "file": __file__}',
    'if os.environ.get("PROBE_ONLY") != "1":',
    '    quiet = subprocess.DEVNULL',
    '    helper = subprocess.Popen(["sleep", "30"], stdin=quiet, stdout=quiet, stderr=quiet)',
    '    seen.update(pid=os.getpid(), helper=helper.pid)',
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

  it.skipIf(process.platform !== 'linux' || !python)(
    'runs the plugin as `python -m <entrypoint>`, literally; a closed terminal (SIGHUP) stops it and what it started',
    async () => {
      const d = await daemon();
      const dir = await pluginWith({ 'main.py': PROBE });
      const probe = path.join(await tempDir(), 'probe.json');
      // Not a plugin of the SDK (python3 may not have it): the interpreter check is left out.
      const cli = start([dir, '--url', d.url, '--key', KEY, '--python', python!, '--no-preflight'], {
        PROBE_FILE: probe,
      });
      await d.nextRegistered();
      await vi.waitUntil(() => existsSync(probe), { timeout: 10_000 });
      const { pid, helper, ...seen } = JSON.parse(readFileSync(probe, 'utf8')) as Record<string, unknown> & {
        pid: number;
        helper: number;
      };
      try {
        // What `ps` shows: the command itself, nothing in front of it.
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
        expect(cmdline).toEqual([python, '-m', 'main']);
        cli.child.kill('SIGHUP');
        expect(await cli.exited).toBe(0);
        expect(await gone(pid)).toBe(true);
        expect(await gone(helper)).toBe(true); // its process group was stopped, not the plugin alone
      } finally {
        for (const p of [pid, helper]) if (isRunning(p)) process.kill(p, 'SIGKILL');
      }
      const direct = path.join(await tempDir(), 'direct.json');
      execFileSync(python!, ['-m', 'main'], {
        cwd: dir,
        env: { ...process.env, PROBE_FILE: direct, PROBE_ONLY: '1' },
      });
      expect(seen).toEqual(JSON.parse(readFileSync(direct, 'utf8')));
    },
  );

  it('a daemon that sends a line without end: one error line and a hint, exit 1, no trace, plugin gone', async () => {
    // After the plugin is up, 65 MiB without a newline: more than the CLI takes in one line.
    let flood = () => undefined as void;
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      flood = () => {
        for (let i = 0; i < 65 && !socket.destroyed; i++) socket.write(chunk);
      };
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void server.close());
    const url = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const cli = start([await copyPlugin(EXAMPLE), '--url', url, '--key', KEY, '--python', FAKE_PYTHON], {
      FAKE_HEARTBEAT_MS: '200',
    });
    const pid = await pluginPid(cli);
    await cli.waitFor('✓ Connected');
    flood();
    expect(await cli.exited).toBe(1);
    const output = cli.output();
    expect(output).toContain(
      `\nerror: the daemon at ${url} sent a line longer than 64 MiB (no newline), which no daemon message is; the connection was closed\nhint: check that the address`,
    );
    expect(output).not.toMatch(STACK);
    expect(output).not.toMatch(/Warning|internal error/);
    expect(await gone(pid)).toBe(true);
  });
});

describe('dify plugin run <file.difypkg> (local run), as a process', () => {
  let pkg = '';
  beforeAll(async () => {
    pkg = path.join(await tempDir(), 'hello.difypkg');
    expect((await runCli(['plugin', 'package', EXAMPLE, '-o', pkg])).code).toBe(0);
  });

  it('SIGTERM during start-up stops the plugin, removes the copy and exits 0', async () => {
    const ws = await localRunWorkspace();
    const cli = start([pkg, '--python', FAKE_PYTHON], { ...ws.env, FAKE_HEARTBEAT_MS: '200', FAKE_NEVER_READY: '1' });
    await vi.waitUntil(() => ws.plugin() !== undefined, { timeout: 10_000 });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(ws.leftovers()).toEqual([]);
    expect(existsSync(ws.plugin()!.cwd)).toBe(false);
    expect(await gone(ws.plugin()!.pid)).toBe(true);
  });

  it('SIGINT with stdin still open stops the plugin, removes the copy and exits 0', async () => {
    const ws = await localRunWorkspace();
    // stdin is a pipe the test keeps open, as a terminal or a harness leaves it
    const child = spawn(
      process.execPath,
      [path.join(REPO, 'bin', 'dify.js'), 'plugin', 'run', pkg, '-r', 'json', '--python', FAKE_PYTHON],
      {
        env: { ...process.env, NO_COLOR: '1', ...ws.env, FAKE_HEARTBEAT_MS: '200' },
      },
    );
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
