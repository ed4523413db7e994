// The launcher's V8 code cache (bin/dify.js): made by the first run in the user's cache directory,
// reused, extended by a run of another command, replaced when V8 rejects it, never written into
// the installed package, and never a reason for a run to fail or to print anything.
import { spawn } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { type CliResult, cliEnv } from '../helpers/cli.js';
import { EXAMPLE, REPO, tempDir } from '../helpers/plugin.js';

const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/** A copy of what npm installs that the launcher reads: bin/, dist/dify.cjs and package.json. */
async function install(): Promise<string> {
  const root = await tempDir();
  await Promise.all(['bin', 'dist'].map((d) => mkdir(path.join(root, d))));
  await Promise.all(
    ['bin/dify.js', 'bin/package.json', 'dist/dify.cjs', 'package.json'].map((f) =>
      copyFile(path.join(REPO, f), path.join(root, f)),
    ),
  );
  return root;
}

/** Every file and directory below `dir` with its size and modification time. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => {
      const s = statSync(path.join(dir, name));
      return `${name} ${s.size} ${s.mtimeMs} ${s.mode}`;
    })
    .sort();
}

function launch(pkg: string, args: string[], env: Record<string, string>, uid?: number): Promise<CliResult> {
  const child = spawn(process.execPath, [path.join(pkg, 'bin', 'dify.js'), ...args], {
    cwd: '/',
    env: cliEnv({ PATH: '', ...env }), // no Python for the check to start
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  onTestFinished(() => void child.kill());
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function version(pkg: string, env: Record<string, string>, uid?: number): Promise<void> {
  expect(await launch(pkg, ['version'], env, uid)).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
}

const NAME = new RegExp(
  `^${VERSION.replaceAll('.', '\\.')}-[0-9a-f]{16}-node${process.versions.node}-${process.arch}\\.v8cache$`,
);
const head = (file: string) => readFileSync(file, 'latin1').split('\n', 1)[0];

it('is made in $XDG_CACHE_HOME by the first run, private, reused, and extended by another command', async () => {
  const pkg = await install();
  const installed = tree(pkg);
  const env = { XDG_CACHE_HOME: await tempDir() };
  const dir = path.join(env.XDG_CACHE_HOME, 'dify-plugin-cli');

  await version(pkg, env);
  const [name] = readdirSync(dir);
  expect(readdirSync(dir)).toHaveLength(1);
  expect(name).toMatch(NAME);
  const file = path.join(dir, name!);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(head(file)).toBe('dify-code-cache 1 version');
  const first = statSync(file);

  await version(pkg, env);
  expect(statSync(file)).toMatchObject({ ino: first.ino, mtimeMs: first.mtimeMs }); // used as it was

  // A check compiles code that `version` did not: the cache is rewritten with it added.
  const check = await launch(pkg, ['plugin', 'package', '--check', EXAMPLE], env);
  expect(check).toMatchObject({ code: 0, stderr: '' });
  expect(head(file)).toBe('dify-code-cache 1 version,plugin package');
  expect(statSync(file).size).toBeGreaterThan(first.size);

  expect(tree(pkg)).toEqual(installed);

  // Another build (the same length, as V8 would not notice) has a cache of its own.
  const bundle = path.join(pkg, 'dist', 'dify.cjs');
  const code = readFileSync(bundle, 'latin1');
  await writeFile(bundle, code.replace(/ build [0-9a-f]{16}/, ' build 0123456789abcdef'), 'latin1');
  await version(pkg, env);
  expect(readdirSync(dir).sort()).toEqual(
    [`${VERSION}-0123456789abcdef-node${process.versions.node}-${process.arch}.v8cache`, name].sort(),
  );
});

it('replaces a cache V8 rejects or a link, and removes what other builds left days ago, without a word', async () => {
  const pkg = await install();
  const env = { XDG_CACHE_HOME: await tempDir() };
  const dir = path.join(env.XDG_CACHE_HOME, 'dify-plugin-cli');
  await version(pkg, env);
  const [name] = readdirSync(dir);
  const file = path.join(dir, name!);
  const good = statSync(file).size;

  await writeFile(file, 'dify-code-cache 1 version\nnot V8 code', { mode: 0o600 });
  const stale = ['0.0.1-0123456789abcdef-node20.15.0-x64.v8cache', '.1234-1700000000000.tmp'];
  const recent = '0.0.2-0123456789abcdef-node20.15.0-x64.v8cache';
  for (const f of [...stale, recent]) await writeFile(path.join(dir, f), 'old', { mode: 0o600 });
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
  for (const f of stale) await utimes(path.join(dir, f), twoDaysAgo, twoDaysAgo);

  await version(pkg, env);
  expect(head(file)).toBe('dify-code-cache 1 version');
  expect(statSync(file).size).toBeGreaterThan(good / 2);
  expect(readdirSync(dir).sort()).toEqual([name, recent].sort());

  // A link where the cache goes is replaced, not written through.
  const victim = path.join(env.XDG_CACHE_HOME, 'victim');
  await writeFile(victim, 'keep');
  await rm(file);
  await symlink(victim, file);
  await version(pkg, env);
  expect(readFileSync(victim, 'utf8')).toBe('keep');
  expect(lstatSync(file).isFile()).toBe(true);
});

it('runs from a read-only install, with or without a cache directory it can write to', async () => {
  const pkg = await install();
  // Read-only for its user too: root writes anyway, so as root the CLI runs as nobody.
  for (const f of ['bin/dify.js', 'bin/package.json', 'dist/dify.cjs', 'package.json'])
    await chmod(path.join(pkg, f), 0o444);
  for (const d of ['bin', 'dist', '.']) await chmod(path.join(pkg, d), 0o555);
  onTestFinished(async () => {
    for (const d of ['bin', 'dist', '.']) await chmod(path.join(pkg, d), 0o755);
  });
  const uid = ROOT ? NOBODY : undefined;
  const installed = tree(pkg);

  const readOnly = await tempDir();
  await chmod(readOnly, 0o555);
  const notADirectory = path.join(await tempDir(), 'file');
  await writeFile(notADirectory, '');
  await chmod(path.dirname(notADirectory), 0o755);
  await Promise.all(
    [readOnly, notADirectory, path.join(notADirectory, 'below')].map((cache) =>
      version(pkg, { XDG_CACHE_HOME: cache }, uid),
    ),
  );
  expect(readdirSync(readOnly)).toEqual([]);

  // A cache directory of its own still gets a cache.
  const own = await tempDir();
  if (uid !== undefined) await chown(own, uid, uid);
  await version(pkg, { XDG_CACHE_HOME: own }, uid);
  expect(readdirSync(path.join(own, 'dify-plugin-cli'))).toEqual([expect.stringMatching(NAME)]);

  expect(tree(pkg)).toEqual(installed);
});

it('leaves alone a cache directory others can write to, and is off with DIFY_PLUGIN_CLI_NO_CACHE=1', async () => {
  const pkg = await install();
  const installed = tree(pkg);
  const shared = await tempDir();
  await mkdir(path.join(shared, 'dify-plugin-cli'));
  await chmod(path.join(shared, 'dify-plugin-cli'), 0o777); // another user could plant code there
  await version(pkg, { XDG_CACHE_HOME: shared });
  expect(readdirSync(path.join(shared, 'dify-plugin-cli'))).toEqual([]);

  const off = await tempDir();
  await version(pkg, { XDG_CACHE_HOME: off, DIFY_PLUGIN_CLI_NO_CACHE: '1' });
  expect(readdirSync(off)).toEqual([]);
  expect(tree(pkg)).toEqual(installed);
});

// As root (tests and CI run as root), a home that belongs to someone else: what `sudo dify` with
// the user's HOME kept sees.
it.skipIf(!ROOT)("makes no directory in another user's home", async () => {
  const pkg = await install();
  const home = await tempDir();
  await chown(home, NOBODY, NOBODY);
  await version(pkg, { HOME: home, XDG_CACHE_HOME: '' });
  expect(readdirSync(home)).toEqual([]);
});
