import { Option, type Command } from 'commander';
import type { ExitCode } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `dify plugin invoke`: one invocation of a tool, an LLM, an endpoint, an agent strategy or a datasource, without Dify (docs/invoke.md). */
export function registerInvoke(plugin: Command, io: Io, done: (code: ExitCode) => void): void {
  plugin
    .command('invoke')
    .description(
      'run the plugin here without Dify and invoke one tool, LLM, endpoint, agent strategy or datasource, showing what it returns',
    )
    .argument(
      '<invocation...>',
      '[plugin_path] tool <provider>/<tool>, model llm <provider>/<model>, endpoint <METHOD> </path>, agent_strategy <provider>/<strategy>, or datasource <provider>/<datasource> [crawl|pages|content|browse|download] (plugin_path: a directory or .difypkg, default .)',
    )
    .option('--param <name=value>', 'a parameter (repeatable); converted to its declared type', collect)
    .option('--params <file>', 'parameters from a JSON or YAML file, or - for standard input')
    .option('--credentials <file>', 'credentials from a YAML file (default: DIFY_CREDENTIAL_<NAME> variables)')
    .option('--prompt <text>', 'model llm: the user message')
    .option('-H, --header <header>', 'endpoint: a request header "Name: value" (repeatable)', collect)
    .option('--data <body>', 'endpoint: the request body')
    .option('--save-dir <dir>', 'where images and files the plugin returns are saved', 'invoke-output')
    .addOption(new Option('--format <format>', 'text for people, json: one message per line').choices(['text', 'json']))
    .option('--python <path>', "Python interpreter (default: PYTHON_INTERPRETER_PATH, the plugin's .venv, python3)")
    .option(
      '--no-preflight',
      "start the plugin without first checking its interpreter's Python and dify_plugin versions",
    )
    .option('--repeat <n>', 'invoke n times in one plugin process and print latency figures')
    .option('--concurrency <n>', 'with --repeat: invocations in flight at once', '1')
    .option('-l, --enable-logs', "show the plugin's log lines on stderr")
    .action(async (words: string[], opts: Record<string, unknown>) => {
      const { invokeCommand } = await import('../commands/invoke.js');
      done(await invokeCommand(words, opts, io));
    });
}
