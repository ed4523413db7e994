import { Option, type Command } from 'commander';
import type { ExitCode } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';
import { addPermissionFlags } from './permission-flags.js';

/** `dify plugin module ...`, `dify plugin readme list`, `dify plugin permission`. */
export function registerPluginTools(plugin: Command, io: Io, done: (code: ExitCode) => void): void {
  const module = plugin.command('module').description('list the modules of a plugin, or add tools or endpoints to it');
  module
    .command('list')
    .description(
      'print the tools, models, endpoints, agent strategies, datasources and trigger events a plugin declares',
    )
    .argument('<plugin_path>', 'plugin directory or .difypkg file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']))
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { moduleListCommand } = await import('../commands/module.js');
      done(await moduleListCommand(target, opts, io));
    });

  const append = module.command('append').description('add a tool provider or an endpoint group to a plugin');
  for (const [kind, what] of [
    ['tools', 'a tool provider with one tool (provider/<name>.yaml, tools/<name>.yaml and their Python classes)'],
    [
      'endpoints',
      'an endpoint group with one endpoint (group/<name>.yaml, endpoints/<name>.yaml and its Python class)',
    ],
  ] as const) {
    append
      .command(kind)
      .description(`add ${what} and list it in manifest.yaml`)
      .argument('<plugin_path>', 'plugin directory')
      .option('--name <name>', 'base name of the new files (default: the plugin name)')
      .option('--force', 'overwrite files that already exist')
      .action(async (target: string, opts: Record<string, unknown>) => {
        const { moduleAppendCommand } = await import('../commands/module.js');
        done(await moduleAppendCommand(kind, target, opts, io));
      });
  }

  const readme = plugin.command('readme').description('work with the READMEs of a plugin');
  readme
    .command('list')
    .description('list the languages a plugin has a README in (README.md and readme/README_<lang>.md)')
    .argument('<plugin_path>', 'plugin directory or .difypkg file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']))
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { readmeListCommand } = await import('../commands/readme.js');
      done(await readmeListCommand(target, opts, io));
    });

  addPermissionFlags(plugin.command('permission'), 'grant', { verb: 'revoke' })
    .description(
      'edit resource.permission in manifest.yaml (interactive on a terminal; or --allow-* adds and --no-allow-* removes, keeping the rest)',
    )
    .argument('<plugin_path>', 'plugin directory')
    .option(
      '--storage-size <bytes>',
      'storage size in bytes, 1024 to 1073741824 (default: the current size, or 1048576)',
    )
    .option('--reset', 'start from no permissions: grant exactly the --allow-* flags given')
    .option('--none', 'remove every permission')
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { permissionCommand } = await import('../commands/permission.js');
      done(await permissionCommand(target, opts, io));
    });
}
