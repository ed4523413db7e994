import { RESTART_DEFAULTS, RestartBackoff } from './restart-backoff.js';
import { connect, ConnectError, DaemonLink, MAX_DAEMON_LINE_BYTES } from './daemon-link.js';
import { explainRejection, type DaemonRejection } from './daemon-errors.js';
import { FlowGate } from './flow-gate.js';
import { PluginProcess, type PluginExit, type PluginProcessOptions } from './plugin-process.js';
import { CrashLoopError, QuickExits } from './crash-loop.js';
import { UserError } from '../diagnostics/user-error.js';

/** Every timer of a debugging session, with its default, in one place. */
export interface RunTimers {
  /** A TCP connect that takes longer has failed. */
  connectTimeoutMs: number;
  /** The daemon never acknowledges a registration: this long without a rejection means accepted. */
  settleMs: number;
  /**
   * While the registration is being sent, none of our bytes taken for this long means the daemon
   * accepted the connection but does not read (bytes received do not count: they say nothing of
   * ours). The daemon itself drops a connection whose handshake (our first line) has not completed
   * within 10 s, so a live one reads well within this.
   */
  registrationStallMs: number;
  /**
   * A registration still not all taken after this long has failed, however steadily it was read:
   * a server reading a byte now and then is never stalled, yet would never finish. Generous, as a
   * slow link is no fault: 10 min is 16 MB of assets at under 30 kB/s.
   */
  registrationMaxMs: number;
  /** How often the CLI itself sends heartbeats while the plugin process is down (the daemon drops a session silent for 60 s). */
  heartbeatMs: number;
  /** Connection attempts before giving up on the first connection. */
  firstConnectAttempts: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  restartInitialMs: number;
  restartMaxMs: number;
  /** A process that ran this long before exiting is restarted without delay growth. */
  healthyRunMs: number;
  /** SIGTERM, then SIGKILL after this long. */
  stopGraceMs: number;
  /** A plugin process that exits within this long of its start crashed right after starting... */
  crashLoopRunMs: number;
  /** ... and one that does so this many times in a row is not restarted again: the run ends. */
  crashLoopCount: number;
  /** `run --watch`: editors write a file in several steps, so changes are acted on once quiet this long. */
  watchDebounceMs: number;
  /** The interpreter check before connecting (preflight.ts): an interpreter silent this long is not usable. */
  preflightTimeoutMs: number;
}

export const DEFAULT_TIMERS: RunTimers = {
  connectTimeoutMs: 10_000,
  settleMs: 1_000,
  registrationStallMs: 30_000,
  registrationMaxMs: 600_000,
  heartbeatMs: 10_000,
  firstConnectAttempts: 5,
  reconnectInitialMs: 500,
  reconnectMaxMs: 30_000,
  restartInitialMs: RESTART_DEFAULTS.initialMs,
  restartMaxMs: RESTART_DEFAULTS.maxMs,
  healthyRunMs: RESTART_DEFAULTS.healthyRunMs,
  stopGraceMs: 5_000,
  crashLoopRunMs: 10_000,
  crashLoopCount: 5,
  watchDebounceMs: 300,
  preflightTimeoutMs: 10_000,
};

export interface RequestInfo {
  session: string;
  type: string;
  action: string;
  /** What the request is for: `provider/tool`, a model, an endpoint path... */
  target: string;
}

/** What a session reports as it goes; the CLI turns these into screen lines or JSON events. */
export interface SessionEvents {
  connecting(address: string, attempt: number): void;
  connectFailed(reason: string, retryInMs: number | null): void;
  connected(address: string): void;
  registered(): void;
  request(r: RequestInfo): void;
  response(r: { session: string; status: 'ok' | 'error'; ms: number; error?: string }): void;
  log(level: string, message: string): void;
  pluginOutput(text: string): void;
  /** A line of the plugin's stderr, as it comes. */
  pluginStderr(text: string): void;
  pluginStarted(pid: number | undefined): void;
  /** `restartInMs` null: not restarted until a file changes (`run --watch` after a crash loop). */
  pluginExited(exit: PluginExit, restartInMs: number | null): void;
  disconnected(): void;
  reconnecting(attempt: number, inMs: number): void;
}

/** The daemon refused the registration: retrying cannot help. The message quotes its reply. */
export class RejectedError extends UserError {
  /** For the `--format json` error event. */
  readonly details: { daemon_reply: string };

