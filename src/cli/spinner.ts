import type { Io } from './io.js';

export interface Spinner {
  /** False when nothing is drawn (not a terminal, CI): callers print plain lines instead. */
  readonly live: boolean;
  /** Shows `text`, starting the spinner if it is not running. */
  show(text: string): void;
  stop(): void;
}

const idle: Spinner = { live: false, show: () => undefined, stop: () => undefined };

/** A spinner on stderr, only on a sized terminal outside CI (ora is loaded only then, keeping start-up lean). */
export async function makeSpinner(io: Io): Promise<Spinner> {
  // A terminal that reports no width (some pseudo-terminals) makes ora redraw without end.
  if (!io.stderr.isTTY || io.env.CI || !(io.stderr.columns! > 0)) return idle;
  const { default: ora } = await import('ora');
  // The decision is made above, from the command's own streams and environment.
  const spinner = ora({ stream: io.stderr as NodeJS.WritableStream, isEnabled: true });
  return {
    live: true,
    show: (text) => {
      spinner.text = text;
      if (!spinner.isSpinning) spinner.start();
    },
    stop: () => {
      if (spinner.isSpinning) spinner.stop();
    },
  };
}

/** A spinner showing `text` until stopped (nothing when `text` is undefined or off a terminal). */
export async function startSpinner(io: Io, text: string | undefined): Promise<Spinner> {
  if (text === undefined) return idle;
  const spinner = await makeSpinner(io);
  spinner.show(text);
  return spinner;
}
