import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand, type RunOptions } from '../../src/cli/commands/run.js';
import { DEFAULT_TIMERS, type RunTimers } from '../../src/debug/session.js';
import { isAlive, runCli } from '../helpers/cli.js';
import { FakeDaemon, type FakeDaemonOptions } from '../helpers/fake-daemon.js';
import {
  COMPARE_REGISTRATION,
  copyPlugin,
  EXAMPLE,
  GOLDEN_REGISTRATIONS,
  pluginWith,
  REAL_FIXTURES,
  REPO,
  tempDir,
} from '../helpers/plugin.js';
import { pluginPids, pluginsStarted, type RunningCommand, startCommand } from './run-harness.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');
const KEY = 'test-key';
const ZERO_KEY = '00000000-0000-0000-0000-000000000000';

/**
 * The session's timers, short: a registration is accepted after 50 ms of quiet, reconnections and
 * restarts come after tens of milliseconds, --watch acts 50 ms after the last change.
 */
const TIMERS: RunTimers = {
  ...DEFAULT_TIMERS,
  settleMs: 50,
  reconnectInitialMs: 5,
  restartInitialMs: 50,
  watchDebounceMs: 50,
};

const daemons: FakeDaemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.close()));
});

async function daemon(options: FakeDaemonOptions = {}): Promise<FakeDaemon> {
  const d = await FakeDaemon.start(options);
  daemons.push(d);
  return d;
}

interface RunSetup {
  /** The plugin directory (default: a copy of the example). */
  dir?: string;
  env?: Record<string, string>;
  timers?: RunTimers;
  cwd?: string;
}

/** `dify plugin run`, in-process, on a copy of the example plugin, against `d`, with the fake plugin process. */
async function run(d: FakeDaemon, opts: RunOptions = {}, setup: RunSetup = {}): Promise<RunningCommand> {
  const dir = setup.dir ?? (await copyPlugin(EXAMPLE));
  const options: RunOptions = { url: d.url, key: KEY, python: FAKE_PYTHON, ...opts };
  const env = { FAKE_HEARTBEAT_MS: '200', ...setup.env };
  return startCommand((io) => runCommand(dir, options, io, setup.timers ?? TIMERS), {
    env,
    ...(setup.cwd ? { cwd: setup.cwd } : {}),
  });
}

/** `dify plugin run` against `d` to its end, in-process, on the given plugin directory. */
function runToEnd(d: FakeDaemon, dir: string, extra: string[] = []) {
  return runCli(['plugin', 'run', dir, '--url', d.url, '--key', KEY, '--python', FAKE_PYTHON, ...extra]);
}

const tool = (name: string, parameters: Record<string, unknown> = {}) => ({
  user_id: 'u',
  type: 'tool',
  action: 'invoke_tool',
  provider: 'hello_world',
  tool: name,
  tool_parameters: parameters,
  credentials: {},
});

