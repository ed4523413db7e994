import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { changedLines } from '../helpers/changed-lines.js';
import { checkBundle } from '../../src/bundle/check.js';
import { BundleError, BundleLinkError } from '../../src/bundle/errors.js';
import { BundleManifest } from '../../src/bundle/manifest.js';
import {
  appendPattern,
  applyProfile,
  bumpVersion,
  currentProfile,
  removeDependency,
} from '../../src/bundle/operations.js';
import { analyzeBundle, appendPackage, PackageRejectedError } from '../../src/pipelines/bundle-packages.js';
import {
  GITHUB_PATTERN_REGEX,
  isValidVersion,
  MARKETPLACE_PATTERN_REGEX,
  parseGithubPattern,
  parseMarketplacePattern,
  VERSION_REGEX,
} from '../../src/bundle/patterns.js';
import { Bundle } from '../../src/bundle/store.js';
import { checkPlugin } from '../../src/pipelines/check-plugin.js';
import { bundleRegenerateCommand } from '../../src/cli/commands/bundle.js';
import { initCommand } from '../../src/cli/commands/init.js';
import type { Io } from '../../src/cli/io.js';
import { pluginChecksum } from '../../src/pack/checksum.js';
import { ZipReader } from '../../src/project/zip-reader.js';
import { writeZip } from '../../src/pack/zip-writer.js';
import { copyPlugin, EXAMPLE, REAL_FIXTURES, REPO, tempDir } from '../helpers/plugin.js';
import { KEY, terminal } from '../helpers/terminal.js';
import { MAX_PACKAGE_BYTES } from '../../src/project/limits.js';

const schema = JSON.parse(readFileSync(path.join(REPO, 'schemas', 'bundle.schema.json'), 'utf8')) as {
  properties: { version: { pattern: string } };
  definitions: {
    dependency: {
      properties: {
        value: { properties: { repo_pattern: { pattern: string }; marketplace_pattern: { pattern: string } } };
      };
    };
  };
};
const valueSchema = schema.definitions.dependency.properties.value.properties;
const packageOptions = { maxBytes: MAX_PACKAGE_BYTES, env: { PATH: '' } };

function quietIo(
  cwd: string,
  stdin: Io['stdin'] = Object.assign(new PassThrough(), { isTTY: false }),
): Io & { out: () => string } {
  let out = '';
  return {
    stdin,
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (out += s) },
    env: {},
    cwd,
    out: () => out,
  };
}

/** A fresh bundle directory as `dify bundle init --quick` writes it. */
async function newBundle(name = 'my_bundle'): Promise<string> {
  const cwd = await tempDir();
  expect(
    await initCommand({ quick: true, name, author: 'acme', description: 'Our plugins' }, quietIo(cwd), 'bundle'),
  ).toBe(0);
  return path.join(cwd, name);
}

/** Packs a plugin directory as `dify plugin package` does. */
async function pack(dir: string, out: string): Promise<string> {
  const result = await checkPlugin(dir, { strict: false, ...packageOptions, checksum: true, outputPath: out });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  await writeZip(out, result.plan!.entries);
  return out;
}

async function withBundle<T>(location: string, fn: (b: Bundle) => Promise<T> | T): Promise<T> {
  const bundle = await Bundle.open(location);
  try {
    const result = await fn(bundle);
    await bundle.save();
    return result;
  } finally {
    await bundle.close();
  }
}

async function checksumOfFile(file: string): Promise<string> {
  const zip = await ZipReader.open(file, 1 << 30);
  try {
    return await pluginChecksum(zip.contents.entries.map((e) => ({ path: e.name, read: () => zip.read(e) })));
  } finally {
    await zip.close();
  }
}

let helloPkg: string;
let githubPkg: string;
beforeAll(async () => {
  const out = await tempDir();
  helloPkg = await pack(EXAMPLE, path.join(out, 'hello-world.difypkg'));
  githubPkg = await pack(await copyPlugin(path.join(REAL_FIXTURES, 'github')), path.join(out, 'github.difypkg'));
});

