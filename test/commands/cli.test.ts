import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { EXAMPLE, pluginWith, REAL_FIXTURES, REPO } from '../helpers/plugin.js';
import { edit, exampleFile } from '../helpers/text.js';

const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const realPlugins = readdirSync(REAL_FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => path.join(REAL_FIXTURES, e.name));

/** No output of ours ever shows a JavaScript stack trace. */
function expectNoStack(text: string) {
  expect(text).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
}

describe('version and help', () => {
  it('--version and version print the version alone', async () => {
    for (const args of [['--version'], ['version']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
    }
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.each([[[]], [['plugin']], [['plugin', 'package']], [['plugin', 'checksum']], [['version']]])(
    '--help works for %j',
    async (cmd) => {
      const r = await runCli([...cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: dify/);
    },
  );
});

describe('the help command', () => {
  it.each([
    [['help'], 'Usage: dify [options] [command]'],
    [['help', 'plugin'], 'Usage: dify plugin [options] [command]'],
    [['help', 'plugin', 'package'], 'Usage: dify plugin package [options] <plugin_path...>'],
    [['plugin', 'help', 'package'], 'Usage: dify plugin package [options] <plugin_path...>'],
    [['help', 'bundle', 'append', 'github'], 'Usage: dify bundle append github [options] <bundle_path>'],
  ])('%j prints the help asked for and exits 0', async (args, usage) => {
    const r = await runCli(args);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(usage);
    expect(r.stderr).toBe('');
  });

  it('help for a command that does not exist is a usage error; so is a command left out', async () => {
    const unknown = await runCli(['help', 'plugin', 'pakage']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("error: unknown command 'pakage'\nhint: did you mean 'package'?\n");
    for (const args of [[], ['plugin']]) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^Usage: dify/);
    }
  });
});

describe('usage errors exit 2 with one line', () => {
  it.each([
    ['unknown flag', ['plugin', 'package', '--chek', 'x'], /unknown option '--chek'/],
    ['missing argument', ['plugin', 'package'], /missing required argument 'plugin_path'/],
    ['unknown command', ['plugn'], /unknown command 'plugn'/],
    ['bad --format value', ['plugin', 'package', '--check', '--format', 'xml', 'x'], /argument 'xml' is invalid/],
    ['bad --max-size value', ['plugin', 'package', '--max-size', 'lots', 'x'], /--max-size must be a whole number/],
    ['several plugins without --check', ['plugin', 'package', 'a', 'b'], /one plugin path/],
  ])('%s', async (_name, args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('(Did you mean') && !l.startsWith('hint:')),
    ).toHaveLength(1);
    expect(r.stdout).toBe('');
  });
});

describe('dify plugin package --check', () => {
  it('passes every real plugin in one call', async () => {
    const r = await runCli(['plugin', 'package', '--check', ...realPlugins]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/ error /);
    expect(r.stdout).toMatch(/✓ 7 plugins checked: 0 errors/);
  });

  it('--format json prints exactly the contract document', async () => {
    const r = await runCli(['plugin', 'package', '--check', '--format', 'json', ...realPlugins]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; results: Array<Record<string, unknown>> };
    expect(doc.ok).toBe(true);
    expect(doc.results).toHaveLength(7);
    const google = doc.results.find((x) => String(x.path).endsWith('google'))!;
    expect(google).toMatchObject({
      ok: true,
      plugin: { author: 'langgenius', name: 'google', version: '0.1.6', category: 'tool' },
      diagnostics: [],
    });
    const plugin = google.plugin as { checksum: string; identifier: string };
    expect(plugin.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(plugin.identifier).toBe(`langgenius/google:0.1.6@${plugin.checksum}`);
    const github = doc.results.find((x) => String(x.path).endsWith('github'))!;
    expect((github.diagnostics as unknown[])[0]).toEqual({
      code: 'datasource-provider/unknown-key',
      severity: 'warning',
      message: 'unknown key "help": Dify ignores this key',
      file: 'provider/github.yaml',
      line: 12,
      column: 1,
      path: '/help',
    });
  });

  it('reports errors as file:line:col severity code message and exits 1', async () => {
    const dir = await pluginWith({
      'manifest.yaml': edit(exampleFile('manifest.yaml'), ['name: hello_world', 'name: Hello']),
    });
    const r = await runCli(['plugin', 'package', '--check', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${dir}/manifest.yaml:4:7 error manifest/name-pattern name "Hello" does not match`);
    expect(r.stdout).toMatch(/✖ 1 error, 0 warnings/);
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('--format github writes annotations; GITHUB_ACTIONS adds them to the text', async () => {
    const dir = await pluginWith({
      'manifest.yaml': edit(exampleFile('manifest.yaml'), ['name: hello_world', 'name: Hello']),
    });
    const github = await runCli(['plugin', 'package', '--check', '--format', 'github', dir]);
    expect(github.code).toBe(1);
    expect(github.stdout).toBe(
      `::error file=${dir}/manifest.yaml,line=4,col=7,title=manifest/name-pattern::name "Hello" does not match ^[a-z0-9_-]{1,128}$ (use 1-128 lowercase letters, digits, _ or -)\n`,
    );
    const auto = await runCli(['plugin', 'package', '--check', dir], { env: { GITHUB_ACTIONS: 'true' } });
    expect(auto.stdout).toMatch(/^::error file=/);
    expect(auto.stdout).toContain('✖ 1 error');
  });

  it('--strict turns warnings into a failure, and every format says it failed', async () => {
    const dir = await pluginWith({ 'manifest.yaml': edit(exampleFile('manifest.yaml'), ['privacy:', 'privcy:']) });
    const lenient = await runCli(['plugin', 'package', '--check', dir]);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toContain('\n  ✓ 0 errors, 1 warning\n');

    const strict = await runCli(['plugin', 'package', '--check', '--strict', dir]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('\n  ✖ 1 warning (failing because of --strict)\n');
    expect(strict.stdout).not.toContain('✓');
    const several = await runCli(['plugin', 'package', '--check', '--strict', dir, EXAMPLE]);
    expect(several.stdout).toMatch(
      /\n✖ 2 plugins checked: 0 errors, 1 warning; 1 failed \(with --strict, warnings fail too\)\n$/,
    );

    const json = JSON.parse(
      (await runCli(['plugin', 'package', '--check', '--strict', '--format', 'json', dir])).stdout,
    );
    expect(json).toMatchObject({ ok: false, results: [{ ok: false, diagnostics: [{ severity: 'warning' }] }] });

    const github = await runCli(['plugin', 'package', '--check', '--strict', '--format', 'github', dir]);
    expect(github.code).toBe(1);
    expect(github.stdout.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^::warning file=.*title=manifest\/unknown-key::/),
      `::error title=dify plugin package::${dir}: 1 warning failing because of --strict`,
    ]);
    const githubLenient = await runCli(['plugin', 'package', '--check', '--format', 'github', dir]);
    expect(githubLenient.stdout).not.toContain('::error');
  });

  it('--strict without --check writes no package when warnings fail it', async () => {
    const dir = await pluginWith({ 'manifest.yaml': edit(exampleFile('manifest.yaml'), ['privacy:', 'privcy:']) });
    const out = path.join(dir, 'out.difypkg');
    const strict = await runCli(['plugin', 'package', '--strict', dir, '-o', out]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('✖ 1 warning (failing because of --strict)');
    expect(strict.stdout).not.toContain('Packaged');
    expect(existsSync(out)).toBe(false);
    const lenient = await runCli(['plugin', 'package', dir, '-o', out]);
    expect(lenient.code).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it('a YAML syntax error is one finding that shows the line and where in it', async () => {
    const text = edit(exampleFile('manifest.yaml'), ['label:\n', 'label: [unclosed\n']);
    const dir = await pluginWith({ 'manifest.yaml': text });
    const r = await runCli(['plugin', 'package', '--check', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        dir,
        `  ${dir}/manifest.yaml:6:8 error yaml/syntax missed comma between flow collection entries`,
        '      6 |   en_US: Hello World',
        '        |        ^',
        '  ✖ 1 error, 0 warnings',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await runCli(['plugin', 'package', '--check', '--format', 'json', dir])).stdout);
    expect(json.results[0].diagnostics).toEqual([
      {
        code: 'yaml/syntax',
        severity: 'error',
        message: 'missed comma between flow collection entries',
        file: 'manifest.yaml',
        line: 6,
        column: 8,
        path: '',
        excerpt: { line: 6, text: '  en_US: Hello World', caret: 8 },
      },
    ]);
  });

  it('colours only when asked to', async () => {
    const r = await runCli(['plugin', 'package', '--check', EXAMPLE], {
      env: { NO_COLOR: undefined, FORCE_COLOR: '1' },
    });
    expect(r.stdout).toMatch(/\x1b\[32m✓ no problems/);
  });

  it('bad input gives diagnostics, never a stack trace', async () => {
    const dir = await pluginWith({
      'manifest.yaml': Buffer.from([0, 159, 146, 150, 255]),
      'provider/hello_world.yaml': '[',
    });
    const r = await runCli(['plugin', 'package', '--check', dir, path.join(dir, 'nowhere')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('file/invalid-utf8');
    expect(r.stdout).toContain('plugin/not-found');
    expectNoStack(r.stdout + r.stderr);
  });
});

describe('dify plugin checksum', () => {
  it('prints the checksum alone, or with the identifier as JSON', async () => {
    const text = await runCli(['plugin', 'checksum', EXAMPLE]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const json = await runCli(['plugin', 'checksum', '--format', 'json', EXAMPLE]);
    const doc = JSON.parse(json.stdout) as { checksum: string; identifier: string };
    expect(doc.checksum).toBe(text.stdout.trim());
    expect(doc.identifier).toBe(`dify-plugin-cli/hello_world:0.0.1@${doc.checksum}`);
  });

  it('exits 1 with one line for a path that is not a plugin', async () => {
    const r = await runCli(['plugin', 'checksum', path.join(REPO, 'nowhere')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot compute the checksum/);
    expectNoStack(r.stderr);
  });
});

describe('text from a plugin file in the output', () => {
  it('never reaches the terminal raw: controls are written as \\u{…}, in text and GitHub output', async () => {
    const greet = `${readFileSync(path.join(EXAMPLE, 'tools/greet.yaml'), 'utf8')}"\\e[2J\\nfake: line\\u202e": x\n`;
    const dir = await pluginWith({ 'tools/greet.yaml': greet });
    for (const format of ['text', 'github']) {
      const r = await runCli(['plugin', 'package', '--check', '--format', format, dir]);
      expect(r.stdout).toContain('\\u{1b}[2J\\u{a}fake: line\\u{202e}');
      expect(r.stdout).not.toMatch(/[\u001b\u202e]/);
    }
  });
});