describe('dify plugin run --dry-run', () => {
  const names = readdirSync(REAL_FIXTURES, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

  it('prints exactly what the Python SDK sends, for each of the seven real plugins', async () => {
    expect(names).toHaveLength(7);
    const out = await tempDir();
    const pairs: string[] = [];
    for (const name of names) {
      const r = await runCli([
        'plugin',
        'run',
        '--dry-run',
        '--show-key',
        '--key',
        ZERO_KEY,
        path.join(REAL_FIXTURES, name),
      ]);
      expect(r.code, r.stderr).toBe(0);
      const candidate = path.join(out, `${name}.jsonl`);
      writeFileSync(candidate, r.stdout);
      pairs.push(candidate, path.join(GOLDEN_REGISTRATIONS, `${name}.jsonl`));
    }
    // One interpreter compares all seven, each reported on its own.
    let output: string;
    let status = 0;
    try {
      output = execFileSync('python3', [COMPARE_REGISTRATION, ...pairs, '--key', ZERO_KEY], { encoding: 'utf8' });
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      status = e.status;
      output = `${e.stdout}${e.stderr}`;
    }
    expect(status, output).toBe(0);
    expect(output.match(/^OK: /gm), output).toHaveLength(names.length);
  });

  it('prints a registration only remote debugging would refuse: the finding on stderr, exit 1', async () => {
    const greet = readFileSync(path.join(EXAMPLE, 'tools/greet.yaml'), 'utf8').replace(
      '    form: llm\n',
      '    form: llm\n    options:\n      - value: ""\n        label:\n          en_US: none\n',
    );
    const dir = await pluginWith({ 'tools/greet.yaml': greet });
    const check = await runCli(['plugin', 'package', '--check', dir]);
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toContain('warning');
    expect(check.stdout).toContain(
      'remote debugging would reject this: parameters[0].options[0].value must not be empty',
    );

    const r = await runCli(['plugin', 'run', '--dry-run', '--key', ZERO_KEY, dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error');
    expect(r.stderr).toContain('remote debugging rejects this: parameters[0].options[0].value must not be empty');
    const types = r.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types[0]).toBe('handshake');
    expect(types.at(-1)).toBe('end');

    // Without --dry-run it stops before connecting: nothing listens on port 9.
    const run = await runCli(['plugin', 'run', dir, '--url', '127.0.0.1:9', '--key', KEY]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the plugin has errors; fix them before debugging it');
    expect(run.stdout).toContain('remote debugging rejects this');
  });

  it('masks the key unless --show-key', async () => {
    const r = await runCli(['plugin', 'run', '--dry-run', '--key', 'abcd1234-5678-90ab-cdef-1234567890ab', EXAMPLE]);
    const first = JSON.parse(r.stdout.split('\n')[0]!) as { type: string; data: { key: string } };
    expect(first).toEqual({ type: 'handshake', data: { key: 'abcd••••••••ab' } });
    expect(r.stdout.trim().split('\n').at(-1)).toBe('{"type":"end","data":{}}');
  });
});

describe('dify plugin run against a daemon', () => {
  it('registers, relays a tool request and its stream, and shows the plugin logs', async () => {
    const d = await daemon();
    const cli = await run(d);
    const conn = await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    expect(cli.output()).toContain('✓ Connected to Dify remote debugging server');
    expect(cli.output()).toContain('✓ Plugin registered: dify-plugin-cli/hello_world:0.0.1');
    expect(cli.output()).toMatch(/Key {5}•{8} \(--key\)/); // a short key is masked whole
    expect(conn.registration.map((m) => m.type)).toEqual([
      'handshake',
      'manifest_declaration',
      'tool_declaration',
      'asset_chunk',
      'end',
    ]);
    expect([...conn.assets.keys()]).toEqual(['icon.svg']);

    const result = await conn.request(tool('greet', { name: 'Ada' }));
    expect(result.ended).toBe(true);
    expect(result.messages.map((m) => m.type)).toEqual(['stream', 'end']);
    expect(JSON.stringify(result.messages[0]!.data)).toContain('Ada');
    await cli.waitFor(/← ok in \d+/);
    expect(cli.output()).toMatch(/→ tool invoke_tool hello_world\/greet \(session [0-9a-f]{8}\)/);
    expect(cli.output()).toContain('[INFO] fake plugin started');
    expect(conn.events.filter((e) => e.event === 'log')).toEqual([]); // logs stay on screen
  });

  it('relays a backwards invocation from the plugin to the daemon and back', async () => {
    const d = await daemon();
    await run(d);
    const conn = await d.nextRegistered();
    const result = await conn.request(tool('backwards'));
    expect(result.backwards).toHaveLength(1);
    expect(result.ended).toBe(true);
    expect(JSON.stringify(result.messages)).toContain('echo');
  });

  it('explains an invalid key, exits 1 and does not retry', async () => {
    const d = await daemon({ keys: ['another-key'] });
    const r = await runToEnd(d, await copyPlugin(EXAMPLE));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: the daemon does not know this debug key');
    expect(r.stderr).toContain('daemon: handshake failed, invalid key');
    expect(r.stderr).toMatch(/hint: copy a fresh key from Dify.*expires two hours after/);
    expect(d.connections).toHaveLength(1);
  });

  it('explains a rejected declaration and exits 1', async () => {
    const d = await daemon({
      rejectDeclaration: (type) => (type === 'tool_declaration' ? 'identity.name is required' : undefined),
    });
    const r = await runToEnd(d, await copyPlugin(EXAMPLE));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: the daemon rejected a declaration: identity.name is required/);
    expect(r.stderr).toContain('hint: run `dify plugin package --check .`');
  });

  it('reconnects and registers again when the daemon drops the connection, keeping the plugin running', async () => {
    const d = await daemon();
    const cli = await run(d);
    const first = await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    const [pid] = await pluginsStarted(cli);
    first.drop();
    const second = await d.nextRegistered();
    await cli.waitFor('✓ Registered again');
    expect(cli.output()).toContain('Lost the connection to the daemon; reconnecting (the plugin keeps running)');
    expect(cli.output()).toContain(`Reconnecting in ${TIMERS.reconnectInitialMs} ms (attempt 1)`); // a plain line: no terminal here
    expect(second.registration.map((m) => m.type)).toEqual([
      'handshake',
      'manifest_declaration',
      'tool_declaration',
      'asset_chunk',
      'end',
    ]);
    const result = await second.request(tool('greet'));
    expect(result.ended).toBe(true);
    expect(pluginPids(cli.output())).toEqual([pid]); // never restarted
    expect(isAlive(pid!)).toBe(true);
  });

  it('gives up on an unreachable daemon after a bounded number of attempts, waiting longer each time', async () => {
    const d = await daemon();
    await d.close();
    const cli = await run(d);
    const { code, error } = await cli.ended;
    expect(code).toBe(1);
    expect(error?.message).toMatch(/^cannot reach the Dify plugin daemon at 127\.0\.0\.1:\d+ .* after 5 attempts$/);
    expect(error?.hint).toMatch(/check that Dify is running/);
    expect([...cli.stdout().matchAll(/retrying in (.*)$/gm)].map((m) => m[1])).toEqual([
      '5 ms',
      '10 ms',
      '20 ms',
      '40 ms',
    ]);
  });

  it('restarts the plugin when it crashes, showing its exit code and stderr', async () => {
    const d = await daemon();
    const cli = await run(d);
    const conn = await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    void conn.request(tool('crash')).catch(() => undefined);
    await cli.waitFor(`The plugin process exited with code 3; restarting it in ${TIMERS.restartInitialMs} ms`);
    await cli.waitFor('← error');
    expect(cli.output()).toContain('RuntimeError: fake plugin crashed on purpose');
    const [before, after] = await pluginsStarted(cli, 2);
    expect(after).not.toBe(before);
    const result = await conn.request(tool('greet'));
    expect(result.ended).toBe(true);
  });

  it('restarts a plugin that crashes after running a while, however strict the crash-loop rule', async () => {
    const d = await daemon();
    // One exit within 100 ms of its start would end the run: this one comes later.
    const cli = await run(d, {}, { timers: { ...TIMERS, crashLoopRunMs: 100, crashLoopCount: 1 } });
    const conn = await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    await new Promise((resolve) => setTimeout(resolve, 150));
    void conn.request(tool('crash')).catch(() => undefined);
    await pluginsStarted(cli, 2);
    expect(cli.output()).toContain('The plugin process exited with code 3; restarting it');
  });

  it.each([
    ['Ctrl-C', 'SIGINT'],
    ['a closed terminal', 'SIGHUP'],
  ] as const)('%s (%s) stops the plugin and exits 0', async (_, signal) => {
    const d = await daemon();
    const cli = await run(d);
    await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    const [pid] = await pluginsStarted(cli);
    cli.signal(signal);
    expect((await cli.ended).code).toBe(0);
    expect(isAlive(pid!)).toBe(false);
  });

  it('relays a 5 MB line from the plugin', async () => {
    const d = await daemon();
    await run(d);
    const conn = await d.nextRegistered();
    const result = await conn.request(tool('big'));
    expect(result.ended).toBe(true);
    expect(JSON.stringify(result.messages[0]!.data).length).toBeGreaterThan(5 * 1024 * 1024);
  });

  it('relays a burst of 10,000 messages in order', async () => {
    const d = await daemon();
    await run(d);
    const conn = await d.nextRegistered();
    const result = await conn.request(tool('burst'), 60_000);
    const streamed = result.messages.filter((m) => m.type === 'stream');
    expect(streamed).toHaveLength(10_000);
    expect(streamed.every((m, i) => JSON.stringify(m.data).includes(`"text":"${i} `))).toBe(true);
    expect(result.messages.at(-1)!.type).toBe('end');
  });

  it('--format json prints the session as JSON events', async () => {
    const d = await daemon();
    const cli = await run(d, { format: 'json' });
    const conn = await d.nextRegistered();
    await conn.request(tool('greet'));
    await cli.waitFor('"event":"response"');
    const events = cli
      .output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    expect(events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['connected', 'registered', 'request', 'response', 'log']),
    );
  });

  it('exits 1 without a key, naming where to get one', async () => {
    const dir = await copyPlugin(EXAMPLE);
    const r = await runCli(['plugin', 'run', dir, '--url', '127.0.0.1:9'], {
      env: { REMOTE_INSTALL_KEY: undefined, DIFY_DEBUG_KEY: undefined },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: no debug key is configured\nhint: copy it from Dify/);
  });
});

describe('dify plugin run: how a session ends', () => {
  it('with --no-preflight, exits 1 with the reason when the interpreter cannot be started', async () => {
    const d = await daemon();
    const dir = await copyPlugin(EXAMPLE);
    const r = await runCli([
      'plugin',
      'run',
      dir,
      '--url',
      d.url,
      '--key',
      KEY,
      '--python',
      '/nonexistent/python',
      '--no-preflight',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot start the plugin with \/nonexistent\/python: .*ENOENT/m);
    expect(r.stderr).toContain('hint: pass --python');
  });

  it('stops a plugin that crashes right after each restart, with its traceback and a hint, exit 1', async () => {
    const d = await daemon();
    const timers = { ...TIMERS, restartInitialMs: 10, restartMaxMs: 20, crashLoopRunMs: 5000, crashLoopCount: 3 };
    const cli = await run(d, {}, { env: { FAKE_CRASH_AT_START: '1' }, timers });
    const { code, error } = await cli.ended;
    expect(code).toBe(1);
    expect(error?.message).toBe(
      `the plugin process exited with code 1 within 5 s of starting, 3 times in a row, so it is not restarted again; its last output:
    Traceback (most recent call last):
      File "/fake/plugin/main.py", line 1, in <module>
    ModuleNotFoundError: No module named 'requests'`,
    );
    expect(error?.hint).toBe(
      `a module is missing: install the plugin's requirements for ${FAKE_PYTHON} (e.g. \`${FAKE_PYTHON} -m pip install -r requirements.txt\`, or \`uv sync\` for a uv project), then run again`,
    );
    expect(cli.output().match(/The plugin process exited with code 1; restarting it/g)).toHaveLength(2);
  });

  it('under --watch, a plugin that keeps crashing as it starts waits for the next saved change instead of ending the run', async () => {
    const d = await daemon();
    const dir = await copyPlugin(EXAMPLE);
    const timers = { ...TIMERS, restartInitialMs: 10, restartMaxMs: 20, crashLoopRunMs: 5000, crashLoopCount: 3 };
    const cli = await run(d, { watch: true }, { dir, env: { FAKE_CRASH_AT_START: '1' }, timers });
    const waiting = 'it keeps crashing as it starts, so it is not restarted until a file changes';
    await cli.waitFor(waiting);
    await cli.waitFor('✓ Watching for changes');
    const code = path.join(dir, 'tools', 'greet.py');
    writeFileSync(code, `${readFileSync(code, 'utf8')}\n# fixed?\n`);
    // Restarted by the change, it crashes three more times and waits again: the run goes on.
    await cli.waitFor((output) => output.split(waiting).length === 3);
    cli.signal('SIGINT');
    expect((await cli.ended).code).toBe(0);
  });

  it('exits 1 when a reconnection is refused (the key expired meanwhile)', async () => {
    const d = await daemon();
    const cli = await run(d);
    const first = await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    d.options.keys.splice(0); // no key is valid any more
    first.drop();
    const { code, error } = await cli.ended;
    expect(code).toBe(1);
    expect(error?.message).toMatch(/^the daemon does not know this debug key/);
    expect(d.connections).toHaveLength(2);
  });

  it('takes a refusal that comes after the quiet period as a refusal: exit 1, no retry, nothing relayed', async () => {
    // The reply comes 150 ms after the registration, well after its 50 ms quiet period.
    const d = await daemon({ keys: ['another-key'], replyDelayMs: 3 * TIMERS.settleMs });
    const log = path.join(await tempDir(), 'stdin.log');
    const cli = await run(d, {}, { env: { FAKE_LOG_FILE: log } });
    const { code, error } = await cli.ended;
    expect(code).toBe(1);
    expect(error?.message).toMatch(/^the daemon does not know this debug key/);
    expect(error?.message).toContain('daemon: handshake failed, invalid key');
    expect(cli.output()).not.toContain('Registered again');
    expect(d.connections).toHaveLength(1);
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').not.toContain('handshake failed');
  });

  it('says when the address is not a plugin daemon at all (a web server)', async () => {
    const server = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const dir = await copyPlugin(EXAMPLE);
      const url = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const r = await runCli(['plugin', 'run', dir, '--url', url, '--key', KEY, '--python', FAKE_PYTHON]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^error: this does not look like a Dify plugin daemon: it answered like a web server\n {2}server: HTTP\/1\.1 400 Bad Request\nhint: check the address/,
      );
    } finally {
      server.close();
    }
  });

  it('Ctrl-C while connecting stops the plugin and exits 0 (with --watch, before watching)', async () => {
    const d = await daemon();
    await d.close();
    // A retry a minute away: Ctrl-C comes while the CLI waits for it.
    const cli = await run(d, { watch: true }, { timers: { ...TIMERS, reconnectInitialMs: 60_000 } });
    const [pid] = await pluginsStarted(cli);
    await cli.waitFor('retrying in');
    cli.signal('SIGINT');
    expect((await cli.ended).code).toBe(0);
    expect(isAlive(pid!)).toBe(false);
    expect(cli.output()).not.toContain('Watching for changes');
  });

  it('a second Ctrl-C kills a plugin that ignores SIGTERM at once', async () => {
    const d = await daemon();
    // A grace period longer than the test: only the second Ctrl-C can end it in time.
    const cli = await run(d, {}, { env: { FAKE_IGNORE_SIGTERM: '1' }, timers: { ...TIMERS, stopGraceMs: 60_000 } });
    await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    const [pid] = await pluginsStarted(cli);
    cli.signal('SIGINT');
    await cli.waitFor('[INFO] ignoring SIGTERM');
    expect(isAlive(pid!)).toBe(true); // within the grace period
    const second = Date.now();
    cli.signal('SIGINT');
    expect((await cli.ended).code).toBe(0);
    expect(Date.now() - second).toBeLessThan(2000);
    expect(isAlive(pid!)).toBe(false);
  });

  it('takes a relative --python from the current directory, not from the plugin directory', async () => {
    const d = await daemon();
    const cli = await run(d, { python: path.relative(REPO, FAKE_PYTHON) }, { cwd: REPO });
    await d.nextRegistered();
    await cli.waitFor('[INFO] fake plugin started');
    expect(cli.output()).toContain(`Python  ${FAKE_PYTHON} (--python)`);
  });
});

describe('dify plugin run --watch', () => {
  it('registers again after YAML edits, one at a time, holding one connection; Ctrl-C exits 0', async () => {
    const d = await daemon();
    const dir = await copyPlugin(EXAMPLE);
    const cli = await run(d, { watch: true }, { dir });
    await d.nextRegistered();
    await cli.waitFor('✓ Watching for changes');
    const yaml = path.join(dir, 'tools', 'greet.yaml');
    const original = readFileSync(yaml, 'utf8');
    writeFileSync(yaml, original.replace('Says hello to someone.', 'Says hello (edit 1).'));
    await cli.waitFor('↻ tools/greet.yaml changed'); // the first edit is being handled...
    writeFileSync(yaml, original.replace('Says hello to someone.', 'Says hello (edit 2).'));
    // ... the second one after it: it registers again, then restarts the plugin.
    await cli.waitFor((output) => output.split('✓ Plugin restarted').length === 3);
    // A registration it abandoned for a newer one is closed and fails a request: the CLI answers
    // on its last one only, which has the last edit.
    let last = await d.nextRegistered();
    let result = await last.request(tool('greet'));
    while (!result.ended) {
      last = await d.nextRegistered();
      result = await last.request(tool('greet'));
    }
    expect(JSON.stringify(last.registration)).toContain('edit 2');
    expect(last).toBe(d.connections.at(-1));
    // ... and the only connection left: every other one is closed.
    await Promise.all(d.connections.filter((c) => c !== last).map((c) => c.closed));
    expect(d.connections.filter((c) => c.isOpen)).toEqual([last]);
    expect(cli.output()).toContain('↻ tools/greet.yaml changed');
    expect(cli.output()).toContain('✓ Registered again');
    cli.signal('SIGINT');
    expect((await cli.ended).code).toBe(0);
  });

  it('follows rename-saves, and an edit of .difyignore: what it then leaves out no longer restarts', async () => {
    const d = await daemon();
    const dir = await copyPlugin(EXAMPLE);
    const cli = await run(d, { watch: true }, { dir });
    await d.nextRegistered();
    await cli.waitFor('✓ Watching for changes');
    const restarts = (n: number) => (output: string) => output.split('✓ Plugin restarted').length === n + 1;
    const code = path.join(dir, 'tools', 'greet.py');
    for (let save = 1; save <= 2; save++) {
      writeFileSync(`${code}.tmp-save`, `${readFileSync(code, 'utf8')}\n# save ${save}\n`);
      renameSync(`${code}.tmp-save`, code);
      await cli.waitFor(restarts(save));
    }
    appendFileSync(path.join(dir, '.difyignore'), 'data/\n');
    await cli.waitFor('✓ Registered again');
    await cli.waitFor(restarts(3));
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data', 'cache.json'), '{}');
    writeFileSync(code, `${readFileSync(code, 'utf8')}\n# save 3\n`);
    await cli.waitFor(restarts(4));
    const changed = cli
      .output()
      .split('\n')
      .filter((line) => line.startsWith('↻'));
    expect(changed).toEqual([
      '↻ tools/greet.py changed',
      '↻ tools/greet.py changed',
      '↻ .difyignore changed',
      '↻ tools/greet.py changed',
    ]);
    cli.signal('SIGINT');
    expect((await cli.ended).code).toBe(0);
  });
});

describe('dify plugin run --format json', () => {
  it('reports the registration before a request that arrives with it', async () => {
    const d = await daemon();
    // A quiet period longer than the test: the request is what proves the registration accepted.
    const cli = await run(d, { format: 'json' }, { timers: { ...TIMERS, settleMs: 60_000 } });
    const conn = await d.nextRegistered();
    await conn.request(tool('greet'));
    await cli.waitFor('"event":"response"');
    const names = cli.json<{ event: string }>().map((e) => e.event);
    expect(names.indexOf('registered')).toBeGreaterThanOrEqual(0);
    expect(names.indexOf('registered')).toBeLessThan(names.indexOf('request'));
  });

  it('ends with a fatal error event and a stopped event; stderr has the message', async () => {
    const d = await daemon({ keys: ['another-key'] });
    const dir = await copyPlugin(EXAMPLE);
    const r = await runToEnd(d, dir, ['--format', 'json']);
    expect(r.code).toBe(1);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.at(-2)).toMatchObject({
      event: 'error',
      fatal: true,
      message: expect.stringContaining('the daemon does not know this debug key'),
      hint: expect.stringContaining('copy a fresh key'),
      daemon_reply: 'handshake failed, invalid key',
    });
    expect(events.at(-1)).toMatchObject({ event: 'stopped', exit_code: 1 });
    expect(r.stderr).toContain('error: the daemon does not know this debug key');
  });

  it('keeps stdout JSON when the plugin has errors: the report goes to stderr', async () => {
    const dir = await pluginWith({ 'tools/greet.yaml': 'identity: [\n' });
    const r = await runCli(['plugin', 'run', dir, '--url', '127.0.0.1:9', '--key', KEY, '--format', 'json']);
    expect(r.code).toBe(1);
    const events = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { event: string; fatal?: boolean; message?: string; diagnostics?: { file: string }[] },
      );
    expect(events.map((e) => e.event)).toEqual(['error', 'stopped']);
    expect(events[0]!.message).toBe('the plugin has errors; fix them before debugging it');
    expect(events[0]!.diagnostics!.some((d) => d.file === 'tools/greet.yaml')).toBe(true);
    expect(r.stderr).toContain('tools/greet.yaml');
  });
});

