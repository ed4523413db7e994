import { randomUUID } from 'node:crypto';
import { LocalRunner, type RunnerClient, type RunnerMessage } from '../debug/local-runner.js';
import { answerWithoutDify, LocalStorage, type StoragePermission } from '../debug/local-backwards.js';
import type { PluginExit } from '../debug/plugin-process.js';

/**
 * `dify plugin invoke` (and later `dify plugin test`): one plugin process started in the SDK's
 * stdio mode through the local runner, requests sent to it one line each, the messages of each
 * request collected as they stream, backwards invocations answered without Dify (storage in a
 * folder, the rest refused by name), then the process stopped.
 */

/** One request as the daemon sends it (dify-plugin-daemon `pkg/entities/requests`), `user_id` added by the runner. */
export interface PluginRequest {
  type: string;
  action: string;
  request: Record<string, unknown>;
}

/** How one request ended. */
export interface InvokeOutcome {
  /** The messages streamed (tool messages, LLM chunks), as the plugin sent them. */
  messages: number;
  /** The plugin's error: `error_type: message`, or why the process ended. */
  error?: { message: string; type?: string; traceback?: string; timedOut?: true };
}

export interface InvokerOptions {
  python: string;
  entrypoint: string;
  /** The plugin's files (a package's unpacked copy). */
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Where storage is emulated (`.dify/storage` of the plugin directory). */
  storageDir: string;
  /** The manifest's `resource.permission.storage`: storage calls are refused as the daemon refuses them. */
  storage: StoragePermission;
  startTimeoutMs: number;
  stopGraceMs: number;
  /** The plugin's log lines. */
  onLog(level: string, message: string): void;
}

interface Pending {
  onMessage(response: Record<string, unknown>): void;
  messages: number;
  error?: InvokeOutcome['error'];
  resolve(outcome: InvokeOutcome): void;
  reject(err: unknown): void;
}

export class Invoker {
  private readonly runner: LocalRunner;
  private readonly pending = new Map<string, Pending>();
  private readonly client: RunnerClient;
  /** Set once the process has ended after being ready: every later request fails with it. */
  private ended: InvokeOutcome['error'] | undefined;

  constructor(o: InvokerOptions) {
    this.runner = new LocalRunner({
      plugin: { python: o.python, entrypoint: o.entrypoint, cwd: o.dir, env: o.env },
      onLog: o.onLog,
      onExit: (exit) => this.exited(exit),
      // Not restarted: an invocation reports a crash; `stop()` ends the pending restart.
      restartDelayMs: 60_000,
      startTimeoutMs: o.startTimeoutMs,
      stopGraceMs: o.stopGraceMs,
      crashLoopRunMs: 0,
      crashLoopCount: Number.MAX_SAFE_INTEGER,
      backwards: answerWithoutDify(new LocalStorage(o.storageDir, o.storage)),
    });
    this.client = { userId: randomUUID(), send: (m) => this.received(m) };
  }

  /** Resolves once the plugin is ready (its first heartbeat); rejects with a LocalStartError. */
  async start(): Promise<void> {
    await this.runner.start();
    this.runner.addClient(this.client);
  }

  /**
   * Sends one request; `onMessage` gets each streamed message as it arrives. Rejects with what
   * `onMessage` throws (a blob that cannot be saved): the rest of that request's messages are
   * dropped. With `timeoutMs`, a request the plugin has not finished answering by then ends with
   * an error, and what it sends for it later is dropped too (the protocol cannot cancel it).
   */
  invoke(
    request: PluginRequest,
    onMessage: (response: Record<string, unknown>) => void,
    timeoutMs?: number,
  ): Promise<InvokeOutcome> {
    if (this.ended) return Promise.resolve({ messages: 0, error: this.ended });
    const id = randomUUID();
    const answered = new Promise<InvokeOutcome>((resolve, reject) => {
      this.pending.set(id, { onMessage, messages: 0, resolve, reject });
      this.runner.handle(this.client, JSON.stringify({ invoke_id: id, ...request }));
    });
    if (timeoutMs === undefined) return answered;
    const timer = setTimeout(() => {
      const p = this.pending.get(id);
      if (!p) return;
      p.error = { message: `no answer within ${timeoutMs} ms`, timedOut: true };
      this.finish(id);
    }, timeoutMs);
    return answered.finally(() => clearTimeout(timer));
  }

  /** Stops the plugin; requests still running end with an error (the runner reports no exit it caused). */
  async stop(graceMs: number): Promise<void> {
    await this.runner.stop(graceMs);
    this.ended ??= { message: 'the plugin was stopped before it answered' };
    for (const [id, p] of this.pending) {
      p.error = this.ended;
      this.finish(id);
    }
  }

  /** Whether the process has ended (or was stopped): every request from now on fails without being sent. */
  get hasEnded(): boolean {
    return this.ended !== undefined;
  }

  killNow(): void {
    this.runner.killNow();
  }

  private received(m: RunnerMessage): void {
    const p = this.pending.get(m.invoke_id);
    if (!p) return; // the runner's own notices ("received request", plugin_ready)
    switch (m.type) {
      case 'plugin_response':
        p.messages++;
        try {
          p.onMessage(m.response);
        } catch (err) {
          // Thrown here, it would go up through the plugin's stdout reader and end the CLI.
          this.pending.delete(m.invoke_id);
          p.reject(err);
        }
        break;
      case 'error': {
        // The SDK follows its error with the session's end; the runner's own errors (the plugin
        // exited, restarting) have no end, and are handled by `exited`.
        const r = m.response;
        const args = r.args as Record<string, unknown> | undefined;
        p.error ??= {
          message: String(r.message ?? r.error ?? 'error'),
          ...(typeof r.error_type === 'string' ? { type: r.error_type } : {}),
          ...(typeof args?.traceback === 'string' ? { traceback: args.traceback } : {}),
        };
        break;
      }
      case 'plugin_invoke_end':
        this.finish(m.invoke_id);
        break;
    }
  }

  private finish(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.resolve({ messages: p.messages, ...(p.error ? { error: p.error } : {}) });
  }

  private exited(exit: PluginExit): void {
    const how = exit.killedFor
      ? `the plugin was killed: ${exit.killedFor}`
      : `the plugin process exited (code ${exit.code ?? exit.signal})`;
    this.ended = { message: how, ...(exit.stderrTail.length ? { traceback: exit.stderrTail.join('\n') } : {}) };
    for (const [id, p] of this.pending) {
      p.error = this.ended;
      this.finish(id);
    }
  }
}
