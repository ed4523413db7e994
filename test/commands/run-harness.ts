import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach } from 'vitest';
import type { Io, StopSignal } from '../../src/cli/io.js';
import { EXIT } from '../../src/diagnostics/user-error.js';
import { cliEnv } from '../helpers/cli.js';
import { REPO } from '../helpers/plugin.js';

/** How an in-process command ended: its exit code, and what it threw, if anything. */
export interface Ended {
  code: number;
  /** What the command threw; the CLI prints its message and hint on stderr and exits with `code`. */
  error?: Error & { hint?: string; exitCode?: number };
}

/** A command running in this process, with its output captured and stop signals of its own. */
export interface RunningCommand {
  /** The command's standard input, open until the test ends it. */
  stdin: PassThrough;
  /** stdout and stderr, in arrival order. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** The stdout lines that are JSON, parsed. */
  json<T = Record<string, unknown>>(): T[];
  /** Resolves once the output passes `test` (a text it contains, a pattern, or a predicate). */
  waitFor(test: string | RegExp | ((output: string) => boolean), timeoutMs?: number): Promise<void>;
  /** Delivers SIGINT (Ctrl-C), SIGTERM or SIGHUP to the command, as the process would. */
  signal(name?: StopSignal): void;
  ended: Promise<Ended>;
}

export interface CommandOptions {
  cwd?: string;
  /** Added to the environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
}

const running: RunningCommand[] = [];

// A command a test left running is stopped as a user stops it (Ctrl-C), and must then end.
afterEach(async () => {
  const left = running.splice(0);
  for (const command of left) command.signal('SIGINT');
  await Promise.all(
    left.map((command) =>
      within(command.ended, 10_000, `a command to end after Ctrl-C; its output:\n${command.output()}`),
    ),
  );
});

/**
 * Starts `command` in-process with an Io of its own: output captured, stdin a stream the test
 * writes to, the environment as the binary would see it (no colour, not GitHub Actions), and
 * stop signals the test delivers instead of the process.
 */
export function startCommand(command: (io: Io) => Promise<number>, options: CommandOptions = {}): RunningCommand {
  let out = '';
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const capture = (append: (s: string) => void) => ({
    write: (s: string) => {
      append(s);
      out += s;
      for (const check of [...waiters]) check();
      return true;
    },
  });
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  const signals = new EventEmitter();
  const io: Io = {
    stdin,
    stdout: capture((s) => (stdout += s)),
    stderr: capture((s) => (stderr += s)),
    env: cliEnv(options.env),
    cwd: options.cwd ?? REPO,
    signals,
  };
  const ended = command(io).then(
    (code): Ended => ({ code }),
    (error: Ended['error']): Ended => ({ code: error?.exitCode ?? EXIT.failed, error }),
  );
  const run: RunningCommand = {
    stdin,
    output: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    json: <T>() =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as T),
    waitFor(test, timeoutMs = 10_000) {
      const passes =
        typeof test === 'function'
          ? test
          : typeof test === 'string'
            ? (s: string) => s.includes(test)
            : (s: string) => test.test(s);
      if (passes(out)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!passes(out)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${String(test)}; output so far:\n${out}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    signal(name = 'SIGINT') {
      // Before the command listens (still checking the plugin), the signal waits for it to.
      if (signals.listenerCount(name) > 0) return void signals.emit(name);
      const onListener = (event: string) => {
        if (event !== name) return;
        signals.off('newListener', onListener);
        queueMicrotask(() => signals.emit(name));
      };
      signals.on('newListener', onListener);
    },
    ended,
  };
  running.push(run);
  void ended.then(() => {
    const at = running.indexOf(run);
    if (at >= 0) running.splice(at, 1);
  });
  return run;
}

/** The pids of the fake plugin processes a run started, in order (fake-plugin.mjs logs its pid). */
export function pluginPids(output: string): number[] {
  return [...output.matchAll(/fake plugin started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
}

/** Waits until `count` fake plugin processes have started (and handle signals); their pids, in order. */
export async function pluginsStarted(command: RunningCommand, count = 1): Promise<number[]> {
  await command.waitFor((output) => pluginPids(output).length >= count);
  return pluginPids(command.output());
}

/** `promise`, or a rejection after `ms`: a command that hangs fails the test instead of stalling it. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
