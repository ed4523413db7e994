import { fstatSync, statSync, writeSync } from 'node:fs';
import { EXIT } from '../diagnostics/user-error.js';

/** The streams and environment a command talks to; tests pass their own to run commands in-process. */
export interface Io {
  /** Where prompts read answers; interactive only when it is a terminal. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where Ctrl-C (SIGINT), SIGTERM and SIGHUP come from: the process unless given. */
  signals?: SignalSource;
}

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Terminal width; 0 or unknown on some pseudo-terminals. */
  columns?: number;
}

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/**
 * The signals that stop a command in order. SIGHUP (the terminal closed) is one of them: Node
 * resets the disposition a parent left, `nohup`'s SIG_IGN included, so unhandled it would kill the
 * CLI on the spot, with no exit handler run and the plugin left behind.
 */
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The part of `process` that delivers stop signals; a test's EventEmitter can stand in for it. */
export interface SignalSource {
  on(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
}

let stdout: OutputStream | undefined;
let stderr: OutputStream | undefined;

/**
 * The process's own streams, each set up only when a command first uses it: setting one up loads
 * Node's stream code (and readline for stdin, net for a pipe), a few milliseconds of every
 * start-up otherwise, and most commands never read stdin.
 */
export const processIo: Io = {
  get stdin() {
    return process.stdin;
  },
  get stdout() {
    // To a file (or /dev/null) Node itself writes synchronously, through its stream code, which
    // this skips loading.
    return (stdout ??= isFileOrNull(1) ? syncWriter(1) : quietOnClosedPipe(process.stdout));
  },
  get stderr() {
    // Commands ask stderr whether it is a terminal (for a spinner) long before they write to it,
    // if they ever do: a pipe or a file is known not to be one without setting up the stream.
    const make = () => quietOnClosedPipe(process.stderr);
    return (stderr ??= isFileOrNull(2) ? syncWriter(2) : surelyNotATerminal(2) ? writeLater(make) : make());
  },
  env: process.env,
  cwd: process.cwd(),
};

/** True when `fd` is a pipe, a socket or a file; a character device may be a terminal. */
function surelyNotATerminal(fd: number): boolean {
  try {
    return !fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}

/** True when `fd` is a regular file or /dev/null. */
function isFileOrNull(fd: number): boolean {
  try {
    const info = fstatSync(fd);
    if (info.isFile()) return true;
    if (!info.isCharacterDevice()) return false;
    const devNull = statSync('/dev/null');
    return info.rdev === devNull.rdev && info.ino === devNull.ino;
  } catch {
    return false;
  }
}

function syncWriter(fd: number): OutputStream {
  return {
    isTTY: false,
    write: (chunk: string) => {
      writeSync(fd, chunk);
      return true;
    },
  };
}

/** An output that is not a terminal, whose stream is set up at the first write. */
function writeLater(make: () => NodeJS.WriteStream): OutputStream {
  let stream: NodeJS.WriteStream | undefined;
  return { isTTY: false, write: (chunk: string) => (stream ??= make()).write(chunk) };
}

/** `dify ... | head`: a reader that stops early is not an error, and is no reason for a stack trace. */
function quietOnClosedPipe(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
  return stream;
}
