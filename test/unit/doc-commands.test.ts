import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { EXAMPLE, REPO, tempDir } from '../helpers/plugin.js';

/**
 * Every `dify` command shown in a ```sh, ```bash, ```shell or ```console block of README.md and
 * docs/*.md is parsed by the CLI's own argument parser, so a renamed command or flag in the docs
 * fails here; the self-contained ones also run for real, in order, in a scratch directory per
 * document, so an example that no longer works fails too.
 */

// An RSA-4096 key pair takes from one to several seconds of CPU to make, and the docs show
// `dify signature generate` three times. Here they all write one RSA-2048 pair, made as the file
// loads: what these examples check is that the commands run (sign and verify take any RSA key);
// test/unit/signature.test.ts checks the generation itself, its 4096 bits included.
vi.mock('../../src/pack/keys.js', async (importOriginal) => {
  const keys = await importOriginal<typeof import('../../src/pack/keys.js')>();
  const pair = keys.generateKeyPair(2048);
  return { ...keys, generateKeyPair: () => pair };
});

const DOCS = [
  'README.md',
  ...(await readdir(path.join(REPO, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
];
const SHELL_FENCE = /^```(sh|bash|shell|console)\s*$/;

/** Placeholders in the examples, and what stands in for them. */
const PLACEHOLDERS: Record<string, string> = { '<key>': 'doc-test-key' };

/**
 * What only parses: commands that need a terminal (questions), a Dify daemon, a plugin's Python
 * environment, a package index (a Lambda package installs the dependencies), or a file that
 * cannot be made here (a package signed by Dify).
 */
function parseOnlyBecause(argv: string[]): string | undefined {
  const [group, sub, ...rest] = argv;
  if (group === 'plugin' && sub === 'init' && !rest.includes('--quick')) return 'asks on a terminal';
  if (group === 'plugin' && sub === 'run' && !rest.includes('--dry-run')) return 'needs a daemon or the plugin Python';
  if (group === 'plugin' && sub === 'doctor')
    return "reports this machine's Python and daemon (test/commands/doctor.test.ts)";
  if (group === 'plugin' && sub === 'invoke') return 'needs the plugin Python';
  if (group === 'plugin' && sub === 'test')
    return "runs the plugin's tests with its Python (test/commands/plugin-test.test.ts)";
  if (group === 'plugin' && sub === 'permission' && !rest.some((a) => a.startsWith('--'))) return 'asks on a terminal';
  if (group === 'bundle' && sub === 'regenerate' && !rest.includes('--quick')) return 'asks on a terminal';
  if (group === 'signature' && sub === 'verify' && !rest.includes('-p')) return 'needs a package signed by Dify';
  if (rest.includes('--online')) return 'asks the Marketplace (the network)';
  if (rest.includes('--install-test')) return 'installs from a package index';
  if (group === 'plugin' && sub === 'package' && rest.includes('--serverless')) return 'needs a package index';
  return undefined;
}

/** Commands shown failing on purpose, with the exit code they must give. */
const EXPECTED_EXIT: Record<string, number> = {
  // The scaffolded plugins still hold template text in README.md and PRIVACY.md: warnings.
  'plugin package --check --strict --format github my_tool my_llm': 1,
  // The example plugin's author, dify-plugin-cli, contains "dify": the Marketplace refuses it.
  'plugin package --check --marketplace my_plugin': 1,
  'plugin package --check --marketplace --format markdown my_plugin': 1,
};

/** Copies of the example plugin in the scratch directory, for the examples that act on a plugin they did not create. */
const FIXTURE_PLUGINS = ['my_plugin', 'plugins/one', 'plugins/two', 'examples/hello-world'];
/** Projects `dify plugin init --quick` writes in the scratch directory, by name and type. */
const FIXTURE_SCAFFOLDS: Record<string, string> = { my_tool: 'tool', my_extension: 'extension', my_api: 'extension' };
/** Directories the examples expect to exist. */
const FIXTURE_DIRS = ['dist'];

/** The shell expansion of a `dir/<star>/` word, the only glob the examples use. */
async function expandGlob(cwd: string, word: string): Promise<string[]> {
  const m = /^(.*)\/\*\/$/.exec(word);
  if (!m) return [word];
  const dir = m[1] ?? '';
  const entries = await readdir(path.join(cwd, dir), { withFileTypes: true });
  return entries.filter((d) => d.isDirectory()).map((d) => `${dir}/${d.name}/`);
}

interface Example {
  doc: string;
  line: number;
  /** The section (heading) it is in: a `cd` holds until the next heading. */
  section: number;
  kind: 'dify' | 'cd' | 'other';
  argv: string[];
  text: string;
}

/** Splits a command line as a POSIX shell would for these examples: quotes, no expansions. */
function words(line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"' || c === "'") {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unclosed quote in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === ' ' || c === '\t') {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) {
      break; // a comment
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) out.push(word);
  return out;
}

function examplesOf(doc: string, text: string): Example[] {
  const examples: Example[] = [];
  const lines = text.split('\n');
  let section = 0;
  for (let i = 0; i < lines.length; i++) {
    const fence = lines[i] ?? '';
    if (fence.startsWith('#')) section++;
    if (!fence.startsWith('```')) continue;
    const shell = SHELL_FENCE.test(fence);
    const block: { line: number; text: string }[] = [];
    for (i++; i < lines.length && !lines[i]?.startsWith('```'); i++) {
      const line = lines[i] ?? '';
      const prev = block.at(-1);
      if (prev?.text.endsWith('\\')) prev.text = `${prev.text.slice(0, -1)} ${line.trim()}`;
      else block.push({ line: i + 1, text: line });
    }
    if (!shell) continue;
    // With prompts, only the prompted lines are commands; the rest is their output.
    const prompted = block.some((l) => l.text.startsWith('$ '));
    for (const { line, text: raw } of block) {
      if (prompted && !raw.startsWith('$ ')) continue;
      const all = words(prompted ? raw.slice(2) : raw);
      if (all.length === 0) continue;
      for (let start = 0; start < all.length;) {
        let end = all.indexOf('&&', start);
        if (end < 0) end = all.length;
        // A redirection or a pipe ends the command's own words (`dify completion bash > file`).
        const cut = all.slice(start, end).findIndex((w) => w === '>' || w === '|');
        const argv = all.slice(start, cut < 0 ? end : start + cut).map((w) => PLACEHOLDERS[w] ?? w);
        start = end + 1;
        const skip = argv[0] === 'dify' ? 1 : argv[0] === 'node' && argv[1] === 'bin/dify.js' ? 2 : 0;
        const kind = skip > 0 ? 'dify' : argv[0] === 'cd' ? 'cd' : 'other';
        examples.push({ doc, line, section, kind, argv: argv.slice(skip), text: argv.slice(skip).join(' ') });
      }
    }
  }
  return examples;
}

const examples = (
  await Promise.all(DOCS.map(async (doc) => examplesOf(doc, await readFile(path.join(REPO, doc), 'utf8'))))
).flat();

/** Parses `argv` with every command's action replaced by nothing; throws on a usage error. */
async function parseOnly(argv: string[]): Promise<string> {
  let output = '';
  const io = {
    stdin: Object.assign(new PassThrough(), { isTTY: false }),
    stdout: { write: (s: string) => (output += s) },
    stderr: { write: (s: string) => (output += s) },
    env: cliEnv(),
    cwd: REPO,
  };
  const program = buildProgram(io, () => {});
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const command of all(program)) command.action(() => {});
  try {
    await program.parseAsync(['node', 'dify', ...argv]);
  } catch (err) {
    if (!(err instanceof CommanderError && err.code === 'commander.helpDisplayed')) throw err;
  }
  return output;
}

