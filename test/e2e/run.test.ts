import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dify, isAlive, type RunningCli, startDify } from '../helpers/cli.js';
import { FakeDaemon, type FakeDaemonOptions } from '../helpers/fake-daemon.js';
import { COMPARE_REGISTRATION, copyPlugin, EXAMPLE, GOLDEN_REGISTRATIONS, pluginWith, REAL_FIXTURES, REPO, tempDir } from '../helpers/plugin.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');
const KEY = 'test-key';
const ZERO_KEY = '00000000-0000-0000-0000-000000000000';

const running: RunningCli[] = [];
const daemons: FakeDaemon[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
  await Promise.all(daemons.splice(0).map((d) => d.close()));
});

async function daemon(options: FakeDaemonOptions = {}): Promise<FakeDaemon> {
  const d = await FakeDaemon.start(options);
  daemons.push(d);
  return d;
}

/** `dify plugin run` on a copy of the example plugin (or `dir`), against `d`, with the fake plugin process. */
async function run(d: FakeDaemon, extra: string[] = [], env: Record<string, string> = {}, dir?: string): Promise<RunningCli> {
  dir ??= await copyPlugin(EXAMPLE);
  const cli = startDify(['plugin', 'run', dir, '--url', d.url, '--key', KEY, '--python', FAKE_PYTHON, ...extra], { env: { FAKE_HEARTBEAT_MS: '200', ...env } });
  running.push(cli);
  return cli;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/** The fake plugin's pid, from the process table: the child of the CLI running fake-plugin.mjs. */
function pluginPid(cliPid: number): number {
  const out = execFileSync('ps', ['-eo', 'pid,ppid,args'], { encoding: 'utf8' });
  const row = out.split('\n').find((l) => l.includes('fake-plugin.mjs') && l.trim().split(/\s+/)[1] === String(cliPid));
  if (!row) throw new Error(`no fake plugin under ${cliPid}:\n${out}`);
  return Number(row.trim().split(/\s+/)[0]);
}

describe('dify plugin run --dry-run', () => {
  const names = readdirSync(REAL_FIXTURES, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

  it.each(names)('%s: exactly what the Python SDK sends', async (name) => {
    const dir = await copyPlugin(path.join(REAL_FIXTURES, name));
    const r = await dify(['plugin', 'run', '--dry-run', '--show-key', '--key', ZERO_KEY, dir]);
    expect(r.code).toBe(0);
    const candidate = path.join(await tempDir(), `${name}.jsonl`);
    writeFileSync(candidate, r.stdout);
    const reference = path.join(GOLDEN_REGISTRATIONS, `${name}.jsonl`);
    const compare = COMPARE_REGISTRATION;
    let output = '';
    let status = 0;
    try {
      output = execFileSync('python3', [compare, candidate, reference, '--key', ZERO_KEY], { encoding: 'utf8' });
    } catch (err) {
      status = (err as { status: number }).status;
      output = String((err as { stdout: string }).stdout);
    }
    expect(status, output).toBe(0);
  });

  it('masks the key unless --show-key', async () => {
    const r = await dify(['plugin', 'run', '--dry-run', '--key', 'abcd1234-5678-90ab-cdef-1234567890ab', EXAMPLE]);
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
    expect(conn.registration.map((m) => m.type)).toEqual(['handshake', 'manifest_declaration', 'tool_declaration', 'asset_chunk', 'end']);
    expect([...conn.assets.keys()]).toEqual(['icon.svg']);

    const result = await conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'greet', tool_parameters: { name: 'Ada' }, credentials: {} });
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
    const result = await conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'backwards', tool_parameters: {}, credentials: {} });
    expect(result.backwards).toHaveLength(1);
    expect(result.ended).toBe(true);
    expect(JSON.stringify(result.messages)).toContain('echo');
  });

  it('explains an invalid key, exits 1 and does not retry', async () => {
    const d = await daemon({ keys: ['another-key'] });
    const cli = await run(d);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toContain('error: the daemon does not know this debug key');
    expect(cli.output()).toContain('daemon: handshake failed, invalid key');
    expect(cli.output()).toMatch(/hint: copy a fresh key from Dify.*expires two hours after/);
    expect(d.connections).toHaveLength(1);
  });

  it('explains a rejected declaration and exits 1', async () => {
    const d = await daemon({ rejectDeclaration: (type) => (type === 'tool_declaration' ? 'identity.name is required' : undefined) });
    const cli = await run(d);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toMatch(/error: the daemon rejected a declaration: identity.name is required/);
    expect(cli.output()).toContain('hint: run `dify plugin package --check .`');
  });

  it('reconnects and registers again when the daemon drops the connection, keeping the plugin running', async () => {
    const d = await daemon();
    const cli = await run(d);
    const first = await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    const pid = pluginPid(cli.child.pid!);
    first.drop();
    const second = await d.nextRegistered();
    await cli.waitFor('✓ Registered again');
    expect(cli.output()).toContain('Lost the connection to the daemon; reconnecting (the plugin keeps running)');
    expect(cli.output()).toContain('Reconnecting in 500 ms (attempt 1)'); // a plain line: stderr is no terminal here
    expect(second.registration.map((m) => m.type)).toEqual(['handshake', 'manifest_declaration', 'tool_declaration', 'asset_chunk', 'end']);
    expect(pluginPid(cli.child.pid!)).toBe(pid);
    const result = await second.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'greet', tool_parameters: {}, credentials: {} });
    expect(result.ended).toBe(true);
  });

  it('gives up on an unreachable daemon after a bounded number of attempts', async () => {
    const d = await daemon();
    const url = d.url;
    await d.close();
    daemons.pop();
    const dir = await copyPlugin(EXAMPLE);
    const r = await dify(['plugin', 'run', dir, '--url', url, '--key', KEY, '--python', FAKE_PYTHON]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: cannot reach the Dify plugin daemon at 127\.0\.0\.1:\d+ .* after 5 attempts/);
    expect((r.stdout.match(/retrying in/g) ?? []).length).toBe(4);
  }, 30_000);

  it('restarts the plugin when it crashes, showing its exit code and stderr', async () => {
    const d = await daemon();
    const cli = await run(d);
    const conn = await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    const before = pluginPid(cli.child.pid!);
    void conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'crash', tool_parameters: {}, credentials: {} }).catch(() => undefined);
    await cli.waitFor(/The plugin process exited with code 3; restarting it in 1(\.0)? s/);
    await cli.waitFor('← error');
    await new Promise((r) => setTimeout(r, 1500));
    const after = pluginPid(cli.child.pid!);
    expect(after).not.toBe(before);
    const result = await conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'greet', tool_parameters: {}, credentials: {} });
    expect(result.ended).toBe(true);
  });

  it('Ctrl-C stops the plugin and exits 0; killing the CLI leaves no orphan either', async () => {
    const d = await daemon();
    const cli = await run(d);
    await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    const pid = pluginPid(cli.child.pid!);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(await gone(pid)).toBe(true);

    const cli2 = await run(d);
    await d.nextRegistered();
    await cli2.waitFor('✓ Waiting for requests...');
    const pid2 = pluginPid(cli2.child.pid!);
    cli2.child.kill('SIGKILL');
    expect(await gone(pid2)).toBe(true); // it notices it is orphaned, as the SDK does
  });

  it('relays a 5 MB line from the plugin', async () => {
    const d = await daemon();
    await run(d);
    const conn = await d.nextRegistered();
    const result = await conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'big', tool_parameters: {}, credentials: {} });
    expect(result.ended).toBe(true);
    expect(JSON.stringify(result.messages[0]!.data).length).toBeGreaterThan(5 * 1024 * 1024);
  });

  it('relays a burst of 10,000 messages in order', async () => {
    const d = await daemon();
    await run(d);
    const conn = await d.nextRegistered();
    const result = await conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'burst', tool_parameters: {}, credentials: {} }, 60_000);
    expect(result.messages.filter((m) => m.type === 'stream')).toHaveLength(10_000);
    expect(result.messages.at(-1)!.type).toBe('end');
  }, 60_000);

  it('--format json prints the session as JSON events', async () => {
    const d = await daemon();
    const cli = await run(d, ['--format', 'json']);
    const conn = await d.nextRegistered();
    await conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'greet', tool_parameters: {}, credentials: {} });
    await cli.waitFor('"event":"response"');
    const events = cli.output().trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['connected', 'registered', 'request', 'response', 'log']));
  });

  it('exits 1 without a key, naming where to get one', async () => {
    const dir = await copyPlugin(EXAMPLE);
    const r = await dify(['plugin', 'run', dir, '--url', '127.0.0.1:9'], { env: { REMOTE_INSTALL_KEY: undefined, DIFY_DEBUG_KEY: undefined } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: no debug key is configured\nhint: copy it from Dify/);
  });
});

