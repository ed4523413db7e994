import { EventEmitter } from 'node:events';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRegistration } from '../../src/debug/registration/index.js';
import { DEFAULT_TIMERS, RunSession, type SessionEvents } from '../../src/debug/session.js';
import { watchPlugin } from '../../src/debug/watch.js';
import { DirectorySource } from '../../src/project/directory-source.js';
import { loadProject } from '../../src/project/load.js';
import { FakeDaemon } from '../helpers/fake-daemon.js';
import { copyPlugin, EXAMPLE, REPO } from '../helpers/plugin.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');

/** Records every session event by name, for assertions. */
function recorder() {
  const seen: { name: string; args: unknown[] }[] = [];
  const events = new Proxy({} as SessionEvents, {
    get: (_, name: string) => (...args: unknown[]) => void seen.push({ name, args }),
  });
  return { events, seen, names: () => seen.map((e) => e.name) };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function session(daemon: FakeDaemon, dir: string, timers: Partial<typeof DEFAULT_TIMERS>, env: NodeJS.ProcessEnv = {}) {
  const project = await loadProject(await DirectorySource.open(dir));
  const rec = recorder();
  const s = new RunSession({
    host: '127.0.0.1',
    port: daemon.port,
    registration: () => buildRegistration(project, 'test-key'),
    plugin: { python: FAKE_PYTHON, entrypoint: 'main', cwd: dir, env: { ...process.env, ...env } },
    timers: { ...DEFAULT_TIMERS, settleMs: 100, ...timers },
    events: rec.events,
  });
  cleanup.push(() => s.stop());
  return { s, rec };
}

describe('RunSession', () => {
  it('keeps the daemon session alive with its own heartbeats while the plugin restarts', async () => {
    // The daemon drops a session silent for its window; the plugin here crashes on the first
    // request and is restarted only after 1.5 s, longer than that window.
    const daemon = await FakeDaemon.start({ heartbeatTimeoutMs: 600 });
    cleanup.push(() => daemon.close());
    const dir = await copyPlugin(EXAMPLE);
    const { s, rec } = await session(daemon, dir, { heartbeatMs: 150, restartInitialMs: 1500 }, { FAKE_HEARTBEAT_MS: '100' });
    await s.start();
    const conn = await daemon.nextRegistered();
    void conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'crash', tool_parameters: {}, credentials: {} }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1300));
    expect(rec.names()).toContain('pluginExited');
    expect(conn.isOpen).toBe(true);
    expect(rec.names()).not.toContain('disconnected');
  });

  it('answers a request that arrives while the plugin is down with an error and an end', async () => {
    const daemon = await FakeDaemon.start();
    cleanup.push(() => daemon.close());
    const dir = await copyPlugin(EXAMPLE);
    const { s } = await session(daemon, dir, { restartInitialMs: 2000 }, { FAKE_HEARTBEAT_MS: '100' });
    await s.start();
    const conn = await daemon.nextRegistered();
    await conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'crash', tool_parameters: {}, credentials: {} }).catch(() => undefined);
    const result = await conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'greet', tool_parameters: {}, credentials: {} });
    // The daemon ends a request at its first `error` (the `end` after it is for a finished session).
    expect(result.messages.map((m) => m.type)).toEqual(['error']);
    expect(JSON.stringify(result.error)).toContain('the plugin process is restarting');
  });

  it('restarts the plugin for a code change and registers again for a declaration change', async () => {
    const daemon = await FakeDaemon.start();
    cleanup.push(() => daemon.close());
    const dir = await copyPlugin(EXAMPLE);
    const { s } = await session(daemon, dir, {}, { FAKE_HEARTBEAT_MS: '100' });
    await s.start();
    await daemon.nextRegistered();
    const changes: string[] = [];
    const watcher = watchPlugin(dir, (rel) => rel.startsWith('ignored/'), 100, (kind, files) => {
      changes.push(`${kind}:${files.join(',')}`);
      void (kind === 'declarations' ? s.reregister() : s.restartPlugin());
    });
    cleanup.push(() => watcher.close());

    const pid = s.pluginPid;
    appendFileSync(path.join(dir, 'tools', 'greet.py'), '\n# changed\n');
    await waitUntil(() => s.pluginPid !== undefined && s.pluginPid !== pid);
    expect(changes).toEqual(['code:tools/greet.py']);

    writeFileSync(path.join(dir, 'tools', 'greet.yaml'), `${await import('node:fs').then((fs) => fs.readFileSync(path.join(EXAMPLE, 'tools', 'greet.yaml'), 'utf8'))}\n`);
    const again = await daemon.nextRegistered();
    expect(again.registration.at(-1)!.type).toBe('end');
    expect(changes.at(-1)).toBe('declarations:tools/greet.yaml');
  });

  it('resumes reading from the daemon when the plugin it was waiting on dies', async () => {
    const daemon = await FakeDaemon.start();
    cleanup.push(() => daemon.close());
    const dir = await copyPlugin(EXAMPLE);
    const { s, rec } = await session(daemon, dir, { restartInitialMs: 100 }, { FAKE_HEARTBEAT_MS: '100', FAKE_STALL_MS: '400' });
    await s.start();
    const conn = await daemon.nextRegistered();
    const greet = { user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'greet', credentials: {} };
    void conn.request({ ...greet, tool: 'stall', tool_parameters: {} }).catch(() => undefined);
    await waitUntil(() => rec.seen.some((e) => e.name === 'log' && String(e.args[1]).includes('tool=stall')));
    // The plugin reads no more: a 1 MB request fills its pipe, so the relay stops reading the socket.
    void conn.request({ ...greet, tool_parameters: { name: 'x'.repeat(1024 * 1024) } }).catch(() => undefined);
    // Then it exits with that unread and is restarted: the socket must be read again.
    await waitUntil(() => rec.names().filter((n) => n === 'pluginStarted').length === 2);
    const result = await conn.request({ ...greet, tool_parameters: { name: 'Ada' } }, 5000);
    expect(result.ended).toBe(true);
    expect(JSON.stringify(result.messages)).toContain('Ada');
  });

  it('resumes the plugin\'s output on the new connection when the full one is dropped', async () => {
    const daemon = await FakeDaemon.start();
    cleanup.push(() => daemon.close());
    const dir = await copyPlugin(EXAMPLE);
    const { s } = await session(daemon, dir, { reconnectInitialMs: 100 }, { FAKE_HEARTBEAT_MS: '100' });
    await s.start();
    const conn = await daemon.nextRegistered();
    // The daemon reads nothing while the plugin writes 10 MB: the relay pauses the plugin's stdout.
    conn.pauseReading();
    void conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'burst', tool_parameters: {}, credentials: {} }, 30_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1000));
    conn.drop();
    const again = await daemon.nextRegistered();
    // Only the plugin sends heartbeats while it runs: they flow again once its stdout is resumed.
    await again.waitFor((c) => c.heartbeats > 0, 5000, 'a heartbeat from the plugin');
  });

  it('waits for a full socket with one drain handler, however many lines are held up', async () => {
    // Lines already read keep coming after the pause: a handler per line would pass this limit
    // (Node warns above it) as soon as a few lines follow the one that met the full buffer.
    const limit = EventEmitter.defaultMaxListeners;
    EventEmitter.defaultMaxListeners = 2;
    cleanup.push(() => void (EventEmitter.defaultMaxListeners = limit));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    cleanup.push(() => void process.off('warning', onWarning));
    const daemon = await FakeDaemon.start();
    cleanup.push(() => daemon.close());
    const dir = await copyPlugin(EXAMPLE);
    // 100,000 short messages: hundreds of lines in every read from the plugin.
    const { s } = await session(daemon, dir, {}, { FAKE_HEARTBEAT_MS: '100', FAKE_BURST: '100000', FAKE_BURST_PAD: '0' });
    await s.start();
    const conn = await daemon.nextRegistered();
    conn.pauseReading();
    const burst = conn.request({ user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'hello_world', tool: 'burst', tool_parameters: {}, credentials: {} }, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    conn.resumeReading();
    const result = await burst;
    expect(result.messages.filter((m) => m.type === 'stream')).toHaveLength(100_000);
    await new Promise((r) => setTimeout(r, 50)); // warnings are emitted on a later tick
    expect(warnings.filter((w) => w.includes('drain listeners'))).toEqual([]);
  });

  it('re-registering supersedes a registration in progress and keeps one connection', async () => {
    const daemon = await FakeDaemon.start();
    cleanup.push(() => daemon.close());
    const dir = await copyPlugin(EXAMPLE);
    const { s } = await session(daemon, dir, { settleMs: 500 }, { FAKE_HEARTBEAT_MS: '100' });
    await s.start();
    await daemon.nextRegistered();
    const first = s.reregister();
    await daemon.nextRegistered(); // registered at the daemon, still settling here
    const second = s.reregister();
    await Promise.all([first, second]);
    await waitUntil(() => daemon.connections.filter((c) => c.isOpen).length === 1);
    await new Promise((r) => setTimeout(r, 700)); // an overlapping registration would have settled by now
    expect(daemon.connections.filter((c) => c.isOpen)).toHaveLength(1);
    expect(daemon.connections).toHaveLength(3);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
