import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dify, startDify, type RunningCli } from '../helpers/cli.js';
import { FakeDaemon, type FakeDaemonOptions } from '../helpers/fake-daemon.js';
import { copyPlugin, EXAMPLE, REAL_FIXTURES, REPO, SHARED, tempDir } from '../helpers/plugin.js';

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

/** `dify plugin run` on a copy of the example plugin, against `d`, with the fake plugin process. */
async function run(d: FakeDaemon, extra: string[] = [], env: Record<string, string> = {}): Promise<RunningCli> {
  const dir = await copyPlugin(EXAMPLE);
  const cli = startDify(['plugin', 'run', dir, '--url', d.url, '--key', KEY, '--python', FAKE_PYTHON, ...extra], { env: { FAKE_HEARTBEAT_MS: '200', ...env } });
  running.push(cli);
  return cli;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
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
    const reference = path.join(SHARED, 'fixtures', 'registration', `${name}.jsonl`);
    const compare = path.join(SHARED, 'tools', 'compare-registration.py');
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