describe('dependency patterns (daemon regexes)', () => {
  it('are the schema patterns', () => {
    expect(GITHUB_PATTERN_REGEX.source).toBe(new RegExp(valueSchema.repo_pattern.pattern).source);
    expect(MARKETPLACE_PATTERN_REGEX.source).toBe(new RegExp(valueSchema.marketplace_pattern.pattern).source);
    expect(VERSION_REGEX.source).toBe(new RegExp(schema.properties.version.pattern).source);
  });

  it.each([
    'owner/repo:1.0.0/manifest.yaml', // the examples of dependency_test.go
    'owner/repo:^1.0.0/manifest.yaml',
    'owner/repo:1.x.x/manifest.yaml',
    'owner/repo:1.0.0-2.0.0/manifest.yaml',
    'owner/repo:~1.0.0/plugin.difypkg',
    'owner/repo:X.x.1/plugin.difypkg',
    'langgenius/openai:0.0.1-beta/openai.difypkg',
    'a_b-c/d_e-f:1234.0.9999/x',
  ])('github %s is valid', (p) => {
    expect(parseGithubPattern(p)).not.toBeNull();
  });

  it.each([
    'owner/repo/1.0.0/manifest.yaml', // the form the Go doc comment shows: the regex wants a colon
    'Owner/repo:1.0.0/x',
    'owner/repo:1.0/x',
    'owner/repo:1.0.0',
    'owner/repo:1.0.0/',
    'owner/repo:1.0.0/a/b',
    'owner/repo:v1.0.0/x',
    'owner:1.0.0/x',
    'owner/repo:12345.0.0/x',
    'owner/repo:>=1.0.0/x',
  ])('github %s is invalid', (p) => {
    expect(parseGithubPattern(p)).toBeNull();
  });

  it.each([
    'langgenius/openai:0.0.1',
    'langgenius/openai:^0.0.1',
    'langgenius/openai:~0.0.1',
    'langgenius/openai:1.x.x',
    'langgenius/openai:0.0.1-0.1.0',
    'a/b:1.0.0-rc_1',
  ])('marketplace %s is valid', (p) => {
    expect(parseMarketplacePattern(p)).not.toBeNull();
  });

  it.each([
    'langgenius/openai',
    'langgenius/openai:0.0.1/openai.difypkg',
    'langgenius:0.0.1',
    'LangGenius/openai:0.0.1',
    'langgenius/openai:latest',
    'langgenius/openai:0.1',
  ])('marketplace %s is invalid', (p) => {
    expect(parseMarketplacePattern(p)).toBeNull();
  });

  it('derives the fields the daemon reports', () => {
    expect(parseGithubPattern('langgenius/openai:^1.0.0-2.0.0/openai.difypkg')).toBeNull();
    expect(parseGithubPattern('langgenius/openai:1.0.0-2.0.0/openai.difypkg')).toEqual({
      pattern: 'langgenius/openai:1.0.0-2.0.0/openai.difypkg',
      repo: 'https://github.com/langgenius/openai',
      release: '1.0.0-2.0.0',
      asset: 'openai.difypkg',
    });
    expect(parseMarketplacePattern('langgenius/openai:^0.0.1')).toEqual({
      pattern: 'langgenius/openai:^0.0.1',
      organization: 'langgenius',
      plugin: 'openai',
      version: '^0.0.1',
    });
  });

  it('checks versions with the daemon version regex', () => {
    for (const v of ['0.0.2', '1.0.0-beta', '9999.9999.9999', '1.2.3-a_b']) expect(isValidVersion(v)).toBe(true);
    for (const v of ['1.2', 'v1.0.0', '10000.0.0', '1.0.0-', '1.0.0-12345678901234567', '1.0.0.0', ' 1.0.0'])
      expect(isValidVersion(v)).toBe(false);
  });
});

