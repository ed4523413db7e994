import { randomUUID } from 'node:crypto';
import { CrashLoopError, QuickExits } from './crash-loop.js';
import { RESTART_DEFAULTS, RestartBackoff } from './restart-backoff.js';
import { PluginProcess, type PluginExit, type PluginProcessOptions } from './plugin-process.js';
import { UserError } from '../diagnostics/user-error.js';

/**
 * The Go CLI's local runner protocol (docs/local-run.md), which the Python SDK's integration
 * harness drives: the client sends `{"invoke_id","type","action","request"}` lines and receives
 * `{"invoke_id","type","response"}` lines of type plugin_ready, info, plugin_response,
 * plugin_invoke_end or error. Each request becomes a daemon-style request to the plugin running in
 * stdio mode; backwards invocations are answered by a mock, as there is no Dify here.
 */
export interface RunnerMessage {
  invoke_id: string;
  type: 'plugin_ready' | 'info' | 'plugin_response' | 'plugin_invoke_end' | 'error';
  response: Record<string, unknown>;
}

/** One connected client (stdin/stdout, or one TCP connection). */
export interface RunnerClient {
  /** Sent as `user_id` in its requests: random per client, as in the Go CLI. */
  readonly userId: string;
  send(message: RunnerMessage): void;
}

/**
 * The plugin exited before it was ready (its first heartbeat), or was stopped for not getting
 * ready in time. The message ends with the plugin's last stderr lines, which usually say why.
 */
export class LocalStartError extends UserError {
  constructor(
    readonly exit: PluginExit,
    /** Set when it was stopped after waiting this long. */
    readonly timeoutMs?: number,
  ) {
    const what = exit.spawnError
      ? `cannot start the plugin: ${exit.spawnError}`
      : timeoutMs !== undefined
        ? `the plugin was not ready after ${timeoutMs / 1000} s (no heartbeat from it), so it was stopped`
        : exit.killedFor
          ? `the plugin was killed before it was ready: ${exit.killedFor}`
          : `the plugin exited (code ${exit.code}) before it was ready`;
    const tail = exit.stderrTail.length ? `\n  ${exit.stderrTail.join('\n  ')}` : '';
    super(
      what + tail,
      timeoutMs !== undefined
        ? 'the SDK sends its first heartbeat as soon as plugin.run() starts; look at what the plugin does before that (its stderr is above)'
        : "pass --python with an interpreter that has the plugin's dependencies (dify_plugin)",
    );
  }
}

export interface LocalRunnerOptions {
  plugin: PluginProcessOptions;
  /** The plugin's own log lines (and its plain output). */
  onLog(level: string, message: string): void;
  /** It exited after having been ready; it is restarted after `restartInMs`. */
  onExit(exit: PluginExit, restartInMs: number): void;
  /** The first restart delay; it doubles while the plugin keeps crashing (up to 30 s). */
  restartDelayMs: number;
  /**
   * How long `start()` waits for the first heartbeat before stopping the plugin: the SDK sends
   * one as soon as it runs, so a plugin silent this long is stuck (blocked in an import, ...).
   */
  startTimeoutMs: number;
  /** SIGTERM → SIGKILL grace when stopping a plugin that timed out. */
  stopGraceMs: number;
  /** A plugin exiting within `crashLoopRunMs` of its start `crashLoopCount` times in a row is given up on. */
  crashLoopRunMs: number;
  crashLoopCount: number;
  /**
   * Answers the plugin's backwards invocations (`invoke` session messages) in place of the echo
   * mock: `dify plugin invoke` emulates storage and refuses the rest by name.
   */
  backwards?(invoke: Record<string, unknown>, reply: BackwardsReply): void;
}

/** One `backwards_response` to the plugin (`message` is the error text of an `error` event). */
export type BackwardsReply = (event: 'response' | 'error' | 'end', data: unknown, message?: string) => void;

/** What the mock says it is in every answer to a backwards invocation. */
const MOCK_NOTE = 'dify-plugin-cli local run: there is no Dify here, so this mock echoes the request';

