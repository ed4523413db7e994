import path from 'node:path';
import { checkPlugin } from '../../pipelines/check-plugin.js';
import { buildRegistration, type RegistrationMessage } from '../../debug/registration/index.js';
import { describeSource, maskKey, resolveSettings, type DebugSettings } from '../../debug/settings.js';
import { preflight, PreflightError, type PreflightResult } from '../../debug/preflight.js';
import {
  attachInstructions,
  debugpyOptions,
  ensurePortFree,
  VSCODE_ATTACH_NAME,
  type DebugpyOptions,
} from '../../debug/debugpy.js';
import { CrashLoopError } from '../../debug/crash-loop.js';
import { DEFAULT_TIMERS, RejectedError, RunSession, type RunTimers, type SessionEvents } from '../../debug/session.js';
import { MAX_PACKAGE_BYTES } from '../../project/limits.js';
import { get } from '../../project/model.js';
import { printable, printableJson } from '../../diagnostics/excerpt.js';
import { colorFor } from '../../report/color.js';
import { jsonEmitter, jsonEvents, jsonRunEnd, setIdentity, textEvents } from '../../report/run-events.js';
import { pluginIdentity } from '../../project/identity.js';
import { EXIT, type ExitCode, UsageError, UserError } from '../../diagnostics/user-error.js';
import { type Io, type SignalSource, STOP_SIGNALS } from '../io.js';
import type { LocalRunOptions } from './local-run.js';
import { reportCheck, startWatch } from './run-watch.js';
import { makeSpinner } from '../spinner.js';

export interface RunOptions extends LocalRunOptions {
  /** Run here without Dify (the Go CLI's `run`), implied by a .difypkg or the local-run flags. */
  local?: boolean;
  dryRun?: boolean;
  showKey?: boolean;
  key?: string;
  url?: string;
  python?: string;
  watch?: boolean;
  format?: 'text' | 'json';
  /** `--no-preflight` sets it false: start the plugin without checking its interpreter first. */
  preflight?: boolean;
  /** Serve the SDK's serverless HTTP protocol here (serverless-run.ts). */
  serverless?: boolean;
}

/** A UserError with machine-readable details for the `--format json` error event. */
class RunError extends UserError {
  constructor(
    message: string,
    hint: string | undefined,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message, hint);
  }
}

/**
 * `dify plugin run [dir]`: remote debugging. Checks the plugin, builds the registration the
 * Python SDK would send, then holds the TCP session with the daemon and runs the plugin in
 * stdio mode, relaying both ways until Ctrl-C. `--dry-run` prints the registration instead.
 * There are no flags for the session's timers; tests pass shorter ones.
 */
export async function runCommand(
  target: string | undefined,
  opts: RunOptions,
  io: Io,
  timers: RunTimers = DEFAULT_TIMERS,
): Promise<ExitCode> {
  if (opts.serverless) {
    refuseWithServerless(opts);
    const { serverlessRunCommand } = await import('./serverless-run.js');
    return serverlessRunCommand(target ?? '.', opts, io);
  }
  const dir = path.resolve(io.cwd, target ?? '.');
  // Bad flags are reported before anything is checked or started (exit 2).
  const debugpy = debugpyOptions(opts.debugpy, opts.debugpyWait);
  const localFlags = opts.local || opts.mode !== undefined || opts.responseFormat !== undefined || opts.enableLogs;
  if (!opts.dryRun && (localFlags || dir.endsWith('.difypkg'))) {
    const { localRunCommand } = await import('./local-run.js');
    return localRunCommand(target ?? '.', opts, io);
  }
  if (opts.format !== 'json' || opts.dryRun) return remoteDebug(target, dir, opts, io, timers, debugpy);
  // With --format json stdout carries only JSON events, so what ends the run is an event too
  // (stderr still gets the usual error and hint).
  const end = jsonRunEnd(io.stdout);
  try {
    const code = await remoteDebug(target, dir, opts, io, timers, debugpy);
    end.stopped(code);
    return code;
  } catch (err) {
    const exitCode = err instanceof UserError ? err.exitCode : EXIT.failed;
    const details =
      err instanceof RunError ||
      err instanceof RejectedError ||
      err instanceof PreflightError ||
      err instanceof CrashLoopError
        ? err.details
        : {};
    end.fatal((err as Error).message ?? String(err), err instanceof UserError ? err.hint : undefined, details);
    end.stopped(exitCode);
    throw err;
  }
}