describe('manifest editing', () => {
  it('keeps comments, the yaml-language-server line, key order and quoting', async () => {
    const text = await readFile(path.join(await newBundle(), 'manifest.yaml'), 'utf8');
    const m = BundleManifest.parse(text);
    expect(m.toString()).toBe(text); // nothing changed: same text
    m.append({ type: 'github', value: { repo_pattern: 'owner/repo:1.0.0/x.difypkg' } });
    m.append({ type: 'marketplace', value: { marketplace_pattern: 'langgenius/openai:^0.0.1' } });
    m.setVersion('0.0.2');
    const out = m.toString();
    expect(out.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=.*bundle\.schema\.json$/);
    expect(out).toContain('# A bundle installs several plugins at once.');
    expect(out).toContain('version: "0.0.2"');
    expect(out).toContain(
      [
        'dependencies:',
        '  - type: github',
        '    value:',
        '      repo_pattern: owner/repo:1.0.0/x.difypkg',
        '  - type: marketplace',
        '    value:',
        '      marketplace_pattern: langgenius/openai:^0.0.1',
        'tags: []',
      ].join('\n'),
    );
    const keys = (s: string) =>
      s
        .split('\n')
        .filter((l) => /^[a-z]/.test(l))
        .map((l) => l.split(':')[0]);
    expect(keys(out)).toEqual(keys(text));
    // Only the changed lines differ.
    const before = text.split('\n');
    const changed = out.split('\n').filter((l) => !before.includes(l));
    expect(changed).toEqual([
      'version: "0.0.2"',
      'dependencies:',
      '  - type: github',
      '    value:',
      '      repo_pattern: owner/repo:1.0.0/x.difypkg',
      '  - type: marketplace',
      '    value:',
      '      marketplace_pattern: langgenius/openai:^0.0.1',
    ]);
  });

  it('keeps the 4-space indentation of a manifest the Go CLI wrote', () => {
    const go = [
      'name: b',
      'labels:',
      '    en_US: b',
      'description:',
      '    en_US: d',
      'icon: icon.svg',
      'version: 0.0.1',
      'author: a',
      'type: bundle',
      'dependencies:',
      '    - type: marketplace',
      '      value:',
      '        marketplace_pattern: a/b:1.0.0',
      'tags: []',
      '',
    ].join('\n');
    const m = BundleManifest.parse(go);
    m.append({ type: 'package', value: { path: 'abc' } });
    const out = m.toString();
    expect(out).toMatch(/^labels:\n {4}en_US: b\ndescription:\n {4}en_US: d\n/m);
    expect(out).toMatch(/^ {4}- type: package\n {6}value:\n +path: abc\ntags: \[\]\n$/m);
    expect(BundleManifest.parse(out).dependencies()).toEqual([
      { type: 'marketplace', value: { marketplace_pattern: 'a/b:1.0.0' } },
      { type: 'package', value: { path: 'abc' } },
    ]);
  });

  it('removes by 0-based index and refuses an index out of range', () => {
    const m = BundleManifest.parse(
      'dependencies:\n  - type: marketplace\n    value: {marketplace_pattern: "a/b:1.0.0"}\n  # the second\n  - type: package\n    value: {path: x}\n',
    );
    expect(m.remove(0)).toEqual({ type: 'marketplace', value: { marketplace_pattern: 'a/b:1.0.0' } });
    expect(m.dependencies()).toEqual([{ type: 'package', value: { path: 'x' } }]);
    expect(() => m.remove(1)).toThrow('index 1 is out of range: the bundle has 1 dependency (index 0)');
    m.remove(0);
    expect(() => m.remove(0)).toThrow('the bundle has no dependencies');
  });

  it('writes a list where dependencies is missing or empty, and refuses one that is not a list', () => {
    const m = BundleManifest.parse('name: b\ndependencies:\n');
    expect(m.append({ type: 'package', value: { path: 'x' } })).toBe(0);
    expect(m.toString()).toBe('name: b\ndependencies:\n  - type: package\n    value:\n      path: x\n');
    expect(() => BundleManifest.parse('dependencies: 3\n').append({ type: 'package', value: { path: 'x' } })).toThrow(
      'dependencies in manifest.yaml is not a list',
    );
  });

  it('each command changes only its own lines of a commented, CRLF, 4-space manifest', () => {
    const text = [
      '# yaml-language-server: $schema=https://example.org/bundle.schema.json',
      'name: b  # the id',
      'labels:',
      '    en_US: B',
      '    zh_Hans: 捆绑',
      '    ja_JP: B',
      'description:',
      "    en_US: 'd'",
      '    pt_BR: d',
      'version: 0.0.1',
      'author: a',
      'dependencies:',
      '    # pinned',
      '    - type: marketplace',
      '      value:',
      '        marketplace_pattern: a/b:1.0.0',
      'tags: []',
      '',
    ].join('\r\n');
    /** `after` is `before` with `removed` lines replaced by `inserted` ones; all else is the same bytes. */
    const expectOnly = (after: string, removed: string[], inserted: string[]) => {
      const c = changedLines(text, after)!;
      expect(text.split('\n').slice(c.first - 1, c.lastBefore)).toEqual(removed.map((l) => `${l}\r`));
      expect(after.split('\n').slice(c.first - 1, c.lastAfter)).toEqual(inserted.map((l) => `${l}\r`));
    };
    const edit = (change: (m: BundleManifest) => void) => {
      const m = BundleManifest.parse(text);
      change(m);
      return m.toString();
    };
    expectOnly(
      edit((m) => m.append({ type: 'package', value: { path: 'abc' } })),
      [],
      ['    - type: package', '      value:', '        path: abc'],
    );
    expectOnly(
      edit((m) => m.remove(0)),
      [
        'dependencies:',
        '    # pinned',
        '    - type: marketplace',
        '      value:',
        '        marketplace_pattern: a/b:1.0.0',
      ],
      ['dependencies: []', '    # pinned'],
    );
    expectOnly(
      edit((m) => m.setVersion('0.0.2')),
      ['version: 0.0.1'],
      ['version: 0.0.2'],
    );
    const profile = edit((m) => m.setProfile({ name: 'nb', author: 'a', description: 'New', label: 'New B' }));
    expectOnly(
      profile,
      [
        'name: b  # the id',
        'labels:',
        '    en_US: B',
        '    zh_Hans: 捆绑',
        '    ja_JP: B',
        'description:',
        "    en_US: 'd'",
        '    pt_BR: d',
      ],
      [
        'name: nb  # the id',
        'labels:',
        '    en_US: New B',
        '    zh_Hans: 捆绑',
        '    ja_JP: New B',
        'description:',
        "    en_US: 'New'",
        '    pt_BR: New',
      ],
    );
    // Missing texts are written for every locale, at the file's indentation.
    const bare = BundleManifest.parse('name: b\r\nlabels:\r\n    en_US: B\r\n');
    bare.setProfile({ name: 'b', author: 'a', description: 'D', label: 'B' });
    expect(bare.toString()).toBe(
      'name: b\r\nlabels:\r\n    en_US: B\r\nauthor: a\r\ndescription:\r\n    en_US: D\r\n    zh_Hans: D\r\n    ja_JP: D\r\n    pt_BR: D\r\n',
    );
  });

  it('edits a manifest written in flow style in flow style; an empty {} gets the English text', () => {
    const m = BundleManifest.parse(
      '{name: b, labels: {zh_Hans: 捆绑}, description: {}, version: 0.0.1, dependencies: []}\n',
    );
    m.append({ type: 'marketplace', value: { marketplace_pattern: 'langgenius/openai:0.0.1' } });
    m.setVersion('0.0.2');
    m.setProfile({ name: 'nb', author: 'a', description: 'D', label: 'B' });
    expect(m.toString()).toBe(
      '{name: nb, labels: {zh_Hans: 捆绑, en_US: B}, description: {en_US: D}, version: 0.0.2, dependencies: ' +
        '[{type: marketplace, value: {marketplace_pattern: langgenius/openai:0.0.1}}], author: a}\n',
    );
  });

  it('reports YAML errors with their line', () => {
    expect(() => BundleManifest.parse('name: b\nlabels:\n  en_US: [\n')).toThrow(/^manifest\.yaml:\d+:\d+: /);
    expect(() => BundleManifest.parse('- a\n- b\n')).toThrow(BundleError);
  });

  it('regenerate updates the English text and the locales that still copy it, keeping translations', () => {
    const m = BundleManifest.parse(
      [
        'name: b',
        'labels:',
        '  en_US: B',
        '  zh_Hans: 捆绑',
        '  ja_JP: B',
        'description:',
        '  en_US: "d"',
        '  pt_BR: d',
        'author: a',
        '',
      ].join('\n'),
    );
    m.setProfile({ name: 'nb', author: 'na', description: 'New', label: 'New B' });
    expect(m.toString()).toBe(
      [
        'name: nb',
        'labels:',
        '  en_US: New B',
        '  zh_Hans: 捆绑',
        '  ja_JP: New B',
        'description:',
        '  en_US: "New"',
        '  pt_BR: New',
        'author: na',
        '',
      ].join('\n'),
    );
  });
});

