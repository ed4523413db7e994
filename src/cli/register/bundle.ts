import { Option, type Command } from 'commander';
import type { ExitCode } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';
import { DEFAULT_MAX_SIZE_MB } from '../max-size.js';

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

  const BUNDLE_PATH = 'bundle directory or .difybndl file (a .difybndl is rewritten in place)';
  const append = bundle.command('append').description('add a dependency to a bundle');
  append
    .command('github')
    .description('add a plugin released on GitHub')
    .argument('<bundle_path>', BUNDLE_PATH)
    .requiredOption(
      '-r, --repo_pattern <pattern>',
      'owner/repo:version/asset, e.g. langgenius/openai:0.0.1/openai.difypkg',
    )
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { bundleAppendCommand } = await import('../commands/bundle.js');
      done(await bundleAppendCommand('github', target, opts, io));
    });
  append
    .command('marketplace')
    .description('add a plugin from the Dify Marketplace')
    .argument('<bundle_path>', BUNDLE_PATH)
    .requiredOption('-m, --marketplace_pattern <pattern>', 'organization/plugin:version, e.g. langgenius/openai:0.0.1')
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { bundleAppendCommand } = await import('../commands/bundle.js');
      done(await bundleAppendCommand('marketplace', target, opts, io));
    });
  append
    .command('package')
    .description('embed a .difypkg (checked first; stored once as _assets/<checksum>)')
    .argument('<bundle_path>', BUNDLE_PATH)
    .requiredOption('-p, --package_path <file>', 'the .difypkg to embed')
    .option('--max-size <MB>', "limit on the package's uncompressed size in MB", DEFAULT_MAX_SIZE_MB)
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { bundleAppendCommand } = await import('../commands/bundle.js');
      done(await bundleAppendCommand('package', target, opts, io));
    });

  bundle
    .command('remove')
    .description('remove a dependency (and its embedded package file when nothing else uses it)')
    .argument('<bundle_path>', BUNDLE_PATH)
    .requiredOption('-i, --index <n>', '0-based index of the dependency (see `dify bundle analyze`)')
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { bundleRemoveCommand } = await import('../commands/bundle.js');
      done(await bundleRemoveCommand(target, opts, io));
    });

  bundle
    .command('bump')
    .description('set the bundle version')
    .argument('<bundle_path>', BUNDLE_PATH)
    .requiredOption('-t, --target_version <version>', 'new version, e.g. 0.0.2')
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { bundleBumpCommand } = await import('../commands/bundle.js');
      done(await bundleBumpCommand(target, opts, io));
    });

  bundle
    .command('regenerate')
    .description('change the name, author, description and labels (asks on a terminal unless --quick)')
    .argument('<bundle_path>', BUNDLE_PATH)
    .option('--quick', 'ask nothing; take every answer from flags')
    .option('--name <name>', 'bundle name')
    .option('--author <author>', 'author ID')
    .option('--description <text>', 'one-sentence description')
    .option('--label <text>', 'display name (default: the current one, or the title of a new name)')
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { bundleRegenerateCommand } = await import('../commands/bundle.js');
      done(await bundleRegenerateCommand(target, opts, io));
    });

  bundle
    .command('package')
    .description('validate a bundle and pack it into a .difybndl (with --check: validate only)')
    .argument('<bundle_path...>', 'bundle directory or .difybndl (several with --check)')
    .option(
      '-o, --output_path <file>',
      'output file (default: <bundle directory name>.difybndl in the current directory)',
    )
    .option('--check', 'validate only and write nothing')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'github']))
    .option('--strict', 'treat warnings as errors')
    .option('--force', 'overwrite an output file that is not a bundle or package')
    .action(async (paths: string[], opts: Record<string, unknown>) => {
      const { bundlePackageCommand } = await import('../commands/bundle.js');
      done(await bundlePackageCommand(paths, opts, io));
    });

  bundle
    .command('analyze')
    .description('list the dependencies with their parsed fields (and the plugin inside each embedded package)')
    .argument('<bundle_path>', 'bundle directory or .difybndl file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']))
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { bundleAnalyzeCommand } = await import('../commands/bundle.js');
      done(await bundleAnalyzeCommand(target, opts, io));
    });
}
