/** The streams and environment a command talks to; tests pass their own to run commands in-process. */
export interface Io {
  /** Where prompts read answers; interactive only when it is a terminal. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Terminal width; 0 or unknown on some pseudo-terminals. */
  columns?: number;
}

export const processIo: Io = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
};
