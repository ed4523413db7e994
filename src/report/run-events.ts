import { printable, printableJson, printableLines } from '../diagnostics/excerpt.js';
import type { Colors } from './color.js';
import type { PluginExit } from '../debug/plugin-process.js';
import type { RequestInfo, SessionEvents } from '../debug/session.js';

export interface Output {
  write(text: string): unknown;
}

const short = (session: string) => session.slice(0, 8);
const seconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`);

/**
 * The session on screen: a line per connection step, request and completion, and the plugin's
 * own log lines with their level. `onConnecting` lets the caller run a spinner meanwhile; without
 * one (not a terminal), the wait before each reconnection is a plain line instead.
 *
 * Every text here but the CLI's own comes from the daemon or the plugin, and goes through
 * printable() (one line) or printableLines() (a log message's further lines indented): shown,
 * never obeyed by the terminal.
 */
export function textEvents(
  out: Output,
  c: Colors,
  hooks: { onConnecting?(text: string): void; onSettled?(): void } = {},
): SessionEvents {
  let registeredOnce = false;
  const line = (text: string) => {
    hooks.onSettled?.();
    out.write(text + '\n');
  };
  const p = printable;
  return {
    connecting: (address, attempt) =>
      hooks.onConnecting?.(`Connecting to ${p(address)}${attempt > 1 ? ` (attempt ${attempt})` : ''}`),
    connectFailed: (reason, retryInMs) =>
      line(c.yellow(`! ${p(reason)}${retryInMs === null ? '' : `; retrying in ${seconds(retryInMs)}`}`)),
    connected: () => line(c.green('✓ Connected to Dify remote debugging server')),
    registered: () => {
      line(c.green(registeredOnce ? '✓ Registered again' : `✓ Plugin registered: ${p(identityText)}`));
      if (!registeredOnce) line(c.green('✓ Waiting for requests...'));
      registeredOnce = true;
    },
    request: (r: RequestInfo) =>
      line(
        `→ ${p(r.type)} ${p(r.action)}${r.target ? ` ${p(r.target)}` : ''} ${c.dim(`(session ${p(short(r.session))})`)}`,
      ),
    response: (r) => {
      const session = c.dim(`(session ${p(short(r.session))})`);
      line(
        r.status === 'ok'
          ? `${c.green('←')} ok in ${seconds(r.ms)} ${session}`
          : `${c.red('←')} error in ${seconds(r.ms)}: ${p(r.error ?? '')} ${session}`,
      );
    },
    log: (level, message) => line(`${levelLabel(level, c)} ${printableLines(message, '    ')}`),
    pluginOutput: (text) => line(c.dim(`  | ${p(text)}`)),
    pluginStarted: () => undefined,
    pluginStderr: (text) => line(c.dim(`    ${p(text)}`)),
    // Its stderr has been shown as it came.
    pluginExited: (exit: PluginExit, restartInMs) =>
      line(
        c.red(
          `✖ The plugin process ${exitText(exit)}; ${restartInMs === null ? 'it keeps crashing as it starts, so it is not restarted until a file changes' : `restarting it in ${seconds(restartInMs)}`}`,
        ),
      ),
    disconnected: () => line(c.yellow('! Lost the connection to the daemon; reconnecting (the plugin keeps running)')),
    reconnecting: (attempt, inMs) => {
      const text = `Reconnecting in ${seconds(inMs)} (attempt ${attempt})`;
      if (hooks.onConnecting) hooks.onConnecting(text);
      else line(c.dim(text));
    },
  };
}

let identityText = '';
/** The plugin the text report names when it is registered. */
export function setIdentity(identity: string): void {
  identityText = identity;
}

function levelLabel(level: string, c: Colors): string {
  const upper = level.toUpperCase();
  const label = `[${printable(upper)}]`;
  if (upper === 'ERROR' || upper === 'CRITICAL') return c.red(label);
  if (upper === 'WARNING' || upper === 'WARN') return c.yellow(label);
  return c.dim(label);
}

function exitText(exit: PluginExit): string {
  if (exit.killedFor) return `was killed: ${exit.killedFor}`;
  if (exit.signal) return `was stopped by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/** Writes one `--format json` event line: `{"event", "time", ...fields}`. */
export function jsonEmitter(out: Output): (event: string, fields?: Record<string, unknown>) => void {
  return (event, fields = {}) =>
    void out.write(printableJson({ event, time: new Date().toISOString(), ...fields }) + '\n');
}

/**
 * How a `--format json` run ends: `error` with `"fatal": true` for what stopped it (the same
 * message and hint as on stderr, plus details such as the daemon's reply or the diagnostics),
 * then always `stopped` with the exit code.
 */
export function jsonRunEnd(out: Output): {
  fatal(message: string, hint: string | undefined, details?: Record<string, unknown>): void;
  stopped(exitCode: number): void;
} {
  const emit = jsonEmitter(out);
  return {
    fatal: (message, hint, details = {}) =>
      emit('error', { fatal: true, message, ...(hint ? { hint } : {}), ...details }),
    stopped: (exitCode) => emit('stopped', { exit_code: exitCode }),
  };
}

/** The same events as JSON lines (`--format json`): one object per line on stdout. */
export function jsonEvents(out: Output): SessionEvents {
  const emit = jsonEmitter(out);
  return {
    connecting: (address, attempt) => emit('connecting', { address, attempt }),
    connectFailed: (reason, retryInMs) => emit('error', { fatal: false, reason, retry_in_ms: retryInMs }),
    connected: (address) => emit('connected', { address }),
    registered: () => emit('registered', { plugin: identityText }),
    request: (r) => emit('request', { session: r.session, type: r.type, action: r.action, target: r.target }),
    response: (r) =>
      emit('response', {
        session: r.session,
        status: r.status,
        duration_ms: r.ms,
        ...(r.error ? { error: r.error } : {}),
      }),
    log: (level, message) => emit('log', { level, message }),
    pluginOutput: (text) => emit('log', { level: 'STDOUT', message: text }),
    pluginStderr: (text) => emit('log', { level: 'STDERR', message: text }),
    pluginStarted: (pid) => emit('plugin_started', { pid }),
    pluginExited: (exit, restartInMs) =>
      emit('plugin_exited', {
        code: exit.code,
        signal: exit.signal,
        stderr: exit.stderrTail,
        ...(exit.killedFor ? { killed_for: exit.killedFor } : {}),
        restart_in_ms: restartInMs,
      }),
    disconnected: () => emit('disconnected'),
    reconnecting: (attempt, inMs) => emit('reconnecting', { attempt, in_ms: inMs }),
  };
}
