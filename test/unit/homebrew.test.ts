// The Homebrew formula (packaging/homebrew/): it is what scripts/homebrew-formula.mjs prints for
// this version, installs the npm package with Homebrew's Node, and the commands of its `test do`
// block are commands of this CLI that succeed, as `brew test` would run them in an empty directory.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { REPO, tempDir } from '../helpers/plugin.js';

const exec = promisify(execFile);
const FORMULA = path.join(REPO, 'packaging', 'homebrew', 'dify-plugin-cli.rb');
const SCRIPT = path.join(REPO, 'scripts', 'homebrew-formula.mjs');
const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
const formula = readFileSync(FORMULA, 'utf8');

type Step = { kind: 'version'; argv: string[] } | { kind: 'system'; argv: string[] } | { kind: 'exists'; file: string };

/** Ruby double-quoted strings without escapes or interpolation, separated by commas. */
function rubyStrings(list: string): string[] {
  if (!/^"[^"\\#]*"(, "[^"\\#]*")*$/.test(list)) throw new Error(`not a plain list of strings: ${list}`);
  return [...list.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
}

/** The statements of the `test do` block, each one of the few forms it may use. */
function testSteps(text: string): Step[] {
  const block = /^ {2}test do\n([\s\S]*?)\n {2}end\n/m.exec(text)?.[1];
  if (block === undefined) throw new Error('no test do block');
  // A statement goes on after a line ending in a comma.
  const statements = block.replace(/,\n\s*/g, ', ').split('\n');
  return statements.map((s): Step => {
    const line = s.trim();
    let m = /^assert_equal version\.to_s, shell_output\("#\{bin\}\/dify ([a-z -]+)"\)\.strip$/.exec(line);
    if (m) return { kind: 'version', argv: m[1]!.split(' ') };
    m = /^system bin\/"dify", (.*)$/.exec(line);
    if (m) return { kind: 'system', argv: rubyStrings(m[1]!) };
    m = /^assert_path_exists testpath\/"([^"\\#]+)"$/.exec(line);
    if (m) return { kind: 'exists', file: m[1]! };
    throw new Error(`a statement this test does not know: ${line}`);
  });
}

/** Parses `argv` with every action replaced by nothing; throws on a usage error. */
async function parse(argv: string[]): Promise<void> {
  const io = {
    stdin: Object.assign(new PassThrough(), { isTTY: false }),
    stdout: { write: () => {} },
    stderr: { write: () => {} },
    env: cliEnv(),
    cwd: REPO,
  };
  const program = buildProgram(io, () => {});
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const command of all(program)) command.action(() => {});
  await program.parseAsync(['node', 'dify', ...argv]);
}

describe('the Homebrew formula', () => {
  it('is what scripts/homebrew-formula.mjs prints: this version from npm, with Node', async () => {
    expect((await exec(process.execPath, [SCRIPT])).stdout).toBe(formula);
    expect(formula).toContain(
      `  url "https://registry.npmjs.org/dify-plugin-cli/-/dify-plugin-cli-${version}.tgz"\n  sha256 "${'0'.repeat(64)}"\n`,
    );
    expect(formula).toMatch(/^ {2}depends_on "node"$/m);
    expect(formula).toContain('system "npm", "install", *std_npm_args');
  });

  it('made for a release tarball, carries its sha256 and is otherwise the same', async () => {
    const tarball = path.join(await tempDir(), `dify-plugin-cli-${version}.tgz`);
    writeFileSync(tarball, 'stands in for the packed CLI');
    const made = (await exec(process.execPath, [SCRIPT, tarball])).stdout;
    const sha256 = createHash('sha256').update('stands in for the packed CLI').digest('hex');
    expect(made).toContain(`  sha256 "${sha256}"\n`);
    const code = (text: string) => text.replace(/^#.*\n/gm, '').replace(/sha256 "\w+"/, 'sha256');
    expect(code(made)).toBe(code(formula));
  });

  it('tests the install with commands of this CLI that succeed in an empty directory', async () => {
    const steps = testSteps(formula);
    expect(steps.map((s) => s.kind)).toEqual(['version', 'system', 'system', 'system', 'exists']);
    const cwd = await tempDir();
    for (const step of steps) {
      if (step.kind === 'exists') {
        expect(existsSync(path.join(cwd, step.file)), step.file).toBe(true);
        continue;
      }
      await expect(parse(step.argv), step.argv.join(' ')).resolves.toBeUndefined();
      const result = await runCli(step.argv, { cwd });
      expect(result.code, `dify ${step.argv.join(' ')}\n${result.stdout}${result.stderr}`).toBe(0);
      if (step.kind === 'version') expect(result.stdout.trim()).toBe(version);
    }
  });

  it('has a test reader that refuses what it does not understand', async () => {
    expect(() => testSteps('  test do\n    system "rm", "-rf", "/"\n  end\n')).toThrow(/does not know/);
    expect(() => testSteps('  test do\n    system bin/"dify", "#{x}"\n  end\n')).toThrow(/plain list/);
    await expect(parse(['plugin', 'pakage'])).rejects.toThrow(CommanderError);
  });
});
