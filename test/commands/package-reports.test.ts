// What `plugin package` writes besides its output on stdout, for CI: the Markdown report (and the
// GitHub job summary made of it), the JSON report file, and the packages of several plugins.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { copyPlugin, EXAMPLE, pluginWith, tempDir } from '../helpers/plugin.js';

/** The example plugin with a version that quotes Markdown and HTML back in the findings. */
const HOSTILE_VERSION = 'x|<img src=y>*[a](b)';

async function brokenPlugin(): Promise<string> {
  const manifest = readFileSync(path.join(EXAMPLE, 'manifest.yaml'), 'utf8');
  return pluginWith({ 'manifest.yaml': manifest.replace(/^version: .*$/m, `version: "${HOSTILE_VERSION}"`) });
}

/** Cells of a Markdown table row, split at the pipes that are not backslash-escaped. */
function cells(row: string): string[] {
  return row
    .slice(2, -2)
    .split(/(?<!\\) \| /)
    .map((c) => c.trim());
}

describe('plugin package --format markdown', () => {
  it('prints one table row per plugin and one per finding, with plugin text escaped', async () => {
    const broken = await brokenPlugin();
    const cwd = path.dirname(broken);
    const r = await runCli(['plugin', 'package', '--check', '--format', 'markdown', EXAMPLE, path.basename(broken)], {
      cwd,
    });
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '### Dify plugin check',
      '',
      '|  | Plugin | Version | Path | Errors | Warnings |',
      '| --- | --- | --- | --- | --: | --: |',
    ]);
    expect(cells(lines[4]!)).toEqual(['✓', 'dify-plugin-cli/hello\\_world', '0.0.1', EXAMPLE, '0', '0']);
    expect(cells(lines[5]!)).toEqual([
      '✖',
      'dify-plugin-cli/hello\\_world',
      'x\\|\\<img src=y\\>\\*\\[a\\](b)',
      'hello-world',
      '2',
      '0',
    ]);
    const findings = lines.filter((l) => l.startsWith('| ✖ error |'));
    expect(findings).toHaveLength(2);
    for (const row of findings) {
      const [, location, rule, message] = cells(row);
      expect(location).toMatch(/^hello-world\/manifest\.yaml:1:10$/);
      expect(rule).toMatch(/^manifest\/version-/);
      expect(message).toContain('x\\|\\<img src=y\\>\\*\\[a\\](b)');
      // Past the escaped text, the only markup is the line break before the hint.
      expect(message!.replace(' <br>hint: ', ' ')).not.toMatch(/(?<!\\)[<>[\]|*]/);
    }
  });
});