describe('dify plugin run: how a session ends', () => {
  it('exits 1 with the reason when the interpreter cannot be started', async () => {
    const d = await daemon();
    const dir = await copyPlugin(EXAMPLE);
    const r = await dify(['plugin', 'run', dir, '--url', d.url, '--key', KEY, '--python', '/nonexistent/python']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot start the plugin with \/nonexistent\/python: .*ENOENT/m);
    expect(r.stderr).toContain('hint: pass --python');
  });

  it('exits 1 when a reconnection is refused (the key expired meanwhile)', async () => {
    const d = await daemon();
    const cli = await run(d);
    const first = await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    d.options.keys.splice(0); // no key is valid any more
    first.drop();
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toContain('error: the daemon does not know this debug key');
    expect(d.connections).toHaveLength(2);
  });

  it('takes a refusal that comes after the quiet period as a refusal: exit 1, no retry, nothing relayed', async () => {
    const d = await daemon({ keys: ['another-key'], replyDelayMs: 1500 });
    const log = path.join(await tempDir(), 'stdin.log');
    const cli = await run(d, [], { FAKE_LOG_FILE: log });
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toContain('error: the daemon does not know this debug key');
    expect(cli.output()).toContain('daemon: handshake failed, invalid key');
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
      const r = await dify(['plugin', 'run', dir, '--url', url, '--key', KEY, '--python', FAKE_PYTHON]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: this does not look like a Dify plugin daemon: it answered like a web server\n {2}server: HTTP\/1\.1 400 Bad Request\nhint: check the address/);
    } finally {
      server.close();
    }
  });

  it('Ctrl-C while connecting stops the plugin and exits 0', async () => {
    const d = await daemon();
    const url = d.url;
    await d.close();
    daemons.pop();
    const dir = await copyPlugin(EXAMPLE);
    const cli = startDify(['plugin', 'run', dir, '--url', url, '--key', KEY, '--python', FAKE_PYTHON], { env: { FAKE_HEARTBEAT_MS: '200' } });
    running.push(cli);
    await cli.waitFor('[INFO] fake plugin started');
    await cli.waitFor('retrying in');
    const pid = pluginPid(cli.child.pid!);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(await gone(pid)).toBe(true);
  });

  it('a second Ctrl-C kills a plugin that ignores SIGTERM at once', async () => {
    const d = await daemon();
    const cli = await run(d, [], { FAKE_IGNORE_SIGTERM: '1' });
    await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    const pid = pluginPid(cli.child.pid!);
    cli.child.kill('SIGINT');
    await sleep(500);
    expect(isAlive(pid)).toBe(true); // within the 5 s grace period
    const second = Date.now();
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(Date.now() - second).toBeLessThan(2000);
    expect(await gone(pid)).toBe(true);
  });

  it('takes a relative --python from the current directory, not from the plugin directory', async () => {
    const d = await daemon();
    const dir = await copyPlugin(EXAMPLE);
    const cli = startDify(['plugin', 'run', dir, '--url', d.url, '--key', KEY, '--python', path.relative(REPO, FAKE_PYTHON)], { cwd: REPO, env: { FAKE_HEARTBEAT_MS: '200' } });
    running.push(cli);
    await d.nextRegistered();
    await cli.waitFor('[INFO] fake plugin started');
    expect(cli.output()).toContain(`Python  ${FAKE_PYTHON} (--python)`);
  });
});

