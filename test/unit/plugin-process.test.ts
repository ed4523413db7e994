// How the plugin's interpreter is started and stopped: the exact command line, and its process
// group. Real processes, started here directly (the commands around them are in test/commands/).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PluginProcess, type PluginExit } from '../../src/debug/plugin-process.js';
import { gone, isRunning } from '../helpers/processes.js';
import { REPO, tempDir } from '../helpers/plugin.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');

const started: PluginProcess[] = [];
const pids: number[] = [];
afterEach(() => {
  // A failed test must not leave processes behind.
  for (const p of started.splice(0)) p.killNow();
  for (const pid of pids.splice(0)) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
});

function plugin(python: string, cwd: string, env: Record<string, string> = {}, entrypoint = 'main'): PluginProcess {
  const p = new PluginProcess({ python, entrypoint, cwd, env: { ...process.env, ...env } });
  started.push(p);
  return p;
}

function exitOf(p: PluginProcess): Promise<PluginExit> {
  return new Promise((resolve) => p.once('exit', resolve));
}

describe('starting the plugin', () => {
  it.each(['linux', 'darwin', 'win32'] as const)(
    'runs exactly `<python> -m <entrypoint>`, as the daemon does, when on %s',
    async (platform) => {
      const cwd = await tempDir();
      const spy = path.join(cwd, 'spy.json');
      const p = plugin(FAKE_PYTHON, cwd, { FAKE_SPY_FILE: spy }, 'my_plugin.main');
      // Only the spawn sees the other platform: stopping it is this machine's business.
      const real = Object.getOwnPropertyDescriptor(process, 'platform')!;
      Object.defineProperty(process, 'platform', { ...real, value: platform });
      try {
        p.start();
      } finally {
        Object.defineProperty(process, 'platform', real);
      }
      await vi.waitUntil(() => existsSync(spy), { timeout: 10_000 });
      const { argv } = JSON.parse(readFileSync(spy, 'utf8')) as { argv: string[] };
      expect(argv).toEqual([FAKE_PYTHON, '-m', 'my_plugin.main']);
      await p.stop(5_000);
    },
  );

  // The interpreter itself: `python3` on PATH may be a wrapper (a pyenv shim) that execs it later.
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout?.trim();

  it.skipIf(process.platform !== 'linux' || !python)(
    'is the command `ps` shows, and a crash shows the traceback `python -m` prints, with nothing in front',
    async () => {
      const cwd = await tempDir();
      const main = [
        'import os, time',
        'def invoke():',
        '    raise RuntimeError("boom")',
        'if os.environ.get("CRASH") == "1":',
        '    invoke()',
        'print("{}", flush=True)',
        'time.sleep(30)',
        '',
      ].join('\n');
      await writeFile(path.join(cwd, 'main.py'), main);

      const running = plugin(python!, cwd);
      running.start();
      // The spawn returns once the interpreter has been exec'd: its command line is final.
      const cmdline = readFileSync(`/proc/${running.pid!}/cmdline`, 'utf8').split('\0').slice(0, -1);
      expect(cmdline).toEqual([python, '-m', 'main']);
      await running.stop(5_000);

      const crashing = plugin(python!, cwd, { CRASH: '1' });
      const exit = exitOf(crashing);
      crashing.start();
      const { code, stderrTail } = await exit;
      expect(code).toBe(1);
      const direct = spawnSync(python!, ['-m', 'main'], { cwd, env: { ...process.env, CRASH: '1' }, encoding: 'utf8' });
      expect(stderrTail).toEqual(direct.stderr.trimEnd().split('\n'));
      expect(stderrTail.at(-1)).toBe('RuntimeError: boom');
      // No frame of a launcher script (`-c`) or of runpy.run_module() running the plugin for one.
      expect(stderrTail.join('\n')).not.toMatch(/File "<string>"|in run_module\b/);
    },
  );
});

/**
 * A "python" that starts a helper process of its own, which ignores SIGTERM and holds none of its
 * pipes: only a SIGKILL to the plugin's whole process group ends it. It writes the helper's pid
 * to HELPER_PID_FILE, then prints its manifest line and waits (or exits with 3 if CRASH=1).
 */
const GROUP_PLUGIN = `#!/bin/sh
( trap '' TERM; exec sleep 30 ) </dev/null >/dev/null 2>&1 &
echo $! >"$HELPER_PID_FILE.tmp" && mv "$HELPER_PID_FILE.tmp" "$HELPER_PID_FILE"
echo '{}'
[ "$CRASH" = 1 ] && exit 3
exec sleep 30
`;

describe.skipIf(process.platform === 'win32')("the plugin's process group", () => {
  async function startGroupPlugin(env: Record<string, string> = {}) {
    const dir = await tempDir();
    const python = path.join(dir, 'python');
    await writeFile(python, GROUP_PLUGIN, { mode: 0o755 });
    const pidFile = path.join(dir, 'helper.pid');
    const p = plugin(python, dir, { HELPER_PID_FILE: pidFile, ...env });
    const exit = exitOf(p);
    p.start();
    pids.push(p.pid!);
    await vi.waitUntil(() => existsSync(pidFile), { timeout: 10_000 });
    const helper = Number(readFileSync(pidFile, 'utf8'));
    pids.push(helper);
    return { p, exit, pid: p.pid!, helper };
  }

  it('is stopped as a whole: what the plugin started dies with it, SIGTERM or not', async () => {
    const { p, pid, helper } = await startGroupPlugin();
    expect(isRunning(helper)).toBe(true);
    // A grace far longer than the test: the helper may not wait it out.
    await p.stop(60_000);
    expect(isRunning(pid)).toBe(false);
    expect(await gone(helper, 2_000)).toBe(true);
  });

  it('is killed at once by killNow(), as when the CLI exits', async () => {
    const { p, exit, helper } = await startGroupPlugin();
    p.killNow();
    expect((await exit).signal).toBe('SIGKILL');
    expect(await gone(helper, 2_000)).toBe(true);
  });

  it('goes with the plugin when it exits by itself', async () => {
    const { exit, helper } = await startGroupPlugin({ CRASH: '1' });
    expect((await exit).code).toBe(3);
    expect(await gone(helper, 2_000)).toBe(true);
  });
});
