/** The streams and environment a command talks to; tests pass their own to run commands in-process. */
export interface Io {
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export const processIo: Io = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
};
