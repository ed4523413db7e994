import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, type Dirent } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ZipReader } from '../../src/project/zip-reader.js';
import { writeZip } from '../../src/pack/zip-writer.js';
import { dify, runCli } from '../helpers/cli.js';
import { copyPlugin, EXAMPLE, REAL_FIXTURES, tempDir } from '../helpers/plugin.js';

/** Entry names of a ZIP in central-directory order (directory entries included, if any). */
function zipNames(file: string): string[] {
  const out = execFileSync('zipinfo', ['-1', file], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

async function zipEntry(file: string, name: string): Promise<Buffer> {
  const zip = await ZipReader.open(file, 1 << 30);
  try {
    const entry = zip.contents.entries.find((e) => e.name === name);
    if (!entry) throw new Error(`${name} is not in ${file}`);
    return await zip.read(entry);
  } finally {
    await zip.close();
  }
}

async function checksum(file: string): Promise<string> {
  const r = await runCli(['plugin', 'checksum', file]);
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

/** A bundle as `dify bundle init --quick` writes it, in a fresh directory. */
async function initBundle(name = 'b'): Promise<{ cwd: string; dir: string }> {
  const cwd = await tempDir();
  const r = await runCli(['bundle', 'init', '--quick', '--name', name, '--author', 'a', '--description', 'd'], { cwd });
  expect(r.code).toBe(0);
  return { cwd, dir: path.join(cwd, name) };
}

const run = (args: string[], cwd: string) => runCli(args, { cwd });

let pkgDir: string;
let hello: string; // examples/hello-world packed
let google: string; // a real plugin (a copy of the fixture) packed
let helloSum: string;
let googleSum: string;

beforeAll(async () => {
  pkgDir = await tempDir();
  hello = path.join(pkgDir, 'hello-world.difypkg');
  google = path.join(pkgDir, 'google.difypkg');
  const copy = await copyPlugin(path.join(REAL_FIXTURES, 'google'));
  const [a, b] = await Promise.all([
    runCli(['plugin', 'package', EXAMPLE, '-o', hello]),
    runCli(['plugin', 'package', copy, '-o', google]),
  ]);
  expect([a.code, b.code]).toEqual([0, 0]);
  [helloSum, googleSum] = await Promise.all([checksum(hello), checksum(google)]);
});

describe('dify bundle: init → append → package → read back', () => {
  it('builds a deterministic .difybndl whose packages round-trip unchanged', async () => {
    const { cwd, dir } = await initBundle();
    const manifest = () => readFile(path.join(dir, 'manifest.yaml'), 'utf8');

    // github: the daemon's examples pass, the Go doc comment's form (no colon) does not.
    for (const p of [
      'owner/repo:1.0.0/manifest.yaml',
      'owner/repo:^1.0.0/plugin.difypkg',
      'owner/repo:1.x.x/plugin.difypkg',
      'owner/repo:1.0.0-2.0.0/plugin.difypkg',
    ]) {
      const r = await run(['bundle', 'append', 'github', 'b', '-r', p], cwd);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Added github dependency`);
    }
    let before = await manifest();
    for (const p of [
      'owner/repo/1.0.0/manifest.yaml',
      'Owner/repo:1.0.0/x.difypkg',
      'owner/repo:1.0/x.difypkg',
      'owner/repo:1.0.0',
    ]) {
      const r = await run(['bundle', 'append', 'github', 'b', '--repo_pattern', p], cwd);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error: invalid github repo pattern "${p}"`);
      expect(r.stderr).toMatch(/hint: write owner\/repo:version\/asset/);
    }
    expect(await manifest()).toBe(before);

    // marketplace
    expect((await run(['bundle', 'append', 'marketplace', 'b', '-m', 'langgenius/openai:0.0.1'], cwd)).code).toBe(0);
    expect(
      (await run(['bundle', 'append', 'marketplace', 'b', '--marketplace_pattern', 'langgenius/openai:~0.1.0'], cwd))
        .code,
    ).toBe(0);
    before = await manifest();
    for (const p of ['langgenius/openai', 'langgenius/openai:0.0.1/openai.difypkg', 'langgenius/openai:latest']) {
      const r = await run(['bundle', 'append', 'marketplace', 'b', '-m', p], cwd);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`invalid marketplace pattern "${p}"`);
    }
    expect(await manifest()).toBe(before);

    // packages: the same one twice is stored and listed once
    const first = await run(['bundle', 'append', 'package', 'b', '-p', hello], cwd);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`Added package dependency [6] dify-plugin-cli/hello_world:0.0.1@${helloSum}`);
    expect(first.stdout).toContain(`stored as _assets/${helloSum}`);
    const twice = await run(['bundle', 'append', 'package', 'b', '--package_path', hello], cwd);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toContain('is already dependency [6]');
    expect((await run(['bundle', 'append', 'package', 'b', '-p', google], cwd)).code).toBe(0);
    expect(readdirSync(path.join(dir, '_assets')).sort()).toEqual([googleSum, helloSum, 'icon.svg'].sort());
    const text = await manifest();
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=/);
    expect(text.match(/type: package/g)).toHaveLength(2);

    // package, twice: identical bytes, deterministic names and order, no directory entries
    const r = await run(['bundle', 'package', 'b'], cwd);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✓ Packaged b\.difybndl \(5 files, [\d.]+ KB\)/);
    const again = await run(['bundle', 'package', 'b', '-o', 'again.difybndl'], cwd);
    expect(again.code).toBe(0);
    const out = path.join(cwd, 'b.difybndl');
    expect(readFileSync(out).equals(readFileSync(path.join(cwd, 'again.difybndl')))).toBe(true);
    const names = zipNames(out);
    const sums = [helloSum, googleSum].sort();
    expect(names).toEqual([
      'manifest.yaml',
      `_assets/${sums[0]}`,
      `_assets/${sums[1]}`,
      '_assets/icon.svg',
      'README.md',
    ]);
    expect(names.some((n) => n.endsWith('/') || n.includes('\\'))).toBe(false);
    expect(execFileSync('unzip', ['-t', out], { encoding: 'utf8' })).toContain('No errors detected');
    expect(execFileSync('unzip', ['-l', out], { encoding: 'utf8' })).toContain(`_assets/${helloSum}`);
    expect((await zipEntry(out, 'manifest.yaml')).toString('utf8')).toBe(text);

    // the embedded packages are the same bytes, so the same checksums
    for (const [file, sum] of [
      [hello, helloSum],
      [google, googleSum],
    ] as const) {
      const embedded = await zipEntry(out, `_assets/${sum}`);
      expect(embedded.equals(readFileSync(file))).toBe(true);
      const extracted = path.join(pkgDir, `extracted-${sum}.difypkg`);
      await writeFile(extracted, embedded);
      expect(await checksum(extracted)).toBe(sum);
    }

    // the archive reads back as a bundle: --check and analyze (through the plugin alias)
    expect((await run(['bundle', 'package', '--check', 'b.difybndl'], cwd)).code).toBe(0);
    const analyzed = await run(['plugin', 'bundle', 'analyze', 'b.difybndl'], cwd);
    expect(analyzed.code, analyzed.stderr).toBe(0);
    expect(analyzed.stdout).toContain('b.difybndl (a/b:0.0.1): 8 dependencies');
    expect(analyzed.stdout).toMatch(
      /\[0\] github +owner\/repo:1\.0\.0\/manifest\.yaml\n +repo +https:\/\/github\.com\/owner\/repo\n +release +1\.0\.0\n +asset +manifest\.yaml/,
    );
    expect(analyzed.stdout).toMatch(
      /\[5\] marketplace +langgenius\/openai:~0\.1\.0\n +organization +langgenius\n +plugin +openai\n +version +~0\.1\.0/,
    );
    expect(analyzed.stdout).toMatch(
      new RegExp(
        `\\[6\\] package +_assets/${helloSum}\\n +size +[\\d.]+ KB \\(\\d+ bytes\\)\\n +plugin +dify-plugin-cli/hello_world:0\\.0\\.1 \\(tool\\)`,
      ),
    );
    const json = await run(['bundle', 'analyze', 'b', '--format', 'json'], cwd);
    const doc = JSON.parse(json.stdout) as {
      ok: boolean;
      dependencies: { index: number; type: string; size?: number; identity?: { name: string; checksum: string } }[];
    };
    expect(doc.ok).toBe(true);
    expect(doc.dependencies.map((d) => d.type)).toEqual([
      'github',
      'github',
      'github',
      'github',
      'marketplace',
      'marketplace',
      'package',
      'package',
    ]);
    expect(doc.dependencies[7]).toMatchObject({ size: readFileSync(google).length, identity: { checksum: googleSum } });
  });
});