describe('bundle directories and .difybndl files', () => {
  it('append package: checks the plugin, stores it once as _assets/<checksum>, lists it once', async () => {
    const dir = await newBundle();
    const first = await withBundle(dir, (b) => appendPackage(b, helloPkg, 'hello-world.difypkg', packageOptions));
    expect(first).toMatchObject({ index: 0, existing: false, assetAdded: true });
    const checksum = first.plugin.checksum!;
    expect(checksum).toBe(await checksumOfFile(helloPkg));
    expect(readFileSync(path.join(dir, '_assets', checksum)).equals(readFileSync(helloPkg))).toBe(true);
    const again = await withBundle(dir, (b) => appendPackage(b, helloPkg, 'hello-world.difypkg', packageOptions));
    expect(again).toMatchObject({ index: 0, existing: true, assetAdded: false });
    const second = await withBundle(dir, (b) => appendPackage(b, githubPkg, 'github.difypkg', packageOptions));
    expect(second).toMatchObject({ index: 1, existing: false, assetAdded: true });
    expect(second.plugin).toMatchObject({ author: 'langgenius', name: 'github_datasource' });
    expect(readdirSync(path.join(dir, '_assets')).sort()).toEqual(
      [checksum, second.plugin.checksum!, 'icon.svg'].sort(),
    );
    const deps = BundleManifest.parse(await readFile(path.join(dir, 'manifest.yaml'), 'utf8')).dependencies();
    expect(deps).toEqual([
      { type: 'package', value: { path: checksum } },
      { type: 'package', value: { path: second.plugin.checksum } },
    ]);
  });

  it('append package refuses what is not a valid plugin package, changing nothing', async () => {
    const dir = await newBundle();
    const before = await readFile(path.join(dir, 'manifest.yaml'), 'utf8');
    const out = await tempDir();
    const notPlugin = path.join(out, 'notes.difypkg');
    await writeZip(notPlugin, [{ name: 'notes.txt', read: async () => Buffer.from('hi') }]);
    const err = await withBundle(dir, (b) => appendPackage(b, notPlugin, 'notes.difypkg', packageOptions)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PackageRejectedError);
    expect((err as PackageRejectedError).result.diagnostics.map((d) => d.code)).toContain('manifest/missing');
    const text = path.join(out, 'plain.difypkg');
    await writeFile(text, 'not a zip');
    await expect(withBundle(dir, (b) => appendPackage(b, text, 'plain.difypkg', packageOptions))).rejects.toThrow(
      /not a valid plugin package/,
    );
    await expect(withBundle(dir, (b) => appendPackage(b, EXAMPLE, 'hello-world', packageOptions))).rejects.toThrow(
      /is not a file/,
    );
    // A package under another name (as downloaded) is still read as a package.
    const renamed = path.join(out, 'hello.zip');
    await cp(helloPkg, renamed);
    await expect(withBundle(dir, (b) => appendPackage(b, renamed, 'hello.zip', packageOptions))).resolves.toMatchObject(
      { index: 0 },
    );
    expect(before).not.toBe(await readFile(path.join(dir, 'manifest.yaml'), 'utf8'));
  });

  it('exports manifest.yaml, then _assets/* and README* each sorted byte-wise; same input, same bytes', async () => {
    const dir = await newBundle();
    await writeFile(path.join(dir, 'README_zh_Hans.md'), '中文');
    await mkdir(path.join(dir, '_assets', 'sub'), { recursive: true });
    await writeFile(path.join(dir, '_assets', 'sub', 'b.png'), 'png');
    await writeFile(path.join(dir, '_assets', 'Z.svg'), 'svg');
    await writeFile(path.join(dir, 'notes.txt'), 'not part of a bundle');
    await withBundle(dir, (b) => appendPackage(b, githubPkg, 'github.difypkg', packageOptions));
    const out = await tempDir();
    const names: string[][] = [];
    for (const file of ['a.difybndl', 'b.difybndl']) {
      const b = await Bundle.open(dir);
      await b.exportTo(path.join(out, file));
      await b.close();
      const zip = await ZipReader.open(path.join(out, file), 1 << 30);
      names.push(zip.contents.entries.map((e) => e.name));
      await zip.close();
    }
    const sum = await checksumOfFile(githubPkg);
    // Byte-wise, Z.svg comes before icon.svg; the package's checksum sorts by its first character.
    const assets = ['_assets/Z.svg', '_assets/icon.svg', '_assets/sub/b.png'];
    assets.splice(/^[0-9A-Y]/.test(sum) ? 0 : 1, 0, `_assets/${sum}`);
    expect(names[0]).toEqual(['manifest.yaml', ...assets, 'README.md', 'README_zh_Hans.md']);
    expect(readFileSync(path.join(out, 'a.difybndl')).equals(readFileSync(path.join(out, 'b.difybndl')))).toBe(true);
  });

  it('a .difybndl is edited in place; remove deletes the package file unless another dependency uses it', async () => {
    const dir = await newBundle();
    const sum = await withBundle(
      dir,
      async (b) => (await appendPackage(b, helloPkg, 'x', packageOptions)).plugin.checksum!,
    );
    // Two dependencies on the same file (hand-edited), then a marketplace one.
    const manifestPath = path.join(dir, 'manifest.yaml');
    await writeFile(
      manifestPath,
      (await readFile(manifestPath, 'utf8')).replace(
        'tags: []',
        `  - type: package\n    value:\n      path: ${sum}\ntags: []`,
      ),
    );
    await withBundle(dir, (b) => appendPattern(b, 'marketplace', 'langgenius/openai:0.0.1'));
    const file = path.join(await tempDir(), 'b.difybndl');
    await withBundle(dir, (b) => b.exportTo(file));

    for (const location of [dir, file]) {
      const assets = async () => withBundle(location, (b) => [...b.assets.keys()].sort());
      expect(await assets()).toEqual([sum, 'icon.svg'].sort());
      const first = await withBundle(location, (b) => removeDependency(b, 0));
      expect(first).toMatchObject({ keptAsset: { name: sum, usedBy: [0] } });
      expect(await assets()).toEqual([sum, 'icon.svg'].sort());
      const second = await withBundle(location, (b) => removeDependency(b, 0));
      expect(second).toMatchObject({ deletedAsset: sum });
      expect(await assets()).toEqual(['icon.svg']);
      await expect(withBundle(location, (b) => removeDependency(b, 1))).rejects.toThrow('index 1 is out of range');
      expect(await withBundle(location, (b) => BundleManifest.parse(b.manifest).dependencies())).toEqual([
        { type: 'marketplace', value: { marketplace_pattern: 'langgenius/openai:0.0.1' } },
      ]);
    }
    expect(existsSync(path.join(dir, '_assets', sum))).toBe(false);
    expect(readdirSync(path.dirname(file))).toEqual(['b.difybndl']); // no temporary file left
  });

  it('a directory replaced by a link out of the bundle after it was read: save writes and deletes nothing', async () => {
    const dir = await newBundle();
    const sum = await withBundle(
      dir,
      async (b) => (await appendPackage(b, helloPkg, 'x', packageOptions)).plugin.checksum!,
    );
    const outside = await tempDir();
    await cp(path.join(dir, '_assets'), outside, { recursive: true });
    const swap = async () => {
      await rm(path.join(dir, '_assets'), { recursive: true, force: true });
      await symlink(outside, path.join(dir, '_assets'));
    };
    // remove: the package file now "in _assets/" is outside
    const manifest = await readFile(path.join(dir, 'manifest.yaml'), 'utf8');
    const bundle = await Bundle.open(dir);
    removeDependency(bundle, 0);
    await swap();
    await expect(bundle.save()).rejects.toThrow(BundleLinkError);
    expect(readdirSync(outside).sort()).toEqual([sum, 'icon.svg'].sort());
    expect(await readFile(path.join(dir, 'manifest.yaml'), 'utf8')).toBe(manifest);
    // append: the package would be written outside
    await rm(path.join(dir, '_assets'));
    await cp(outside, path.join(dir, '_assets'), { recursive: true });
    await rm(path.join(outside, sum));
    const again = await Bundle.open(dir);
    removeDependency(again, 0);
    await again.save();
    const adding = await Bundle.open(dir);
    await appendPackage(adding, helloPkg, 'x', packageOptions);
    await swap();
    await expect(adding.save()).rejects.toThrow(/_assets in .* is a link outside the bundle/);
    expect(readdirSync(outside)).toEqual(['icon.svg']);
  });

  it('bump validates the version and keeps its quoting; regenerate rewrites the profile', async () => {
    const dir = await newBundle();
    await expect(withBundle(dir, (b) => bumpVersion(b, '1.0'))).rejects.toThrow('invalid version "1.0"');
    expect(await withBundle(dir, (b) => bumpVersion(b, '1.0.0-rc1'))).toEqual({ from: '0.0.1', to: '1.0.0-rc1' });
    expect(await readFile(path.join(dir, 'manifest.yaml'), 'utf8')).toContain('version: "1.0.0-rc1"');
    expect(await withBundle(dir, (b) => currentProfile(b))).toEqual({
      name: 'my_bundle',
      author: 'acme',
      description: 'Our plugins',
      label: 'My Bundle',
    });
    await withBundle(dir, (b) => applyProfile(b, { name: 'other', author: 'me', description: 'Else', label: 'Other' }));
    expect(await withBundle(dir, (b) => currentProfile(b))).toEqual({
      name: 'other',
      author: 'me',
      description: 'Else',
      label: 'Other',
    });
  });

  it('analyze gives the parsed fields and the identity of each embedded plugin', async () => {
    const dir = await newBundle();
    await withBundle(dir, async (b) => {
      appendPattern(b, 'github', 'langgenius/openai:^0.0.1/openai.difypkg');
      appendPattern(b, 'marketplace', 'langgenius/openai:0.0.1');
      await appendPackage(b, githubPkg, 'github.difypkg', packageOptions);
    });
    const sum = await checksumOfFile(githubPkg);
    const a = await withBundle(dir, (b) => analyzeBundle(b, packageOptions));
    expect(a).toMatchObject({ name: 'my_bundle', author: 'acme', version: '0.0.1' });
    expect(a.dependencies).toEqual([
      {
        index: 0,
        type: 'github',
        pattern: 'langgenius/openai:^0.0.1/openai.difypkg',
        repo: 'https://github.com/langgenius/openai',
        release: '^0.0.1',
        asset: 'openai.difypkg',
        problems: [],
        notes: [],
      },
      {
        index: 1,
        type: 'marketplace',
        pattern: 'langgenius/openai:0.0.1',
        organization: 'langgenius',
        plugin: 'openai',
        version: '0.0.1',
        problems: [],
        notes: [],
      },
      {
        index: 2,
        type: 'package',
        path: sum,
        size: readFileSync(githubPkg).length,
        identity: {
          author: 'langgenius',
          name: 'github_datasource',
          version: '0.4.7',
          category: 'datasource',
          checksum: sum,
          identifier: `langgenius/github_datasource:0.4.7@${sum}`,
        },
        problems: [],
        notes: [],
      },
    ]);
    await writeFile(path.join(dir, '_assets', sum), 'damaged');
    const broken = await withBundle(dir, (b) => analyzeBundle(b, packageOptions));
    expect(broken.dependencies[2]!.problems.length).toBeGreaterThan(0);
  });
});

