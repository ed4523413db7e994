import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planPackage } from '../../src/pack/plan.js';
import { exportRequirementsFromUvLock } from '../../src/pack/uv-export.js';
import { selectFiles } from '../../src/project/file-selection.js';
import { runCli } from '../helpers/cli.js';
import { pluginWith, REAL_FIXTURES, REPO, tempDir } from '../helpers/plugin.js';

/**
 * When a package gets a generated requirements.txt, decided as the Go CLI does (dify-plugin-daemon
 * pkg/plugin_packager/packager/packager.go, generatedFiles): from the files in the plugin
 * directory, whatever the ignore file packs.
 */

/** A real, matching pair: the example plugin gets this project's dependencies. */
const UV_PROJECT = path.join(REAL_FIXTURES, 'self_refine_agent');
const lockText = readFileSync(path.join(UV_PROJECT, 'uv.lock'), 'utf8');
const pyprojectText = readFileSync(path.join(UV_PROJECT, 'pyproject.toml'), 'utf8');
const exported = exportRequirementsFromUvLock(lockText, pyprojectText).text;

/** The example plugin as a uv project: its requirements.txt replaced by pyproject.toml and uv.lock. */
function uvPlugin(overrides: Record<string, string | null> = {}): Promise<string> {
  return pluginWith({
    'requirements.txt': null,
    'pyproject.toml': pyprojectText,
    'uv.lock': lockText,
    ...overrides,
  });
}

/** No uv on the way: the native export runs. */
const noUv = { PATH: '', UV_PATH: undefined };

function unzipNames(file: string): string[] {
  return execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim().split('\n');
}

/** A stand-in for uv that records each run and prints `output`. */
async function fakeUv(output: string): Promise<{ uv: string; runs: () => number }> {
  const bin = await tempDir();
  const uv = path.join(bin, 'uv');
  const log = path.join(bin, 'runs');
  await writeFile(uv, `#!/bin/sh\necho run >> "${log}"\nprintf '%s' '${output}'\n`);
  chmodSync(uv, 0o755);
  return {
    uv,
    runs: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').length : 0),
  };
}

