import type { Command } from 'commander';
import type { ExitCode } from '../errors.js';
import type { Io } from '../io.js';

/** `dify plugin module ...`, `dify plugin readme list`, `dify plugin permission`. */
export function registerPluginTools(plugin: Command, io: Io, done: (code: ExitCode) => void): void {
  void plugin;
  void io;
  void done;
}
