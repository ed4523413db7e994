import { Argument, Command, CommanderError, Option } from 'commander';
import { printable, printableLines } from '../diagnostics/excerpt.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { EXIT, type ExitCode, UsageError, UserError } from '../diagnostics/user-error.js';
import { INSTALL_HELP, SHELLS, type Shell } from './completion/scripts.js';
import { offering } from './completion/values.js';
import { registerBundle } from './register/bundle.js';
import { registerInvoke } from './register/invoke.js';
import { registerPluginTools } from './register/plugin-tools.js';
import { addPermissionFlags } from './register/permission-flags.js';
import { registerSignature } from './register/signature.js';
import { processIo, type Io } from './io.js';
import { DEFAULT_MAX_SIZE_MB } from './max-size.js';
import { CATEGORIES } from '../scaffold/answers.js';
import { DEBUGPY_DEFAULT_PORT, DEBUGPY_HOST } from '../debug/debugpy-defaults.js';
import { VERSION } from '../version.js';

/**
 * Builds the command tree. Command modules are imported only when their command runs, so start-up
 * stays cheap; this file is wiring and exit codes only. Exported so that a test can parse the
 * documented command lines without running them.
 */
export function buildProgram(io: Io, done: (code: ExitCode) => void): Command {
  const program = new DifyProgram('dify')
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

  addPermissionFlags(plugin.command('init'), 'permission')
    .description('create a plugin project (interactive on a terminal unless --quick)')
    .option('--quick', 'ask nothing; take every answer from flags')
    .option('--name <name>', 'plugin name (lowercase letters, digits, - and _)')
    .option('--author <author>', 'author ID (lowercase letters, digits, - and _)')
    .option('--description <text>', 'one-sentence description')
    .option('--repo <url>', 'repository URL, written to the manifest')
    .addOption(offering(new Option('--category <type>', `plugin type: ${CATEGORIES.join(', ')}`), CATEGORIES))
    .addOption(offering(new Option('--type <type>', 'same as --category'), CATEGORIES))
    .addOption(offering(new Option('--language <language>', 'plugin language (python)'), ['python']))
    .option('--min-dify-version <version>', 'minimum Dify version, e.g. 1.9.0')
    .option('--storage-size <size>', 'storage size in bytes, or in MB as 5MB (default 1MB: 1048576)')
    .option('--readme-languages <list>', 'translated READMEs to add: zh_Hans,ja_JP,pt_BR')
    .option('--force', 'write into an existing non-empty directory')
    .action(async (opts: Record<string, unknown>) => {
      const { initCommand } = await import('./commands/init.js');
      done(await initCommand(opts, io));
    });

  plugin
    .command('package')
    .description('validate a plugin and pack it into a .difypkg (with --check: validate only)')
    .argument('<plugin_path...>', 'plugin directory, or with --check a .difypkg (several with --check or --output-dir)')
    .option(
      '-o, --output_path <file>',
      'output file (default: <plugin directory name>.difypkg in the current directory)',
    )
    .option('--max-size <MB>', 'limit on the uncompressed size in MB', DEFAULT_MAX_SIZE_MB)
    .option(
      '--output-dir <dir>',
      'directory to pack each plugin into, as <plugin directory name>.difypkg (several paths)',
    )
    .option('--check', 'validate only and write nothing')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'github', 'markdown']))
    .option('--strict', 'treat warnings as errors')
    .option('--report-json <file>', 'also write the --format json document to <file>')
    .option('--list', 'list the files that would be packed (and why others are not); writes nothing')
    .option('--force', 'overwrite an output or report file that is not a Dify package or report')
    .option(
      '--marketplace',
      "also run the Marketplace's pull-request pre-check (author, icon, requirements, privacy, README)",
    )
    .option('--online', 'with --marketplace: ask the Marketplace whether this version is already published')
    .option('--install-test', 'with --marketplace: install the requirements in a new venv and start the plugin')
    .option(
      '--python <path>',
      'with --install-test: the Python that creates the venv (default: PYTHON_INTERPRETER_PATH, python3)',
    )
    .option(
      '--serverless',
      "write a deployment for the SDK's serverless mode: <name>.serverless.zip for AWS Lambda; --serverless=container: a Docker build context <name>.serverless/",
    )
    // `--serverless=<target>` arrives as this (see serverlessTargetArgs).
    .addOption(new Option('--serverless-target <target>').choices(['lambda', 'container']).hideHelp())
    .addOption(
      offering(new Option('--arch <arch>', 'with --serverless: x86_64 or arm64 (default: from meta.arch)'), [
        'x86_64',
        'arm64',
      ]),
    )
    .option('--python-version <X.Y>', 'with --serverless: Python version (default: meta.runner.version, else 3.12)')
    .option(
      '--find-links <dir>',
      'with --serverless: a directory of wheels to install from (repeatable)',
      (dir: string, dirs: string[] = []) => [...dirs, dir],
    )
    .action(async (paths: string[], opts: Record<string, unknown>) => {
      if (opts.serverless || opts.serverlessTarget !== undefined) {
        const { serverlessPackageCommand } = await import('./commands/serverless-package.js');
        return done(await serverlessPackageCommand(paths, opts, io));
      }
      const { packageCommand } = await import('./commands/package.js');
      done(await packageCommand(paths, opts, io));
    });

  plugin
    .command('run')
    .description('debug a plugin against a Dify instance (remote debugging), or run a package locally')
    .argument('[plugin_path]', 'plugin directory, or a .difypkg to run locally', '.')
    .option('--dry-run', 'print the registration the daemon would receive, one JSON message per line, and exit')
    .option('--show-key', 'with --dry-run: print the debug key instead of masking it')
    .option('--key <key>', 'debug key (default: REMOTE_INSTALL_KEY)')
    .option(
      '--url <host:port>',
      'plugin daemon address (default: REMOTE_INSTALL_URL, or REMOTE_INSTALL_HOST and REMOTE_INSTALL_PORT)',
    )
    .option('--python <path>', "Python interpreter (default: PYTHON_INTERPRETER_PATH, the plugin's .venv, python3)")
    .option(
      '--no-preflight',
      "start the plugin without first checking its interpreter's Python and dify_plugin versions",
    )
    .option('--watch', 'restart the plugin when its files change, and register again when its declarations do')
    .option(
      '--debugpy [port]',
      `start the plugin under debugpy, listening on ${DEBUGPY_HOST}:PORT for a debugger (default ${DEBUGPY_DEFAULT_PORT}; write --debugpy=PORT)`,
    )
    .option('--debugpy-wait', 'with --debugpy: run the plugin only once a debugger has attached')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']))
    .option('--local', 'run here without Dify, speaking the invoke_id protocol (the default for a .difypkg)')
    .addOption(new Option('-m, --mode <mode>', 'local run: stdio or tcp').choices(['stdio', 'tcp']))
    .addOption(new Option('-r, --response-format <format>', 'local run: text or json').choices(['text', 'json']))
    .option('-l, --enable-logs', "local run: show the plugin's log lines")
    .option('--serverless', "serve the SDK's serverless HTTP protocol here (POST /invoke, GET /health)")
    .option('--host <host>', 'local run with -m tcp, or --serverless: address to listen on', '127.0.0.1')
    .option('--port <port>', 'local run with -m tcp, or --serverless: port to listen on (0: any free port)')
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { runCommand } = await import('./commands/run.js');
      done(await runCommand(target, opts, io));
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

  plugin
    .command('doctor')
    .description('check the set-up a plugin needs: Node.js, Python, dify_plugin, .venv, .env, the daemon, uv')
    .argument('[plugin_path]', 'plugin directory', '.')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']))
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { doctorCommand } = await import('./commands/doctor.js');
      done(await doctorCommand(target, opts, io));
    });

  plugin
    .command('test')
    .description(
      "run the plugin's tests as the plugins repository's CI does (packed, unpacked, pytest or unittest), then its tests/*.invoke.yaml cases",
    )
    .argument('[plugin_path]', 'plugin directory or .difypkg (default .)')
    .argument('[pytest_args...]', 'after --: passed on to pytest (or unittest)')
    .option('--python <path>', "Python interpreter (default: PYTHON_INTERPRETER_PATH, the plugin's .venv, python3)")
    .option('--junit <file>', 'write a JUnit XML report of the tests and the invocation cases')
    .option('--credentials <file>', 'YAML file of provider credentials for the tests/*.invoke.yaml cases')
    .action(async (target: string | undefined, extra: string[], opts: Record<string, unknown>) => {
      const { pluginTestCommand } = await import('./commands/plugin-test.js');
      // `dify plugin test -- -k name`: the first word is the runner's, not a plugin path.
      const words = [...(target === undefined ? [] : [target]), ...extra];
      const plugin = words[0]?.startsWith('-') ? undefined : words.shift();
      done(await pluginTestCommand(plugin, words, opts, io));
    });

  registerInvoke(plugin, io, done);
  registerPluginTools(plugin, io, done);
  registerBundle(program, io, done);
  registerBundle(plugin, io, done); // the plugin guide writes `dify plugin bundle ...`
  registerSignature(program, io, done);

  program
    .command('completion')
    .description('print the shell completion script for bash, zsh, fish or powershell')
    .addArgument(new Argument('[shell]', 'the shell').choices(SHELLS))
    .addHelpText('after', INSTALL_HELP)
    .action(async (shell: Shell | undefined) => {
      const { completionCommand } = await import('./commands/completion.js');
      done(completionCommand(shell, io));
    });

  addHelpCommands(program, done);

  return program;
}

