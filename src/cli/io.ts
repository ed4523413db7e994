import { EXIT } from '../diagnostics/user-error.js';

/** The streams and environment a command talks to; tests pass their own to run commands in-process. */
export interface Io {
  /** Where prompts read answers; interactive only when it is a terminal. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where Ctrl-C (SIGINT) and SIGTERM come from: the process unless given. */
  signals?: SignalSource;
}

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Terminal width; 0 or unknown on some pseudo-terminals. */
  columns?: number;
}

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The part of `process` that delivers stop signals; a test's EventEmitter can stand in for it. */
export interface SignalSource {
  on(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
}

let stdout: NodeJS.WriteStream | undefined;
let stderr: NodeJS.WriteStream | undefined;

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
    return (stdout ??= quietOnClosedPipe(process.stdout));
  },
  get stderr() {
    return (stderr ??= quietOnClosedPipe(process.stderr));
  },
  env: process.env,
  cwd: process.cwd(),
};

/** `dify ... | head`: a reader that stops early is not an error, and is no reason for a stack trace. */
function quietOnClosedPipe(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
  return stream;
}