  constructor(readonly rejection: DaemonRejection) {
    const { cause, fix, reply, notDaemon } = rejection;
    const label = `  ${notDaemon ? 'server' : 'daemon'}: `;
    // The reply's own lines under its first, where none can pass for a line of the CLI's.
    super(`${cause}\n${label}${reply.replace(/\r?\n/g, `\n${' '.repeat(label.length)}`)}`, fix);
    this.details = { daemon_reply: reply };
  }
}

/** No connection could be made within the allowed attempts. */
export class UnreachableError extends UserError {
  constructor(message: string) {
    super(
      message,
      "check that Dify is running and that the address (REMOTE_INSTALL_URL, or --url) is its plugin daemon's debugging port, usually 5003",
    );
  }
}

/** What answers at the daemon's address is not behaving as a daemon: retrying cannot help. */
export class DaemonMisbehavedError extends UserError {
  constructor(message: string) {
    super(
      message,
      "check that the address (REMOTE_INSTALL_URL, or --url) is the plugin daemon's remote-debugging port (5003 unless changed) and that the daemon is running normally (its logs: `docker compose logs plugin_daemon`)",
    );
  }
}

/** The plugin's interpreter could not be started at all. */
export class PluginStartError extends UserError {
  constructor(message: string) {
    super(message, "pass --python, set PYTHON_INTERPRETER_PATH, or create the plugin's .venv");
  }
}

export interface SessionOptions {
  host: string;
  port: number;
  /** The registration to send on every (re)connection, handshake first and `end` last. */
  registration: () => Promise<readonly unknown[]>;
  plugin: PluginProcessOptions;
  timers: RunTimers;
  events: SessionEvents;
  /**
   * `run --watch`: a plugin that keeps crashing as it starts waits for the next change
   * (restartPlugin()) instead of ending the session.
   */
  waitForChange?: boolean;
}

const HEARTBEAT = JSON.stringify({ event: 'heartbeat', session_id: null, data: {} });

/**
 * A remote-debugging session: the CLI holds the TCP connection to the daemon and runs the plugin
 * in stdio mode as its child, relaying lines both ways (docs/remote-debugging.md#stdio-mode). A
 * dropped connection is re-established and re-registered while the plugin keeps running; a crashed
 * plugin is restarted while the connection stays up, kept alive by the CLI's own heartbeats.
 *
 * The session is over when stop() is called or when something fatal happens (a rejection, an
 * interpreter that cannot be started): `finished` then resolves, with that error if any. Every
 * retry loop and delay watches for the end, so nothing keeps running after it.
 */
export class RunSession {
  private link: DaemonLink | undefined;
  private readonly plugin: PluginProcess;
  private readonly pending = new Map<string, { started: number; error?: string }>();
  /** Aborted once the session is over. */
  private readonly over = new AbortController();
  private outcome: Error | undefined;
  /** The connection attempt (or retry loop) in progress; a newer one, or the end, aborts it. */
  private connecting: AbortController | undefined;
  /** Back-pressure of each direction: daemon socket → plugin stdin, plugin stdout → daemon socket. */
  private readonly toPlugin = new FlowGate();
  private readonly toDaemon = new FlowGate();
  private heartbeat: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly restarts: RestartBackoff;
  /** The plugin's exits right after starting, in a row (RunTimers.crashLoopRunMs). */
  private readonly quickExits: QuickExits;
  /** Set while restartPlugin() stops the process on purpose: that exit is not a crash. */
  private replacing = false;
  private stopped: Promise<void> | undefined;
  /** Resolves when the session is over: with the fatal error, or undefined after stop(). */
  readonly finished: Promise<Error | undefined>;

  constructor(private readonly o: SessionOptions) {
    this.plugin = new PluginProcess(o.plugin);
    this.restarts = new RestartBackoff({
      initialMs: o.timers.restartInitialMs,
      maxMs: o.timers.restartMaxMs,
      healthyRunMs: o.timers.healthyRunMs,
    });
    this.quickExits = new QuickExits(o.timers.crashLoopRunMs, o.timers.crashLoopCount);
    this.finished = new Promise((resolve) =>
      this.over.signal.addEventListener('abort', () => resolve(this.outcome), { once: true }),
    );
    this.plugin.on('line', (line) => this.fromPlugin(line));
    this.plugin.on('stderr', (line) => this.o.events.pluginStderr(line));
    this.plugin.on('exit', (exit) => this.pluginExited(exit));
  }

  get address(): string {
    return `${this.o.host}:${this.o.port}`;
  }