describe('checkBundle', () => {
  it('reports schema errors and missing package files at manifest.yaml:line:col', async () => {
    const dir = await newBundle();
    const manifestPath = path.join(dir, 'manifest.yaml');
    const text = (await readFile(manifestPath, 'utf8'))
      .replace('version: "0.0.1"', 'version: 0.1')
      .replace('type: bundle', 'type: plugin')
      .replace('dependencies: []', 'dependencies:')
      .replace(
        'tags: []',
        '  - type: github\n    value:\n      repo_pattern: owner/repo/1.0.0/x.difypkg\n  - type: package\n    value:\n      path: 0123abcd\ntags: []',
      );
    await writeFile(manifestPath, text);
    const lines = text.split('\n');
    const lineOf = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    const r = await withBundle(dir, (b) => checkBundle(b, 'my_bundle'));
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => [d.code, d.file, d.line])).toEqual([
      ['bundle/version-type', 'manifest.yaml', lineOf('version: 0.1')],
      ['bundle/type-enum', 'manifest.yaml', lineOf('type: plugin')],
      ['bundle/dependencies.value.repo_pattern-pattern', 'manifest.yaml', lineOf('repo_pattern:')],
      ['file/missing', 'manifest.yaml', lineOf('path: 0123abcd')],
    ]);
  });

  it('refuses an asset under a name the bundle reader refuses, as packing a plugin does', async () => {
    const dir = await newBundle();
    await writeFile(path.join(dir, '_assets', 'a\\b.svg'), '<svg/>');
    const r = await withBundle(dir, (b) => checkBundle(b, 'x'));
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => [d.code, d.file, d.message])).toEqual([
      [
        'pack/unpackable-name',
        '_assets/a\\b.svg',
        '_assets/a\\b.svg has a \\ in its name, which Dify and Windows read as a directory separator',
      ],
    ]);
  });

  it('warns when the icon is not in _assets/', async () => {
    const dir = await newBundle();
    await rm(path.join(dir, '_assets', 'icon.svg'));
    const r = await withBundle(dir, (b) => checkBundle(b, 'x'));
    const lines = (await readFile(path.join(dir, 'manifest.yaml'), 'utf8')).split('\n');
    expect(r.ok).toBe(true);
    expect(r.diagnostics.map((d) => [d.code, d.severity, d.line])).toEqual([
      ['bundle/icon-missing', 'warning', lines.findIndex((l) => l.startsWith('icon:')) + 1],
    ]);
  });

  it('passes a bundle as init writes it, and reports YAML syntax errors', async () => {
    const dir = await newBundle();
    expect(await withBundle(dir, (b) => checkBundle(b, 'x'))).toMatchObject({
      ok: true,
      diagnostics: [],
      bundle: { name: 'my_bundle', author: 'acme', version: '0.0.1', dependencies: 0 },
    });
    await writeFile(path.join(dir, 'manifest.yaml'), 'name: b\nlabels: [\n');
    const r = await withBundle(dir, (b) => checkBundle(b, 'x'));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['yaml/syntax']);
    expect(r.diagnostics[0]!.line).toBeGreaterThan(1);
  });

  it('refuses a field written twice (the daemon decodes the bundle manifest), not an unknown key written twice', async () => {
    const dir = await newBundle();
    const manifestPath = path.join(dir, 'manifest.yaml');
    const text = await readFile(manifestPath, 'utf8');
    await writeFile(manifestPath, `${text}author: acme\nnotes: a\nnotes: b\n`);
    const r = await withBundle(dir, (b) => checkBundle(b, 'x'));
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['yaml/duplicate-key', 'error'],
      ['bundle/unknown-key', 'warning'],
      ['yaml/duplicate-key-unread', 'warning'],
    ]);
  });
});

