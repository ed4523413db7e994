import type { Command } from 'commander';
import type { ExitCode } from '../errors.js';
import type { Io } from '../io.js';

/** `dify signature generate|sign|verify`. */
export function registerSignature(program: Command, io: Io, done: (code: ExitCode) => void): void {
  void program;
  void io;
  void done;
}