/**
 * `help [command...]` on every command that has subcommands, replacing commander's, which looks
 * one level down only (`dify help plugin package` showed the help of `plugin`) and reported a
 * help it was asked for as a failure. An unknown name is a usage error, as it is anywhere else.
 */
function addHelpCommands(command: Command, done: (code: ExitCode) => void): void {
  if (command.commands.length === 0) return;
  for (const sub of command.commands) addHelpCommands(sub, done);
  command.helpCommand(false);
  command
    .command('help')
    .description('display help for a command')
    .argument('[command...]', 'the command, e.g. plugin package')
    .action((names: string[]) => {
      let target = command;
      for (const name of names) {
        const next = target.commands.find((c) => c.name() === name || c.aliases().includes(name));
        if (!next) {
          const close = didYouMean(
            name,
            target.commands.map((c) => c.name()),
          );
          throw new UsageError(
            `unknown command '${name}'`,
            close ? `did you mean '${close}'?` : `run \`${commandPath(target).join(' ')} --help\` for the commands`,
          );
        }
        target = next;
      }
      target.outputHelp();
      done(EXIT.ok);
    });
}

/** `['dify', 'plugin', 'package']`: how a command is typed. */
function commandPath(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names;
}

/** The root command: the one place `--serverless=<target>` is taken apart (serverlessTargetArgs). */
class DifyProgram extends Command {
  override parseAsync(argv?: readonly string[], options?: Parameters<Command['parseAsync']>[1]) {
    return super.parseAsync(argv && serverlessTargetArgs(argv), options);
  }
}

