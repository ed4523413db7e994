import path from 'node:path';
import { checkPlugin } from '../../check/plugin-check.js';
import { buildRegistration, RegistrationError, type RegistrationMessage } from '../../debug/registration/index.js';
import { describeSource, maskKey, resolveSettings, SettingsError, type DebugSettings } from '../../debug/settings.js';
import { DEFAULT_TIMERS, PluginStartError, RejectedError, RunSession, UnreachableError, type SessionEvents } from '../../debug/session.js';
import { watchPlugin } from '../../debug/watch.js';
import { get } from '../../check/rules/context.js';
import { colorFor } from '../../report/color.js';
import { jsonEvents, setIdentity, textEvents } from '../../report/run-events.js';
import { formatText } from '../../report/text.js';
import { pluginIdentity } from '../../project/identity.js';
import { CliError, EXIT, type ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import type { LocalRunOptions } from './local-run.js';
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
}

/** Debounce for --watch: editors write a file in several steps. */
const WATCH_DEBOUNCE_MS = 300;

/**
 * `dify plugin run [dir]`: remote debugging. Checks the plugin, builds the registration the
 * Python SDK would send, then holds the TCP session with the daemon and runs the plugin in
 * stdio mode, relaying both ways until Ctrl-C. `--dry-run` prints the registration instead.
 */
export async function runCommand(target: string | undefined, opts: RunOptions, io: Io): Promise<ExitCode> {
  const dir = path.resolve(io.cwd, target ?? '.');
  const localFlags = opts.local || opts.mode !== undefined || opts.responseFormat !== undefined || opts.enableLogs;
  if (!opts.dryRun && (localFlags || dir.endsWith('.difypkg'))) {
    const { localRunCommand } = await import('./local-run.js');
    return localRunCommand(target ?? '.', opts, io);
  }
  const c = colorFor(io.stdout, io.env);
  const checked = await checkPlugin(dir, { strict: false, maxBytes: 50 * 1024 * 1024, env: io.env, checksum: false });
  const project = checked.project;
  if (!project || !checked.ok) {
    checked.path = target ?? '.';
    io.stdout.write(formatText([checked], c));
    throw new CliError('the plugin has errors; fix them before debugging it', EXIT.failed, 'the daemon would refuse the registration for the same reasons');
  }
  const settings = settingsOf(dir, opts, io);
  const key = settings.key?.value;

  let registration: RegistrationMessage[];
  try {
    registration = await buildRegistration(project, key ?? '');
  } catch (err) {
    if (err instanceof RegistrationError) throw new CliError(err.message);
    throw err;
  }
  if (opts.dryRun) {
    const shown = opts.showKey || !key ? registration : [{ type: 'handshake', data: { key: maskKey(key) } }, ...registration.slice(1)];
    for (const m of shown) io.stdout.write(JSON.stringify(m) + '\n');
    return EXIT.ok;
  }
  if (!key) {
    throw new CliError('no debug key is configured', EXIT.failed, 'copy it from Dify (Plugins → the debug icon) into REMOTE_INSTALL_KEY in .env, or pass --key');
  }

  const summary = checked.plugin!;
  setIdentity(pluginIdentity(summary.author, summary.name ?? '', summary.version ?? ''));
  const spinner = await makeSpinner(io);
  const events: SessionEvents = opts.format === 'json' ? jsonEvents(io.stdout) : textEvents(io.stdout, c, { onConnecting: spinner.show, onSettled: spinner.stop });
  if (opts.format !== 'json') printSettings(io, settings, c.dim);

  const entrypoint = String(get(project.manifest?.value, 'meta', 'runner', 'entrypoint') ?? 'main');
  const session = new RunSession({
    host: settings.host.value,
    port: settings.port.value,
    registration: async () => registration,
    plugin: { python: settings.python.value, entrypoint, cwd: dir, env: io.env },
    timers: DEFAULT_TIMERS,
    events,
  });
  // Whatever happens to the CLI, the plugin process must not outlive it.
  const killChild = () => session.killNow();
  process.once('exit', killChild);
  try {
    await session.start();
  } catch (err) {
    spinner.stop();
    await session.stop();
    throw toCliError(err);
  }

  const stopWatching = opts.watch ? startWatch(dir, checked.source!.selection.exclusionOf, session, opts, io, key, (r) => (registration = r)) : () => undefined;
  const ended = await untilStopped(session);
  stopWatching();
  await session.stop();
  process.off('exit', killChild);
  if (ended) throw toCliError(ended);
  return EXIT.ok;
}

function settingsOf(dir: string, opts: RunOptions, io: Io): DebugSettings {
  try {
    const flags = { ...(opts.url !== undefined ? { url: opts.url } : {}), ...(opts.key !== undefined ? { key: opts.key } : {}), ...(opts.python !== undefined ? { python: opts.python } : {}) };
    return resolveSettings(dir, flags, io.env);
  } catch (err) {
    if (err instanceof SettingsError) throw new CliError(err.message);
    throw err;
  }
}

function printSettings(io: Io, s: DebugSettings, dim: (t: string) => string): void {
  io.stdout.write(`Daemon  ${s.host.value}:${s.port.value} ${dim(describeSource(s.host))}\n`);
  io.stdout.write(`Key     ${maskKey(s.key!.value)} ${dim(describeSource(s.key!))}\n`);
  io.stdout.write(`Python  ${s.python.value} ${dim(describeSource(s.python))}\n`);
}

/** Waits for Ctrl-C or SIGTERM (undefined) or for the session to end by itself (its error). */
function untilStopped(session: RunSession): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(undefined);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void session.finished.then((err) => {
      if (err) {
        onSignal();
        resolve(err);
      }
    });
  });
}

function startWatch(
  dir: string,
  exclusionOf: (rel: string) => string | null,
  session: RunSession,
  opts: RunOptions,
  io: Io,
  key: string,
  setRegistration: (r: RegistrationMessage[]) => void,
): () => void {
  const out = (text: string) => opts.format !== 'json' && io.stdout.write(text + '\n');
  const watcher = watchPlugin(dir, (rel) => exclusionOf(rel) !== null, WATCH_DEBOUNCE_MS, (kind, files) => {
    void (async () => {
      out(`↻ ${files.slice(0, 3).join(', ')}${files.length > 3 ? ` and ${files.length - 3} more` : ''} changed`);
      if (kind === 'declarations') {
        const checked = await checkPlugin(dir, { strict: false, maxBytes: 50 * 1024 * 1024, env: io.env, checksum: false });
        if (!checked.ok || !checked.project) {
          checked.path = '.';
          io.stdout.write(formatText([checked], colorFor(io.stdout, io.env)));
          out('  not registering again until these are fixed');
          return;
        }
        setRegistration(await buildRegistration(checked.project, key));
        await session.reregister();
      }
      await session.restartPlugin();
    })();
  });
  return () => watcher.close();
}

function toCliError(err: unknown): CliError {
  if (err instanceof RejectedError) {
    const { cause, fix, reply } = err.rejection;
    return new CliError(`${cause}\n  daemon: ${reply}`, EXIT.failed, fix);
  }
  if (err instanceof UnreachableError) {
    return new CliError(err.message, EXIT.failed, 'check that Dify is running and that the address (REMOTE_INSTALL_URL, or --url) is its plugin daemon\'s debugging port, usually 5003');
  }
  if (err instanceof PluginStartError) {
    return new CliError(err.message, EXIT.failed, 'pass --python, set PYTHON_INTERPRETER_PATH, or create the plugin\'s .venv');
  }
  return err instanceof CliError ? err : new CliError(String((err as Error).message ?? err));
}
