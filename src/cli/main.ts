import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT, type ExitCode } from './errors.js';
import { processIo, type Io } from './io.js';
import { VERSION } from '../version.js';

/**
 * Builds the command tree. Command modules are imported only when their command runs, so start-up
 * stays cheap; this file is wiring and exit codes only.
 */
function buildProgram(io: Io, done: (code: ExitCode) => void): Command {
  const program = new Command('dify')
    .description('Build, check, package and debug Dify plugins')
    .version(VERSION, '-v, --version', 'print the version')
    .option('--config <file>', 'accepted for compatibility with the Go CLI; has no effect')
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  program
    .command('version')
    .description('print the version')
    .action(() => {
      io.stdout.write(`${VERSION}\n`);
      done(EXIT.ok);
    });

  const plugin = program.command('plugin').description('work with a plugin project');

  plugin
    .command('package')
    .description('validate a plugin and pack it into a .difypkg (with --check: validate only)')
    .argument('<plugin_path...>', 'plugin directory (several with --check)')
    .option('-o, --output_path <file>', 'output file (default: <plugin directory name>.difypkg in the current directory)')
    .option('--max-size <MB>', 'limit on the uncompressed size in MB', '50')
    .option('--check', 'validate only and write nothing')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'github']))
    .option('--strict', 'treat warnings as errors')
    .option('--list', 'list the files that would be packed (and why others are not); writes nothing')
    .option('--force', 'overwrite an output file that is not a Dify package')
    .action(async (paths: string[], opts: Record<string, unknown>) => {
      const { packageCommand } = await import('./commands/package.js');
      done(await packageCommand(paths, opts, io));
    });

  plugin
    .command('checksum')
    .description('print the checksum of a plugin directory or .difypkg')
    .argument('<plugin_path>', 'plugin directory or .difypkg file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']))
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { checksumCommand } = await import('./commands/checksum.js');
      done(await checksumCommand(target, opts, io));
    });

  return program;
}

/** Runs the CLI with `argv` (as process.argv) and returns the exit code; never throws. */
export async function run(argv: string[], io: Io = processIo): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    return handleError(err, io);
  }
}

function handleError(err: unknown, io: Io): ExitCode {
  if (err instanceof CommanderError) {
    // Commander has already printed its one-line message (or the help text).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
    return EXIT.usage;
  }
  if (err instanceof CliError) {
    io.stderr.write(`error: ${err.message}\n`);
    if (err.hint) io.stderr.write(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
  // A bug of ours: say so in one line; the stack only on request.
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`internal error: ${message}\n`);
  if (io.env.DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  else io.stderr.write('hint: run again with DEBUG=1 for details, and please report it\n');
  return EXIT.failed;
}
