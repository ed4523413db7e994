import type { Argument, Command, Option } from 'commander';
import { valuesOf } from './values.js';

/**
 * What the shell should offer for the word under the cursor, worked out from the commander program
 * itself, so that every command, option and choice it declares is completed without a list here.
 * `__complete` prints it for the scripts of ./scripts.ts (the protocol is described there).
 */
export interface Completion {
  /** Values that start with the word being completed, each with its help text. */
  candidates: { value: string; description: string }[];
  /**
   * `words`: the candidates and nothing else; `files`: the shell's file names (only those ending in
   * one of `extensions`, and directories to reach them, when there are any); `dirs`: directories.
   */
  directive: { kind: 'words' } | { kind: 'files'; extensions: string[] } | { kind: 'dirs' };
}

/**
 * The file kinds the CLI reads and writes. A path argument or option whose help text names some of
 * them completes only those files: `<plugin_path>` "plugin directory or .difypkg file".
 */
const FILE_EXTENSIONS = ['difypkg', 'difybndl', 'pem'];

const WORDS = { kind: 'words' } as const;

/** Completes the last of `words` (what follows `dify`, the last one possibly empty). */
export function complete(program: Command, words: string[]): Completion {
  const partial = words.at(-1) ?? '';
  let command = program;
  const positionals: string[] = [];
  let pending: Option | undefined; // an option waiting for its value
  let afterDashes = false;
  for (const word of words.slice(0, -1)) {
    if (pending) {
      pending = undefined;
    } else if (afterDashes || word === '-' || !word.startsWith('-')) {
      const sub = afterDashes || positionals.length > 0 ? undefined : findCommand(command, word);
      if (sub) command = sub;
      else positionals.push(word);
    } else if (word === '--') {
      afterDashes = true;
    } else {
      pending = optionAwaitingValue(command, word);
    }
  }

  if (pending) return valuesFor(pending, partial);
  if (!afterDashes && partial.startsWith('-')) {
    const eq = partial.indexOf('=');
    if (eq < 0) return matching(flagsOf(command), partial);
    // --format=j: the value, written with its flag (what the shell replaces is the whole word).
    const option = findOption(command, partial.slice(0, eq));
    if (!option || !takesValue(option)) return { candidates: [], directive: WORDS };
    const flag = partial.slice(0, eq + 1);
    const { candidates, directive } = valuesFor(option, partial.slice(eq + 1));
    return { candidates: candidates.map((c) => ({ ...c, value: flag + c.value })), directive };
  }
  if (positionals.length === 0 && command.createHelp().visibleCommands(command).length > 0) {
    return subcommandsOf(command, partial);
  }
  const args = command.registeredArguments;
  const arg = args[positionals.length] ?? (args.at(-1)?.variadic ? args.at(-1) : undefined);
  if (!arg) return { candidates: [], directive: WORDS };
  if (arg.name() === 'command' && command.parent) return commandNames(command.parent, positionals, partial);
  return valuesFor(arg, partial);
}

/** The candidates among `all` that start with `partial`. */
function matching(all: Completion['candidates'], partial: string): Completion {
  return { candidates: all.filter((c) => c.value.startsWith(partial)), directive: WORDS };
}

/** A subcommand by name or alias, hidden ones included (they parse; they are not offered). */
function findCommand(command: Command, name: string): Command | undefined {
  return command.commands.find((c) => c.name() === name || c.aliases().includes(name));
}

/**
 * The option a word ending in a flag leaves waiting for its value: `-o` or `--output_path`, but
 * not `--output_path=x` or `-ox`. Short flags may be grouped (`-lo file`), as commander allows.
 */
function optionAwaitingValue(command: Command, word: string): Option | undefined {
  if (word.startsWith('--')) {
    const option = findOption(command, word);
    return option && takesValue(option) ? option : undefined;
  }
  for (let i = 1; i < word.length; i++) {
    const option = findOption(command, `-${word[i]}`);
    if (option && takesValue(option)) return i === word.length - 1 ? option : undefined;
  }
  return undefined;
}

/** An option of the command or of a command above it (commander reads those anywhere). */
function findOption(command: Command, flag: string): Option | undefined {
  for (let c: Command | null = command; c; c = c.parent) {
    const help = c.createHelp();
    const option = help.visibleOptions(c).find((o) => o.long === flag || o.short === flag);
    if (option) return option;
  }
  return undefined;
}

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

/** The flags `dify <command> -<TAB>` offers: those its help lists. */
function flagsOf(command: Command): Completion['candidates'] {
  return command
    .createHelp()
    .visibleOptions(command)
    .flatMap((o) =>
      [o.long, o.short].filter((f) => f !== undefined).map((f) => ({ value: f, description: o.description })),
    );
}

/** `dify help plugin <TAB>`: the names of the commands under those already given. */
function commandNames(top: Command, given: string[], partial: string): Completion {
  let command: Command | undefined = top;
  for (const name of given) command = command && findCommand(command, name);
  return command ? subcommandsOf(command, partial) : { candidates: [], directive: WORDS };
}

/** The subcommands its help lists, with their descriptions. */
function subcommandsOf(command: Command, partial: string): Completion {
  const subs = command.createHelp().visibleCommands(command);
  return matching(
    subs.map((c) => ({ value: c.name(), description: c.description() })),
    partial,
  );
}

/**
 * The values of an option or argument: its declared values, else file names when it names a path
 * (`<plugin_path>`, `<file>`, `<path>`, `<dir>`: the name says so), narrowed by what its help text names.
 */
function valuesFor(item: Option | Argument, partial: string): Completion {
  const declared = 'flags' in item ? valuesOf(item) : item.argChoices;
  if (declared)
    return matching(
      declared.map((value) => ({ value, description: '' })),
      partial,
    );
  const name = 'flags' in item ? (/[<[]([^>\]]+)[>\]]/.exec(item.flags)?.[1] ?? '') : item.name();
  if (/(^|_)dir$/.test(name)) return { candidates: [], directive: { kind: 'dirs' } };
  if (!/(^|_)(path|file)$/.test(name)) return { candidates: [], directive: WORDS };
  const text = item.description;
  const extensions = FILE_EXTENSIONS.filter((e) => new RegExp(`\\.${e}\\b`).test(text));
  if (extensions.length === 0 && /\bdirectory\b/.test(text)) return { candidates: [], directive: { kind: 'dirs' } };
  return { candidates: [], directive: { kind: 'files', extensions } };
}

/**
 * The answer as `__complete` prints it: one `value<TAB>description` line per candidate, then the
 * directive line (`:words`, `:dirs`, `:files` followed by the extensions to keep, if any).
 */
export function formatCompletion({ candidates, directive }: Completion): string {
  const clean = (s: string) => s.replace(/[\p{Cc}\s]+/gu, ' ').trim();
  const lines = candidates.map((c) => `${c.value}\t${clean(c.description)}`);
  const extensions = directive.kind === 'files' ? directive.extensions.map((e) => ` ${e}`).join('') : '';
  lines.push(`:${directive.kind}${extensions}`);
  return `${lines.join('\n')}\n`;
}