export class LocalRunner {
  private readonly plugin: PluginProcess;
  private readonly clients = new Set<RunnerClient>();
  private readonly sessions = new Map<string, { client: RunnerClient; invokeId: string }>();
  private ready = false;
  private stopped = false;
  /** Pending only during `start()`; a restart after a crash has no one waiting for it. */
  private whenReady: { resolve(): void; reject(err: Error): void } | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private startTimedOut = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly restarts: RestartBackoff;
  private readonly quickExits: QuickExits;
  private idleWaiters: (() => void)[] = [];
  private giveUp!: (err: CrashLoopError) => void;
  /** Settles when the plugin keeps crashing as it starts and is not restarted again. */
  readonly gaveUp = new Promise<CrashLoopError>((resolve) => (this.giveUp = resolve));

  constructor(private readonly o: LocalRunnerOptions) {
    this.plugin = new PluginProcess(o.plugin);
    this.restarts = new RestartBackoff({ ...RESTART_DEFAULTS, initialMs: o.restartDelayMs });
    this.quickExits = new QuickExits(o.crashLoopRunMs, o.crashLoopCount);
    this.plugin.on('line', (line) => this.fromPlugin(line));
    this.plugin.on('exit', (exit) => this.exited(exit));
  }

  /**
   * Starts the plugin; resolves at its first heartbeat, when it can take requests. Rejects with a
   * LocalStartError if it exits first, is stopped first, or sends nothing within `startTimeoutMs`.
   */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.whenReady = { resolve, reject };
      // Under `--debugpy-wait` nothing runs until a debugger attaches, whenever that is.
      if (!this.o.plugin.debugpy?.waitForClient)
        this.startTimer = setTimeout(() => {
          // Stopping it is what ends the wait: its exit then rejects with the stderr it left.
          this.startTimedOut = true;
          void this.plugin.stop(this.o.stopGraceMs);
        }, this.o.startTimeoutMs);
      this.startPlugin();
    });
  }

  private startPlugin(): void {
    this.restarts.started();
    this.quickExits.started();
    this.plugin.start();
  }

  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.startTimer);
    clearTimeout(this.restartTimer);
    await this.plugin.stop(graceMs);
  }

  killNow(): void {
    this.plugin.killNow();
  }

  /** Resolves once no request is running (to finish the work in hand before exiting). */
  idle(): Promise<void> {
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  addClient(client: RunnerClient): void {
    this.clients.add(client);
    if (this.ready) client.send({ invoke_id: '', type: 'plugin_ready', response: { info: 'plugin loaded' } });
  }

  removeClient(client: RunnerClient): void {
    this.clients.delete(client);
    for (const [session, owner] of this.sessions) if (owner.client === client) this.endSession(session);
  }

  private endSession(session: string): void {
    this.sessions.delete(session);
    if (this.sessions.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** One line from a client: a request to run. */
  handle(client: RunnerClient, line: string): void {
    client.send({ invoke_id: '', type: 'info', response: { info: 'received request' } });
    let request: { invoke_id?: unknown; type?: unknown; action?: unknown; request?: unknown };
    try {
      request = JSON.parse(line) as typeof request;
    } catch (err) {
      client.send({ invoke_id: '', type: 'error', response: { error: `not a JSON line: ${(err as Error).message}` } });
      return;
    }
    const invokeId = typeof request.invoke_id === 'string' ? request.invoke_id : '';
    if (typeof request.type !== 'string' || typeof request.action !== 'string' || !request.type || !request.action) {
      client.send({ invoke_id: invokeId, type: 'error', response: { error: 'action and type are required' } });
      return;
    }
    if (!this.plugin.running) {
      client.send({
        invoke_id: invokeId,
        type: 'error',
        response: { error: 'the plugin process is restarting; try again in a moment' },
      });
      return;
    }
    const session = randomUUID();
    this.sessions.set(session, { client, invokeId });
    const data = {
      ...(isRecord(request.request) ? request.request : {}),
      user_id: client.userId,
      type: request.type,
      action: request.action,
    };
    const envelope = {
      session_id: session,
      conversation_id: null,
      message_id: null,
      app_id: null,
      endpoint_id: null,
      context: null,
      event: 'request',
      data,
    };
    this.plugin.write(Buffer.from(JSON.stringify(envelope)));
  }

  private fromPlugin(line: Buffer): void {
    let message: { event?: string; session_id?: string | null; data?: Record<string, unknown> };
    try {
      message = JSON.parse(line.toString('utf8')) as typeof message;
    } catch {
      this.o.onLog('STDOUT', line.toString('utf8'));
      return;
    }
    if (message.event === 'heartbeat' && !this.ready) {
      this.ready = true;
      clearTimeout(this.startTimer);
      for (const c of this.clients)
        c.send({ invoke_id: '', type: 'plugin_ready', response: { info: 'plugin loaded' } });
      this.whenReady?.resolve();
      this.whenReady = undefined;
      return;
    }
    if (message.event === 'log') {
      this.o.onLog(String(message.data?.level ?? 'INFO'), String(message.data?.message ?? ''));
      return;
    }
    const owner = typeof message.session_id === 'string' ? this.sessions.get(message.session_id) : undefined;
    if (message.event === 'error') {
      const error = String(message.data?.error ?? 'plugin error');
      if (owner) owner.client.send({ invoke_id: owner.invokeId, type: 'error', response: { error } });
      else this.o.onLog('ERROR', error);
      return;
    }
    if (message.event !== 'session' || !owner) return;
    const inner = (message.data ?? {}) as { type?: string; data?: Record<string, unknown> };
    const send = (type: RunnerMessage['type'], response: Record<string, unknown>) =>
      owner.client.send({ invoke_id: owner.invokeId, type, response });
    switch (inner.type) {
      case 'stream':
        send('plugin_response', inner.data ?? {});
        break;
      case 'error':
        send('error', { error: String(inner.data?.message ?? 'error'), ...inner.data });
        break;
      case 'end':
        send('plugin_invoke_end', { info: 'plugin invoke end' });
        this.endSession(message.session_id!);
        break;
      case 'invoke':
        this.answerBackwards(message.session_id!, inner.data ?? {});
        break;
    }
  }

  /** No Dify to call: answer with one labelled echo of the request, then the end (unless `backwards` is given). */
  private answerBackwards(session: string, invoke: Record<string, unknown>): void {
    const id = invoke.backwards_request_id;
    const reply: BackwardsReply = (event, data, message = '') =>
      this.plugin.write(
        Buffer.from(
          JSON.stringify({
            session_id: session,
            event: 'backwards_response',
            data: { backwards_request_id: id, event, message, data },
          }),
        ),
      );
    if (this.o.backwards) return this.o.backwards(invoke, reply);
    reply('response', { mock: MOCK_NOTE, type: invoke.type, request: invoke.request });
    reply('end', null);
  }

  private exited(exit: PluginExit): void {
    for (const [session, owner] of this.sessions) {
      owner.client.send({ invoke_id: owner.invokeId, type: 'error', response: { error: 'the plugin process exited' } });
      this.endSession(session);
    }
    if (this.whenReady) {
      clearTimeout(this.startTimer);
      this.whenReady.reject(new LocalStartError(exit, this.startTimedOut ? this.o.startTimeoutMs : undefined));
      this.whenReady = undefined;
      return;
    }
    if (this.stopped) return;
    this.ready = false;
    if (this.quickExits.exited()) {
      this.stopped = true;
      this.giveUp(new CrashLoopError(exit, this.quickExits.inARow, this.quickExits.runMs, this.o.plugin.python, false));
      return;
    }
    // Restarted, even when a restart dies before its first heartbeat: the runner must not sit
    // there without a plugin, answering every request with "restarting".
    const delay = this.restarts.delayAfterExit();
    this.o.onExit(exit, delay);
    this.restartTimer = setTimeout(() => this.startPlugin(), delay);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