describe('dify plugin run --watch', () => {
  it('registers again after YAML edits, one at a time, holding one connection; Ctrl-C exits 0', async () => {
    const d = await daemon();
    const dir = await copyPlugin(EXAMPLE);
    const cli = await run(d, ['--watch'], {}, dir);
    await d.nextRegistered();
    await cli.waitFor('✓ Waiting for requests...');
    const yaml = path.join(dir, 'tools', 'greet.yaml');
    const original = readFileSync(yaml, 'utf8');
    writeFileSync(yaml, original.replace('Says hello to someone.', 'Says hello (edit 1).'));
    await sleep(500);
    writeFileSync(yaml, original.replace('Says hello to someone.', 'Says hello (edit 2).'));
    // The last edit is registered, on the only open connection...
    const open = () => d.connections.filter((c) => c.isOpen);
    await expect.poll(() => open().length === 1 && JSON.stringify(open()[0]!.registration).includes('edit 2'), { timeout: 10_000 }).toBe(true);
    // ... and stays the only one (an overlapping registration would settle meanwhile).
    await sleep(1500);
    expect(open()).toHaveLength(1);
    expect(cli.output()).toContain('↻ tools/greet.yaml changed');
    expect(cli.output()).toContain('✓ Registered again');
    const result = await open()[0]!.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'greet', tool_parameters: {}, credentials: {} });
    expect(result.ended).toBe(true);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });
});

