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

export const processIo: Io = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
};
