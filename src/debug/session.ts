import { connect, ConnectError, DaemonLink } from './daemon-link.js';
import { explainRejection, type DaemonRejection } from './daemon-errors.js';
import { PluginProcess, type PluginExit, type PluginProcessOptions } from './plugin-process.js';

/** Every timer of a debugging session, with its default, in one place. */
export interface RunTimers {
  /** A TCP connect that takes longer has failed. */
  connectTimeoutMs: number;
  /** The daemon never acknowledges a registration: this long without a rejection means accepted. */
  settleMs: number;
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
}

export const DEFAULT_TIMERS: RunTimers = {
  connectTimeoutMs: 10_000,
  settleMs: 1_000,
  heartbeatMs: 10_000,
  firstConnectAttempts: 5,
  reconnectInitialMs: 500,
  reconnectMaxMs: 30_000,
  restartInitialMs: 1_000,
  restartMaxMs: 30_000,
  healthyRunMs: 60_000,
  stopGraceMs: 5_000,
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
  pluginStarted(pid: number | undefined): void;
  pluginExited(exit: PluginExit, restartInMs: number): void;
  disconnected(): void;
  reconnecting(attempt: number, inMs: number): void;
}

/** The daemon refused the registration: retrying cannot help. */
export class RejectedError extends Error {
  constructor(readonly rejection: DaemonRejection) {
    super(rejection.cause);
    this.name = 'RejectedError';
  }
}

/** No connection could be made within the allowed attempts. */
export class UnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreachableError';
  }
}

/** The plugin's interpreter could not be started at all. */
export class PluginStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PluginStartError';
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
}

const HEARTBEAT = JSON.stringify({ event: 'heartbeat', session_id: null, data: {} });

/**
 * A remote-debugging session: the CLI holds the TCP connection to the daemon and runs the plugin
 * in stdio mode as its child, relaying lines both ways (sdk.md §3.5). A dropped connection is
 * re-established and re-registered while the plugin keeps running; a crashed plugin is restarted
 * while the connection stays up, kept alive by the CLI's own heartbeats.
 */
export class RunSession {
  private link: DaemonLink | undefined;
  private readonly plugin: PluginProcess;
  private readonly pending = new Map<string, { started: number; error?: string }>();
  private readonly stopping = new AbortController();
  private heartbeat: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelay: number;
  private startedAt = 0;
  private fatal: ((err: Error) => void) | undefined;
  /** Resolves when the session ends by itself (a later rejection); stop() ends it too. */
  readonly finished: Promise<Error | undefined>;

  constructor(private readonly o: SessionOptions) {
    this.plugin = new PluginProcess(o.plugin);
    this.restartDelay = o.timers.restartInitialMs;
    this.finished = new Promise((resolve) => {
      this.fatal = (err) => resolve(err);
      this.stopping.signal.addEventListener('abort', () => resolve(undefined));
    });
    this.plugin.on('line', (line) => this.fromPlugin(line));
    this.plugin.on('exit', (exit) => this.pluginExited(exit));
  }

  get address(): string {
    return `${this.o.host}:${this.o.port}`;
  }

  get pluginPid(): number | undefined {
    return this.plugin.pid;
  }

  /**
   * Starts the plugin, then connects and registers (bounded retries). The plugin starts first so
   * that it is up when the first request arrives, right after the registration.
   */
  async start(): Promise<void> {
    const { timers } = this.o;
    this.startPlugin();
    let delay = timers.reconnectInitialMs;
    for (let attempt = 1; ; attempt++) {
      this.o.events.connecting(this.address, attempt);
      try {
        await this.connectAndRegister();
        break;
      } catch (err) {
        if (!(err instanceof ConnectError)) throw err;
        const last = attempt >= timers.firstConnectAttempts;
        this.o.events.connectFailed(err.message, last ? null : delay);
        if (last) throw new UnreachableError(`cannot reach the Dify plugin daemon at ${this.address} (${err.message}) after ${attempt} attempts`);
        await this.sleep(delay);
        delay = Math.min(delay * 2, timers.reconnectMaxMs);
      }
    }
    this.heartbeat = setInterval(() => this.keepAlive(), timers.heartbeatMs);
  }

