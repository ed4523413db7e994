import { PluginWorkspace, pluginPython, isPackageFile } from '../plugin-workspace.js';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { checkPlugin } from '../../pipelines/check-plugin.js';
import { get } from '../../project/model.js';
import { LineSplitter, LineTooLongError } from '../../debug/line-splitter.js';
import { LocalRunner, type RunnerClient, type RunnerMessage } from '../../debug/local-runner.js';
import { RESTART_DEFAULTS } from '../../debug/restart-backoff.js';
import { DEFAULT_TIMERS } from '../../debug/session.js';
import { attachInstructions, debugpyOptions, ensurePortFree } from '../../debug/debugpy.js';
import { checkDebugpy } from '../../debug/preflight.js';
import { MAX_PACKAGE_BYTES } from '../../project/limits.js';
import { printable, printableJson } from '../../diagnostics/excerpt.js';
import { colorFor } from '../../report/color.js';
import { formatText } from '../../report/text.js';
import { EXIT, type ExitCode, UsageError, UserError } from '../../diagnostics/user-error.js';
import { type Io, type SignalSource, STOP_SIGNALS } from '../io.js';

export interface LocalRunOptions {
  mode?: 'stdio' | 'tcp';
  responseFormat?: 'text' | 'json';
  enableLogs?: boolean;
  host?: string;
  port?: string;
  python?: string;
  /** `--debugpy[=PORT]`: true, or the port as typed. */
  debugpy?: string | boolean;
  debugpyWait?: boolean;
  /** `--no-preflight` sets it false: with --debugpy, start without checking for debugpy. */
  preflight?: boolean;
}

/** Time limits of a local run; tests pass shorter ones (there is no flag for them). */
export interface LocalRunLimits {
  /** The SDK's harness expects plugin_ready within 30 s; twice that leaves room for slow imports. */
  startTimeoutMs: number;
  /** SIGTERM → SIGKILL grace when stopping the plugin. */
  stopGraceMs: number;
  restartDelayMs: number;
  /** As `run`: a plugin exiting this soon after its start, this many times in a row, is given up on. */
  crashLoopRunMs: number;
  crashLoopCount: number;
}

export const LOCAL_RUN_LIMITS: LocalRunLimits = {
  startTimeoutMs: 60_000,
  stopGraceMs: DEFAULT_TIMERS.stopGraceMs,
  restartDelayMs: RESTART_DEFAULTS.initialMs,
  crashLoopRunMs: DEFAULT_TIMERS.crashLoopRunMs,
  crashLoopCount: DEFAULT_TIMERS.crashLoopCount,
};

type Format = 'text' | 'json';
type System = (text: string, fields?: Record<string, unknown>) => void;

/**
 * `dify plugin run <file.difypkg>` (or `--local <dir>`): runs the plugin here without Dify, speaking
 * the Go CLI's `invoke_id` protocol on stdin/stdout or per TCP client (docs/local-run.md).
 * SIGINT/SIGTERM/SIGHUP end it with exit 0 at any point after the check, start-up included, with the
 * plugin stopped and the temporary copy removed.
 */