describe('plugin package under GitHub Actions', () => {
  it('appends its Markdown report to the job summary, after what is there', async () => {
    const dir = await brokenPlugin();
    const summary = path.join(await tempDir(), 'summary.md');
    writeFileSync(summary, 'earlier step\n');
    const env = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
    const r = await runCli(['plugin', 'package', '--check', dir], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^::error file=/);
    const markdown = await runCli(['plugin', 'package', '--check', '--format', 'markdown', dir]);
    expect(markdown.stdout).toMatch(/^### Dify plugin check\n[\s\S]*\n\| ✖ \| dify-plugin-cli\/hello\\_world \|/);
    expect(readFileSync(summary, 'utf8')).toBe('earlier step\n' + markdown.stdout);
  });

  it('writes no summary for --format text or json, nor outside GitHub Actions', async () => {
    const summary = path.join(await tempDir(), 'summary.md');
    writeFileSync(summary, '');
    for (const [format, actions] of [
      ['text', 'true'],
      ['json', 'true'],
      ['github', undefined],
    ] as const) {
      const args = ['plugin', 'package', '--check', '--format', format, EXAMPLE];
      expect((await runCli(args, { env: { GITHUB_ACTIONS: actions, GITHUB_STEP_SUMMARY: summary } })).code).toBe(0);
    }
    expect(readFileSync(summary, 'utf8')).toBe('');
  });

  it('still reports and exits as the check says when the summary cannot be written', async () => {
    const summary = path.join(await tempDir(), 'missing', 'summary.md');
    const env = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
    const r = await runCli(['plugin', 'package', '--check', EXAMPLE], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ no problems/);
    expect(r.stderr).toMatch(/^warning: cannot write the job summary .*summary\.md: ENOENT/);
  });
});

describe('plugin package --output-dir', () => {
  it('packs every plugin that passes into the directory, made if missing, and tables them', async () => {
    const good = await copyPlugin(EXAMPLE);
    const spaced = path.join(path.dirname(good), 'second plugin');
    await cp(good, spaced, { recursive: true });
    const broken = path.join(path.dirname(good), 'broken');
    await cp(await brokenPlugin(), broken, { recursive: true });
    const cwd = await tempDir();
    const r = await runCli(
      ['plugin', 'package', good, spaced, broken, '--output-dir', 'out/packages', '--format', 'markdown'],
      { cwd },
    );
    expect(r.code).toBe(1);
    expect(readdirSync(path.join(cwd, 'out', 'packages')).sort()).toEqual([
      'hello-world.difypkg',
      'second plugin.difypkg',
    ]);
    const rows = r.stdout.split('\n').filter((l) => /^\| [✓✖] \|/.test(l));
    expect(rows.map((row) => cells(row).slice(-2))).toEqual([
      ['hello-world.difypkg', expect.stringMatching(/^\d+\.\d KB$/)],
      ['second plugin.difypkg', expect.stringMatching(/^\d+\.\d KB$/)],
      ['', ''],
    ]);
  });

  it('refuses two directories of the same name, and --check, --list or -o with it, before writing', async () => {
    const a = await copyPlugin(EXAMPLE);
    const b = await copyPlugin(EXAMPLE);
    const cwd = await tempDir();
    for (const args of [
      [a, b, '--output-dir', 'out'],
      [a, '--output-dir', 'out', '--check'],
      [a, '--output-dir', 'out', '--list'],
      [a, '--output-dir', 'out', '-o', 'x.difypkg'],
    ]) {
      const r = await runCli(['plugin', 'package', ...args], { cwd });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error: .*(both be packed to out\/hello-world\.difypkg|--output-dir)/);
    }
    expect(readdirSync(cwd)).toEqual([]);
    const several = await runCli(['plugin', 'package', a, b], { cwd });
    expect(several.stderr).toMatch(/pass several with --check, or with --output-dir/);
  });

  it('refuses names that differ only by case, which macOS and Windows pack to one file', async () => {
    const a = await copyPlugin(EXAMPLE);
    const b = path.join(await tempDir(), 'Hello-World');
    await cp(a, b, { recursive: true });
    const cwd = await tempDir();
    const r = await runCli(['plugin', 'package', a, b, '--output-dir', 'out'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/both be packed to out\/hello-world\.difypkg/i);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("checks every output before checking a plugin: a user's file in the way stops nothing midway", async () => {
    const first = await copyPlugin(EXAMPLE);
    const second = path.join(await tempDir(), 'second');
    await cp(first, second, { recursive: true });
    const cwd = await tempDir();
    await mkdir(path.join(cwd, 'out'));
    writeFileSync(path.join(cwd, 'out', 'second.difypkg'), 'mine\n');
    const r = await runCli(['plugin', 'package', first, second, '--output-dir', 'out'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/second\.difypkg exists and is not a Dify package or bundle/);
    expect(r.stderr).toMatch(/hint: choose another --output-dir, or pass --force/);
    expect(readdirSync(path.join(cwd, 'out'))).toEqual(['second.difypkg']);
    expect(readFileSync(path.join(cwd, 'out', 'second.difypkg'), 'utf8')).toBe('mine\n');
  });
});

describe('plugin package --report-json', () => {
  it('writes the --format json document beside the text output, and replaces an earlier report', async () => {
    const cwd = await tempDir();
    const r = await runCli(['plugin', 'package', '--check', EXAMPLE, '--report-json', 'report.json'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ no problems/);
    const json = await runCli(['plugin', 'package', '--check', '--format', 'json', EXAMPLE], { cwd });
    expect(readFileSync(path.join(cwd, 'report.json'), 'utf8')).toBe(json.stdout);
    expect(json.stdout).toMatch(/"checksum": "[0-9a-f]{64}"/);
    const again = await runCli(['plugin', 'package', '--check', EXAMPLE, '--report-json', 'report.json'], { cwd });
    expect(again.code).toBe(0);
  });

  it('prints the findings before failing on a report it cannot write', async () => {
    const cwd = await tempDir();
    const r = await runCli(['plugin', 'package', '--check', EXAMPLE, '--report-json', 'missing/report.json'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✓ no problems/);
    expect(r.stderr).toMatch(/cannot write .*missing\/report\.json: ENOENT/);
  });

  it('says in one line why it cannot look at what is at the report path', async () => {
    const cwd = await tempDir();
    writeFileSync(path.join(cwd, 'b.txt'), 'a file, not a directory\n');
    const r = await runCli(['plugin', 'package', '--check', EXAMPLE, '--report-json', 'b.txt/r.json'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot write the report to .*b\.txt\/r\.json: ENOTDIR/);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it("never overwrites a user's file without --force", async () => {
    const cwd = await tempDir();
    writeFileSync(path.join(cwd, 'notes.json'), '{"mine": true}\n');
    const r = await runCli(['plugin', 'package', '--check', EXAMPLE, '--report-json', 'notes.json'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/notes\.json exists and is not a report of this CLI; not overwriting it/);
    expect(readFileSync(path.join(cwd, 'notes.json'), 'utf8')).toBe('{"mine": true}\n');
    const forced = await runCli(['plugin', 'package', '--check', EXAMPLE, '--report-json', 'notes.json', '--force'], {
      cwd,
    });
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(cwd, 'notes.json'), 'utf8'))).toMatchObject({ ok: true });
    expect(existsSync(path.join(cwd, 'hello-world.difypkg'))).toBe(false);
  });
});