  /** True once the session has ended: stopped, or ended by a fatal error. */
  get ended(): boolean {
    return this.over.signal.aborted;
  }

  get pluginPid(): number | undefined {
    return this.plugin.pid;
  }

  /** Which directions of the relay are waiting for their reader to catch up (back-pressure). */
  get backPressure(): { toPlugin: boolean; toDaemon: boolean } {
    return { toPlugin: this.toPlugin.blocked, toDaemon: this.toDaemon.blocked };
  }

  /**
   * Starts the plugin, then connects and registers (bounded retries). The plugin starts first so
   * that it is up when the first request arrives, right after the registration. Throws whatever
   * ended the session meanwhile (a rejection, an interpreter that cannot start, no daemon);
   * returns early, without error, when stop() was called meanwhile (Ctrl-C while connecting).
   */
  async start(): Promise<void> {
    const { timers } = this.o;
    this.startPlugin();
    const signal = this.newAttempt();
    const backoff = this.reconnectBackoff();
    for (let attempt = 1; !signal.aborted; attempt++) {
      this.o.events.connecting(this.address, attempt);
      try {
        await this.connectAndRegister(signal);
        break;
      } catch (err) {
        if (signal.aborted) break;
        if (!(err instanceof ConnectError)) {
          this.end(err as Error);
          break;
        }
        if (attempt >= timers.firstConnectAttempts) {
          this.o.events.connectFailed(err.message, null);
          this.end(
            new UnreachableError(
              `cannot reach the Dify plugin daemon at ${this.address} (${err.message}) after ${attempt} attempts`,
            ),
          );
          break;
        }
        const delay = backoff.next();
        this.o.events.connectFailed(err.message, delay);
        await sleep(delay, signal);
      }
    }
    if (this.outcome) throw this.outcome;
    if (this.over.signal.aborted) return;
    this.heartbeat = setInterval(() => this.keepAlive(), timers.heartbeatMs);
  }

  /** Stops the plugin (SIGTERM, then SIGKILL) and closes the connection; every call shares one stop. */
  stop(): Promise<void> {
    this.stopped ??= this.shutDown();
    return this.stopped;
  }

  /** For a second Ctrl-C, or the CLI's exit handler: no more waiting, nothing may outlive the CLI. */
  killNow(): void {
    this.plugin.killNow();
  }

  /** Restarts the plugin process (its code changed); the connection stays. */
  async restartPlugin(): Promise<void> {
    if (this.over.signal.aborted) return;
    clearTimeout(this.restartTimer);
    this.restarts.reset();
    this.quickExits.reset();
    this.replacing = true;
    try {
      await this.plugin.stop(this.o.timers.stopGraceMs);
    } finally {
      this.replacing = false;
    }
    this.startPlugin();
  }

  /**
   * Registers again on a fresh connection (declarations or assets changed). The current connection
   * is closed and any (re)connection in progress is abandoned, so that only one is ever held.
   * Resolves once registered, or when superseded by a newer call, or when the session is over.
   */
  reregister(): Promise<void> {
    if (this.over.signal.aborted) return Promise.resolve();
    const old = this.link;
    if (old) {
      this.forget(old);
      old.close();
    }
    return this.reconnect(true);
  }

  private async shutDown(): Promise<void> {
    this.end(undefined);
    clearInterval(this.heartbeat);
    clearTimeout(this.restartTimer);
    await this.plugin.stop(this.o.timers.stopGraceMs);
    this.link?.close();
  }

  /** Marks the session over: with `err` when something fatal happened, undefined when stopped. */
  private end(err: Error | undefined): void {
    if (this.over.signal.aborted) return;
    this.outcome = err;
    this.connecting?.abort();
    this.over.abort();
  }

  /** A new connection attempt, which supersedes (aborts) the one in progress. */
  private newAttempt(): AbortSignal {
    this.connecting?.abort();
    const attempt = new AbortController();
    this.connecting = attempt;
    if (this.over.signal.aborted) attempt.abort();
    return attempt.signal;
  }