describe('dify plugin run --format json', () => {
  it('reports the registration before a request that arrives with it', async () => {
    const d = await daemon();
    const cli = await run(d, ['--format', 'json']);
    const conn = await d.nextRegistered();
    // The CLI is still waiting out the quiet period when this request arrives.
    await conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'greet', tool_parameters: {}, credentials: {} });
    await cli.waitFor('"event":"response"');
    const names = cli.output().trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
    expect(names.indexOf('registered')).toBeGreaterThanOrEqual(0);
    expect(names.indexOf('registered')).toBeLessThan(names.indexOf('request'));
  });

  it('ends with a fatal error event and a stopped event; stderr has the message', async () => {
    const d = await daemon({ keys: ['another-key'] });
    const dir = await copyPlugin(EXAMPLE);
    const r = await dify(['plugin', 'run', dir, '--url', d.url, '--key', KEY, '--python', FAKE_PYTHON, '--format', 'json']);
    expect(r.code).toBe(1);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.at(-2)).toMatchObject({ event: 'error', fatal: true, message: expect.stringContaining('the daemon does not know this debug key'), hint: expect.stringContaining('copy a fresh key'), daemon_reply: 'handshake failed, invalid key' });
    expect(events.at(-1)).toMatchObject({ event: 'stopped', exit_code: 1 });
    expect(r.stderr).toContain('error: the daemon does not know this debug key');
  });

  it('keeps stdout JSON when the plugin has errors: the report goes to stderr', async () => {
    const dir = await pluginWith({ 'tools/greet.yaml': 'identity: [\n' });
    const r = await dify(['plugin', 'run', dir, '--url', '127.0.0.1:9', '--key', KEY, '--format', 'json']);
    expect(r.code).toBe(1);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; fatal?: boolean; message?: string; diagnostics?: { file: string }[] });
    expect(events.map((e) => e.event)).toEqual(['error', 'stopped']);
    expect(events[0]!.message).toBe('the plugin has errors; fix them before debugging it');
    expect(events[0]!.diagnostics!.some((d) => d.file === 'tools/greet.yaml')).toBe(true);
    expect(r.stderr).toContain('tools/greet.yaml');
  });
});

describe('dify plugin run: the plugin process', () => {
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

  it.skipIf(process.platform !== 'linux' || !python3)('on Linux it dies with a killed CLI, and runs as `python -m <entrypoint>` would', async () => {
    const d = await daemon();
    const dir = await pluginWith({ 'main.py': PROBE });
    const probe = path.join(await tempDir(), 'probe.json');
    const cli = startDify(['plugin', 'run', dir, '--url', d.url, '--key', KEY, '--python', 'python3'], { env: { PROBE_FILE: probe } });
    running.push(cli);
    await d.nextRegistered();
    await expect.poll(() => existsSync(probe), { timeout: 10_000 }).toBe(true);
    const seen = JSON.parse(readFileSync(probe, 'utf8')) as Record<string, unknown> & { pid: number };
    try {
      cli.child.kill('SIGKILL');
      expect(await gone(seen.pid, 3000)).toBe(true);
    } finally {
      if (isAlive(seen.pid)) process.kill(seen.pid, 'SIGKILL');
    }
    const direct = path.join(await tempDir(), 'direct.json');
    execFileSync('python3', ['-m', 'main'], { cwd: dir, env: { ...process.env, PROBE_FILE: direct, PROBE_ONLY: '1' } });
    const expected = JSON.parse(readFileSync(direct, 'utf8')) as Record<string, unknown>;
    expect({ ...seen, pid: 0 }).toEqual({ ...expected, pid: 0 });
  });
});
