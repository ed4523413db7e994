import type { Command } from 'commander';
import type { ExitCode } from '../errors.js';
import type { Io } from '../io.js';

/** `dify bundle ...` (also reachable as `dify plugin bundle ...`). */
export function registerBundle(parent: Command, io: Io, done: (code: ExitCode) => void): void {
  const bundle = parent.command('bundle').description('work with a plugin bundle');
  bundle
    .command('init')
    .description('create a bundle project (interactive on a terminal unless --quick)')
    .option('--quick', 'ask nothing; take every answer from flags')
    .option('--name <name>', 'bundle name')
    .option('--author <author>', 'author ID')
    .option('--description <text>', 'one-sentence description')
    .option('--force', 'write into an existing non-empty directory')
    .action(async (opts: Record<string, unknown>) => {
      const { initCommand } = await import('../commands/init.js');
      done(await initCommand(opts, io, 'bundle'));
    });
}