describe('dify bundle remove / bump', () => {
  async function bundleWithPackages(): Promise<{ cwd: string; dir: string }> {
    const b = await initBundle();
    expect((await run(['bundle', 'append', 'marketplace', 'b', '-m', 'langgenius/openai:0.0.1'], b.cwd)).code).toBe(0);
    expect((await run(['bundle', 'append', 'package', 'b', '-p', hello], b.cwd)).code).toBe(0);
    expect((await run(['bundle', 'append', 'package', 'b', '-p', google], b.cwd)).code).toBe(0);
    return b;
  }

  it('removes the dependency and its package file from a directory bundle', async () => {
    const { cwd, dir } = await bundleWithPackages();
    const r = await run(['bundle', 'remove', 'b', '-i', '1'], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Removed dependency [1] (package _assets/${helloSum})`);
    expect(r.stdout).toContain(`deleted _assets/${helloSum}`);
    expect(existsSync(path.join(dir, '_assets', helloSum))).toBe(false);
    expect(readdirSync(path.join(dir, '_assets')).sort()).toEqual([googleSum, 'icon.svg'].sort());
    expect(await readFile(path.join(dir, 'manifest.yaml'), 'utf8')).not.toContain(helloSum);
    // out of range: exit 1, nothing changed; not a number: exit 2
    const manifest = await readFile(path.join(dir, 'manifest.yaml'), 'utf8');
    const out = await run(['bundle', 'remove', 'b', '--index', '2'], cwd);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('error: index 2 is out of range: the bundle has 2 dependencies (indexes 0 to 1)');
    expect((await run(['bundle', 'remove', 'b', '-i', 'one'], cwd)).code).toBe(2);
    expect((await run(['bundle', 'remove', 'b'], cwd)).code).toBe(2); // -i is required
    expect(await readFile(path.join(dir, 'manifest.yaml'), 'utf8')).toBe(manifest);
  });

  it('rewrites a .difybndl in place without the removed package', async () => {
    const { cwd } = await bundleWithPackages();
    expect((await run(['bundle', 'package', 'b'], cwd)).code).toBe(0);
    const file = path.join(cwd, 'b.difybndl');
    expect(zipNames(file)).toContain(`_assets/${googleSum}`);
    const r = await run(['bundle', 'remove', 'b.difybndl', '-i', '2'], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(zipNames(file)).toEqual(['manifest.yaml', `_assets/${helloSum}`, '_assets/icon.svg', 'README.md']);
    expect((await zipEntry(file, 'manifest.yaml')).toString('utf8')).not.toContain(googleSum);
    expect(readdirSync(cwd).sort()).toEqual(['b', 'b.difybndl']); // no temporary file left
    expect((await run(['bundle', 'remove', 'b.difybndl', '-i', '9'], cwd)).code).toBe(1);
    // appending to the archive works the same way
    const back = await run(['bundle', 'append', 'package', 'b.difybndl', '-p', google], cwd);
    expect(back.code, back.stderr).toBe(0);
    expect(zipNames(file)).toEqual([
      'manifest.yaml',
      ...[helloSum, googleSum].sort().map((s) => `_assets/${s}`),
      '_assets/icon.svg',
      'README.md',
    ]);
  });

  it('append package refuses a file that is not a valid plugin package', async () => {
    const { cwd, dir } = await initBundle();
    const manifest = await readFile(path.join(dir, 'manifest.yaml'), 'utf8');
    const broken = await copyPlugin(EXAMPLE);
    await writeFile(
      path.join(broken, 'manifest.yaml'),
      (await readFile(path.join(broken, 'manifest.yaml'), 'utf8')).replace(/^version: .*$/m, 'version: banana'),
    );
    const bad = path.join(cwd, 'bad.difypkg');
    const files = (readdirSync(broken, { recursive: true, withFileTypes: true }) as Dirent[]).filter((e) => e.isFile());
    await writeZip(
      bad,
      files.map((e) => ({
        name: path.relative(broken, path.join(e.parentPath, e.name)).split(path.sep).join('/'),
        read: () => readFile(path.join(e.parentPath, e.name)),
      })),
    );
    const r = await run(['bundle', 'append', 'package', 'b', '-p', 'bad.difypkg'], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('manifest/version-pattern');
    expect(r.stderr).toContain('error: bad.difypkg is not a valid plugin package');
    await writeFile(path.join(cwd, 'notes.difypkg'), 'not a zip');
    expect((await run(['bundle', 'append', 'package', 'b', '-p', 'notes.difypkg'], cwd)).code).toBe(1);
    expect((await run(['bundle', 'append', 'package', 'b', '-p', 'missing.difypkg'], cwd)).code).toBe(1);
    expect(await readFile(path.join(dir, 'manifest.yaml'), 'utf8')).toBe(manifest);
    expect(readdirSync(path.join(dir, '_assets'))).toEqual(['icon.svg']);
  });

  it('refuses to treat a plugin as a bundle, and leaves its manifest alone', async () => {
    const plugin = await copyPlugin(EXAMPLE);
    const before = await readFile(path.join(plugin, 'manifest.yaml'), 'utf8');
    for (const args of [
      ['bundle', 'bump', plugin, '-t', '9.9.9'],
      ['bundle', 'append', 'marketplace', plugin, '-m', 'a/b:1.0.0'],
      ['bundle', 'analyze', plugin],
    ]) {
      const r = await run(args, path.dirname(plugin));
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/is not a bundle: its manifest\.yaml says type: plugin/);
    }
    expect(await readFile(path.join(plugin, 'manifest.yaml'), 'utf8')).toBe(before);
  });

  it('embedded packages are read without their extension, as the daemon reads them', async () => {
    const dir = await tempDir();
    await cp(hello, path.join(dir, 'embedded'));
    expect(await checksum(path.join(dir, 'embedded'))).toBe(await checksum(hello));
  });

  it('bump accepts the daemon version format only', async () => {
    const { cwd, dir } = await initBundle();
    const ok = await run(['bundle', 'bump', 'b', '-t', '1.2.3-beta'], cwd);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('version 0.0.1 → 1.2.3-beta');
    expect(await readFile(path.join(dir, 'manifest.yaml'), 'utf8')).toContain('version: "1.2.3-beta"');
    for (const bad of ['1.2', 'v1.0.0', '1.0.0.0', '10000.0.0']) {
      const r = await run(['bundle', 'bump', 'b', '--target_version', bad], cwd);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`invalid version "${bad}"`);
    }
    expect(await readFile(path.join(dir, 'manifest.yaml'), 'utf8')).toContain('version: "1.2.3-beta"');
  });
});

describe('dify bundle package', () => {
  it('--check reports schema errors at manifest.yaml:line:col and package writes nothing then', async () => {
    const { cwd, dir } = await initBundle();
    const manifestPath = path.join(dir, 'manifest.yaml');
    const text = (await readFile(manifestPath, 'utf8'))
      .replace('version: "0.0.1"', 'version: "0.1"')
      .replace(
        'dependencies: []',
        'dependencies:\n  - type: marketplace\n    value:\n      marketplace_pattern: openai',
      );
    await writeFile(manifestPath, text);
    const line = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const r = await run(['bundle', 'package', '--check', 'b'], cwd);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`b/manifest.yaml:${line('version:')}:10 error bundle/version-pattern`);
    expect(r.stdout).toContain(
      `b/manifest.yaml:${line('marketplace_pattern:')}:28 error bundle/dependencies.value.marketplace_pattern-pattern`,
    );
    const json = await run(['bundle', 'package', '--check', 'b', '--format', 'json'], cwd);
    const doc = JSON.parse(json.stdout) as {
      ok: boolean;
      results: { diagnostics: { code: string; file: string; line: number }[] }[];
    };
    expect(doc.ok).toBe(false);
    expect(doc.results[0]!.diagnostics.map((d) => [d.code, d.file, d.line])).toEqual([
      ['bundle/version-pattern', 'manifest.yaml', line('version:')],
      ['bundle/dependencies.value.marketplace_pattern-pattern', 'manifest.yaml', line('marketplace_pattern:')],
    ]);
    const pack = await run(['bundle', 'package', 'b'], cwd);
    expect(pack.code).toBe(1);
    expect(readdirSync(cwd)).toEqual(['b']);
  });

  it('never overwrites a user file at -o without --force, but replaces an earlier bundle', async () => {
    const { cwd } = await initBundle();
    const target = path.join(cwd, 'out.difybndl');
    await writeFile(target, 'my notes, not a bundle');
    const refused = await run(['bundle', 'package', 'b', '-o', target], cwd);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /exists and is not a Dify package or bundle \(a \.difypkg or \.difybndl\); not overwriting it/,
    );
    expect(readFileSync(target, 'utf8')).toBe('my notes, not a bundle');
    expect((await run(['bundle', 'package', 'b', '-o', target, '--force'], cwd)).code).toBe(0);
    expect((await run(['bundle', 'package', 'b', '-o', target], cwd)).code).toBe(0); // a bundle now
    expect(zipNames(target)[0]).toBe('manifest.yaml');
  });

  it('names the bundle after the directory for "."; usage errors exit 2', async () => {
    const { dir } = await initBundle('my_bundle');
    const out = await tempDir();
    await cp(dir, path.join(out, 'my_bundle'), { recursive: true });
    const r = await run(['bundle', 'package', '.', '--format', 'json'], path.join(out, 'my_bundle'));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      results: [{ path: '.', output: 'my_bundle.difybndl', files: 3 }],
    });
    expect((await run(['bundle', 'package', 'a', 'b'], out)).code).toBe(2);
    expect((await run(['bundle', 'append', 'github', 'my_bundle'], out)).code).toBe(2); // -r is required
    const missing = await run(['bundle', 'analyze', 'nowhere'], out);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
  });

  it('regenerate without a terminal takes flags or names what is missing (exit 2)', async () => {
    const { cwd, dir } = await initBundle();
    const missing = await run(['bundle', 'regenerate', 'b', '--name', 'nb'], cwd);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing --author, --description');
    const r = await run(
      ['plugin', 'bundle', 'regenerate', 'b', '--name', 'nb', '--author', 'na', '--description', 'New words'],
      cwd,
    );
    expect(r.code, r.stderr).toBe(0);
    const text = await readFile(path.join(dir, 'manifest.yaml'), 'utf8');
    expect(text).toContain('name: "nb"');
    expect(text).toContain('author: "na"');
    expect(text).toContain('  pt_BR: "Nb"');
    expect(text).toContain('  ja_JP: "New words"');
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server/);
  });
});

/** Every file below `dir` (links not followed) with its bytes or link target: proof nothing changed there. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[]) {
    const p = path.join(e.parentPath, e.name);
    const name = path.relative(dir, p);
    if (e.isSymbolicLink()) out[name] = `-> ${readlinkSync(p)}`;
    else if (e.isFile()) out[name] = readFileSync(p, 'base64');
  }
  return out;
}

/** A place outside every bundle holding a secret, and the snapshot to compare it with. */
async function outsideWithSecret(): Promise<{ outside: string; before: Record<string, string> }> {
  const outside = await tempDir();
  await writeFile(path.join(outside, 'id_rsa'), '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n');
  return { outside, before: snapshot(outside) };
}

/** Refused with one error line and the hint, no stack trace. */
function expectRefused(r: { code: number | null; stdout: string; stderr: string }, message: RegExp): void {
  const all = r.stdout + r.stderr;
  expect(r.code, all).toBe(1);
  expect(all).toMatch(message);
  expect(all).toContain('bundle commands read and write only inside the bundle');
  expect(all).not.toMatch(/\n\s+at /);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('dify bundle never follows a link out of the bundle', () => {
  it('a linked _assets/ leading outside: every command refuses the bundle and nothing outside is read, written or deleted', async () => {
    const { cwd, dir } = await initBundle();
    const { outside, before } = await outsideWithSecret();
    const manifestPath = path.join(dir, 'manifest.yaml');
    // A package dependency naming the secret, as an attacker's bundle would.
    await writeFile(
      manifestPath,
      (await readFile(manifestPath, 'utf8')).replace(
        'dependencies: []',
        'dependencies:\n  - type: package\n    value:\n      path: id_rsa',
      ),
    );
    await rm(path.join(dir, '_assets'), { recursive: true });
    await symlink(outside, path.join(dir, '_assets'));
    const manifest = await readFile(manifestPath, 'utf8');
    const message = new RegExp(`_assets in .*b is a link outside the bundle, to ${escape(realpathSync(outside))}`);
    for (const args of [
      ['bundle', 'package', 'b'],
      ['bundle', 'package', '--check', 'b'],
      ['bundle', 'analyze', 'b'],
      ['bundle', 'remove', 'b', '-i', '0'],
      ['bundle', 'bump', 'b', '-t', '0.0.2'],
      ['bundle', 'regenerate', 'b', '--name', 'nb', '--author', 'a', '--description', 'd'],
      ['bundle', 'append', 'marketplace', 'b', '-m', 'langgenius/openai:0.0.1'],
      ['bundle', 'append', 'package', 'b', '-p', hello],
    ]) {
      expectRefused(await run(args, cwd), message);
    }
    const json = await run(['bundle', 'package', '--check', 'b', '--format', 'json'], cwd);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      results: [{ diagnostics: [{ code: 'bundle/link-outside' }] }],
    });
    expect(snapshot(outside)).toEqual(before);
    expect(await readFile(manifestPath, 'utf8')).toBe(manifest);
    expect(readdirSync(cwd)).toEqual(['b']);
  });

  it('refuses a file link leading outside, a link to nothing, a chain ending outside, a linked directory, a loop', async () => {
    const { outside, before } = await outsideWithSecret();
    const secret = realpathSync(path.join(outside, 'id_rsa'));
    const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
      [
        'an embedded package linked to a file outside',
        (dir) => symlink(secret, path.join(dir, '_assets', helloSum)),
        new RegExp(`_assets/${helloSum} in .* is a link outside the bundle, to ${escape(secret)}`),
      ],
      [
        // writing the package there would create a file outside
        'an embedded package linked to nothing, outside',
        (dir) => symlink(path.join(outside, 'new.difypkg'), path.join(dir, '_assets', helloSum)),
        new RegExp(`_assets/${helloSum} in .* is a link to nothing \\(${escape(path.join(outside, 'new.difypkg'))}\\)`),
      ],
      [
        'a chain of links that ends outside',
        async (dir) => {
          await symlink(secret, path.join(dir, 'second'));
          await symlink('../second', path.join(dir, '_assets', 'first'));
        },
        new RegExp(`_assets/first in .* is a link outside the bundle, to ${escape(secret)}`),
      ],
      [
        'a linked directory in _assets/',
        (dir) => symlink(outside, path.join(dir, '_assets', 'keys')),
        new RegExp(`_assets/keys in .* is a link outside the bundle`),
      ],
      [
        'a loop',
        (dir) => symlink('loop', path.join(dir, '_assets', 'loop')),
        /_assets\/loop in .* is a link that loops/,
      ],
      [
        'a README linked outside',
        async (dir) => {
          await rm(path.join(dir, 'README.md'));
          await symlink(secret, path.join(dir, 'README.md'));
        },
        /README\.md in .* is a link outside the bundle/,
      ],
      [
        'a manifest linked outside',
        async (dir) => {
          await cp(path.join(dir, 'manifest.yaml'), path.join(outside, 'manifest.yaml'));
          await rm(path.join(dir, 'manifest.yaml'));
          await symlink(path.join(outside, 'manifest.yaml'), path.join(dir, 'manifest.yaml'));
        },
        /manifest\.yaml in .* is a link outside the bundle/,
      ],
    ];
    for (const [what, build, message] of cases) {
      const { cwd, dir } = await initBundle();
      await build(dir);
      const inBundle = snapshot(dir);
      const outsideNow = snapshot(outside);
      expectRefused(await run(['bundle', 'append', 'package', 'b', '-p', hello], cwd), message);
      expectRefused(await run(['bundle', 'package', 'b'], cwd), message);
      expectRefused(await run(['bundle', 'bump', 'b', '-t', '0.0.2'], cwd), message);
      expect(snapshot(dir), what).toEqual(inBundle);
      expect(snapshot(outside), what).toEqual(outsideNow);
      expect(readdirSync(cwd), what).toEqual(['b']);
    }
    expect(snapshot(outside)).toEqual({ ...before, 'manifest.yaml': expect.any(String) });
  });

  it('follows links that stay inside the bundle; remove deletes a link, not its target', async () => {
    const { cwd, dir } = await initBundle();
    // _assets/ is a link to store/, the package a link to pkgs/, the README a link to docs/
    await rename(path.join(dir, '_assets'), path.join(dir, 'store'));
    await symlink('store', path.join(dir, '_assets'));
    await mkdir(path.join(dir, 'pkgs'));
    await cp(hello, path.join(dir, 'pkgs', 'hello.difypkg'));
    await symlink('../pkgs/hello.difypkg', path.join(dir, 'store', helloSum));
    await mkdir(path.join(dir, 'docs'));
    await rename(path.join(dir, 'README.md'), path.join(dir, 'docs', 'README.md'));
    await symlink('docs/README.md', path.join(dir, 'README.md'));
    const added = await run(['bundle', 'append', 'package', 'b', '-p', hello], cwd);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(`already stored as _assets/${helloSum}`);
    const packed = await run(['bundle', 'package', 'b'], cwd);
    expect(packed.code, packed.stdout).toBe(0);
    const out = path.join(cwd, 'b.difybndl');
    expect(zipNames(out)).toEqual(['manifest.yaml', `_assets/${helloSum}`, '_assets/icon.svg', 'README.md']);
    expect((await zipEntry(out, `_assets/${helloSum}`)).equals(readFileSync(hello))).toBe(true);
    const removed = await run(['bundle', 'remove', 'b', '-i', '0'], cwd);
    expect(removed.code, removed.stderr).toBe(0);
    expect(readdirSync(path.join(dir, 'store'))).toEqual(['icon.svg']);
    expect(readFileSync(path.join(dir, 'pkgs', 'hello.difypkg')).equals(readFileSync(hello))).toBe(true);
  });

  it('a dependency path with .. names no file outside _assets/: reported missing, never deleted', async () => {
    const { cwd, dir } = await initBundle();
    await cp(hello, path.join(cwd, 'outside.difypkg'));
    const manifestPath = path.join(dir, 'manifest.yaml');
    await writeFile(
      manifestPath,
      (await readFile(manifestPath, 'utf8')).replace(
        'dependencies: []',
        'dependencies:\n  - type: package\n    value:\n      path: ../../outside.difypkg\n  - type: package\n    value:\n      path: ../README.md',
      ),
    );
    const check = await run(['bundle', 'package', '--check', 'b'], cwd);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(
      'dependencies[0] is the package _assets/../../outside.difypkg, which is not in the bundle',
    );
    expect(check.stdout).toContain('dependencies[1] is the package _assets/../README.md, which is not in the bundle');
    expect((await run(['bundle', 'analyze', 'b'], cwd)).stdout).toContain('_assets/../README.md is not in the bundle');
    expect((await run(['bundle', 'remove', 'b', '-i', '1'], cwd)).code).toBe(0);
    expect((await run(['bundle', 'remove', 'b', '-i', '0'], cwd)).code).toBe(0);
    expect(existsSync(path.join(cwd, 'outside.difypkg'))).toBe(true);
    expect(existsSync(path.join(dir, 'README.md'))).toBe(true);
  });

  it('the binary refuses a linked _assets/ with one line and a hint: no stack trace, no Node warning', async () => {
    const { cwd, dir } = await initBundle();
    const { outside } = await outsideWithSecret();
    await rm(path.join(dir, '_assets'), { recursive: true });
    await symlink(outside, path.join(dir, '_assets'));
    const r = await dify(['bundle', 'analyze', 'b'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `error: _assets in ${dir} is a link outside the bundle, to ${realpathSync(outside)}`,
      expect.stringMatching(/^hint: bundle commands read and write only inside the bundle/),
    ]);
  });
});

describe('dify bundle package checks embedded packages as analyze does', () => {
  it('refuses junk and a ZIP with no manifest in _assets/, with --check and without, in a directory and a .difybndl', async () => {
    const { cwd, dir } = await initBundle();
    await writeFile(path.join(dir, '_assets', 'junk.difypkg'), randomBytes(2048));
    await writeZip(path.join(dir, '_assets', 'empty.difypkg'), [
      { name: 'notes.txt', read: async () => Buffer.from('no manifest here') },
    ]);
    const manifestPath = path.join(dir, 'manifest.yaml');
    const text = (await readFile(manifestPath, 'utf8')).replace(
      'dependencies: []',
      'dependencies:\n  - type: package\n    value:\n      path: junk.difypkg\n  - type: package\n    value:\n      path: empty.difypkg',
    );
    await writeFile(manifestPath, text);
    const line = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const check = await run(['bundle', 'package', '--check', 'b'], cwd);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(
      new RegExp(
        `b/manifest.yaml:${line('junk.difypkg')}:\\d+ error bundle/package-invalid dependencies\\[0\\] is the package _assets/junk.difypkg, which cannot be installed`,
      ),
    );
    expect(check.stdout).toMatch(
      new RegExp(
        `b/manifest.yaml:${line('empty.difypkg')}:\\d+ error bundle/package-invalid dependencies\\[1\\] is the package _assets/empty.difypkg, which cannot be installed: .*manifest`,
      ),
    );
    // the same problems analyze lists, one finding each
    const analyzed = JSON.parse((await run(['bundle', 'analyze', 'b', '--format', 'json'], cwd)).stdout) as {
      dependencies: { path: string; problems: string[] }[];
    };
    const problems = analyzed.dependencies.flatMap((d, i) =>
      d.problems.map((p) => `dependencies[${i}] is the package _assets/${d.path}, which cannot be installed: ${p}`),
    );
    expect(problems.length).toBeGreaterThanOrEqual(2);
    for (const p of problems) expect(check.stdout).toContain(p);
    const pack = await run(['bundle', 'package', 'b'], cwd);
    expect(pack.code).toBe(1);
    expect(readdirSync(cwd)).toEqual(['b']);
    // the same bundle as a .difybndl
    const zipped = path.join(cwd, 'z.difybndl');
    await writeZip(zipped, [
      { name: 'manifest.yaml', read: async () => Buffer.from(text) },
      { name: '_assets/junk.difypkg', read: () => readFile(path.join(dir, '_assets', 'junk.difypkg')) },
      { name: '_assets/empty.difypkg', read: () => readFile(path.join(dir, '_assets', 'empty.difypkg')) },
      { name: '_assets/icon.svg', read: () => readFile(path.join(dir, '_assets', 'icon.svg')) },
    ]);
    const z = await run(['bundle', 'package', '--check', 'z.difybndl', '--format', 'json'], cwd);
    expect(z.code).toBe(1);
    const doc = JSON.parse(z.stdout) as { results: { diagnostics: { code: string }[] }[] };
    expect(doc.results[0]!.diagnostics.map((d) => d.code)).toEqual([
      'bundle/package-invalid',
      'bundle/package-invalid',
    ]);
  });
  // dify-plugin-daemon's own upload tests store `_assets/valid.difypkg`; the daemon installs a
  // package dependency whatever its name, so analyze and --check must both accept it.
  it('accepts a valid package under any name, in analyze and --check alike', async () => {
    for (const name of ['valid.difypkg', 'renamed']) {
      const { cwd } = await bundleWith(name, await readFile(hello));
      const check = await run(['bundle', 'package', '--check', '--strict', 'b'], cwd);
      expect(check.code, check.stdout).toBe(0);
      expect(check.stdout).toContain('✓ no problems');
      const analyzed = await run(['bundle', 'analyze', 'b'], cwd);
      expect(analyzed.code).toBe(0);
      expect(analyzed.stdout).toContain(`checksum      ${helloSum}`);
      expect(analyzed.stdout).not.toMatch(/⚠|cannot be installed/);
    }
  });
  it('warns in both when a checksum-named package is not that checksum: it changed after bundle append', async () => {
    const stale = 'f'.repeat(64);
    const { cwd } = await bundleWith(stale, await readFile(hello));
    const check = await run(['bundle', 'package', '--check', 'b'], cwd);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(
      new RegExp(
        `warning bundle/package-renamed dependencies\\[0\\] is the package _assets/${stale}: its checksum is ${helloSum}`,
      ),
    );
    expect((await run(['bundle', 'package', '--check', '--strict', 'b'], cwd)).code).toBe(1);
    const analyzed = await run(['bundle', 'analyze', 'b'], cwd);
    expect(analyzed.code).toBe(0);
    expect(analyzed.stdout).toContain(`⚠ its checksum is ${helloSum}, not its name`);
    expect(analyzed.stdout).not.toContain('cannot be installed');
  });
});

/** A new bundle `b` whose one dependency is the package `_assets/<name>` holding `bytes`. */
async function bundleWith(name: string, bytes: Buffer): Promise<{ cwd: string; dir: string }> {
  const { cwd, dir } = await initBundle();
  await writeFile(path.join(dir, '_assets', name), bytes);
  const manifestPath = path.join(dir, 'manifest.yaml');
  await writeFile(
    manifestPath,
    (await readFile(manifestPath, 'utf8')).replace(
      'dependencies: []',
      `dependencies:\n  - type: package\n    value:\n      path: ${name}`,
    ),
  );
  return { cwd, dir };
}

describe('dify bundle init --force into a directory with links', () => {
  it('refuses a link leading outside or to nothing, before writing anything', async () => {
    const { outside, before } = await outsideWithSecret();
    const secret = realpathSync(path.join(outside, 'id_rsa'));
    const cases: [(dir: string) => Promise<void>, RegExp][] = [
      [(dir) => symlink(outside, path.join(dir, '_assets')), /_assets in .*b is a link outside it, to /],
      [(dir) => symlink(secret, path.join(dir, 'README.md')), /README\.md in .*b is a link outside it, to /],
      [
        (dir) => symlink(path.join(outside, 'new'), path.join(dir, 'manifest.yaml')),
        /manifest\.yaml in .*b is a link to nothing/,
      ],
    ];
    for (const [build, message] of cases) {
      const cwd = await tempDir();
      const dir = path.join(cwd, 'b');
      await mkdir(dir);
      await build(dir);
      const inBundle = snapshot(dir);
      const r = await run(
        ['bundle', 'init', '--quick', '--force', '--name', 'b', '--author', 'a', '--description', 'd'],
        cwd,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('hint: remove the link, or create the project in another directory');
      expect(snapshot(dir)).toEqual(inBundle);
      expect(snapshot(outside)).toEqual(before);
    }
  });
});
