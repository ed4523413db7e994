import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { UserError } from '../diagnostics/user-error.js';
import { PluginProcess, type PluginExit } from './plugin-process.js';

/**
 * The Python SDK's serverless mode (`INSTALL_METHOD=serverless`, dify-plugin-sdks
 * `src/dify_plugin/core/server/serverless/request_reader.py`): instead of stdio or a TCP link to
 * the daemon, the plugin serves HTTP on `SERVERLESS_HOST:SERVERLESS_PORT` (`src/dify_plugin/config/config.py`),
 * `GET /health` answering `OK` with 200 and `POST /invoke` taking one request as JSON and streaming
 * its session messages back, each a JSON object followed by a blank line. This is what the daemon
 * calls for a plugin deployed on AWS Lambda (dify-plugin-daemon `internal/core/serverless_runtime/io.go`).
 */
export interface ServerlessPluginOptions {
  python: string;
  entrypoint: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where the plugin listens; `0.0.0.0` or `::` are reached on the loopback address. */
  host: string;
  port: number;
  /** How long start() waits for `/health` to answer 200. */
  healthTimeoutMs: number;
  /** Between two `/health` requests while the plugin starts. */
  healthIntervalMs: number;
  /** SIGTERM → SIGKILL grace when stopping it (also after the health timeout). */
  stopGraceMs: number;
}

/** One `/health` request may take this long before it counts as unanswered. */
const HEALTH_REQUEST_MS = 2_000;
/** Of a `/health` answer only this much is read: it is `OK`. */
const MAX_HEALTH_BODY = 4 * 1024;

/** The plugin exited before `/health` answered, or never answered in time and was stopped. */
export class ServerlessStartError extends UserError {
  constructor(exit: PluginExit, timeoutMs: number | undefined, url: string) {
    const what = exit.spawnError
      ? `cannot start the plugin: ${exit.spawnError}`
      : timeoutMs !== undefined
        ? `the plugin did not answer ${url}/health within ${timeoutMs / 1000} s, so it was stopped`
        : exit.killedFor
          ? `the plugin was killed before it served: ${exit.killedFor}`
          : `the plugin ${ended(exit)} before ${url}/health answered`;
    super(
      what + outputTail(exit),
      timeoutMs !== undefined
        ? 'the SDK serves /health as soon as plugin.run() starts; look at what the plugin does before that'
        : "pass --python with an interpreter that has the plugin's dependencies (dify_plugin, which serves HTTP with Flask and gevent)",
    );
  }
}

/** The plugin exited while it was serving. */
export class ServerlessExitError extends UserError {
  constructor(exit: PluginExit) {
    super(
      `the plugin ${exit.killedFor ? `was killed: ${exit.killedFor}` : `${ended(exit)} while serving`}${outputTail(exit)}`,
    );
  }
}

/** `exited (code 1)`, or `was killed by SIGKILL`. */
function ended(exit: PluginExit): string {
  return exit.code !== null ? `exited (code ${exit.code})` : `was killed by ${exit.signal}`;
}

function outputTail(exit: PluginExit): string {
  return exit.stderrTail.length ? `\n  ${exit.stderrTail.join('\n  ')}` : '';
}

/**
 * The plugin's process in serverless mode. Events: `stdout` and `stderr`, one line each, as they
 * come (stderr cut as PluginProcess cuts it).
 */
export class ServerlessPlugin extends EventEmitter<{ stdout: [string]; stderr: [string] }> {
  private readonly process: PluginProcess;
  /** Settles when the process is gone, however it ended. */
  readonly exited: Promise<PluginExit>;
  readonly url: string;

  constructor(private readonly o: ServerlessPluginOptions) {
    super();
    this.url = `http://${hostForUrl(o.host)}:${o.port}`;
    this.process = new PluginProcess({
      python: o.python,
      entrypoint: o.entrypoint,
      cwd: o.cwd,
      // The environment wins over the plugin's .env in the SDK's settings (pydantic-settings), so
      // a .env written for remote debugging does not change the mode or the address.
      env: { ...o.env, SERVERLESS_HOST: o.host, SERVERLESS_PORT: String(o.port) },
      installMethod: 'serverless',
    });
    this.process.on('line', (line) => this.emit('stdout', line.toString('utf8')));
    this.process.on('stderr', (line) => this.emit('stderr', line));
    this.exited = new Promise((resolve) => this.process.once('exit', resolve));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /**
   * Starts it and resolves once `GET /health` answers 200. Rejects with a ServerlessStartError
   * when it exits first, or does not answer within `healthTimeoutMs` (it is stopped then).
   */
  async start(): Promise<void> {
    this.process.start();
    let exit: PluginExit | undefined;
    void this.exited.then((e) => (exit = e));
    const deadline = Date.now() + this.o.healthTimeoutMs;
    const target = { host: reachable(this.o.host), port: this.o.port };
    for (;;) {
      if (exit) throw new ServerlessStartError(exit, undefined, this.url);
      if (await healthy(target)) {
        if (exit) throw new ServerlessStartError(exit, undefined, this.url);
        return;
      }
      if (Date.now() >= deadline) {
        await this.process.stop(this.o.stopGraceMs);
        throw new ServerlessStartError(await this.exited, this.o.healthTimeoutMs, this.url);
      }
      // The wait ends early when it exits: a crash is reported at once, not at the next poll.
      await Promise.race([delay(this.o.healthIntervalMs), this.exited]);
    }
  }

  stop(): Promise<void> {
    return this.process.stop(this.o.stopGraceMs);
  }

  killNow(): void {
    this.process.killNow();
  }
}

/** One `GET /health`: true when it answers 200; false when refused, slow or anything else. */
export function healthy(target: { host: string; port: number }, timeoutMs = HEALTH_REQUEST_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: target.host, port: target.port, path: '/health', timeout: timeoutMs, agent: false },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_HEALTH_BODY) response.destroy();
        });
        response.on('error', () => resolve(false));
        response.on('end', () => resolve(response.statusCode === 200));
        response.on('close', () => resolve(response.complete && response.statusCode === 200));
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/**
 * Refuses a port the plugin could not listen on (another process has it, or it needs privileges):
 * the plugin would fail to bind while `/health` is answered by whatever holds the port, and the
 * CLI would report serving.
 */
export function ensureBindable(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new UserError(
          `cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'another process uses that port' : (err.code ?? err.message)}`,
          'choose another --port, or leave --port out for a free one',
        ),
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** An address that listens everywhere is asked on the loopback one. */
function reachable(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function hostForUrl(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