  private async connectAndRegister(signal: AbortSignal): Promise<void> {
    const socket = await connect(this.o.host, this.o.port, this.o.timers.connectTimeoutMs, signal);
    const link = new DaemonLink(socket);
    // Superseded or over meanwhile: this connection must not outlive its attempt.
    const abandon = () => link.close();
    signal.addEventListener('abort', abandon, { once: true });
    try {
      if (signal.aborted) throw new ConnectError('aborted', 'superseded');
      this.o.events.connected(this.address);
      const { settleMs, registrationStallMs, registrationMaxMs } = this.o.timers;
      const registration = await this.o.registration();
      const result = await link.register(registration, settleMs, registrationStallMs, registrationMaxMs);
      if (signal.aborted) throw new ConnectError('aborted', 'superseded');
      if (!result.accepted) {
        if ('reply' in result) throw new RejectedError(explainRejection(result.reply));
        if ('stalledMs' in result)
          throw new DaemonMisbehavedError(
            `the daemon at ${this.address} accepted the connection but did not read the registration (nothing got through for ${result.stalledMs / 1000} s)`,
          );
        if ('tooSlowMs' in result)
          throw new DaemonMisbehavedError(
            `the daemon at ${this.address} accepted the connection but had not read the whole registration after ${result.tooSlowMs / 1000} s`,
          );
        if (link.lineTooLong) throw this.lineTooLong();
        throw new ConnectError('reset', 'the daemon closed the connection during registration');
      }
    } catch (err) {
      link.close();
      throw err;
    } finally {
      signal.removeEventListener('abort', abandon);
    }
    this.adopt(link);
  }

  /** Makes a registered connection the current one and starts relaying on it. */
  private adopt(link: DaemonLink): void {
    this.link = link;
    this.toDaemon.release(); // the plugin's output may be waiting on a connection that is gone
    link.on('line', (line) => this.fromDaemon(line, link));
    link.on('close', (reply) => this.linkClosed(link, reply));
    this.o.events.registered();
    link.begin(); // requests that came with the acceptance, now that it has been reported
  }

  private linkClosed(link: DaemonLink, reply: string | undefined): void {
    if (this.link !== link || this.over.signal.aborted) return;
    this.forget(link);
    if (link.lineTooLong) return this.end(this.lineTooLong());
    // Plain text, then the close: the daemon refused the registration after all, only late.
    if (reply !== undefined) return this.end(new RejectedError(explainRejection(reply)));
    this.o.events.disconnected();
    void this.reconnect(false);
  }

  private lineTooLong(): DaemonMisbehavedError {
    return new DaemonMisbehavedError(
      `the daemon at ${this.address} sent a line longer than ${MAX_DAEMON_LINE_BYTES / 1024 / 1024} MiB (no newline), which no daemon message is; the connection was closed`,
    );
  }

  /** The connection is no longer the current one. */
  private forget(link: DaemonLink): void {
    if (this.link === link) this.link = undefined;
    // Neither direction may stay paused on a stream of a dead connection.
    this.toDaemon.release();
    this.toPlugin.release();
    // In-flight requests died with the connection; the daemon has already failed them.
    this.pending.clear();
  }

  /** Connects and registers anew, for as long as it takes, with backoff; a newer call supersedes it. */
  private async reconnect(immediate: boolean): Promise<void> {
    const signal = this.newAttempt();
    const backoff = this.reconnectBackoff();
    let delay = immediate ? 0 : backoff.next();
    for (let attempt = 1; ; attempt++) {
      if (delay > 0) {
        this.o.events.reconnecting(attempt, delay);
        await sleep(delay, signal);
      }
      if (signal.aborted) return;
      try {
        await this.connectAndRegister(signal);
        return;
      } catch (err) {
        if (signal.aborted) return;
        // A rejection (or anything but a failed connection): retrying cannot help.
        if (!(err instanceof ConnectError)) return this.end(err as Error);
        delay = backoff.next();
        this.o.events.connectFailed(err.message, delay);
      }
    }
  }

  /** Each retry loop starts from the shortest delay. */
  private reconnectBackoff(): RestartBackoff {
    return new RestartBackoff({ initialMs: this.o.timers.reconnectInitialMs, maxMs: this.o.timers.reconnectMaxMs });
  }

  private startPlugin(): void {
    if (this.over.signal.aborted) return;
    this.restarts.started();
    this.quickExits.started();
    this.plugin.start();
    this.o.events.pluginStarted(this.plugin.pid);
  }

