import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect, DaemonLink } from '../../src/debug/daemon-link.js';
import { EventEmitter } from 'node:events';
import { explainRejection } from '../../src/debug/daemon-errors.js';
import { FlowGate } from '../../src/debug/flow-gate.js';
import { LineSplitter, LineTooLongError } from '../../src/debug/line-splitter.js';
import { RestartBackoff } from '../../src/debug/restart-backoff.js';
import { describeSource, maskKey, parseAddress, resolveSettings, SettingsError } from '../../src/debug/settings.js';
import { ChangeQueue, watchPlugin, type ChangeKind } from '../../src/debug/watch.js';
import { UserError } from '../../src/diagnostics/user-error.js';
import { tempDir } from '../helpers/plugin.js';

describe('line framing', () => {
  it('joins partial reads, keeps multi-byte characters whole and drops empty lines', () => {
    const s = new LineSplitter();
    const bytes = Buffer.from('{"a":"日本"}\n\n{"b":1}\r\n{"c"', 'utf8');
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i++)
      lines.push(...s.push(bytes.subarray(i, i + 1)).map((l) => l.toString('utf8')));
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

  it('refuses a line over its limit, finished or not, and carries on after it', () => {
    const s = new LineSplitter(10);
    expect(s.push(Buffer.from('0123456789\nabc'))).toEqual([Buffer.from('0123456789')]);
    expect(() => s.push(Buffer.from('defghijk'))).toThrow(LineTooLongError); // 11 bytes, no newline yet
    expect(s.push(Buffer.from('ok\n')).map(String)).toEqual(['ok']);
  });
});

describe('settings', () => {
  async function plugin(dotenv?: string): Promise<string> {
    const dir = await tempDir();
    if (dotenv !== undefined) writeFileSync(path.join(dir, '.env'), dotenv);
    return dir;
  }

  it('reads .env, names are case-insensitive, and the environment wins', async () => {
    const dir = await plugin(
      'remote_install_host=debug.example.com\nREMOTE_INSTALL_PORT=6000\nREMOTE_INSTALL_KEY=from-file-key-1234\n',
    );
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

  it("takes a relative --python from the shell's directory, a bare name from PATH", async () => {
    const dir = await plugin('PYTHON_INTERPRETER_PATH=py/bin/python\n');
    const shell = await tempDir();
    const bin = await tempDir();
    writeFileSync(path.join(bin, 'mypython'), '#!/bin/sh\n');
    chmodSync(path.join(bin, 'mypython'), 0o755);
    writeFileSync(path.join(shell, 'localpython'), '#!/bin/sh\n');
    chmodSync(path.join(shell, 'localpython'), 0o755);
    const env = { PATH: bin };
    const python = (flag: string | undefined, extra: NodeJS.ProcessEnv = {}) =>
      resolveSettings(dir, flag === undefined ? {} : { python: flag }, { ...env, ...extra }, shell).python.value;
    expect(python('.venv/bin/python')).toBe(path.join(shell, '.venv', 'bin', 'python'));
    expect(python('../py')).toBe(path.join(path.dirname(shell), 'py'));
    expect(python('/opt/python3')).toBe('/opt/python3');
    expect(python('mypython')).toBe('mypython'); // found on PATH: the spawn looks it up there
    expect(python('localpython')).toBe(path.join(shell, 'localpython'));
    expect(python('nowhere')).toBe('nowhere');
    expect(python(undefined, { PYTHON_INTERPRETER_PATH: 'env/python' })).toBe(path.join(shell, 'env', 'python'));
    expect(python(undefined)).toBe(path.join(dir, 'py', 'bin', 'python')); // from the plugin's own .env
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
    [
      'handshake failed, invalid plugin declaration: Key: name',
      /rejected manifest\.yaml: Key: name/,
      /package --check/,
    ],
    [
      'tools register failed, invalid tools declaration: identity',
      /rejected a declaration: identity/,
      /package --check/,
    ],
    [
      'assets remap failed, invalid assets data, cannot remap: file not found: icon.svg\nfailed to remap tool icon',
      /not sent: file not found: icon\.svg failed to remap tool icon$/, // one line; the reply shows both
      /_assets/,
    ],
    ['no registration transferred, cannot initialize', /declares nothing/, /plugins:/],
    ['server is busy now, please try again later', /too many debugging connections/, /try again later/],
    ['something new', /refused the plugin/, /package --check/],
  ])('%s', (reply, cause, fix) => {
    const r = explainRejection(reply);
    expect(r.cause).toMatch(cause);
    expect(r.fix).toMatch(fix);
    expect(r.reply).toBe(reply);
  });

  it('points at the reply above it, where the CLI prints it', () => {
    expect(explainRejection('something new').fix).toMatch(/shown above/);
  });

  it.each([
    ['HTTP/1.1 400 Bad Request\r\nConnection: close', 'a web server', 'HTTP/1.1 400 Bad Request'],
    ['<!DOCTYPE html>\n<html>', 'a web server', '<!DOCTYPE html>'],
    ['SSH-2.0-OpenSSH_9.6', 'an SSH server', 'SSH-2.0-OpenSSH_9.6'],
  ])('recognises a server that is not a daemon: %s', (reply, what, shown) => {
    const r = explainRejection(reply);
    expect(r.cause).toBe(`this does not look like a Dify plugin daemon: it answered like ${what}`);
    expect(r.fix).toMatch(/remote-debugging port/);
    expect(r.reply).toBe(shown);
    expect(r.notDaemon).toBe(true);
  });
});

describe('daemon link', () => {
  it('counts the quiet period from when the registration left, not from when it was buffered', async () => {
    // 32 MB of registration: more than the socket buffers hold. The daemon reads nothing for
    // twice the quiet period, then reads it all and refuses the key: the refusal is still the
    // verdict. (Counted from write(), the quiet period would be over before the daemon read a byte.)
    const messages: unknown[] = [{ type: 'handshake', data: { key: 'k' } }];
    for (let i = 0; i < 4; i++)
      messages.push({
        type: 'asset_chunk',
        data: { filename: 'big.png', data: 'A'.repeat(8 * 1024 * 1024), end: i === 3 },
      });
    messages.push({ type: 'end', data: {} });
    const total = messages.reduce<number>((n, m) => n + JSON.stringify(m).length + 1, 0);
    const settleMs = 300;
    const server = net.createServer((socket) => {
      socket.pause();
      let received = 0;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= total) socket.end('handshake failed, invalid key\n');
      });
      setTimeout(() => socket.resume(), 2 * settleMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const link = new DaemonLink(await connect('127.0.0.1', (server.address() as net.AddressInfo).port, 5000));
      const result = await link.register(messages, settleMs, 10_000, 60_000);
      link.close();
      expect(result).toEqual({ accepted: false, reply: 'handshake failed, invalid key' });
    } finally {
      server.close();
    }
  });

  it('gives a daemon that reads slowly all the time it needs: only no progress at all is a stall', async () => {
    // 16 MiB in 8 KiB asset chunks, as the SDK sends them; the daemon reads in bursts of 20 ms
    // with 200 ms pauses, so the whole takes longer than the 300 ms allowed without progress.
    // (Lines queued together reach the system as one write: their callbacks show no progress.)
    const messages: unknown[] = [{ type: 'handshake', data: { key: 'k' } }];
    for (let i = 0; i < 2048; i++)
      messages.push({ type: 'asset_chunk', data: { filename: 'big.png', data: 'A'.repeat(8192), end: false } });
    messages.push({ type: 'end', data: {} });
    const server = net.createServer((socket) => {
      socket.pause();
      const burst = setInterval(() => {
        socket.resume();
        setTimeout(() => socket.pause(), 20);
      }, 220);
      socket.on('data', (chunk: Buffer) => {
        if (chunk.includes('"type":"end"')) {
          clearInterval(burst);
          socket.end('handshake failed, invalid key\n');
        }
      });
      socket.on('close', () => clearInterval(burst));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const link = new DaemonLink(await connect('127.0.0.1', (server.address() as net.AddressInfo).port, 5000));
      expect(await link.register(messages, 1000, 300, 60_000)).toEqual({
        accepted: false,
        reply: 'handshake failed, invalid key',
      });
    } finally {
      server.close();
    }
  });

  it('reports plain text followed by the close after acceptance as a late refusal, and never passes it on', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () =>
        setTimeout(
          () => socket.end('{"event":"request","session_id":"s","data":{}}\nhandshake failed, invalid key\n'),
          200,
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const link = new DaemonLink(await connect('127.0.0.1', (server.address() as net.AddressInfo).port, 5000));
      const lines: string[] = [];
      link.on('line', (l) => lines.push(l.toString()));
      const closed = new Promise<string | undefined>((resolve) => link.on('close', resolve));
      expect(await link.register([{ type: 'handshake', data: { key: 'k' } }], 50, 10_000, 60_000)).toEqual({
        accepted: true,
      });
      link.begin();
      expect(await closed).toBe('handshake failed, invalid key');
      expect(lines).toEqual(['{"event":"request","session_id":"s","data":{}}']);
    } finally {
      server.close();
    }
  });

  it("reads a JSON-looking line after plain text as part of the reply (a web server's body)", async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n{"code":400}\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const link = new DaemonLink(await connect('127.0.0.1', (server.address() as net.AddressInfo).port, 5000));
      const result = await link.register([{ type: 'handshake', data: { key: 'k' } }], 1000, 10_000, 60_000);
      expect(result).toMatchObject({ accepted: false, reply: expect.stringMatching(/^HTTP\/1\.1 400 Bad Request/) });
    } finally {
      server.close();
    }
  });
});