describe('bundle regenerate', () => {
  it('asks on a terminal, starting from the manifest, with the init validators', async () => {
    const dir = await newBundle();
    const t = terminal();
    const io: Io = { stdin: t.input, stdout: t.output, stderr: { write: () => true }, env: {}, cwd: path.dirname(dir) };
    const run = bundleRegenerateCommand('my_bundle', {}, io);
    await t.answer('Bundle name', 'Bad Name', KEY.enter);
    await t.answer('use 1-128 lowercase letters');
    t.input.write('\x15renamed' + KEY.enter);
    await t.answer('Author', KEY.enter); // keeps acme
    await t.answer('Description', 'Renamed bundle', KEY.enter);
    await t.answer('Display name', KEY.enter); // the title of the new name
    expect(await run).toBe(0);
    expect(await withBundle(dir, (b) => currentProfile(b))).toEqual({
      name: 'renamed',
      author: 'acme',
      description: 'Renamed bundle',
      label: 'Renamed',
    });
  });

  it('without a terminal takes --name/--author/--description, or exits 2 naming what is missing', async () => {
    const dir = await newBundle();
    const io = quietIo(path.dirname(dir));
    await expect(bundleRegenerateCommand('my_bundle', { name: 'x' }, io)).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('missing --author, --description'),
    });
    await expect(
      bundleRegenerateCommand('my_bundle', { name: 'x', author: 'Bad!', description: 'd' }, io),
    ).rejects.toMatchObject({ exitCode: 2 });
    expect(
      await bundleRegenerateCommand('my_bundle', { name: 'my_bundle', author: 'other', description: 'New words' }, io),
    ).toBe(0);
    expect(await withBundle(dir, (b) => currentProfile(b))).toEqual({
      name: 'my_bundle',
      author: 'other',
      description: 'New words',
      label: 'My Bundle',
    });
  });
});