  private pluginExited(exit: PluginExit): void {
    // Its stdin will never drain now, and its stdout is done.
    this.toPlugin.release();
    this.toDaemon.release();
    if (this.over.signal.aborted) return;
    if (exit.spawnError)
      return this.end(new PluginStartError(`cannot start the plugin with ${this.o.plugin.python}: ${exit.spawnError}`));
    const why = this.replacing ? 'the plugin process was restarted' : 'the plugin process exited';
    for (const [session, request] of this.pending) {
      this.failRequest(session, why);
      this.finishRequest(session, request.started, why);
    }
    if (this.replacing) return; // restartPlugin() starts the new one
    if (this.quickExits.exited()) {
      // Under --watch the fix is a save away: the session and the watcher stay, restartPlugin() resumes.
      if (this.o.waitForChange) return this.o.events.pluginExited(exit, null);
      return this.end(
        new CrashLoopError(exit, this.quickExits.inARow, this.quickExits.runMs, this.o.plugin.python, true),
      );
    }
    const delay = this.restarts.delayAfterExit();
    this.o.events.pluginExited(exit, delay);
    this.restartTimer = setTimeout(() => this.startPlugin(), delay);
  }

  /**
   * While the plugin is down, the daemon still has to hear from us. So it does while a plugin
   * under debugpy may be paused at a breakpoint, heartbeats included: the daemon drops a
   * debugging connection silent for 60 s (dify-plugin-daemon `lifetime.go`, HeartbeatMonitor).
   */
  private keepAlive(): void {
    if (!this.plugin.running || this.o.plugin.debugpy) this.link?.write(HEARTBEAT);
  }

  private fromDaemon(line: Buffer, link: DaemonLink): void {
    const message = parse(line) as { event?: string; session_id?: string; data?: Record<string, unknown> } | undefined;
    if (message?.event === 'request' && typeof message.session_id === 'string') {
      const data = message.data ?? {};
      this.pending.set(message.session_id, { started: Date.now() });
      this.o.events.request({
        session: message.session_id,
        type: String(data.type ?? ''),
        action: String(data.action ?? ''),
        target: targetOf(data),
      });
      if (!this.plugin.running) {
        this.failRequest(message.session_id, 'the plugin process is restarting; try again in a moment', link);
        this.finishRequest(message.session_id, Date.now(), 'the plugin process is restarting');
        return;
      }
    }
    const stdin = this.plugin.stdin;
    if (!this.plugin.write(line) && stdin) this.toPlugin.block(link.socket, stdin);
  }

  private fromPlugin(line: Buffer): void {
    const message = parse(line) as
      | {
          event?: string;
          session_id?: string;
          data?: { type?: string; data?: { message?: string; level?: string } } & Record<string, unknown>;
        }
      | undefined;
    if (!message || typeof message.event !== 'string') {
      this.o.events.pluginOutput(line.toString('utf8')); // a print() in plugin code: show it, the daemon cannot use it
      return;
    }
    if (message.event === 'log') {
      const data = (message.data ?? {}) as { level?: string; message?: string };
      this.o.events.log(String(data.level ?? 'INFO'), String(data.message ?? ''));
      return;
    }
    if (message.event === 'session' && typeof message.session_id === 'string') {
      const request = this.pending.get(message.session_id);
      const kind = message.data?.type;
      if (request && kind === 'error') request.error = String(message.data?.data?.message ?? 'error');
      if (request && kind === 'end') this.finishRequest(message.session_id, request.started, request.error);
    }
    const link = this.link;
    const stdout = this.plugin.stdout;
    if (link && !link.write(line) && stdout) this.toDaemon.block(stdout, link.socket);
  }

  /** Answers a request the plugin cannot take, as the SDK would: an error, then the end. */
  private failRequest(session: string, message: string, link = this.link): void {
    const error = { error_type: 'PluginUnavailableError', message, args: {} };
    link?.write(JSON.stringify({ event: 'session', session_id: session, data: { type: 'error', data: error } }));
    link?.write(JSON.stringify({ event: 'session', session_id: session, data: { type: 'end', data: {} } }));
  }

  private finishRequest(session: string, started: number, error: string | undefined): void {
    this.pending.delete(session);
    const r = { session, status: error ? ('error' as const) : ('ok' as const), ms: Date.now() - started };
    this.o.events.response(error ? { ...r, error } : r);
  }
}

/** A delay that ends early when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function parse(line: Buffer): unknown {
  try {
    return JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A short name for what a request is for, for the one line shown per request. */
function targetOf(data: Record<string, unknown>): string {
  const pick = (...keys: string[]) =>
    keys.map((k) => data[k]).filter((v) => typeof v === 'string' && v !== '') as string[];
  const parts =
    pick('provider', 'tool').length === 2
      ? pick('provider', 'tool')
      : pick('agent_strategy_provider', 'agent_strategy').length === 2
        ? pick('agent_strategy_provider', 'agent_strategy')
        : pick('provider', 'model', 'event', 'datasource_name');
  return parts.join('/');
}
