import { PluginWorkspace, pluginPython, isPackageFile } from '../plugin-workspace.js';
import path from 'node:path';
import { checkPlugin } from '../../pipelines/check-plugin.js';
import { get } from '../../project/model.js';
import { preflight } from '../../debug/preflight.js';
import { DEFAULT_TIMERS } from '../../debug/session.js';
import { freePort, HEALTH_TIMEOUT_MS } from '../../debug/serverless-health.js';
import { ensureBindable, ServerlessExitError, ServerlessPlugin } from '../../debug/serverless-run.js';
import { describeSource } from '../../debug/settings.js';
import { MAX_PACKAGE_BYTES } from '../../project/limits.js';
import { printable } from '../../diagnostics/excerpt.js';
import { colorFor } from '../../report/color.js';
import { formatText } from '../../report/text.js';
import { EXIT, type ExitCode, UserError } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';
import { parseListenAddress, stopSignals } from './local-run.js';

export interface ServerlessRunOptions {
  host?: string;
  port?: string;
  python?: string;
  /** `--no-preflight` sets it false. */
  preflight?: boolean;
}

/** Time limits of `run --serverless`; tests pass shorter ones (there is no flag for them). */
export interface ServerlessRunLimits {
  /** The SDK imports Flask and gevent before it serves: slow disks and cold caches take seconds. */
  healthTimeoutMs: number;
  healthIntervalMs: number;
  stopGraceMs: number;
  preflightTimeoutMs: number;
}

export const SERVERLESS_RUN_LIMITS: ServerlessRunLimits = {
  healthTimeoutMs: HEALTH_TIMEOUT_MS,
  healthIntervalMs: 200,
  stopGraceMs: DEFAULT_TIMERS.stopGraceMs,
  preflightTimeoutMs: DEFAULT_TIMERS.preflightTimeoutMs,
};

/**
 * `dify plugin run --serverless [dir|file.difypkg]`: runs the plugin in the SDK's serverless mode
 * (an HTTP server: POST /invoke, GET /health; docs/serverless.md), as AWS Lambda would behind its
 * Web Adapter, and shows its output until Ctrl-C, which stops it and exits 0 as `run` does. The
 * plugin dying meanwhile ends the command with exit 1 and its last stderr lines.
 */
export async function serverlessRunCommand(
  target: string,
  opts: ServerlessRunOptions,
  io: Io,
  limits = SERVERLESS_RUN_LIMITS,
): Promise<ExitCode> {
  const listen = parseListenAddress(opts);
  const file = path.resolve(io.cwd, target);
  const isPackage = isPackageFile(file);
  const checked = await checkPlugin(file, { strict: false, maxBytes: MAX_PACKAGE_BYTES, env: io.env, checksum: false });
  if (!checked.ok || !checked.project) {
    checked.path = target;
    io.stderr.write(formatText([checked], colorFor(io.stderr, io.env)));
    throw new UserError('the plugin has errors; fix them before running it');
  }
  const runner = get(checked.project.manifest?.value, 'meta', 'runner');
  const entrypoint = String(get(runner, 'entrypoint') ?? 'main');
  const c = colorFor(io.stdout, io.env);

  // From here on a signal must not kill the CLI outright: the plugin and the temporary copy of a
  // package would outlive it.
  let plugin: ServerlessPlugin | undefined;
  const stop = stopSignals(io.signals ?? process, () => plugin?.killNow());
  const workspace = new PluginWorkspace(() => plugin?.killNow());
  try {
    const dir = await workspace.open(file, isPackage, io);
    if (stop.received) return EXIT.ok;
    const python = pluginPython(dir, opts.python, io);
    if (opts.preflight !== false) {
      const checkedPython = await preflight({
        python,
        pluginDir: dir,
        env: io.env,
        runnerVersion: get(runner, 'version'),
        timeoutMs: limits.preflightTimeoutMs,
      });
      if (stop.received) return EXIT.ok;
      const sdk = checkedPython.facts.sdk?.version ? `, dify_plugin ${checkedPython.facts.sdk.version}` : '';
      io.stdout.write(
        `Python  ${printable(python.value)} ${c.dim(printable(describeSource(python)))}: Python ${checkedPython.facts.version}${printable(sdk)}\n`,
      );
      for (const warning of checkedPython.warnings) io.stdout.write(c.yellow(`! ${printable(warning)}`) + '\n');
    }
    if (listen.port) await ensureBindable(listen.host, listen.port);
    const port = listen.port || (await freePort(listen.host));
    plugin = new ServerlessPlugin({
      python: python.value,
      entrypoint,
      cwd: dir,
      env: io.env,
      host: listen.host,
      port,
      healthTimeoutMs: limits.healthTimeoutMs,
      healthIntervalMs: limits.healthIntervalMs,
      stopGraceMs: limits.stopGraceMs,
    });
    // What the plugin writes is shown as it comes, its controls made visible: the SDK's log
    // records (JSON on stdout) as `[LEVEL] message`, anything else as it is.
    plugin.on('stdout', (line) => io.stdout.write(`${printable(logLine(line))}\n`));
    plugin.on('stderr', (line) => io.stderr.write(`${printable(line)}\n`));
    try {
      // Never rejects, so that a start failing after a signal is not an unhandled rejection.
      const started = plugin.start().then(
        () => undefined,
        (err: unknown) => err,
      );
      const failure = await Promise.race([started, stop.signalled]);
      if (stop.received) return EXIT.ok;
      if (failure !== undefined) throw failure;
      io.stdout.write(c.green(`✓ Serving at ${plugin.url} (POST /invoke, GET /health); Ctrl-C stops it`) + '\n');
      const exit = await Promise.race([plugin.exited, stop.signalled.then(() => undefined)]);
      if (exit && !stop.received) throw new ServerlessExitError(exit);
      return EXIT.ok;
    } finally {
      await plugin.stop();
    }
  } finally {
    workspace.release();
    stop.dispose();
  }
}

/** The SDK's log record (dify-plugin-sdks `src/dify_plugin/config/logger_format.py`) as `[INFO] message`. */
function logLine(line: string): string {
  if (!line.startsWith('{"event"')) return line;
  try {
    const m = JSON.parse(line) as { event?: unknown; data?: { level?: unknown; message?: unknown } };
    if (m.event === 'log' && typeof m.data?.message === 'string')
      return `[${typeof m.data.level === 'string' ? m.data.level : 'INFO'}] ${m.data.message}`;
  } catch {
    // not a log record: shown as it is
  }
  return line;
}