describe('the commands in README.md and docs/', () => {
  it('are found in README.md and the command reference', () => {
    const docs = new Set(examples.filter((e) => e.kind === 'dify').map((e) => e.doc));
    expect(docs).toContain('README.md');
    expect(docs).toContain('docs/commands.md');
    expect(docs).toContain('docs/development.md');
  });

  it('all parse', async () => {
    for (const e of examples.filter((x) => x.kind === 'dify')) {
      await expect(parseOnly(e.argv), `${e.doc}:${e.line}: dify ${e.text}`).resolves.toBeTypeOf('string');
    }
  });

  it('would catch a renamed flag or command', async () => {
    await expect(parseOnly(['plugin', 'package', '--chek', '.'])).rejects.toThrow(/unknown option/);
    await expect(parseOnly(['plugin', 'pakage', '.'])).rejects.toThrow(CommanderError);
    await expect(parseOnly(['plugin', 'package', '--check', '.'])).resolves.toBe('');
  });

  for (const doc of DOCS) {
    const mine = examples.filter((e) => e.doc === doc);
    if (!mine.some((e) => e.kind === 'dify' && !parseOnlyBecause(e.argv))) continue;
    it(`run in order in ${doc}`, async () => {
      // A scratch directory holding a plugin at its root, for the examples that act on `.`.
      const root = await tempDir('dify-doc-');
      await cp(EXAMPLE, root, { recursive: true });
      for (const dir of FIXTURE_PLUGINS) await cp(EXAMPLE, path.join(root, dir), { recursive: true });
      for (const dir of FIXTURE_DIRS) await mkdir(path.join(root, dir));
      if (doc !== 'README.md') {
        for (const [name, type] of Object.entries(FIXTURE_SCAFFOLDS)) {
          const init = ['plugin', 'init', '--quick', '--name', name, '--author', 'acme', '--description', 'x'];
          expect((await runCli([...init, '--category', type], { cwd: root })).code).toBe(0);
        }
      }
      let cwd = root;
      let section = -1;
      for (const e of mine) {
        if (e.section !== section) [cwd, section] = [root, e.section];
        if (e.kind === 'cd') cwd = path.resolve(cwd, e.argv[1] ?? '');
        if (e.kind !== 'dify' || parseOnlyBecause(e.argv)) continue;
        const argv = (await Promise.all(e.argv.map((w) => expandGlob(cwd, w)))).flat();
        const result = await runCli(argv, { cwd, env: { PYTHON_INTERPRETER_PATH: undefined } });
        expect(result.code, `${e.doc}:${e.line}: dify ${e.text}\n${result.stdout}${result.stderr}`).toBe(
          EXPECTED_EXIT[e.text] ?? 0,
        );
      }
    });
  }
});