/** --serverless runs the plugin as an HTTP server here: no daemon, no invoke_id protocol. */
function refuseWithServerless(opts: RunOptions): void {
  const other: [unknown, string][] = [
    [opts.dryRun, '--dry-run'],
    [opts.showKey, '--show-key'],
    [opts.key, '--key'],
    [opts.url, '--url'],
    [opts.watch, '--watch'],
    [opts.format, '--format'],
    [opts.local, '--local'],
    [opts.mode, '--mode'],
    [opts.responseFormat, '--response-format'],
    [opts.enableLogs, '--enable-logs'],
  ];
  const flag = other.find(([value]) => value !== undefined && value !== false)?.[1];
  if (flag) throw new UsageError(`--serverless does not go with ${flag}`, 'docs/serverless.md says what it does');
}

async function remoteDebug(
  target: string | undefined,
  dir: string,
  opts: RunOptions,
  io: Io,
  timers: RunTimers,
  debugpy: DebugpyOptions | undefined,
): Promise<ExitCode> {
  const json = opts.format === 'json';
  const checked = await checkPlugin(dir, {
    strict: false,
    maxBytes: MAX_PACKAGE_BYTES,
    env: io.env,
    checksum: false,
    remoteDebugging: true,
  });
  const project = checked.project;
  // --dry-run still shows a registration the daemon would refuse only for its own validator's
  // rules: the findings go to stderr, the registration to stdout, and the exit code says it.
  const showAnyway =
    opts.dryRun && project && checked.diagnostics.every((d) => d.severity !== 'error' || d.scope === 'remote-debug');
  if (!project || (!checked.ok && !showAnyway)) {
    reportCheck(checked, io, json, target ?? '.');
    throw new RunError(
      'the plugin has errors; fix them before debugging it',
      'the daemon would refuse the registration for the same reasons',
      { diagnostics: checked.diagnostics },
    );
  }
  if (!checked.ok) reportCheck(checked, io, true, target ?? '.'); // on stderr
  const settings = settingsOf(dir, opts, io);
  const key = settings.key?.value;

  let registration = await buildRegistration(project, key ?? '');
  if (opts.dryRun) {
    const shown =
      opts.showKey || !key
        ? registration
        : [{ type: 'handshake', data: { key: maskKey(key) } }, ...registration.slice(1)];
    for (const m of shown) io.stdout.write(printableJson(m) + '\n');
    return checked.ok ? EXIT.ok : EXIT.failed;
  }
  if (!key) {
    throw new UserError(
      'no debug key is configured',
      'copy it from Dify (Plugins → the debug icon) into REMOTE_INSTALL_KEY in .env, or pass --key',
    );
  }

  // Before connecting: an interpreter that cannot run the plugin must not get it registered.
  const runner = get(project.manifest?.value, 'meta', 'runner');
  const python =
    opts.preflight === false
      ? undefined
      : await preflight({
          python: settings.python,
          pluginDir: dir,
          env: io.env,
          runnerVersion: get(runner, 'version'),
          timeoutMs: timers.preflightTimeoutMs,
          debugpy: debugpy !== undefined,
        });
  if (debugpy) await ensurePortFree(debugpy);

  const c = colorFor(io.stdout, io.env);
  const summary = checked.plugin!;
  setIdentity(pluginIdentity(summary.author, summary.name ?? '', summary.version ?? ''));
  const spinner = await makeSpinner(io);
  const events: SessionEvents = json
    ? jsonEvents(io.stdout)
    : textEvents(io.stdout, c, spinner.live ? { onConnecting: spinner.show, onSettled: spinner.stop } : {});
  if (json) {
    if (python) jsonEmitter(io.stdout)('interpreter', interpreterEvent(settings, python));
    if (debugpy) jsonEmitter(io.stdout)('debugpy', debugpyEvent(debugpy));
  } else {
    printSettings(io, settings, c.dim, python);
    for (const warning of python?.warnings ?? []) io.stdout.write(c.yellow(`! ${printable(warning)}`) + '\n');
    if (debugpy) printAttach(io, debugpy, c.dim);
  }

  const entrypoint = String(get(runner, 'entrypoint') ?? 'main');
  const session = new RunSession({
    host: settings.host.value,
    port: settings.port.value,
    registration: async () => registration,
    plugin: { python: settings.python.value, entrypoint, cwd: dir, env: io.env, ...(debugpy ? { debugpy } : {}) },
    timers,
    events,
    waitForChange: Boolean(opts.watch),
  });
  // Whatever happens to the CLI, the plugin process must not outlive it.
  const killChild = () => session.killNow();
  process.once('exit', killChild);
  // Installed before connecting: Ctrl-C while connecting must stop the plugin too.
  const signals = onStopSignals(io.signals ?? process, () => void session.stop(), killChild);
  let stopWatching = async (): Promise<void> => undefined;
  try {
    await session.start(); // returns early when stopped meanwhile
    if (opts.watch && !session.ended) {
      const watch = {
        dir,
        exclusionOf: checked.source!.selection.exclusionOf,
        key,
        json,
        setRegistration: (r: RegistrationMessage[]) => (registration = r),
      };
      stopWatching = await startWatch(session, watch, io, timers.watchDebounceMs);
    }
    const ended = await session.finished;
    if (ended) throw ended;
    return EXIT.ok;
  } finally {
    await stopWatching();
    spinner.stop();
    await session.stop();
    signals.dispose();
    process.off('exit', killChild);
  }
}

