// Cases from the assertions of dify-plugin-daemon's and dify-plugin-sdks' own test suites that
// this CLI once disagreed with, each built the way those tests build it.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { copyPlugin, EXAMPLE, pluginWith, REAL_FIXTURES, tempDir, type Overrides } from '../helpers/plugin.js';

interface Finding {
  code: string;
  file: string | null;
  message: string;
  hint?: string;
}

async function findings(dir: string, ...flags: string[]): Promise<{ code: number | null; found: Finding[] }> {
  const r = await runCli(['plugin', 'package', '--check', '--format', 'json', ...flags, dir]);
  const doc = JSON.parse(r.stdout) as { results: { diagnostics: Finding[] }[] };
  return { code: r.code, found: doc.results[0]!.diagnostics };
}

describe('packages written with stored (uncompressed) entries', () => {
  // `zip -0` and Python's zipfile (ZIP_STORED by default) write no compression at all.
  const writers: [string, (dir: string, out: string) => void][] = [
    ['zip -0', (dir, out) => execFileSync('zip', ['-q', '-0', '-r', out, '.'], { cwd: dir })],
    [
      "Python's zipfile",
      (dir, out) =>
        execFileSync('python3', [
          '-c',
          'import os, sys, zipfile\n' +
            'root, out = sys.argv[1], sys.argv[2]\n' +
            'with zipfile.ZipFile(out, "w") as z:\n' +
            '    for d, _, names in os.walk(root):\n' +
            '        for n in sorted(names):\n' +
            '            full = os.path.join(d, n)\n' +
            '            z.write(full, os.path.relpath(full, root))\n',
          dir,
          out,
        ]),
    ],
    ['zip (deflated)', (dir, out) => execFileSync('zip', ['-q', '-r', out, '.'], { cwd: dir })],
  ];

  it('are read by checksum, --check --format json and bundle append package, with one checksum', async () => {
    const cwd = await tempDir();
    // More than ten entries: each once left a listener behind (MaxListenersExceededWarning).
    const dir = await pluginWith(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`data/f${i}.txt`, `${i}`])));
    const sums = new Set<string>();
    for (const [name, write] of writers) {
      const pkg = path.join(cwd, `${name.replace(/\W+/g, '_')}.difypkg`);
      write(dir, pkg);
      const sum = await runCli(['plugin', 'checksum', pkg], { cwd });
      expect(sum.code, `${name}: ${sum.stderr}`).toBe(0);
      expect(sum.stderr).toBe('');
      sums.add(sum.stdout.trim());
      const checked = await runCli(['plugin', 'package', '--check', '--format', 'json', pkg], { cwd });
      expect(checked.code, name).toBe(0);
      expect((JSON.parse(checked.stdout) as { ok: boolean }).ok).toBe(true);
      expect(checked.stderr).toBe('');
      const bundle = `b_${sums.size}`;
      await runCli(['bundle', 'init', '--quick', '--name', bundle, '--author', 'a', '--description', 'd'], { cwd });
      const appended = await runCli(['bundle', 'append', 'package', bundle, '-p', pkg], { cwd });
      expect(appended.code, `${name}: ${appended.stderr}`).toBe(0);
      expect(appended.stderr).toBe('');
    }
    // The checksum is of the files, not of how they were compressed.
    expect(sums.size).toBe(1);
    expect([...sums][0]).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('a Python plugin without a dependency file', () => {
  it('is an install error (the daemon finds neither pyproject.toml nor requirements.txt)', async () => {
    const dir = await pluginWith({ 'requirements.txt': null, 'pyproject.toml': null });
    const { code, found } = await findings(dir);
    expect(code).toBe(1);
    const d = found.find((f) => f.code === 'python/no-dependency-file')!;
    expect(d.message).toMatch(/neither requirements\.txt nor pyproject\.toml: Dify refuses to install it/);
    expect(d.hint).toMatch(/add a requirements\.txt that lists dify_plugin \(`dify plugin init` writes one\)/);
    // Either file alone is enough (the example has a requirements.txt and no pyproject.toml).
    const pyproject = '[project]\nname = "hello_world"\nversion = "0.0.1"\ndependencies = ["dify_plugin"]\n';
    const cases: Overrides[] = [{}, { 'requirements.txt': null, 'pyproject.toml': pyproject }];
    for (const overrides of cases) {
      const { found: alone } = await findings(await pluginWith(overrides));
      expect(alone.map((f) => f.code)).not.toContain('python/no-dependency-file');
    }
  });
  it('counts a dependency file the ignore file leaves out as missing, and says so', async () => {
    const dir = await pluginWith({ 'pyproject.toml': null, '.difyignore': 'requirements.txt\n' });
    const { found } = await findings(dir);
    const d = found.find((f) => f.code === 'python/no-dependency-file')!;
    expect(d.message).toMatch(/^requirements\.txt is excluded from the package/);
    expect(d.hint).toMatch(/stop ignoring requirements\.txt/);
  });
  it('is checked in a package too', async () => {
    const cwd = await tempDir();
    const dir = await pluginWith({ 'requirements.txt': null, 'pyproject.toml': null });
    execFileSync('zip', ['-q', '-r', path.join(cwd, 'p.difypkg'), '.'], { cwd: dir });
    const { found } = await findings(path.join(cwd, 'p.difypkg'));
    expect(found.map((f) => f.code)).toContain('python/no-dependency-file');
  });
});

describe('help and url on model credential form fields', () => {
  // dify-plugin-daemon's TestModelProviderCredentialFormSchema_HelpSurvivesRoundTrip declares these.
  it('are accepted, also with --strict', async () => {
    const dir = await copyPlugin(path.join(REAL_FIXTURES, 'anthropic'));
    const file = path.join(dir, 'provider', 'anthropic.yaml');
    const text = await readFile(file, 'utf8');
    const field = '    type: secret-input\n    variable: anthropic_api_key\n';
    expect(text).toContain(field);
    await writeFile(
      file,
      text.replace(
        field,
        field +
          '    help:\n      en_US: Where to find your key\n      zh_Hans: 在哪里找到密钥\n' +
          '    url: https://console.anthropic.com/settings/keys\n',
      ),
    );
    const { code, found } = await findings(dir, '--strict');
    expect(found.filter((f) => /unknown-key/.test(f.code))).toEqual([]);
    expect(code).toBe(0);
    // langgenius/bedrock nests the locales under `text`: the daemon decodes no text from it,
    // and nothing refuses it (the SDK drops help, so remote debugging never validates it).
    await writeFile(file, text.replace(field, field + '    help:\n      text:\n        en_US: Where\n'));
    const nested = await findings(dir);
    expect(nested.code).toBe(0);
    expect(nested.found.map((f) => `${f.code} ${f.message}`)).toEqual([
      expect.stringMatching(
        /^model-provider\/model_credential_schema\.credential_form_schemas\.help-unknown-locale unknown locale "text"/,
      ),
    ]);
    // A wrong type is still caught: the daemon decodes help as an I18nObject.
    await writeFile(file, text.replace(field, field + '    help: 3\n'));
    expect((await findings(dir)).found.map((f) => f.code)).toContain(
      'model-provider/model_credential_schema.credential_form_schemas.help-type',
    );
  });
});

describe('smaller findings', () => {
  it('the scaffold says that !pattern re-includes, and it does', async () => {
    const template = await readFile(path.join(EXAMPLE, '..', '..', 'templates', 'common', '.difyignore'), 'utf8');
    expect(template).not.toMatch(/cannot re-include/);
    expect(template).toMatch(/`!pattern` re-includes/);
    const dir = await pluginWith({
      'notes/keep.md': 'kept',
      'notes/drop.md': 'dropped',
      '.difyignore': 'notes/*\n!notes/keep.md\n',
    });
    const r = await runCli(['plugin', 'package', '--list', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('notes/keep.md');
    expect(r.stdout).not.toContain('notes/drop.md');
  });
  it('the too-large hint names only what the plugin does not refer to, and following it leaves no reference/excluded', async () => {
    // tools/ is the largest directory, but it holds the tool declarations the provider lists.
    const dir = await pluginWith({ 'tools/big.bin': Buffer.alloc(2 * 1024 * 1024) });
    const { code, found } = await findings(dir, '--max-size', '1');
    expect(code).toBe(1);
    const tooLarge = found.find((f) => f.code === 'pack/too-large')!;
    expect(tooLarge.message).toMatch(/Largest directories: tools\/ \(/);
    expect(tooLarge.hint).toMatch(
      /^if tools\/big\.bin is not needed at run time, add "tools\/big\.bin" to \.difyignore/,
    );
    await writeFile(path.join(dir, '.difyignore'), 'tools/big.bin\n');
    const after = await findings(dir, '--max-size', '1');
    expect(after.found.map((f) => f.code)).toEqual([]);
    expect(after.code).toBe(0);
  });
  it('the tool-provider credentials_schema warning says what installing and debugging do', async () => {
    const dir = await copyPlugin(EXAMPLE);
    const provider = path.join(dir, 'provider', 'hello_world.yaml');
    const text = await readFile(provider, 'utf8');
    await writeFile(
      provider,
      text +
        'credentials_schema:\n  api_key:\n    type: secret-input\n    required: true\n    label:\n      en_US: API key\n',
    );
    const d = (await findings(dir)).found.find((f) => f.code === 'tool-provider/credentials-schema-ignored')!;
    expect(d.message).toMatch(/^installed, Dify asks for these credentials \(the daemon reads credentials_schema\)/);
    expect(d.message).toMatch(/while remote debugging, the provider declares no credentials/);
    expect(d.message).not.toMatch(/would run without/);
  });
});
