import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localRunCommand, LOCAL_RUN_LIMITS } from '../../src/cli/commands/local-run.js';
import { runCommand, type RunOptions } from '../../src/cli/commands/run.js';
import { DEBUGPY_DEFAULT_PORT, debugpyOptions, VSCODE_ATTACH_NAME } from '../../src/debug/debugpy.js';
import { DEFAULT_TIMERS, type RunTimers } from '../../src/debug/session.js';
import { runCli } from '../helpers/cli.js';
import { FakeDaemon } from '../helpers/fake-daemon.js';
import { copyPlugin, EXAMPLE, REPO, tempDir } from '../helpers/plugin.js';
import { type RunningCommand, startCommand } from './run-harness.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');
const KEY = 'test-key';
const TIMERS: RunTimers = { ...DEFAULT_TIMERS, settleMs: 50, restartInitialMs: 50, watchDebounceMs: 50 };
/** The fake interpreter has debugpy installed (test/helpers/fake-python). */
const WITH_DEBUGPY = { FAKE_DEBUGPY_VERSION: '1.8.14' };

const daemons: FakeDaemon[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function daemon(): Promise<FakeDaemon> {
  const d = await FakeDaemon.start();
  daemons.push(d);
  return d;
}

/** A port nothing listens on now, or one held by this test (`hold`) until it ends. */
async function port(hold = false): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  if (hold) servers.push(server);
  else await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once `test` holds, checked every 10 ms; fails after 10 s. */
async function until(test: () => boolean): Promise<void> {
  for (const started = Date.now(); !test(); await new Promise((resolve) => setTimeout(resolve, 10)))
    if (Date.now() - started > 10_000) throw new Error(`still not so after 10 s: ${test.toString()}`);
}

interface Spy {
  pid: number;
  argv: string[];
  gevent_support: string | null;
}

async function workspace() {
  const dir = await copyPlugin(EXAMPLE);
  const spyFile = path.join(await tempDir(), 'plugin.json');
  return {
    dir,
    spyFile,
    spy: () => (existsSync(spyFile) ? (JSON.parse(readFileSync(spyFile, 'utf8')) as Spy) : undefined),
  };
}

/** `dify plugin run <dir> --debugpy...` against `d`, in-process, with the fake plugin process. */
function run(
  d: FakeDaemon,
  dir: string,
  opts: RunOptions,
  env: Record<string, string>,
  timers = TIMERS,
): RunningCommand {
  const options: RunOptions = { url: d.url, key: KEY, python: FAKE_PYTHON, ...opts };
  return startCommand((io) => runCommand(dir, options, io, timers), { env: { FAKE_HEARTBEAT_MS: '200', ...env } });
}

describe('dify plugin run --debugpy (remote debugging)', () => {
  it('starts the plugin under debugpy, names the VS Code configuration, and the daemon still gets the plugin', async () => {
    const d = await daemon();
    const ws = await workspace();
    const p = await port();
    const cli = run(
      d,
      ws.dir,
      { debugpy: String(p), debugpyWait: true },
      { ...WITH_DEBUGPY, FAKE_SPY_FILE: ws.spyFile },
    );
    const conn = await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    await cli.waitFor('[INFO] fake plugin started'); // after its spy file
    expect(ws.spy()?.argv).toEqual([
      FAKE_PYTHON,
      '-m',
      'debugpy',
      '--listen',
      `127.0.0.1:${p}`,
      '--wait-for-client',
      '-m',
      'main',
    ]);
    // The SDK runs under gevent, which debugpy follows only when told to.
    expect(ws.spy()?.gevent_support).toBe('True');
    const out = cli.stdout();
    expect(out).toContain('Python  ' + FAKE_PYTHON + ' (--python): Python 3.12.4, dify_plugin 0.9.1, debugpy 1.8.14\n');
    expect(out).toContain(
      `Debugpy 127.0.0.1:${p}; the plugin starts once a debugger attaches\n` +
        `        VS Code: Run and Debug → "${VSCODE_ATTACH_NAME}" (.vscode/launch.json, written by dify plugin init) (set its "port" to ${p})\n` +
        '        PyCharm: its debugger cannot attach to a debugpy port;',
    );
    const result = await conn.request({
      user_id: 'u',
      type: 'tool',
      action: 'invoke_tool',
      provider: 'hello_world',
      tool: 'greet',
      tool_parameters: { name: 'Ada' },
      credentials: {},
    });
    expect(result.ended).toBe(true);
  });

  it('keeps the daemon hearing heartbeats while the plugin may be paused at a breakpoint', async () => {
    // The plugin sends one heartbeat, then none for 100 s: as one stopped in a debugger.
    const quiet = { FAKE_HEARTBEAT_MS: '100000' };
    const timers = { ...TIMERS, heartbeatMs: 20 };
    const d = await daemon();
    const ws = await workspace();
    run(d, ws.dir, { debugpy: String(await port()) }, { ...WITH_DEBUGPY, ...quiet }, timers);
    const conn = await d.nextRegistered();
    await until(() => conn.heartbeats >= 5); // every 20 ms: the CLI's

    // Without --debugpy the plugin's own heartbeats are the only ones while it runs. They come
    // every 2 s here: the first, sent as the plugin starts, is not relayed when it comes before
    // the connection (a loaded machine can start the plugin first), and then the next one is.
    const plain = run(d, ws.dir, {}, { FAKE_HEARTBEAT_MS: '2000' }, timers);
    const conn2 = await d.nextRegistered();
    await plain.waitFor('✓ Waiting for requests...');
    await until(() => conn2.heartbeats >= 1);
    await new Promise((resolve) => setTimeout(resolve, 200)); // ten of the CLI's periods
    expect(conn2.heartbeats).toBe(1);
  });

  it('keeps the debugpy wrapper when --watch restarts the plugin', async () => {
    const d = await daemon();
    const ws = await workspace();
    const p = await port();
    const cli = run(d, ws.dir, { debugpy: String(p), watch: true }, { ...WITH_DEBUGPY, FAKE_SPY_FILE: ws.spyFile });
    await d.nextRegistered();
    await cli.waitFor('✓ Watching for changes');
    await cli.waitFor('[INFO] fake plugin started');
    const first = ws.spy()!;
    writeFileSync(path.join(ws.dir, 'main.py'), readFileSync(path.join(ws.dir, 'main.py'), 'utf8') + '\n# edited\n');
    await cli.waitFor((output) => output.split('[INFO] fake plugin started').length === 3);
    expect(ws.spy()!.pid).not.toBe(first.pid);
    expect(ws.spy()!.argv).toEqual([FAKE_PYTHON, '-m', 'debugpy', '--listen', `127.0.0.1:${p}`, '-m', 'main']);
  });

  it('refuses an interpreter without debugpy before connecting, with the command that installs it', async () => {
    const d = await daemon();
    const ws = await workspace();
    const r = await runCli(
      ['plugin', 'run', ws.dir, '--debugpy', '--url', d.url, '--key', KEY, '--python', FAKE_PYTHON],
      {
        env: { FAKE_SPY_FILE: ws.spyFile },
      },
    );
    expect(r.stderr).toBe(
      `error: the Python interpreter ${FAKE_PYTHON} (--python) cannot run this plugin: debugpy is not installed for it (for --debugpy)\n` +
        `hint: install debugpy for it: \`${FAKE_PYTHON} -m pip install debugpy\`\n`,
    );
    expect(r.code).toBe(1);
    expect(d.connections).toHaveLength(0);
    expect(ws.spy()).toBeUndefined(); // the plugin was not started
  });

  it("names the .venv's pip, or uv, and installs the SDK first when it is missing too", async () => {
    const d = await daemon();
    const ws = await workspace();
    const args = ['plugin', 'run', ws.dir, '--debugpy', '--url', d.url, '--key', KEY];
    const { mkdirSync, symlinkSync } = await import('node:fs');
    mkdirSync(path.join(ws.dir, '.venv', 'bin'), { recursive: true });
    symlinkSync(FAKE_PYTHON, path.join(ws.dir, '.venv', 'bin', 'python'));
    let r = await runCli(args, { env: { FAKE_SDK_VERSION: 'none' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'dify_plugin (the Dify plugin SDK) is not installed for it (Python 3.12.4)\n  debugpy is not installed for it (for --debugpy)\n',
    );
    expect(r.stderr).toContain(
      "hint: install the plugin's requirements for it: `.venv/bin/python -m pip install -r requirements.txt`; then install debugpy into it: `.venv/bin/python -m pip install debugpy`\n",
    );
    writeFileSync(path.join(ws.dir, 'pyproject.toml'), '[project]\nname = "hello"\ndependencies = ["dify-plugin"]\n');
    writeFileSync(path.join(ws.dir, 'uv.lock'), 'version = 1\n');
    r = await runCli(args);
    expect(r.stderr).toContain('hint: install debugpy into it: `uv pip install debugpy`\n');
  });

  it('says so when the port is in use, before anything starts', async () => {
    const d = await daemon();
    const ws = await workspace();
    const p = await port(true);
    const r = await runCli(
      ['plugin', 'run', ws.dir, `--debugpy=${p}`, '--url', d.url, '--key', KEY, '--python', FAKE_PYTHON],
      { env: { ...WITH_DEBUGPY, FAKE_SPY_FILE: ws.spyFile } },
    );
    expect(r.stderr).toBe(
      `error: debugpy cannot listen on 127.0.0.1:${p}: it is already in use (another debugging session, or another program)\n` +
        `hint: pick another port, e.g. --debugpy=${p + 1}, and the same "port" in .vscode/launch.json\n`,
    );
    expect(r.code).toBe(1);
    expect(d.connections).toHaveLength(0);
    expect(ws.spy()).toBeUndefined();
  });

  it('refuses a port that is not one (exit 2), checking nothing else first', async () => {
    for (const bad of ['0', '65536', 'abc', '-1', '5678x']) {
      const r = await runCli(['plugin', 'run', '/nonexistent', `--debugpy=${bad}`]);
      expect(r.stderr).toContain(`error: --debugpy "${bad}" is not a port number (1 to 65535)\n`);
      expect(r.stderr).toContain('hint: write the port with an equals sign, --debugpy=5678');
      expect(r.code).toBe(2);
    }
    // An optional value: a directory after --debugpy is taken for the port, and said to be none.
    const r = await runCli(['plugin', 'run', '--debugpy', './my-plugin']);
    expect(r.stderr).toContain('error: --debugpy "./my-plugin" is not a port number');
    expect(r.code).toBe(2);
  });

  it("defaults to debugpy's own port; --debugpy-wait alone implies --debugpy", () => {
    expect(DEBUGPY_DEFAULT_PORT).toBe(5678);
    expect(debugpyOptions(true, undefined)).toEqual({ host: '127.0.0.1', port: 5678, waitForClient: false });
    expect(debugpyOptions(undefined, true)).toEqual({ host: '127.0.0.1', port: 5678, waitForClient: true });
    expect(debugpyOptions(undefined, undefined)).toBeUndefined();
  });

  it('--format json: a debugpy event after the interpreter event, with its version', async () => {
    const d = await daemon();
    const ws = await workspace();
    const p = await port();
    const cli = run(d, ws.dir, { debugpy: String(p), format: 'json' }, WITH_DEBUGPY);
    await d.nextRegistered();
    await cli.waitFor('"registered"');
    const events = cli.json();
    expect(events.find((e) => e.event === 'interpreter')).toMatchObject({ debugpy_version: '1.8.14' });
    expect(events.find((e) => e.event === 'debugpy')).toMatchObject({
      host: '127.0.0.1',
      port: p,
      wait_for_client: false,
      vscode_configuration: VSCODE_ATTACH_NAME,
    });
  });
});

describe('dify plugin run --debugpy (local run)', () => {
  let pkg = '';
  beforeAll(async () => {
    pkg = path.join(await tempDir(), 'hello.difypkg');
    expect((await runCli(['plugin', 'package', EXAMPLE, '-o', pkg])).code).toBe(0);
  });

  it('runs a package under debugpy, the attach instructions on stderr and the protocol alone on stdout', async () => {
    const spyFile = path.join(await tempDir(), 'plugin.json');
    const p = await port();
    const cli = startCommand(
      (io) => localRunCommand(pkg, { python: FAKE_PYTHON, responseFormat: 'json', debugpy: String(p) }, io),
      { env: { ...WITH_DEBUGPY, FAKE_SPY_FILE: spyFile, FAKE_HEARTBEAT_MS: '200' } },
    );
    await cli.waitFor('plugin_ready');
    const spy = JSON.parse(readFileSync(spyFile, 'utf8')) as Spy;
    expect(spy.argv).toEqual([FAKE_PYTHON, '-m', 'debugpy', '--listen', `127.0.0.1:${p}`, '-m', 'main']);
    expect(cli.stderr()).toContain(
      `debugpy listening on 127.0.0.1:${p}\n  VS Code: Run and Debug → "${VSCODE_ATTACH_NAME}"`,
    );
    for (const line of cli.stdout().trim().split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('refuses an interpreter without debugpy (exit 1, nothing started)', async () => {
    const spyFile = path.join(await tempDir(), 'plugin.json');
    const r = await runCli(['plugin', 'run', pkg, '--debugpy', '--python', FAKE_PYTHON], {
      env: { FAKE_SPY_FILE: spyFile },
    });
    expect(r.stderr).toContain(
      `error: the Python interpreter ${FAKE_PYTHON} (--python) cannot run this plugin under debugpy: debugpy is not installed for it\n` +
        `hint: install debugpy for it: \`${FAKE_PYTHON} -m pip install debugpy\`\n`,
    );
    expect(r.code).toBe(1);
    expect(existsSync(spyFile)).toBe(false);
  });

  it('with --debugpy-wait, waits for the debugger however long the plugin takes to start', async () => {
    // A plugin that never becomes ready (as one waiting for a debugger) outlives the start timeout.
    const limits = { ...LOCAL_RUN_LIMITS, startTimeoutMs: 50 };
    const env = { ...WITH_DEBUGPY, FAKE_NEVER_READY: '1' };
    const opts = { python: FAKE_PYTHON, debugpy: String(await port()) };
    const waiting = startCommand((io) => localRunCommand(pkg, { ...opts, debugpyWait: true }, io, limits), { env });
    const timedOut = startCommand((io) => localRunCommand(pkg, opts, io, limits), { env });
    const end = await timedOut.ended;
    expect(end.code).toBe(1);
    expect(end.error?.message).toContain('was not ready after 0.05 s');
    let ended = false;
    void waiting.ended.then(() => (ended = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ended).toBe(false);
  });
});
