import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainRejection } from '../../src/debug/daemon-errors.js';
import { LineSplitter } from '../../src/debug/line-splitter.js';
import { describeSource, maskKey, parseAddress, resolveSettings, SettingsError } from '../../src/debug/settings.js';
import { tempDir } from '../helpers/plugin.js';

describe('line framing', () => {
  it('joins partial reads, keeps multi-byte characters whole and drops empty lines', () => {
    const s = new LineSplitter();
    const bytes = Buffer.from('{"a":"日本"}\n\n{"b":1}\r\n{"c"', 'utf8');
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i++) lines.push(...s.push(bytes.subarray(i, i + 1)).map((l) => l.toString('utf8')));
    expect(lines).toEqual(['{"a":"日本"}', '{"b":1}']);
    expect(s.rest()?.toString()).toBe('{"c"');
  });

  it('handles a line of several megabytes in many chunks', () => {
    const s = new LineSplitter();
    const big = 'x'.repeat(6 * 1024 * 1024);
    const data = Buffer.from(big + '\n');
    const out: Buffer[] = [];
    for (let i = 0; i < data.length; i += 65536) out.push(...s.push(data.subarray(i, i + 65536)));
    expect(out).toHaveLength(1);
    expect(out[0]!.length).toBe(big.length);
  });
});

describe('settings', () => {
  async function plugin(dotenv?: string): Promise<string> {
    const dir = await tempDir();
    if (dotenv !== undefined) writeFileSync(path.join(dir, '.env'), dotenv);
    return dir;
  }

  it('reads .env, names are case-insensitive, and the environment wins', async () => {
    const dir = await plugin('remote_install_host=debug.example.com\nREMOTE_INSTALL_PORT=6000\nREMOTE_INSTALL_KEY=from-file-key-1234\n');
    const s = resolveSettings(dir, {}, { REMOTE_INSTALL_PORT: '7000' });
    expect([s.host.value, s.port.value, s.key?.value]).toEqual(['debug.example.com', 7000, 'from-file-key-1234']);
    expect(describeSource(s.host)).toBe('(REMOTE_INSTALL_HOST in .env)');
    expect(describeSource(s.port)).toBe('(REMOTE_INSTALL_PORT in the environment)');
  });

  it('prefers REMOTE_INSTALL_URL (or DIFY_REMOTE_URL) over host and port, and flags over everything', async () => {
    const dir = await plugin('REMOTE_INSTALL_HOST=a\nDIFY_REMOTE_URL=https://b.example.com:5004\nDIFY_DEBUG_KEY=k\n');
    const s = resolveSettings(dir, {}, {});
    expect([s.host.value, s.port.value, s.key?.name]).toEqual(['b.example.com', 5004, 'DIFY_DEBUG_KEY']);
    const f = resolveSettings(dir, { url: 'c:1', key: 'flag-key' }, {});
    expect([f.host.value, f.port.value, f.key?.value, describeSource(f.key!)]).toEqual(['c', 1, 'flag-key', '(--key)']);
  });

  it('defaults to localhost:5003, the plugin .venv, then python3', async () => {
    const dir = await plugin();
    const s = resolveSettings(dir, {}, {});
    expect([s.host.value, s.port.value, s.key, s.python.value]).toEqual(['localhost', 5003, undefined, 'python3']);
    mkdirSync(path.join(dir, '.venv', 'bin'), { recursive: true });
    writeFileSync(path.join(dir, '.venv', 'bin', 'python'), '');
    expect(resolveSettings(dir, {}, {}).python.value).toBe(path.join(dir, '.venv', 'bin', 'python'));
    expect(resolveSettings(dir, {}, { PYTHON_INTERPRETER_PATH: '/opt/py' }).python.value).toBe('/opt/py');
  });

  it('refuses an address it cannot use, naming the variable', async () => {
    const dir = await plugin('REMOTE_INSTALL_URL=localhost\n');
    expect(() => resolveSettings(dir, {}, {})).toThrow(SettingsError);
    expect(() => resolveSettings(dir, {}, {})).toThrow(/REMOTE_INSTALL_URL is "localhost"/);
  });

  it('parses host:port, [v6]:port and scheme://host:port', () => {
    expect(parseAddress('localhost:5003')).toEqual({ host: 'localhost', port: 5003 });
    expect(parseAddress('[::1]:5003')).toEqual({ host: '::1', port: 5003 });
    expect(parseAddress('tcp://debug.dify.ai:5003')).toEqual({ host: 'debug.dify.ai', port: 5003 });
    expect(parseAddress('localhost')).toBeUndefined();
    expect(parseAddress('host:70000')).toBeUndefined();
  });

  it('masks keys', () => {
    expect(maskKey('a1b2c3d4-e5f6-7890-abcd-ef1234567890')).toBe('a1b2••••••••90');
    expect(maskKey('short')).toBe('•••••');
  });
});

describe('daemon replies', () => {
  it.each([
    ['handshake failed, invalid key', /does not know this debug key/, /expires two hours/],
    ['handshake failed, invalid plugin declaration: Key: name', /rejected manifest\.yaml: Key: name/, /package --check/],
    ['tools register failed, invalid tools declaration: identity', /rejected a declaration: identity/, /package --check/],
    ['assets remap failed, invalid assets data, cannot remap: file not found: icon.svg\nfailed to remap tool icon', /not sent: file not found: icon\.svg\nfailed to remap tool icon/, /_assets/],
    ['no registration transferred, cannot initialize', /declares nothing/, /plugins:/],
    ['server is busy now, please try again later', /too many debugging connections/, /try again later/],
    ['something new', /refused the plugin/, /package --check/],
  ])('%s', (reply, cause, fix) => {
    const r = explainRejection(reply);
    expect(r.cause).toMatch(cause);
    expect(r.fix).toMatch(fix);
    expect(r.reply).toBe(reply);
  });
});