/** Runs the CLI with `argv` (as process.argv) and returns the exit code; never throws. */
export async function run(argv: string[], io: Io = processIo): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    // The completion scripts' question (src/cli/completion/scripts.ts), answered before commander
    // parses, which would take the words for options of its own. Not a command: never listed.
    if (argv[2] === '__complete') {
      const { completeCommand } = await import('./commands/completion.js');
      return completeCommand(program, argv.slice(3), io);
    }
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    return handleError(err, io);
  }
}

/**
 * `plugin package --serverless[=lambda|container]`: the target is only ever attached with `=`, as
 * a word after a bare `--serverless` is the plugin path (commander would take it for the
 * option's value). So the flag stays a plain switch, and `--serverless=<target>` becomes the
 * switch and a hidden `--serverless-target <target>` before commander parses.
 */
function serverlessTargetArgs(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.flatMap((arg, i) => {
    if (!arg.startsWith('--serverless=') || (end >= 0 && i > end)) return [arg];
    const target = arg.slice('--serverless='.length);
    // Said here, in the user's words: commander would name the hidden option.
    if (target !== 'lambda' && target !== 'container')
      throw new UsageError(
        `--serverless="${printable(target)}" is not a target: use --serverless=lambda or --serverless=container`,
      );
    return ['--serverless', `--serverless-target=${target}`];
  });
}

function handleError(err: unknown, io: Io): ExitCode {
  if (err instanceof CommanderError) {
    // Commander has already printed its one-line message (or the help text).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
    // Help asked for exits 0; help shown because a command was left out (`dify plugin`) is a usage error.
    if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return EXIT.usage;
  }
  // Messages quote what came from outside (file and entry names, a daemon's reply, a plugin's
  // stderr): its control characters are shown, never obeyed.
  if (err instanceof UserError) {
    io.stderr.write(`error: ${printableLines(err.message)}\n`);
    if (err.hint) io.stderr.write(`hint: ${printableLines(err.hint)}\n`);
    return err.exitCode;
  }
  // A bug of ours: say so in one line; the stack only on request.
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`internal error: ${printableLines(message)}\n`);
  if (io.env.DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  else io.stderr.write('hint: run again with DEBUG=1 for details, and please report it\n');
  return EXIT.failed;
}
