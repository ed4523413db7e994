import type { Io } from './io.js';

export interface Spinner {
  stop(): void;
}

const idle: Spinner = { stop: () => undefined };

/** A spinner on stderr, only on a terminal (ora is loaded only then, keeping CI start-up lean). */
export async function startSpinner(io: Io, text: string | undefined): Promise<Spinner> {
  if (text === undefined || !io.stderr.isTTY || io.env.CI) return idle;
  const { default: ora } = await import('ora');
  // The decision is made above, from the command's own streams and environment.
  const spinner = ora({ text, stream: io.stderr as NodeJS.WritableStream, isEnabled: true }).start();
  return { stop: () => spinner.stop() };
}
