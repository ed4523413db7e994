import { EventEmitter } from 'node:events';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildRegistration } from '../../src/debug/registration/index.js';
import { RestartBackoff } from '../../src/debug/restart-backoff.js';
import {
  DEFAULT_TIMERS,
  RunSession,
  UnreachableError,
  type RunTimers,
  type SessionEvents,
} from '../../src/debug/session.js';
import { watchPlugin } from '../../src/debug/watch.js';
import { DirectorySource } from '../../src/project/directory-source.js';
import { loadProject } from '../../src/project/load.js';
import { FakeDaemon } from '../helpers/fake-daemon.js';
import { copyPlugin, EXAMPLE, REPO } from '../helpers/plugin.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');
const GREET = {
  user_id: 'u',
  type: 'tool',
  action: 'invoke_tool',
  provider: 'hello_world',
  tool: 'greet',
  tool_parameters: {},
  credentials: {},
};

/** Records every session event by name, for assertions, and lets a test wait for them. */
function recorder() {
  const seen: { name: string; args: unknown[] }[] = [];
  const waiters = new Set<() => void>();
  const events = new Proxy({} as SessionEvents, {
    get:
      (_, name: string) =>
      (...args: unknown[]) => {
        seen.push({ name, args });
        for (const check of [...waiters]) check();
      },
  });
  const named = (name: string) => seen.filter((e) => e.name === name);
  /** Resolves once `test` holds, checked after every event. */
  const waitFor = (test: () => boolean, what: string, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!test()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; events: ${seen.map((e) => e.name).join(', ')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { events, seen, named, waitFor, names: () => seen.map((e) => e.name) };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function startDaemon(options: Parameters<typeof FakeDaemon.start>[0] = {}): Promise<FakeDaemon> {
  const daemon = await FakeDaemon.start(options);
  cleanup.push(() => daemon.close());
  return daemon;
}

/** A session on a copy of the example plugin, with short timers (a 50 ms quiet period unless given). */
async function session(daemon: FakeDaemon, timers: Partial<RunTimers>, env: NodeJS.ProcessEnv = {}) {
  const dir = await copyPlugin(EXAMPLE);
  const project = await loadProject(await DirectorySource.open(dir));
  const rec = recorder();
  const s = new RunSession({
    host: '127.0.0.1',
    port: daemon.port,
    registration: () => buildRegistration(project, 'test-key'),
    plugin: {
      python: FAKE_PYTHON,
      entrypoint: 'main',
      cwd: dir,
      env: { ...process.env, FAKE_HEARTBEAT_MS: '100', ...env },
    },
    timers: { ...DEFAULT_TIMERS, settleMs: 50, ...timers },
    events: rec.events,
  });
  cleanup.push(() => s.stop());
  return { s, rec, dir };
}

describe('RunSession', () => {
  it('keeps the daemon session alive with its own heartbeats while the plugin restarts', async () => {
    // The daemon drops a session silent for 400 to 800 ms; the plugin here crashes on the first
    // request and is restarted only after 900 ms, longer than that. (The daemon runs in this
    // process too: a heartbeat every 50 ms leaves room for this process to be held up a while.)
    const daemon = await startDaemon({ heartbeatTimeoutMs: 400 });
    const { s, rec } = await session(daemon, { heartbeatMs: 50, restartInitialMs: 900 });
    await s.start();
    const conn = await daemon.nextRegistered();
    void conn.request({ ...GREET, tool: 'crash' }).catch(() => undefined);
    await rec.waitFor(() => rec.named('pluginStarted').length === 2, 'the restarted plugin');
    expect(rec.names()).toContain('pluginExited');
    expect(conn.isOpen).toBe(true);
    expect(rec.names()).not.toContain('disconnected');
  });

  it('answers a request that arrives while the plugin is down with an error and an end', async () => {
    const daemon = await startDaemon();
    // A restart far away: the second request comes while the plugin is down.
    const { s } = await session(daemon, { restartInitialMs: 60_000 });
    await s.start();
    const conn = await daemon.nextRegistered();
    await conn.request({ ...GREET, tool: 'crash' }).catch(() => undefined);
    const result = await conn.request(GREET);
    // The daemon ends a request at its first `error` (the `end` after it is for a finished session).
    expect(result.messages.map((m) => m.type)).toEqual(['error']);
    expect(JSON.stringify(result.error)).toContain('the plugin process is restarting');
  });

  it('restarts the plugin for a code change and registers again for a declaration change', async () => {
    const daemon = await startDaemon();
    const { s, rec, dir } = await session(daemon, {});
    await s.start();
    await daemon.nextRegistered();
    const changes: string[] = [];
    const watcher = watchPlugin(
      dir,
      (rel) => rel.startsWith('ignored/'),
      20,
      (kind, files) => {
        changes.push(`${kind}:${files.join(',')}`);
        void (kind === 'declarations' ? s.reregister() : s.restartPlugin());
      },
    );
    cleanup.push(() => watcher.close());
    await watcher.ready;

    const pid = s.pluginPid;
    appendFileSync(path.join(dir, 'tools', 'greet.py'), '\n# changed\n');
    await rec.waitFor(() => rec.named('pluginStarted').length === 2, 'the restarted plugin');
    expect(s.pluginPid).not.toBe(pid);
    expect(changes).toEqual(['code:tools/greet.py']);

    writeFileSync(
      path.join(dir, 'tools', 'greet.yaml'),
      `${readFileSync(path.join(EXAMPLE, 'tools', 'greet.yaml'), 'utf8')}\n`,
    );
    const again = await daemon.nextRegistered();
    expect(again.registration.at(-1)!.type).toBe('end');
    expect(changes.at(-1)).toBe('declarations:tools/greet.yaml');
  });

  it('resumes reading from the daemon when the plugin it was waiting on dies', async () => {
    const daemon = await startDaemon();
    // The stalled plugin would exit only after a minute: the test kills it once the relay waits on it.
    const { s, rec } = await session(daemon, { restartInitialMs: 20 }, { FAKE_STALL_MS: '60000' });
    await s.start();
    const conn = await daemon.nextRegistered();
    void conn.request({ ...GREET, tool: 'stall' }).catch(() => undefined);
    await rec.waitFor(
      () => rec.seen.some((e) => e.name === 'log' && String(e.args[1]).includes('tool=stall')),
      'the stall',
    );
    // The plugin reads no more: a 1 MB request fills its pipe, so the relay stops reading the socket.
    void conn.request({ ...GREET, tool_parameters: { name: 'x'.repeat(1024 * 1024) } }).catch(() => undefined);
    await vi.waitUntil(() => s.backPressure.toPlugin, { timeout: 10_000 });
    // Then it dies with that unread and is restarted: the socket must be read again.
    process.kill(s.pluginPid!, 'SIGKILL');
    await rec.waitFor(() => rec.named('pluginStarted').length === 2, 'the restarted plugin');
    const result = await conn.request({ ...GREET, tool_parameters: { name: 'Ada' } }, 5000);
    expect(result.ended).toBe(true);
    expect(JSON.stringify(result.messages)).toContain('Ada');
  });

  it("resumes the plugin's output on the new connection when the full one is dropped", async () => {
    const daemon = await startDaemon();
    const { s } = await session(daemon, { reconnectInitialMs: 20 });
    await s.start();
    const conn = await daemon.nextRegistered();
    // The daemon reads nothing while the plugin writes 10 MB: the relay pauses the plugin's stdout.
    conn.pauseReading();
    void conn.request({ ...GREET, tool: 'burst' }, 30_000).catch(() => undefined);
    await vi.waitUntil(() => s.backPressure.toDaemon, { timeout: 10_000 });
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
    const daemon = await startDaemon();
    // 50,000 messages of some 250 bytes: hundreds of lines in every read from the plugin, and more
    // than the socket buffers hold.
    const { s } = await session(daemon, {}, { FAKE_BURST: '50000', FAKE_BURST_PAD: '100' });
    await s.start();
    const conn = await daemon.nextRegistered();
    conn.pauseReading();
    const burst = conn.request({ ...GREET, tool: 'burst' }, 30_000);
    await vi.waitUntil(() => s.backPressure.toDaemon, { timeout: 10_000 });
    conn.resumeReading();
    const result = await burst;
    expect(result.messages.filter((m) => m.type === 'stream')).toHaveLength(50_000);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
    expect(warnings.filter((w) => w.includes('drain listeners'))).toEqual([]);
  });

  it('re-registering supersedes a registration in progress and keeps one connection', async () => {
    const daemon = await startDaemon();
    // A quiet period longer than the test: a registration is accepted only by a request on it.
    const { s } = await session(daemon, { settleMs: 60_000 });
    const started = s.start();
    expect((await (await daemon.nextRegistered()).request(GREET)).ended).toBe(true);
    await started;
    const first = s.reregister();
    await daemon.nextRegistered(); // registered at the daemon, still settling here
    const second = s.reregister();
    const last = await daemon.nextRegistered();
    expect((await last.request(GREET)).ended).toBe(true);
    await Promise.all([first, second]);
    await Promise.all(daemon.connections.filter((c) => c !== last).map((c) => c.closed));
    expect(daemon.connections.filter((c) => c.isOpen)).toEqual([last]);
    expect(daemon.connections).toHaveLength(3);
  });
});

describe('RunSession: reconnection delays (RestartBackoff)', () => {
  const delays = (rec: ReturnType<typeof recorder>, name: string, at: number) => rec.named(name).map((e) => e.args[at]);

  it('by default: 5 first attempts 0.5, 1, 2 and 4 s apart; restarts from 1 s; a quiet second accepts', () => {
    const { firstConnectAttempts, reconnectInitialMs, reconnectMaxMs } = DEFAULT_TIMERS;
    const backoff = new RestartBackoff({ initialMs: reconnectInitialMs, maxMs: reconnectMaxMs });
    expect(Array.from({ length: firstConnectAttempts - 1 }, () => backoff.next())).toEqual([500, 1000, 2000, 4000]);
    expect(DEFAULT_TIMERS).toEqual({
      connectTimeoutMs: 10_000,
      settleMs: 1000,
      registrationStallMs: 30_000,
      registrationMaxMs: 600_000,
      heartbeatMs: 10_000,
      firstConnectAttempts: 5,
      reconnectInitialMs: 500,
      reconnectMaxMs: 30_000,
      restartInitialMs: 1000,
      restartMaxMs: 30_000,
      healthyRunMs: 60_000,
      stopGraceMs: 5000,
      crashLoopRunMs: 10_000,
      crashLoopCount: 5,
      watchDebounceMs: 300,
      preflightTimeoutMs: 10_000,
    });
  });

  it('retries the first connection with doubling delays up to the cap, then gives up', async () => {
    const daemon = await startDaemon();
    await daemon.close();
    const { s, rec } = await session(daemon, { reconnectInitialMs: 5, reconnectMaxMs: 20, firstConnectAttempts: 5 });
    const err = await s.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toMatch(/after 5 attempts$/);
    expect(delays(rec, 'connecting', 1)).toEqual([1, 2, 3, 4, 5]);
    expect(delays(rec, 'connectFailed', 1)).toEqual([5, 10, 20, 20, null]);
  });

  it('after a drop, waits before each attempt, doubling up to the cap, for as long as it takes', async () => {
    const daemon = await startDaemon();
    const { s, rec } = await session(daemon, { reconnectInitialMs: 5, reconnectMaxMs: 20 });
    await s.start();
    await daemon.nextRegistered();
    await daemon.close();
    await rec.waitFor(() => rec.named('reconnecting').length === 5, 'five reconnection attempts');
    expect(delays(rec, 'reconnecting', 0)).toEqual([1, 2, 3, 4, 5]);
    expect(delays(rec, 'reconnecting', 1)).toEqual([5, 10, 20, 20, 20]);
    expect(delays(rec, 'connectFailed', 1).slice(0, 4)).toEqual([10, 20, 20, 20]);
  });

  it('registering again tries at once, then waits as after a drop', async () => {
    const daemon = await startDaemon();
    const { s, rec } = await session(daemon, { reconnectInitialMs: 5, reconnectMaxMs: 20 });
    await s.start();
    await daemon.nextRegistered();
    await daemon.close();
    await rec.waitFor(() => rec.names().includes('disconnected'), 'the drop');
    // A registration in its place: the old loop is superseded, the new one starts without waiting.
    const before = rec.seen.length;
    void s.reregister();
    await rec.waitFor(
      () => rec.seen.slice(before).filter((e) => e.name === 'reconnecting').length === 2,
      'two reconnection attempts',
    );
    const after = rec.seen.slice(before).filter((e) => e.name === 'connectFailed' || e.name === 'reconnecting');
    expect(after.slice(0, 4).map((e) => [e.name, e.args.at(-1)])).toEqual([
      ['connectFailed', 5],
      ['reconnecting', 5],
      ['connectFailed', 10],
      ['reconnecting', 10],
    ]);
  });
});
