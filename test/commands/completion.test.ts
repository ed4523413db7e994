import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { complete } from '../../src/cli/completion/candidates.js';
import { valuesOf } from '../../src/cli/completion/values.js';
import { buildProgram } from '../../src/cli/main.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { REPO, tempDir } from '../helpers/plugin.js';

/** `dify __complete <words>`, in process: the candidates' values and the directive line. */
async function completeWords(...words: string[]): Promise<{ values: string[]; directive: string }> {
  const r = await runCli(['__complete', ...words]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  const lines = r.stdout.trimEnd().split('\n');
  const directive = lines.pop() ?? '';
  return { values: lines.map((l) => l.split('\t')[0] ?? ''), directive };
}

const io = () => ({
  stdin: Object.assign(new PassThrough(), { isTTY: false }),
  stdout: { write: () => true },
  stderr: { write: () => true },
  env: cliEnv(),
  cwd: REPO,
});

/** Every command a user can type, with the words that reach it (`[]`: the program). */
function commandsOf(command: Command, words: string[] = []): { words: string[]; command: Command }[] {
  const subs = command.createHelp().visibleCommands(command);
  return [{ words, command }, ...subs.flatMap((c) => commandsOf(c, [...words, c.name()]))];
}
const tree = commandsOf(buildProgram(io(), () => {}));

describe('dify __complete', () => {
  it('offers the top-level commands, and only the visible ones', async () => {
    const { values, directive } = await completeWords('');
    expect(values).toEqual(['version', 'plugin', 'bundle', 'signature', 'completion', 'help']);
    expect(directive).toBe(':words');
    expect((await completeWords('pl')).values).toEqual(['plugin']);
    // A hidden command parses but is never offered.
    const program = buildProgram(io(), () => {});
    program.command('secret', { hidden: true }).command('inner');
    expect(complete(program, ['s']).candidates.map((c) => c.value)).toEqual(['signature']);
    expect(complete(program, ['secret', '']).candidates.map((c) => c.value)).toEqual(['inner', 'help']);
  });

  it('offers the subcommands of plugin, with their descriptions', async () => {
    const r = await runCli(['__complete', 'plugin', '']);
    expect(r.stdout).toContain('package\tvalidate a plugin and pack it into a .difypkg');
    const { values } = await completeWords('plugin', '');
    expect(values).toEqual([
      'init',
      'package',
      'run',
      'checksum',
      'doctor',
      'test',
      'invoke',
      'module',
      'readme',
      'permission',
      'bundle',
      'help',
    ]);
  });

  it('offers the flags of plugin package once a word starts with -', async () => {
    const { values } = await completeWords('plugin', 'package', '-');
    for (const flag of [
      '-o',
      '--output_path',
      '--max-size',
      '--check',
      '--format',
      '--strict',
      '--list',
      '--force',
      '-h',
    ])
      expect(values).toContain(flag);
    expect((await completeWords('plugin', 'package', '--f')).values).toEqual(['--format', '--force', '--find-links']);
    expect((await completeWords('plugin', 'package', '--')).values).not.toContain('-o');
  });

  it('offers the values of --format, also written --format=', async () => {
    expect(await completeWords('plugin', 'package', '--format', '')).toEqual({
      values: ['text', 'json', 'github', 'markdown'],
      directive: ':words',
    });
    expect((await completeWords('plugin', 'checksum', '--format', '')).values).toEqual(['text', 'json']);
    expect((await completeWords('plugin', 'package', '--format=j')).values).toEqual(['--format=json']);
    expect((await completeWords('plugin', 'run', '-m', '')).values).toEqual(['stdio', 'tcp']);
    // grouped short flags: -l takes nothing, -m its value
    expect((await completeWords('plugin', 'run', '-lm', 't')).values).toEqual(['tcp']);
    // values the command checks itself
    expect((await completeWords('plugin', 'init', '--category', 'te')).values).toEqual(['text-embedding']);
    expect((await completeWords('plugin', 'init', '--type', 'agent')).values).toEqual(['agent-strategy']);
    expect((await completeWords('signature', 'sign', '-c', 'p')).values).toEqual(['partner']);
    expect((await completeWords('completion', '')).values).toEqual(['bash', 'zsh', 'fish', 'powershell']);
  });

  it('asks the shell for directories, packages, bundles or keys where a path goes', async () => {
    // a directory to pack, or with --check a package
    expect((await completeWords('plugin', 'package', '')).directive).toBe(':files difypkg');
    expect((await completeWords('plugin', 'package', 'a', 'b', '')).directive).toBe(':files difypkg'); // variadic
    expect((await completeWords('plugin', 'package', '-o', 'out.difypkg', '')).directive).toBe(':files difypkg');
    expect((await completeWords('plugin', 'package', '--output-dir', '')).directive).toBe(':dirs');
    expect((await completeWords('plugin', 'package', '-o', '')).directive).toBe(':files difypkg');
    expect((await completeWords('plugin', 'package', '--output_path=x')).directive).toBe(':files difypkg');
    expect((await completeWords('plugin', 'checksum', '')).directive).toBe(':files difypkg');
    expect((await completeWords('plugin', 'run', '')).directive).toBe(':files difypkg');
    expect((await completeWords('plugin', 'permission', '')).directive).toBe(':dirs');
    expect((await completeWords('plugin', 'doctor', '')).directive).toBe(':dirs');
    expect((await completeWords('bundle', 'package', '')).directive).toBe(':files difybndl');
    expect((await completeWords('bundle', 'append', 'package', 'b', '-p', '')).directive).toBe(':files difypkg');
    expect((await completeWords('signature', 'sign', '')).directive).toBe(':files difypkg');
    expect((await completeWords('signature', 'sign', 'x.difypkg', '-p', '')).directive).toBe(':files pem');
    expect((await completeWords('plugin', 'run', '--python', '')).directive).toBe(':files');
    expect((await completeWords('--config', '')).directive).toBe(':files');
    // after -- every word is a path, even one starting with -
    expect(await completeWords('plugin', 'package', '--', '-')).toEqual({ values: [], directive: ':files difypkg' });
  });

  it('takes a last word "" for an empty one (how the PowerShell script passes it)', async () => {
    expect(await completeWords('plugin', '""')).toEqual(await completeWords('plugin', ''));
    expect((await completeWords('plugin', 'package', '--format', '""')).values).toEqual([
      'text',
      'json',
      'github',
      'markdown',
    ]);
  });

  it('offers nothing, and no file names, where a free value or no argument goes', async () => {
    expect(await completeWords('plugin', 'init', '--name', '')).toEqual({ values: [], directive: ':words' });
    expect(await completeWords('version', '')).toEqual({ values: [], directive: ':words' });
    expect(await completeWords('plugin', 'checksum', 'a', '')).toEqual({ values: [], directive: ':words' });
    expect(await completeWords('nosuch', '')).toEqual({ values: [], directive: ':words' });
  });

  it('skips the values of options given before the word', async () => {
    // `plugin` is the value of --config here, not the command
    expect((await completeWords('--config', 'plugin', '')).values).toEqual((await completeWords('')).values);
    expect((await completeWords('--config', 'x', 'plugin', '')).values).toContain('package');
    expect((await completeWords('help', 'plugin', 'mod')).values).toEqual(['module']);
  });

  it('offers every command and every option of the program', async () => {
    expect(tree.length).toBeGreaterThan(30);
    for (const { words, command } of tree) {
      const subs = command.createHelp().visibleCommands(command);
      if (subs.length > 0) {
        expect((await completeWords(...words, '')).values, words.join(' ')).toEqual(subs.map((c) => c.name()));
      }
      const options = command.createHelp().visibleOptions(command);
      const flags = (await completeWords(...words, '-')).values;
      for (const option of options) {
        for (const flag of [option.long, option.short].filter((f) => f !== undefined))
          expect(flags, `${words.join(' ')} ${flag}`).toContain(flag);
        const values = valuesOf(option);
        if (values && option.long) expect((await completeWords(...words, option.long, '')).values).toEqual(values);
      }
    }
  });
});

describe('dify completion', () => {
  it('without a shell, or with an unknown one, is a usage error naming the shells', async () => {
    const none = await runCli(['completion']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('bash|zsh|fish|powershell');
    const unknown = await runCli(['completion', 'tcsh']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/bash, zsh, fish, powershell/);
  });

  it('--help says how to install each script', async () => {
    const r = await runCli(['completion', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('~/.local/share/bash-completion/completions/dify');
    expect(r.stdout).toContain('_dify');
    expect(r.stdout).toContain('~/.config/fish/completions/dify.fish');
    expect(r.stdout).toContain('Invoke-Expression');
  });

  it.each([
    ['bash', 'complete -F _dify_complete dify dify-plugin'],
    ['zsh', '#compdef dify dify-plugin'],
    ['fish', 'complete -c dify-plugin'],
    ['powershell', "-CommandName 'dify', 'dify-plugin'"],
  ])('prints the %s script, for both names of the CLI', async (shell, registration) => {
    const r = await runCli(['completion', shell]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(registration);
    expect(r.stdout).toContain('__complete');
  });
});

/** Whether a shell is installed. */
const has = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0;

/** Writes the script for `shell`, a scratch directory with files to complete, and a `dify` there that runs the built CLI. */
async function setUp(shell: string): Promise<{ dir: string; script: string; bin: string }> {
  const dir = await tempDir('dify-completion-');
  const script = path.join(dir, `dify.${shell}`);
  await writeFile(script, (await runCli(['completion', shell])).stdout);
  await mkdir(path.join(dir, 'plugins', 'sub'), { recursive: true });
  for (const f of ['a.difypkg', 'b.txt', 'c.difybndl']) await writeFile(path.join(dir, 'plugins', f), '');
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  const launcher = `#!/bin/sh\nexec "${process.execPath}" "${path.join(REPO, 'bin', 'dify.js')}" "$@"\n`;
  for (const name of ['dify', 'dify-plugin']) await writeFile(path.join(bin, name), launcher, { mode: 0o755 });
  return { dir, script, bin };
}

describe('the bash script, in bash', () => {
  it('fills COMPREPLY from the built CLI', { timeout: 20_000 }, async () => {
    const { dir, script, bin } = await setUp('bash');
    // Each case sets the words as bash splits them (at '=' too) and prints COMPREPLY on one line.
    const cases: [string[], number][] = [
      [['dify-plugin', 'pl'], 1],
      [['dify', 'plugin', 'package', '--format', '=', 'j'], 5],
      [['dify', 'plugin', 'package', '--format', '='], 4],
      [['dify', 'plugin', 'checksum', 'plugins/'], 3],
      [['dify', 'plugin', 'package', '--output-dir', 'plugins/'], 4],
    ];
    const quote = (w: string) => `'${w}'`;
    const body = cases
      .map(
        ([words, cword]) => `COMP_WORDS=(${words.map(quote).join(' ')}); COMP_CWORD=${cword}; COMPREPLY=()
_dify_complete; printf '%s\\n' "$(IFS=,; echo "\${COMPREPLY[*]}")"`,
      )
      .join('\n');
    const r = spawnSync(
      'bash',
      ['--norc', '--noprofile', '-c', `source ${quote(script)}\ncomplete -p dify-plugin\n${body}`],
      {
        cwd: dir,
        env: cliEnv({ PATH: `${bin}:${process.env.PATH ?? ''}` }),
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.shift()).toBe('complete -F _dify_complete dify-plugin');
    expect(lines).toEqual([
      'plugin',
      'json',
      'text,json,github,markdown',
      'plugins/sub,plugins/a.difypkg',
      'plugins/sub',
    ]);
  });
});

describe.skipIf(!has('zsh'))('the zsh script (skipped when zsh is not installed)', () => {
  it("hands the built CLI's answers to zsh's completion functions", { timeout: 20_000 }, async () => {
    const { dir, script, bin } = await setUp('zsh');
    expect(spawnSync('zsh', ['-n', script], { encoding: 'utf8' }).stderr).toBe('');
    // Outside an interactive shell, stand-ins for the functions the script calls print what they got.
    const stubs = [
      'compdef() { print -r -- "compdef $*" }',
      '_describe() { print -r -- "describe ${(j:,:)${(@P)4}}" }',
      'compadd() { print -r -- "compadd ${(j:,:)${(@P)2}}" }',
      '_files() { print -r -- "files $*" }',
    ];
    const cases = [
      ['dify', 'plugin', 'pa'],
      ['dify-plugin', 'plugin', 'package', '--format', ''],
      ['dify', 'plugin', 'package', '--output-dir', ''],
      ['dify', 'plugin', 'checksum', ''],
      ['dify', 'plugin', 'run', '--python', ''],
    ].map((words) => `words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _dify`);
    const r = spawnSync('zsh', ['-f', '-c', [...stubs, `source '${script}'`, ...cases].join('\n')], {
      cwd: dir,
      env: cliEnv({ PATH: `${bin}:${process.env.PATH ?? ''}` }),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      'compdef _dify dify dify-plugin',
      'describe package:validate a plugin and pack it into a .difypkg (with --check: validate only)',
      'compadd text,json,github,markdown',
      'files -/',
      'files -g *.difypkg',
      'files',
    ]);
  });
});

describe.skipIf(!has('fish'))('the fish script (skipped when fish is not installed)', () => {
  it('completes through the built CLI', { timeout: 20_000 }, async () => {
    const { dir, script, bin } = await setUp('fish');
    expect(spawnSync('fish', ['--no-execute', script], { encoding: 'utf8' }).status).toBe(0);
    const lines = [
      "complete -C 'dify plugin pa'",
      'echo ===',
      "complete -C 'dify-plugin plugin package --format '",
      'echo ===',
      "complete -C 'dify plugin checksum plugins/'",
    ];
    const r = spawnSync('fish', ['--no-config', '-c', `source '${script}'; ${lines.join('; ')}`], {
      cwd: dir,
      env: cliEnv({ PATH: `${bin}:${process.env.PATH ?? ''}` }),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    const [pa, format, files] = r.stdout.split('===\n').map((s) =>
      s
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t')[0]),
    );
    expect(pa).toEqual(['package']);
    expect(format).toEqual(['text', 'json', 'github', 'markdown']);
    expect(files?.sort()).toEqual(['plugins/a.difypkg', 'plugins/sub/']);
  });
});
