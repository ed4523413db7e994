// The CLI as npm publishes it: `npm pack` leaves some files out of a package (every `.gitignore`,
// for one), so what a checkout scaffolds proves nothing about what an installed CLI scaffolds.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { cliEnv } from '../helpers/cli.js';
import { FakeDaemon } from '../helpers/fake-daemon.js';
import { EXAMPLE, REPO, tempDir } from '../helpers/plugin.js';
// The interpreter of the plugin's .venv: there is no package index to install the SDK from.
import { FAKE_PYTHON, mixedPython } from '../helpers/tool-plugin.js';

const run = promisify(execFile);
const TYPES = ['tool', 'llm', 'extension', 'agent-strategy', 'datasource', 'trigger', 'bundle'];

/** The lowest dify_plugin version the plugin's requirements.txt accepts (`dify_plugin>=0.10.1,<0.11.0`). */
function sdkVersion(dir: string): string {
  return /^dify_plugin>=([\d.]+)/m.exec(readFileSync(path.join(dir, 'requirements.txt'), 'utf8'))![1]!;
}

it('an npm-installed CLI scaffolds every type with a .gitignore, each plugin checks clean, the quickstart loop works, and npx runs the tarball', async () => {
  const work = await tempDir();
  const env = cliEnv();
  // Packing runs no scripts: the tarball holds the dist/ this checkout built.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: REPO,
    env,
  });
  const [{ filename: tarball, files, size, unpackedSize }] = JSON.parse(packed.stdout) as [
    { filename: string; files: { path: string }[]; size: number; unpackedSize: number },
  ];
  // What a user needs and nothing else: no tests, no scratch files, no source map (nothing reads
  // it), no code cache (one is made on the user's machine, in the user's cache directory).
  const tops = new Set(files.map((f) => f.path.split('/')[0]));
  expect([...tops].sort()).toEqual([
    'README.md',
    'bin',
    'data',
    'dist',
    'docs',
    'package.json',
    'schemas',
    'templates',
  ]);
  expect(
    files
      .filter((f) => f.path.startsWith('dist/'))
      .map((f) => f.path)
      .sort(),
  ).toEqual(['dist/dify.cjs']);
  expect(files.filter((f) => /\.(map|cache|v8cache|tgz|difypkg)$/.test(f.path))).toEqual([]);
  expect(size).toBeLessThan(0.75 * 1024 * 1024); // 0.37 MB when this was written
  expect(unpackedSize).toBeLessThan(3 * 1024 * 1024); // 1.9 MB
  // `npx dify-plugin-cli@<version> plugin package --check <plugin>`, the package being the tarball,
  // from an empty directory (no npm project), with an npm cache of its own and offline: a package
  // without dependencies needs no registry. It runs while the tarball is installed and the plugins
  // below are scaffolded.
  const empty = path.join(work, 'empty');
  mkdirSync(empty);
  const npx = run(
    'npx',
    [
      '--yes',
      '--offline',
      `file:${path.join(work, tarball)}`,
      'plugin',
      'package',
      '--check',
      '--format',
      'json',
      EXAMPLE,
    ],
    {
      cwd: empty,
      env: { ...env, npm_config_cache: path.join(work, 'npm-cache'), npm_config_update_notifier: 'false' },
      encoding: 'utf8',
    },
  );
  npx.catch(() => {}); // awaited below; an install failing first must not leave it unhandled
  const prefix = path.join(work, 'prefix');
  await run(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      path.join(work, tarball),
    ],
    { cwd: work, env },
  );
  // Every library is bundled into dist/dify.cjs: the install brings the CLI and nothing else.
  expect(readdirSync(path.join(prefix, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['dify-plugin-cli']);
  const bin = path.join(prefix, 'node_modules', '.bin', 'dify');
  const pkgDir = path.join(prefix, 'node_modules', 'dify-plugin-cli');
  const installed = tree(pkgDir);
  const dify = (args: string[], cwd = work, extra: NodeJS.ProcessEnv = {}) =>
    run(bin, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8' });

  const [, ...scaffolded] = await Promise.all([
    npx.then((r) => expect(JSON.parse(r.stdout)).toMatchObject({ ok: true })),
    ...TYPES.map(async (type) => {
      const name = `p_${type.replaceAll('-', '_')}`;
      await dify([
        'plugin',
        'init',
        '--quick',
        '--type',
        type,
        '--name',
        name,
        '--author',
        'acme',
        '--description',
        'x',
      ]);
      const dir = path.join(work, name);
      const gitignore = readFileSync(path.join(dir, '.gitignore'), 'utf8');
      if (type === 'bundle') {
        expect(gitignore).toMatch(/^\*\.difybndl$/m);
        return [];
      }
      expect(gitignore, type).toMatch(/^\.env$/m);
      return [dir];
    }),
  ]);
  // One check of every plugin (a process less per type). Exit 0 (execFile rejects otherwise); the
  // template text left in README.md is a warning.
  const plugins = scaffolded.flat();
  expect(plugins).toHaveLength(TYPES.length - 1);
  const check = JSON.parse((await dify(['plugin', 'package', '--check', '--format', 'json', ...plugins])).stdout) as {
    results: { path: string; ok: boolean }[];
  };
  expect(check.results.map((r) => [path.basename(r.path), r.ok])).toEqual(
    plugins.map((dir) => [path.basename(dir), true]),
  );
  expect(readdirSync(empty)).toEqual([]);

  // The README's quickstart, from `cd` on: the .venv (its python the fake interpreter), `.env`
  // from `.env.example`, `run` (refused while the SDK is missing, then registered), `package`.
  const dir = path.join(work, 'p_tool');
  mkdirSync(path.join(dir, '.venv', 'bin'), { recursive: true });
  symlinkSync(FAKE_PYTHON, path.join(dir, '.venv', 'bin', 'python'));
  const daemon = await FakeDaemon.start();
  try {
    const example = readFileSync(path.join(dir, '.env.example'), 'utf8');
    writeFileSync(
      path.join(dir, '.env'),
      example
        .replace(/^REMOTE_INSTALL_URL=.*$/m, `REMOTE_INSTALL_URL=${daemon.url}`)
        .replace(/^REMOTE_INSTALL_KEY=.*$/m, 'REMOTE_INSTALL_KEY=test-key'),
    );
    const refused = await dify(['plugin', 'run', '.'], dir, { FAKE_SDK_VERSION: 'none' }).then(
      () => expect.fail('run went ahead without the SDK'),
      (err: { code: number; stderr: string }) => err,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/dify_plugin \(the Dify plugin SDK\) is not installed/);
    expect(refused.stderr).toContain('pip install -r requirements.txt');

    // `doctor` finds nothing wrong: the interpreter, the SDK, .env, the daemon listening.
    const doctor = await dify(['plugin', 'doctor', '.'], dir, { FAKE_SDK_VERSION: sdkVersion(dir) });
    expect(doctor.stdout).toMatch(/\nok +daemon +\S+ accepts connections\n[\s\S]*\neverything looks right\n$/);

    const session = spawn(bin, ['plugin', 'run', '.'], {
      cwd: dir,
      // The SDK version the template requires (requirements.txt), as the fake interpreter reports it.
      env: { ...env, FAKE_HEARTBEAT_MS: '200', FAKE_SDK_VERSION: sdkVersion(dir) },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => session.on('close', resolve));
    await daemon.nextRegistered();
    session.kill('SIGINT');
    expect(await exited).toBe(0);
  } finally {
    await daemon.close();
  }
  await dify(['plugin', 'package', '.'], dir);
  expect(existsSync(path.join(dir, 'p_tool.difypkg'))).toBe(true);

  // The quickstart's `invoke` and `test` of the bundled example, the fake plugin answering as its greet tool does.
  const greeting = { FAKE_GREET_AS_EXAMPLE: '1', FAKE_HEARTBEAT_MS: '200' };
  const invoked = await dify(
    ['plugin', 'invoke', EXAMPLE, 'tool', 'hello_world/greet', '--param', 'name=Ada', '--python', FAKE_PYTHON],
    work,
    greeting,
  );
  expect(invoked.stdout).toBe('Hello, Ada!\n');
  const tested = await dify(['plugin', 'test', EXAMPLE, '--python', mixedPython(work)], work, greeting);
  expect(tested.stdout).toMatch(
    /\nPASSED tests\/greet\.invoke\.yaml: greets by name \(\d+ ms\)\n1 passed, 0 failed, 1 skipped\n$/,
  );

  // Nothing was written inside the installed package: its code cache is in XDG_CACHE_HOME.
  expect(tree(pkgDir)).toEqual(installed);
}, 60_000);

/** Every file and directory below `dir`, with its size and modification time. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => {
      const s = statSync(path.join(dir, name));
      return `${name} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}
