import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Io } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { REPO } from './plugin.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Added to the environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
}

/** The environment a command sees: this process's, without colour and outside GitHub Actions. */
export function cliEnv(extra: CliOptions['env'] = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: '1',
    GITHUB_ACTIONS: undefined,
    GITHUB_STEP_SUMMARY: undefined,
    FORCE_COLOR: undefined,
    ...extra,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env as NodeJS.ProcessEnv;
}

/**
 * Runs the CLI in-process through `run(argv, io)`, as `dify()` runs the binary: same arguments,
 * environment and working directory, output captured, no terminal. The default for tests; the
 * binary is for what only a process shows (exit codes, signals, separated streams, the launcher).
 */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdin: Object.assign(new PassThrough(), { isTTY: false }),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: cliEnv(options.env),
    cwd: options.cwd ?? REPO,
  };
  const code = await run(['node', 'dify', ...args], io);
  return { code, stdout, stderr };
}

/** Spawns `bin/dify.js` as a user would, without colour and outside GitHub Actions. */
function spawnCli(args: string[], options: CliOptions) {
  return spawn(process.execPath, [path.join(REPO, 'bin', 'dify.js'), ...args], {
    cwd: options.cwd ?? REPO,
    env: cliEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the built `bin/dify.js` to completion. */
export function dify(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface RunningCli {
  child: import('node:child_process').ChildProcess;
  /** Everything printed so far (stdout and stderr, in arrival order). */
  output(): string;
  /** Resolves once `text` has been printed (rejects after `timeoutMs`). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts `bin/dify.js` and lets the test talk to it while it runs. */
export function startDify(args: string[], options: CliOptions = {}): RunningCli {
  const child = spawnCli(args, options);
  let out = '';
  const waiters: { test: (s: string) => boolean; resolve: () => void }[] = [];
  const onData = (d: string) => {
    out += d;
    for (const w of [...waiters]) {
      if (!w.test(out)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout!.setEncoding('utf8').on('data', onData);
  child.stderr!.setEncoding('utf8').on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor(text, timeoutMs = 15_000) {
      const test = (s: string) => (typeof text === 'string' ? s.includes(text) : text.test(s));
      if (test(out)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${String(text)}; output so far:\n${out}`)),
          timeoutMs,
        );
        waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

/** True while a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * An Io for calling a command function directly (to inject its deps): no terminal, the given
 * writers, and its own signal source, `signals`, on which a test emits SIGINT.
 */
export function testIo(o: {
  cwd: string;
  env?: CliOptions['env'];
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}): { io: Io; signals: EventEmitter } {
  const signals = new EventEmitter();
  const io: Io = {
    stdin: Object.assign(new PassThrough(), { isTTY: false }),
    stdout: { write: (s: string) => (o.stdout?.(s), true) },
    stderr: { write: (s: string) => (o.stderr?.(s), true) },
    env: cliEnv(o.env),
    cwd: o.cwd,
    signals: signals as unknown as Io['signals'],
  };
  return { io, signals };
}