describe('flow gate', () => {
  function streams() {
    const calls: string[] = [];
    const source = { pause: () => calls.push('pause'), resume: () => calls.push('resume') };
    return { calls, source, sink: new EventEmitter() };
  }

  it('pauses once and waits with one drain handler, however many lines meet the full buffer', () => {
    const { calls, source, sink } = streams();
    const gate = new FlowGate();
    for (let i = 0; i < 50; i++) gate.block(source, sink);
    expect(calls).toEqual(['pause']);
    expect(sink.listenerCount('drain')).toBe(1);
    sink.emit('drain');
    expect(calls).toEqual(['pause', 'resume']);
    expect([sink.listenerCount('drain'), sink.listenerCount('close'), gate.blocked]).toEqual([0, 0, false]);
  });

  it('resumes when the sink dies, or is released or replaced, since a dead sink never drains', () => {
    const gate = new FlowGate();
    const a = streams();
    gate.block(a.source, a.sink);
    a.sink.emit('close');
    expect(a.calls).toEqual(['pause', 'resume']);

    gate.block(a.source, a.sink);
    gate.release();
    expect(a.calls).toEqual(['pause', 'resume', 'pause', 'resume']);

    const b = streams();
    gate.block(a.source, a.sink);
    gate.block(b.source, b.sink); // a new sink: the old wait is over
    expect(a.calls.at(-1)).toBe('resume');
    expect(b.calls).toEqual(['pause']);
    expect(a.sink.listenerCount('drain')).toBe(0);
  });
});