  /** Stops the plugin (SIGTERM, then SIGKILL) and closes the connection. */
  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.heartbeat);
    clearTimeout(this.restartTimer);
    await this.plugin.stop(this.o.timers.stopGraceMs);
    this.link?.close();
  }

  /** For the CLI's exit handler when there is no time left: nothing may outlive the CLI. */
  killNow(): void {
    this.plugin.killNow();
  }

  /** Restarts the plugin process (its code changed); the connection stays. */
  async restartPlugin(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartDelay = this.o.timers.restartInitialMs;
    this.plugin.removeAllListeners('exit');
    await this.plugin.stop(this.o.timers.stopGraceMs);
    this.plugin.on('exit', (exit) => this.pluginExited(exit));
    this.startPlugin();
  }

  /** Registers again on a fresh connection (declarations or assets changed). */
  async reregister(): Promise<void> {
    const old = this.link;
    this.link = undefined;
    old?.removeAllListeners('close');
    old?.close();
    await this.reconnect();
  }

  private async connectAndRegister(): Promise<void> {
    const socket = await connect(this.o.host, this.o.port, this.o.timers.connectTimeoutMs);
    const link = new DaemonLink(socket);
    this.o.events.connected(this.address);
    link.on('line', (line) => this.fromDaemon(line, link));
    const result = await link.register(await this.o.registration(), this.o.timers.settleMs);
    if (!result.accepted) {
      link.close();
      if ('reply' in result) throw new RejectedError(explainRejection(result.reply));
      throw new ConnectError('reset', 'the daemon closed the connection during registration');
    }
    this.link = link;
    link.on('close', () => this.linkClosed(link));
    this.o.events.registered();
  }

  private linkClosed(link: DaemonLink): void {
    if (this.link !== link || this.stopping.signal.aborted) return;
    this.link = undefined;
    this.o.events.disconnected();
    // In-flight requests died with the connection; the daemon has already failed them.
    this.pending.clear();
    void this.reconnect();
  }

  /** After a drop: retry for as long as it takes, with backoff, then register anew. */
  private async reconnect(): Promise<void> {
    let delay = this.o.timers.reconnectInitialMs;
    for (let attempt = 1; !this.stopping.signal.aborted; attempt++) {
      this.o.events.reconnecting(attempt, delay);
      await this.sleep(delay);
      if (this.stopping.signal.aborted) return;
      try {
        await this.connectAndRegister();
        return;
      } catch (err) {
        if (err instanceof RejectedError) {
          this.fatal?.(err);
          return;
        }
        if (!(err instanceof ConnectError)) throw err;
        this.o.events.connectFailed(err.message, Math.min(delay * 2, this.o.timers.reconnectMaxMs));
        delay = Math.min(delay * 2, this.o.timers.reconnectMaxMs);
      }
    }
  }

  private startPlugin(): void {
    this.startedAt = Date.now();
    this.plugin.start();
    this.o.events.pluginStarted(this.plugin.pid);
  }

  private pluginExited(exit: PluginExit): void {
    if (this.stopping.signal.aborted) return;
    if (exit.spawnError) {
      this.fatal?.(new PluginStartError(`cannot start the plugin with ${this.o.plugin.python}: ${exit.spawnError}`));
      return;
    }
    for (const [session, request] of this.pending) {
      this.failRequest(session, 'the plugin process exited');
      this.finishRequest(session, request.started, 'the plugin process exited');
    }
    if (Date.now() - this.startedAt >= this.o.timers.healthyRunMs) this.restartDelay = this.o.timers.restartInitialMs;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.restartDelay * 2, this.o.timers.restartMaxMs);
    this.o.events.pluginExited(exit, delay);
    this.restartTimer = setTimeout(() => this.startPlugin(), delay);
  }

  /** While the plugin is down, the daemon still has to hear from us. */
  private keepAlive(): void {
    if (!this.plugin.running) this.link?.write(HEARTBEAT);
  }

  private fromDaemon(line: Buffer, link: DaemonLink): void {
    const message = parse(line) as { event?: string; session_id?: string; data?: Record<string, unknown> } | undefined;
    if (message?.event === 'request' && typeof message.session_id === 'string') {
      const data = message.data ?? {};
      this.pending.set(message.session_id, { started: Date.now() });
      this.o.events.request({ session: message.session_id, type: String(data.type ?? ''), action: String(data.action ?? ''), target: targetOf(data) });
      if (!this.plugin.running) {
        this.failRequest(message.session_id, 'the plugin process is restarting; try again in a moment', link);
        this.finishRequest(message.session_id, Date.now(), 'the plugin process is restarting');
        return;
      }
    }
    if (!this.plugin.write(line)) {
      link.socket.pause();
      this.plugin.stdin?.once('drain', () => link.socket.resume());
    }
  }

  private fromPlugin(line: Buffer): void {
    const message = parse(line) as { event?: string; session_id?: string; data?: { type?: string; data?: { message?: string; level?: string } } & Record<string, unknown> } | undefined;
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
    if (link && !link.write(line)) {
      this.plugin.stdout?.pause();
      link.socket.once('drain', () => this.plugin.stdout?.resume());
    }
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

  /** A delay that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stopping.signal;
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
  const pick = (...keys: string[]) => keys.map((k) => data[k]).filter((v) => typeof v === 'string' && v !== '') as string[];
  const parts =
    pick('provider', 'tool').length === 2
      ? pick('provider', 'tool')
      : pick('agent_strategy_provider', 'agent_strategy').length === 2
        ? pick('agent_strategy_provider', 'agent_strategy')
        : pick('provider', 'model', 'event', 'datasource_name');
  return parts.join('/');
}
