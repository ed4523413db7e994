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

/**
 * `dify __complete <words...>`: what to offer for the last word, for the scripts above. A last
 * word `""` stands for an empty one: PowerShell drops an empty argument to a program (before 7.3,
 * and for npm's `.cmd` launcher on Windows still), so its script always writes an empty word so.
 */
export function completeCommand(program: Command, words: string[], io: Io): ExitCode {
  const last = words.length - 1;
  const asTyped = words[last] === '""' ? [...words.slice(0, last), ''] : words;
  io.stdout.write(formatCompletion(complete(program, asTyped)));
  return EXIT.ok;
}