function settingsOf(dir: string, opts: RunOptions, io: Io): DebugSettings {
  const flags = {
    ...(opts.url !== undefined ? { url: opts.url } : {}),
    ...(opts.key !== undefined ? { key: opts.key } : {}),
    ...(opts.python !== undefined ? { python: opts.python } : {}),
  };
  return resolveSettings(dir, flags, io.env, io.cwd);
}

/** The values may come from the plugin's .env, which may come with the plugin's code. */
function printSettings(io: Io, s: DebugSettings, dim: (t: string) => string, python?: PreflightResult): void {
  const p = printable;
  io.stdout.write(`Daemon  ${p(`${s.host.value}:${s.port.value}`)} ${dim(p(describeSource(s.host)))}\n`);
  io.stdout.write(`Key     ${p(maskKey(s.key!.value))} ${dim(p(describeSource(s.key!)))}\n`);
  const facts = python ? `: ${p(interpreterText(python))}` : '';
  io.stdout.write(`Python  ${p(s.python.value)} ${dim(p(describeSource(s.python)))}${facts}\n`);
}

/** `Python 3.12.4, dify_plugin 0.9.1` (`, debugpy 1.8.14` when it is installed) */
function interpreterText({ facts }: PreflightResult): string {
  const sdk = facts.sdk?.version ? `, dify_plugin ${facts.sdk.version}` : ', dify_plugin';
  const debugpy = !facts.debugpy ? '' : facts.debugpy.version ? `, debugpy ${facts.debugpy.version}` : ', debugpy';
  return `Python ${facts.version}${sdk}${debugpy}`;
}

/** Where debugpy listens and how to attach, under the settings. */
function printAttach(io: Io, debugpy: DebugpyOptions, dim: (t: string) => string): void {
  const { listening, ides } = attachInstructions(debugpy);
  io.stdout.write(`Debugpy ${listening}\n`);
  for (const line of ides) io.stdout.write(`        ${dim(line)}\n`);
}

function debugpyEvent(o: DebugpyOptions): Record<string, unknown> {
  return { host: o.host, port: o.port, wait_for_client: o.waitForClient, vscode_configuration: VSCODE_ATTACH_NAME };
}

function interpreterEvent(s: DebugSettings, { facts, warnings }: PreflightResult): Record<string, unknown> {
  return {
    python: s.python.value,
    executable: facts.executable,
    python_version: facts.version,
    sdk_version: facts.sdk?.version ?? null,
    debugpy_version: facts.debugpy?.version ?? null,
    warnings,
  };
}

/**
 * Ctrl-C, SIGTERM or SIGHUP stops the session in order (the plugin's process group gets SIGTERM
 * and a grace period); a second one during that period kills the group at once.
 */
function onStopSignals(source: SignalSource, stop: () => void, kill: () => void): { dispose(): void } {
  let received = 0;
  const onSignal = () => (received++ === 0 ? stop() : kill());
  for (const signal of STOP_SIGNALS) source.on(signal, onSignal);
  return {
    dispose: () => {
      for (const signal of STOP_SIGNALS) source.off(signal, onSignal);
    },
  };
}