export async function localRunCommand(
  target: string,
  opts: LocalRunOptions,
  io: Io,
  limits = LOCAL_RUN_LIMITS,
): Promise<ExitCode> {
  // Bad flags are reported before anything is unpacked or started.
  const listen = listenAddress(opts);
  const debugpy = debugpyOptions(opts.debugpy, opts.debugpyWait);
  const format: Format = opts.responseFormat ?? 'text';
  const file = path.resolve(io.cwd, target);
  const isPackage = isPackageFile(file);
  const emit = (message: RunnerMessage) => io.stdout.write(render(message, format) + '\n');
  const system: System = (text, fields) => emit({ invoke_id: '', type: 'info', response: { info: text, ...fields } });

  const checked = await checkPlugin(file, { strict: false, maxBytes: MAX_PACKAGE_BYTES, env: io.env, checksum: false });
  if (!checked.ok || !checked.project) {
    checked.path = target;
    io.stderr.write(formatText([checked], colorFor(io.stderr, io.env)));
    throw new UserError('the plugin has errors; fix them before running it');
  }
  const runnerMeta = get(checked.project.manifest?.value, 'meta', 'runner');
  const entrypoint = String(get(runnerMeta, 'entrypoint') ?? 'main');

  // From here on a signal must not kill the CLI outright, or the temporary copy and the plugin
  // would outlive it: the handlers go in before either exists.
  let runner: LocalRunner | undefined;
  const stop = stopSignals(io.signals ?? process, () => runner?.killNow());
  const workspace = new PluginWorkspace(() => runner?.killNow());
  try {
    const dir = await workspace.open(file, isPackage, io, () => system('loading plugin'));
    if (stop.received) return EXIT.ok;
    const python = pluginPython(dir, opts.python, io);
    if (debugpy) {
      if (opts.preflight !== false) {
        await checkDebugpy({
          python,
          pluginDir: dir,
          env: io.env,
          runnerVersion: get(runnerMeta, 'version'),
          timeoutMs: DEFAULT_TIMERS.preflightTimeoutMs,
        });
      }
      await ensurePortFree(debugpy);
      // On stderr: stdout carries the protocol's messages.
      const { listening, ides } = attachInstructions(debugpy);
      io.stderr.write(`debugpy listening on ${listening}\n${ides.map((line) => `  ${line}\n`).join('')}`);
      if (stop.received) return EXIT.ok;
    }
    runner = new LocalRunner({
      plugin: { python: python.value, entrypoint, cwd: dir, env: io.env, ...(debugpy ? { debugpy } : {}) },
      onLog: (level, message) => opts.enableLogs && system(`[${level}] ${message}`),
      onExit: (exit, inMs) =>
        system(
          `the plugin ${exit.killedFor ? `was killed: ${exit.killedFor}` : `exited (code ${exit.code})`}; restarting it in ${inMs / 1000} s${exit.stderrTail.length ? `: ${exit.stderrTail.join(' | ')}` : ''}`,
        ),
      restartDelayMs: limits.restartDelayMs,
      startTimeoutMs: limits.startTimeoutMs,
      stopGraceMs: limits.stopGraceMs,
      crashLoopRunMs: limits.crashLoopRunMs,
      crashLoopCount: limits.crashLoopCount,
    });
    try {
      // Never rejects, so that a start-up failing after a signal is not an unhandled rejection.
      const started = runner.start().then(
        () => undefined,
        (err: unknown) => err,
      );
      const failure = await Promise.race([started, stop.signalled]);
      if (stop.received) return EXIT.ok;
      if (failure !== undefined) throw failure;
      // Serving ends at a signal, or when the plugin keeps crashing as it starts (then exit 1).
      let gaveUp: Error | undefined;
      const over = Promise.race([stop.signalled, runner.gaveUp.then((err) => void (gaveUp = err))]);
      await (listen ? serveTcp(runner, listen, format, system, over) : serveStdio(runner, io, emit, over));
      if (gaveUp) throw gaveUp;
      return EXIT.ok;
    } finally {
      // However serving ended (signal, end of input, a port in use), the plugin must not outlive it.
      await runner.stop(limits.stopGraceMs);
    }
  } finally {
    workspace.release();
    stop.dispose();
  }
}

export interface StopSignals {
  /** Resolves at the first SIGINT, SIGTERM or SIGHUP. */
  readonly signalled: Promise<void>;
  readonly received: boolean;
  dispose(): void;
}

/**
 * SIGINT/SIGTERM/SIGHUP end the run with exit 0 (docs/local-run.md#lifecycle). The first starts an orderly stop;
 * another one during it (a plugin ignoring SIGTERM) calls `hurry` instead of waiting out the grace.
 */
export function stopSignals(source: SignalSource, hurry: () => void): StopSignals {
  let received = false;
  let resolve!: () => void;
  const signalled = new Promise<void>((r) => (resolve = r));
  const onSignal = () => {
    if (received) hurry();
    received = true;
    resolve();
  };
  for (const signal of STOP_SIGNALS) source.on(signal, onSignal);
  return {
    signalled,
    get received() {
      return received;
    },
    dispose() {
      for (const signal of STOP_SIGNALS) source.off(signal, onSignal);
    },
  };
}

/** The Go runner's limit on a request line (a 1 MiB scanner buffer allowed to grow to 15 MiB). */
const MAX_REQUEST_LINE = 15 * 1024 * 1024;

/**
 * The complete request lines in `chunk`; undefined when a line passes MAX_REQUEST_LINE, after
 * telling the client, which is then read no further (as the Go runner's scanner stops).
 */
function splitRequests(lines: LineSplitter, chunk: Buffer, send: (m: RunnerMessage) => void): string[] | undefined {
  try {
    return lines.push(chunk).map((line) => line.toString('utf8'));
  } catch (err) {
    if (!(err instanceof LineTooLongError)) throw err;
    send({
      invoke_id: '',
      type: 'error',
      response: { error: `request line longer than ${MAX_REQUEST_LINE / 1024 / 1024} MiB; no more input is read` },
    });
    return undefined;
  }
}