describe('requirements.txt, decided by the plugin directory as the Go CLI does', () => {
  it('an ignored uv.lock still gives requirements.txt, exported from it; dir and package checksums agree', async () => {
    const dir = await uvPlugin({ '.difyignore': 'uv.lock\n' });
    const out = path.join(await tempDir(), 'p.difypkg');
    const packed = await runCli(['plugin', 'package', dir, '-o', out], { env: noUv });
    expect(packed.code).toBe(0);
    const names = unzipNames(out);
    expect(names).toContain('requirements.txt');
    expect(names).toContain('pyproject.toml');
    expect(names).not.toContain('uv.lock');
    expect(execFileSync('unzip', ['-p', out, 'requirements.txt'], { encoding: 'utf8' })).toBe(exported);
    expect(exported).toMatch(/^dify-plugin==/m);

    const ofDir = await runCli(['plugin', 'checksum', dir], { env: noUv });
    const ofPackage = await runCli(['plugin', 'checksum', out]);
    expect(ofDir.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(ofDir.stdout).toBe(ofPackage.stdout);
    expect(packed.stdout).toContain(`checksum ${ofDir.stdout.trim()}`);
  });

  it('an ignored pyproject.toml still gives one too', async () => {
    const dir = await uvPlugin({ '.difyignore': 'pyproject.toml\nuv.lock\n' });
    const plan = await planPackage(dir, selectFiles(dir), { language: 'python', env: { PATH: '' } });
    expect(plan.entries.map((e) => e.name)).not.toContain('pyproject.toml');
    const generated = plan.entries.find((e) => e.name === 'requirements.txt')!;
    expect(generated.generated).toBe(true);
    expect((await generated.read()).toString()).toBe(exported);
  });

  it('a requirements.txt on disk, even ignored, means none is generated (nor packed)', async () => {
    const dir = await uvPlugin({ 'requirements.txt': 'dify_plugin\n', '.difyignore': 'requirements.txt\n' });
    const plan = await planPackage(dir, selectFiles(dir), { language: 'python', env: { PATH: '' } });
    expect(plan.requirements).toBeUndefined();
    expect(plan.entries.map((e) => e.name)).not.toContain('requirements.txt');
    expect(plan.entries.map((e) => e.name)).toContain('uv.lock');
  });

  it('follows symbolic links, and a dangling one is no file', async () => {
    const dir = await uvPlugin({ 'uv.lock': null });
    await symlink(path.join(UV_PROJECT, 'uv.lock'), path.join(dir, 'uv.lock'));
    const linked = await planPackage(dir, selectFiles(dir), { language: 'python', env: { PATH: '' } });
    expect(linked.requirements?.text).toBe(exported);

    await rm(path.join(dir, 'uv.lock'));
    await symlink(path.join(dir, 'nowhere.lock'), path.join(dir, 'uv.lock'));
    const dangling = await planPackage(dir, selectFiles(dir), { language: 'python', env: { PATH: '' } });
    expect(dangling.requirements).toBeUndefined();
  });

  it('needs both pyproject.toml and uv.lock, and a python runner', async () => {
    for (const missing of ['pyproject.toml', 'uv.lock']) {
      const dir = await uvPlugin({ [missing]: null });
      const plan = await planPackage(dir, selectFiles(dir), { language: 'python', env: { PATH: '' } });
      expect(plan.entries.map((e) => e.name)).not.toContain('requirements.txt');
    }
    const dir = await uvPlugin();
    const plan = await planPackage(dir, selectFiles(dir), { language: 'go', env: { PATH: '' } });
    expect(plan.entries.map((e) => e.name)).not.toContain('requirements.txt');
  });

  // The two official plugins whose .difyignore lists uv.lock (their ignore file, pyproject.toml
  // and manifest.yaml copied as published; see test/fixtures/README.md). Their 300 KB locks are
  // replaced by the smallest lock uv would write for the project, to keep the fixtures small.
  it.each(['google_cloud_storage', 'llamacloud'])('official %s: its ignored uv.lock is exported', async (name) => {
    const dir = path.join(await tempDir(), name);
    await cp(path.join(REPO, 'test', 'fixtures', 'ignored-uv-lock', name), dir, { recursive: true });
    const project = /^name = "([^"]+)"/m.exec(readFileSync(path.join(dir, 'pyproject.toml'), 'utf8'))![1]!;
    await writeFile(path.join(dir, 'uv.lock'), minimalLock(project.replace(/[-_.]+/g, '-').toLowerCase()));
    const selection = selectFiles(dir);
    expect(selection.files.map((f) => f.path)).toContain('pyproject.toml');
    expect(selection.files.map((f) => f.path)).not.toContain('uv.lock');
    const plan = await planPackage(dir, selection, { language: 'python', env: { PATH: '' } });
    expect(plan.requirements?.text).toBe('dify-plugin==0.9.0\n');
    expect(plan.entries.find((e) => e.name === 'requirements.txt')?.generated).toBe(true);
  });
});

