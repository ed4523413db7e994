import type { Command } from 'commander';
import { EXIT, UsageError, type ExitCode } from '../../diagnostics/user-error.js';
import { complete, formatCompletion } from '../completion/candidates.js';
import { SCRIPTS, SHELLS, type Shell } from '../completion/scripts.js';
import type { Io } from '../io.js';

/** `dify completion <shell>`: prints the script (commander has checked the name). */
export function completionCommand(shell: Shell | undefined, io: Io): ExitCode {
  if (shell === undefined) {
    throw new UsageError(
      `name the shell: dify completion ${SHELLS.join('|')}`,
      'run `dify completion --help` for how to install it',
    );
  }
  io.stdout.write(SCRIPTS[shell]);
  return EXIT.ok;
}

/** `dify __complete <words...>`: what to offer for the last word, for the scripts above. */
export function completeCommand(program: Command, words: string[], io: Io): ExitCode {
  io.stdout.write(formatCompletion(complete(program, words)));
  return EXIT.ok;
}
