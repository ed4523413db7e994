/**
 * Exit codes of every command: 0 done, 1 failed (bad input, findings), 2 wrong usage, 130 stopped
 * by Ctrl-C (128 + SIGINT, what a shell reports for a command that signal ends).
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * A mistake the user can fix: a missing file, a damaged package, a refused edit. Library code
 * throws it (or a subclass naming the area); `src/cli/main.ts` alone turns it into one line on
 * stderr, the hint below it, and the exit code. Anything else that escapes is a bug of ours.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A command line that cannot be run as written (exit 2). */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, EXIT.usage);
  }
}