/** One client on stdin/stdout; ends at a signal, or at the end of input once its requests are done. */
function serveStdio(
  runner: LocalRunner,
  io: Io,
  emit: (m: RunnerMessage) => void,
  signalled: Promise<void>,
): Promise<void> {
  const client: RunnerClient = { userId: randomUUID(), send: emit };
  runner.addClient(client);
  const lines = new LineSplitter(MAX_REQUEST_LINE);
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      const requests = splitRequests(lines, chunk, emit);
      if (requests === undefined) {
        io.stdin.off('data', onData); // read no further, then end as at the end of input
        io.stdin.pause();
        return void runner.idle().then(finish);
      }
      for (const line of requests) runner.handle(client, line);
    };
    const finish = () => {
      // A stdin still open (a terminal, a harness's pipe) would keep the process alive: let go of it.
      io.stdin.off('data', onData);
      io.stdin.pause();
      (io.stdin as { destroy?: () => void }).destroy?.();
      resolve();
    };
    io.stdin.on('data', onData);
    io.stdin.once('end', () => void runner.idle().then(finish));
    io.stdin.once('error', finish);
    void signalled.then(finish);
  });
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** `--host`/`--port` for `-m tcp`, checked up front (exit 2); undefined for stdio. */
function listenAddress(opts: LocalRunOptions): ListenAddress | undefined {
  const address = parseListenAddress(opts);
  return opts.mode === 'tcp' ? address : undefined;
}

/** `--host` (default 127.0.0.1, brackets of an IPv6 address dropped) and `--port` (default 0: any free port), or a UsageError. */
export function parseListenAddress(opts: { host?: string; port?: string }): ListenAddress {
  let port = 0;
  if (opts.port !== undefined) {
    port = /^\d{1,5}$/.test(opts.port) ? Number(opts.port) : NaN;
    if (!(port <= 65535))
      throw new UsageError(`--port "${opts.port}" is not a port number (0 to 65535; 0: any free port)`);
  }
  const host = (opts.host ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(host) === 0 && !HOSTNAME.test(host))
    throw new UsageError(`--host "${opts.host}" is not an IP address or a host name`);
  return { host, port };
}

/** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}\.?$)[a-z\d](?:[a-z\d-]{0,61}[a-z\d])?(?:\.[a-z\d](?:[a-z\d-]{0,61}[a-z\d])?)*\.?$/i;

/**
 * One client per TCP connection, each answered in the `-r` format; ends at a signal, which also
 * drops the connected clients (server.close() alone would wait for them to hang up).
 */
function serveTcp(
  runner: LocalRunner,
  listen: ListenAddress,
  format: Format,
  system: System,
  signalled: Promise<void>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      const client: RunnerClient = {
        userId: randomUUID(),
        send: (m) => void (socket.writable && socket.write(render(m, format) + '\n')),
      };
      const lines = new LineSplitter(MAX_REQUEST_LINE);
      const onData = (chunk: Buffer) => {
        const requests = splitRequests(lines, chunk, client.send);
        if (requests === undefined) {
          socket.off('data', onData);
          return void socket.end(); // after the error message has been written
        }
        for (const line of requests) runner.handle(client, line);
      };
      socket.on('data', onData);
      socket.on('error', () => undefined); // a client gone mid-write: its 'close' follows
      socket.on('close', () => {
        sockets.delete(socket);
        runner.removeClient(client);
      });
      runner.addClient(client);
    });
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? 'pick another --port, or --port 0 for any free one' : undefined;
      reject(
        new UserError(
          `cannot listen on ${hostPort(listen.host, listen.port)}: ${LISTEN_ERRORS[err.code ?? ''] ?? err.message}`,
          hint,
        ),
      );
    });
    server.listen(listen.port, listen.host, () => {
      const { address, port } = server.address() as net.AddressInfo;
      // As the Go CLI logs it: the address in the text, and as `host` and `port` fields.
      system(`plugin is running on ${hostPort(address, port)}`, { host: address, port });
      void signalled.then(() => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    });
  });
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'the port is already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: "the address is not one of this machine's",
  ENOTFOUND: 'no such host',
};

function hostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * `-r json`: one JSON object per line; `-r text`: `[type] <invoke id> <response>` for people. Both
 * carry the plugin's text (and a client's invoke id) as JSON strings, whose controls are escaped.
 */
function render(m: RunnerMessage, format: Format): string {
  if (format === 'json') return printableJson(m);
  return `[${m.type}]${m.invoke_id ? ` ${printable(m.invoke_id)}` : ''} ${printableJson(m.response)}`;
}