describe('package --check: uv.lock is checked, not exported', () => {
  it('does not run the export for a sound lock; packing and --list do', async () => {
    const dir = await uvPlugin();
    const { uv, runs } = await fakeUv('requests==2.0.0\n');
    const env = { UV_PATH: uv };
    expect((await runCli(['plugin', 'package', '--check', dir], { env })).code).toBe(0);
    expect(runs()).toBe(0);
    const listed = await runCli(['plugin', 'package', '--list', dir], { env });
    expect(listed.stdout).toMatch(/requirements\.txt {2}\(generated\)/);
    expect(runs()).toBe(1);
    const out = path.join(await tempDir(), 'p.difypkg');
    expect((await runCli(['plugin', 'package', dir, '-o', out], { env })).code).toBe(0);
    expect(runs()).toBe(2);
    expect(execFileSync('unzip', ['-p', out, 'requirements.txt'], { encoding: 'utf8' })).toBe('requests==2.0.0\n');
    // JSON carries the checksum, which covers requirements.txt: exported again.
    await runCli(['plugin', 'package', '--check', '--format', 'json', dir], { env });
    expect(runs()).toBe(3);
  });

  it('reports a lock without the project, as packing would', async () => {
    const dir = await uvPlugin({ 'uv.lock': minimalLock('some-other-project') });
    const r = await runCli(['plugin', 'package', '--check', dir], { env: noUv });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/pack\/requirements-failed/);
    expect(r.stdout).toMatch(/uv\.lock has no package for the project "self-refine-agent"/);
    const packed = await runCli(['plugin', 'package', dir, '-o', path.join(await tempDir(), 'p.difypkg')], {
      env: noUv,
    });
    expect(packed.code).toBe(1);
    expect(packed.stdout).toMatch(/uv\.lock has no package for the project "self-refine-agent"/);
  });

  it('reports a lock that is not TOML', async () => {
    const dir = await uvPlugin({ 'uv.lock': `${lockText}\n<<<<<<< HEAD\n` });
    const r = await runCli(['plugin', 'package', '--check', dir], { env: noUv });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/uv\.lock is not valid TOML/);
  });

  it('leaves the verdict to uv when its own cheap check finds fault', async () => {
    const dir = await uvPlugin({ 'uv.lock': lockText.replace(/^version = 1$/m, 'version = 2') });
    const { uv, runs } = await fakeUv('requests==2.0.0\n');
    const r = await runCli(['plugin', 'package', '--check', dir], { env: { UV_PATH: uv } });
    expect(r.code).toBe(0); // uv read it: so will packing
    expect(runs()).toBe(1);
    const native = await runCli(['plugin', 'package', '--check', dir], { env: noUv });
    expect(native.stdout).toMatch(/unsupported lock version 2/);
  });

  it('exports after all when requirements.txt could tip the package over --max-size', async () => {
    const dir = await uvPlugin();
    const { uv, runs } = await fakeUv('x'.repeat(3000));
    // 1000 bytes under 1 MB without requirements.txt, 2000 over with it
    const files = selectFiles(dir).files.reduce((n, f) => n + f.size, 0);
    await writeFile(path.join(dir, 'filler.bin'), Buffer.alloc(1024 * 1024 - files - 1000));
    expect(selectFiles(dir).files.reduce((n, f) => n + f.size, 0)).toBe(1024 * 1024 - 1000);
    const r = await runCli(['plugin', 'package', '--check', '--max-size', '1', dir], { env: { UV_PATH: uv } });
    expect(runs()).toBe(1);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/pack\/too-large/);
  });
});

describe('a directory that cannot be looked into', () => {
  it('reports what the Go CLI would stop on, rather than failing', async () => {
    const dir = await uvPlugin({ 'uv.lock': null });
    await mkdir(path.join(dir, 'uv.lock')); // there, as far as os.Stat goes; but no file to read
    const r = await runCli(['plugin', 'package', '--check', dir], { env: noUv });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/cannot read uv\.lock/);
  });
});

function minimalLock(project: string): string {
  return [
    'version = 1',
    'revision = 3',
    'requires-python = ">=3.12"',
    '',
    '[[package]]',
    'name = "dify-plugin"',
    'version = "0.9.0"',
    'source = { registry = "https://pypi.org/simple" }',
    '',
    '[[package]]',
    `name = "${project}"`,
    'version = "0.1.0"',
    'source = { virtual = "." }',
    'dependencies = [',
    '    { name = "dify-plugin" },',
    ']',
    '',
  ].join('\n');
}