describe('watching a plugin', () => {
  it('is a user error, with a hint, when the system refuses to watch', async () => {
    const missing = path.join(await tempDir(), 'gone');
    let err: unknown;
    try {
      watchPlugin(
        missing,
        () => false,
        10,
        () => undefined,
      ).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(new RegExp(`^cannot watch ${missing} for changes: `));
    expect((err as UserError).hint).toMatch(/or run without --watch/);
  });
});

describe('watch change queue', () => {
  /** The queue moves on through promises: once a macrotask comes round, they have all run. */
  const settled = () => new Promise((r) => setImmediate(r));

  it('handles one change at a time and merges those that arrive meanwhile', async () => {
    const handled: string[] = [];
    let release: () => void = () => undefined;
    const queue = new ChangeQueue(
      (kind: ChangeKind, files: string[]) => {
        handled.push(`${kind}:${files.join(',')}`);
        return new Promise<void>((resolve) => (release = resolve));
      },
      () => undefined,
    );
    queue.push('code', ['a.py']);
    queue.push('declarations', ['t.yaml']);
    queue.push('code', ['b.py', 'a.py']);
    expect(handled).toEqual(['code:a.py']);
    release();
    await settled();
    expect(handled).toEqual(['code:a.py', 'declarations:a.py,b.py,t.yaml']);
    release();
    await settled();
    expect(handled).toHaveLength(2);
  });

  it('keeps going after a failed change', async () => {
    const errors: unknown[] = [];
    const handled: string[] = [];
    const queue = new ChangeQueue(
      async (kind) => {
        handled.push(kind);
        if (handled.length === 1) throw new Error('no');
      },
      (err) => errors.push(err),
    );
    queue.push('declarations', ['t.yaml']);
    queue.push('code', ['a.py']);
    await settled();
    expect(handled).toEqual(['declarations', 'code']);
    expect(errors).toHaveLength(1);
  });
});

describe('restart backoff', () => {
  afterEach(() => vi.useRealTimers());

  it('doubles up to the cap while the plugin keeps crashing, and starts over after a healthy run', () => {
    vi.useFakeTimers();
    const b = new RestartBackoff({ initialMs: 1000, maxMs: 5000, healthyRunMs: 60_000 });
    const crash = () => (b.started(), b.delayAfterExit());
    expect([crash(), crash(), crash(), crash(), crash()]).toEqual([1000, 2000, 4000, 5000, 5000]);
    b.started();
    vi.advanceTimersByTime(60_000); // ran long enough: not a crash loop
    expect(b.delayAfterExit()).toBe(1000);
    expect(crash()).toBe(2000);
    b.reset();
    expect(crash()).toBe(1000);
  });

  it('gives the same doubling to reconnections, which have no healthy run to start over after', () => {
    vi.useFakeTimers();
    const b = new RestartBackoff({ initialMs: 500, maxMs: 3000 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000, 3000, 3000]);
    vi.advanceTimersByTime(3_600_000);
    expect(b.delayAfterExit()).toBe(3000);
    b.reset();
    expect(b.next()).toBe(500);
  });
});