/** A TCP server standing in for a daemon that misbehaves: `onSocket` does what it does with each connection. */
async function rawServer(onSocket: (socket: net.Socket) => void): Promise<{ url: string }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined); // the CLI hangs up on it
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stopServers.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { url: `127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}
const stopServers: (() => void)[] = [];
afterEach(() => {
  for (const stop of stopServers.splice(0)) stop();
});

/** `dify plugin run` in-process against an address that is not a FakeDaemon. */
function runAgainst(url: string, dir: string, timers: RunTimers = TIMERS): RunningCommand {
  const options: RunOptions = { url, key: KEY, python: FAKE_PYTHON };
  return startCommand((io) => runCommand(dir, options, io, timers), { env: { FAKE_HEARTBEAT_MS: '200' } });
}

describe('dify plugin run against a broken or hostile daemon', () => {
  it.each([
    ['while it registers', 10_000, '✓ Connected'],
    ['once registered', TIMERS.settleMs, '✓ Waiting for requests'],
  ])(
    'closes the session when the daemon sends a line without end %s, instead of buffering it',
    async (_, settleMs, when) => {
      // 65 MiB without a newline, one shared 1 MiB buffer written over and over, once the plugin
      // has said its pid (the session could otherwise be over before it does) and the CLI is at `when`.
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      let ready!: () => void;
      const go = new Promise<void>((resolve) => (ready = resolve));
      const { url } = await rawServer((socket) => {
        void go.then(() => {
          for (let i = 0; i < 65 && !socket.destroyed; i++) socket.write(chunk);
        });
      });
      const cli = runAgainst(url, await copyPlugin(EXAMPLE), { ...TIMERS, settleMs });
      const [pid] = await pluginsStarted(cli);
      await cli.waitFor(when);
      ready();
      const { code, error } = await cli.ended;
      expect(code).toBe(1);
      expect(error?.message).toBe(
        `the daemon at ${url} sent a line longer than 64 MiB (no newline), which no daemon message is; the connection was closed`,
      );
      expect(error?.hint).toMatch(/remote-debugging port/);
      expect(cli.output()).not.toContain('Lost the connection'); // not retried
      expect(isAlive(pid!)).toBe(false);
    },
  );

  it('kills (and restarts) a plugin that writes a line without end, and cuts its stderr lines', async () => {
    const script = path.join(await tempDir(), 'runaway-plugin.mjs');
    writeFileSync(
      script,
      `process.stdout.write('{}\\n' + JSON.stringify({ event: 'heartbeat', session_id: null, data: {} }) + '\\n');
const chunk = 'x'.repeat(1024 * 1024);
let sent = 0;
const more = () => {
  while (sent < 70) if (sent++, !process.stdout.write(chunk)) return void process.stdout.once('drain', more);
};
// The flood starts once stderr is written, and a while later, for the CLI to show it first.
process.stderr.write('before\\n' + 'e'.repeat(3 * 1024 * 1024) + '\\nafter\\n', () => setTimeout(more, 200));
setInterval(() => undefined, 1000);
`,
    );
    const d = await daemon();
    const dir = await copyPlugin(EXAMPLE);
    const cli = startCommand(
      (io) =>
        runCommand(dir, { url: d.url, key: KEY, python: FAKE_PYTHON }, io, { ...TIMERS, restartInitialMs: 60_000 }),
      { env: { FAKE_PLUGIN_MJS: script } },
    );
    await cli.waitFor('restarting it in');
    expect(cli.output()).toContain(
      '✖ The plugin process was killed: it wrote a line longer than 64 MiB on stdout; restarting it in 60 s',
    );
    // Its stderr was shown as it came, before it was killed.
    // (The CLI's own status lines may come between them: two pipes keep no order between them.)
    const before = cli.output().split('✖ The plugin process was killed')[0]!;
    const pluginLines = before.split('\n').filter((l) => l.startsWith('    '));
    expect(pluginLines.join('\n')).toMatch(
      /^ {4}before\n {4}\(a line longer than 1 MiB, left out\)\n {4}e{1000}…\n {4}after$/,
    );
    cli.signal('SIGINT');
    expect((await cli.ended).code).toBe(0);
  });

  it('gives up on a daemon that accepts the connection but never reads the registration', async () => {
    // 16 MiB of assets: more than the socket buffers of both ends hold, so the writes never finish.
    const dir = await pluginWith({ '_assets/big.bin': Buffer.alloc(16 * 1024 * 1024, 7) });
    const { url } = await rawServer((socket) => socket.pause());
    const cli = runAgainst(url, dir, { ...TIMERS, registrationStallMs: 300 });
    const { code, error } = await cli.ended;
    expect(code).toBe(1);
    expect(error?.message).toBe(
      `the daemon at ${url} accepted the connection but did not read the registration (nothing got through for 0.3 s)`,
    );
    expect(error?.hint).toMatch(/running normally/);
    expect(cli.output()).toContain('✓ Connected');
    expect(cli.output()).not.toContain('registered');
    // The plugin, started beside the connection, is stopped with the session. On a loaded machine
    // it may be stopped before it has said its pid: the 0.3 s count from the connection, not from
    // the plugin's start (waiting for its pid first made the test fail then).
    for (const pid of pluginPids(cli.output())) expect(isAlive(pid)).toBe(false);
  });

  it('is not kept waiting by a daemon that reads nothing but writes a byte now and then', async () => {
    // Bytes in are no progress of the registration: a byte (no newline) every 100 ms would keep
    // an idle timeout of 300 ms from ever firing, and the CLI at `Connected` for ever.
    const dir = await pluginWith({ '_assets/big.bin': Buffer.alloc(16 * 1024 * 1024, 7) });
    const { url } = await rawServer((socket) => {
      socket.pause();
      const drip = setInterval(() => socket.write('x'), 100);
      socket.on('close', () => clearInterval(drip));
    });
    const cli = runAgainst(url, dir, { ...TIMERS, registrationStallMs: 300 });
    const { code, error } = await cli.ended;
    expect(code).toBe(1);
    expect(error?.message).toBe(
      `the daemon at ${url} accepted the connection but did not read the registration (nothing got through for 0.3 s)`,
    );
    expect(cli.output()).not.toContain('registered');
  }, 10_000); // without the rule, for ever

  it('gives up on a registration read so slowly that it would never end', async () => {
    // One chunk read every 50 ms: 16 MiB would take about 15 s. (The stall period is longer than
    // the test: on loopback the system's buffers, several MB, hide such a reader's progress for a
    // second at a time.)
    const dir = await pluginWith({ '_assets/big.bin': Buffer.alloc(16 * 1024 * 1024, 7) });
    const { url } = await rawServer((socket) => {
      socket.pause();
      const sip = setInterval(() => {
        socket.once('data', () => socket.pause());
        socket.resume();
      }, 50);
      socket.on('close', () => clearInterval(sip));
    });
    const cli = runAgainst(url, dir, { ...TIMERS, registrationStallMs: 5000, registrationMaxMs: 800 });
    const { code, error } = await cli.ended;
    expect(code).toBe(1);
    expect(error?.message).toBe(
      `the daemon at ${url} accepted the connection but had not read the whole registration after 0.8 s`,
    );
    expect(cli.output()).not.toContain('registered');
  }, 10_000); // without the limit, 15 s and accepted
});

describe("dify plugin run: the plugin's own output", () => {
  it('shows what the plugin prints before the SDK starts, and its stderr, while it runs', async () => {
    const d = await daemon();
    const cli = await run(d, {}, { env: { FAKE_PRINT_FIRST: 'hello from import' } });
    await d.nextRegistered();
    await cli.waitFor('    hello from import (stderr)');
    await cli.waitFor('  | hello from import');
    expect(cli.output()).not.toContain('"name"'); // the SDK's manifest line is still left out
    expect(cli.output()).not.toContain('The plugin process exited'); // shown while it runs
  });
});

/** A stand-in interpreter: a shell script that does `body`. */
async function scriptPython(body: string): Promise<string> {
  const file = path.join(await tempDir(), 'python');
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

describe('dify plugin run: the interpreter check, before connecting', () => {
  /** Runs to the end against a daemon; asserts that nothing connected to it. */
  async function refused(dir: string, extra: string[] = [], env: Record<string, string> = {}) {
    const d = await daemon();
    const r = await runCli(['plugin', 'run', dir, '--url', d.url, '--key', KEY, ...extra], { env });
    expect(d.connections).toHaveLength(0);
    expect(r.stdout).not.toContain('Connected');
    expect(r.code).toBe(1);
    return r;
  }

  it('refuses an interpreter that does not exist', async () => {
    const r = await refused(await copyPlugin(EXAMPLE), ['--python', '/nonexistent/python']);
    expect(r.stderr).toBe(
      'error: the Python interpreter /nonexistent/python (--python) was not found\n' +
        "hint: pass another --python, or leave it out and create the plugin's virtual environment: `python3.12 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt`\n",
    );
  });

  it('refuses an interpreter without the SDK, naming the commands that install it', async () => {
    const r = await refused(await copyPlugin(EXAMPLE), ['--python', FAKE_PYTHON], { FAKE_SDK_VERSION: 'none' });
    expect(r.stderr).toBe(
      `error: the Python interpreter ${FAKE_PYTHON} (--python) cannot run this plugin: dify_plugin (the Dify plugin SDK) is not installed for it (Python 3.12.4)\n` +
        `hint: install the plugin's requirements for it: \`${FAKE_PYTHON} -m pip install -r requirements.txt\`\n`,
    );
  });

  it("in the plugin's .venv, the hint installs into it", async () => {
    const dir = await copyPlugin(EXAMPLE);
    mkdirSync(path.join(dir, '.venv', 'bin'), { recursive: true });
    symlinkSync(FAKE_PYTHON, path.join(dir, '.venv', 'bin', 'python'));
    const r = await refused(dir, [], { FAKE_SDK_VERSION: 'none' });
    expect(r.stderr).toContain(
      "(the plugin's .venv) cannot run this plugin: dify_plugin (the Dify plugin SDK) is not installed",
    );
    expect(r.stderr).toContain(
      "hint: install the plugin's requirements for it: `.venv/bin/python -m pip install -r requirements.txt`",
    );
  });

  it("refuses a Python older than the plugin's requires-python, and an SDK outside its range; uv for a uv project", async () => {
    const dir = await pluginWith({
      'pyproject.toml':
        '[project]\nname = "hello"\nrequires-python = ">=3.12"\ndependencies = ["dify-plugin>=0.9.0,<0.11.0"]\n',
      'uv.lock': 'version = 1\n',
    });
    const r = await refused(dir, ['--python', FAKE_PYTHON], {
      FAKE_PYTHON_VERSION: '3.11.7',
      FAKE_SDK_VERSION: '0.5.2',
    });
    expect(r.stderr).toBe(
      `error: the Python interpreter ${FAKE_PYTHON} (--python) cannot run this plugin: it is Python 3.11.7, and the plugin requires Python >=3.12 (requires-python in pyproject.toml)\n` +
        '  it has dify_plugin 0.5.2, and the plugin requires dify_plugin>=0.9.0,<0.11.0 (pyproject.toml)\n' +
        "hint: pass another --python for Python 3.12, or leave it out and create the plugin's virtual environment: `uv sync --python 3.12`\n",
    );
  });

  it("refuses an SDK outside requirements.txt's range", async () => {
    const r = await refused(await copyPlugin(EXAMPLE), ['--python', FAKE_PYTHON], { FAKE_SDK_VERSION: '0.11.0' });
    expect(r.stderr).toContain(
      'cannot run this plugin: it has dify_plugin 0.11.0, and the plugin requires dify_plugin>=0.9.0,<0.11.0 (requirements.txt)',
    );
  });

  it('refuses an interpreter that fails, or that does not answer in time', async () => {
    const failing = await scriptPython("echo 'error while loading shared libraries' >&2; exit 127");
    const r = await refused(await copyPlugin(EXAMPLE), ['--python', failing]);
    expect(r.stderr).toMatch(
      /^error: the Python interpreter .* \(--python\) did not run \(it exited with code 127: error while loading shared libraries\)\n/,
    );
    const d = await daemon();
    const hanging = await scriptPython('exec sleep 30');
    const started = Date.now();
    const cli = await run(d, { python: hanging }, { timers: { ...TIMERS, preflightTimeoutMs: 200 } });
    const { code, error } = await cli.ended;
    expect(code).toBe(1);
    expect(error?.message).toMatch(/ \(--python\) did not answer \(no answer within 0\.2 s\)$/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(d.connections).toHaveLength(0);
  });

  it('shows the versions it found, warns of a Python other than meta.runner.version, and runs', async () => {
    const d = await daemon();
    const cli = await run(d, {}, { env: { FAKE_PYTHON_VERSION: '3.13.1' } });
    await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    expect(cli.output()).toContain(`Python  ${FAKE_PYTHON} (--python): Python 3.13.1, dify_plugin 0.9.1\n`);
    expect(cli.output()).toContain(
      `! manifest.yaml has meta.runner.version "3.12", but ${FAKE_PYTHON} is Python 3.13.1: the plugin may behave differently once installed in Dify`,
    );
  });

  it('--format json: an interpreter event, or a fatal error with what was found', async () => {
    const d = await daemon();
    const cli = await run(d, { format: 'json' });
    await d.nextRegistered();
    await cli.waitFor('"event":"registered"');
    expect(cli.json().find((e) => e.event === 'interpreter')).toMatchObject({
      python: FAKE_PYTHON,
      python_version: '3.12.4',
      sdk_version: '0.9.1',
      warnings: [],
    });
    const r = await refused(await copyPlugin(EXAMPLE), ['--python', FAKE_PYTHON, '--format', 'json'], {
      FAKE_SDK_VERSION: 'none',
    });
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ event: 'error', fatal: true, python_version: '3.12.4', sdk_version: null });
    expect(events.map((e) => e.event)).toEqual(['error', 'stopped']);
  });
});
