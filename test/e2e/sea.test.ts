// The standalone executable (`npm run build:sea`, dist/sea/dify): copied alone into an empty
// directory, as on a machine without Node, it must do what the npm build does, byte for byte.
// `npm test` rebuilds dist/ first, so there this file skips; .ci/run builds the executable after
// the suite and runs this file against it with DIFY_TEST_SEA=1, which turns the skip into a failure.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, dify, runCli } from '../helpers/cli.js';
import { EXAMPLE, REPO, tempDir } from '../helpers/plugin.js';
import { CATEGORIES } from '../../src/scaffold/answers.js';

const SEA = path.join(REPO, 'dist', 'sea', process.platform === 'win32' ? 'dify.exe' : 'dify');
const REQUIRED = process.env.DIFY_TEST_SEA === '1';

const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the executable to completion; never rejects on a failing exit code. */
function runExe(exe: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    // Without NODE_OPTIONS: a V8 option there makes V8 turn the code cache down, with a warning
    // from Node before the CLI starts (scripts/build-sea.mjs).
    const options = { cwd, env: cliEnv({ ...env, NODE_OPTIONS: undefined }), encoding: 'utf8' as const };
    execFile(exe, args, options, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** Every file below `dir` with its contents, the scaffolding time left out. */
function tree(dir: string): Record<string, string> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return Object.fromEntries(
    files.map((e) => {
      const p = path.join(e.parentPath, e.name);
      const text = readFileSync(p, 'latin1').replace(/^created_at: .*$/m, 'created_at: <now>');
      return [path.relative(dir, p).split(path.sep).join('/'), text];
    }),
  );
}

describe.skipIf(!existsSync(SEA) && !REQUIRED)(
  'the standalone executable (skipped: dist/sea/dify is absent; run `npm run build:sea`)',
  () => {
    it('runs alone in an empty directory: version, init of every type, module append, check, package, test, signature verify', async () => {
      const work = await tempDir();
      const exe = path.join(work, path.basename(SEA));
      copyFileSync(SEA, exe);
      const sea = (args: string[], cwd = work, env: Record<string, string> = {}) => runExe(exe, args, cwd, env);

      // No Node warning (the experimental-feature one is turned off in the build), no stack trace.
      expect(await sea(['version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
      const bad = await sea(['plugin', 'package', '--check', 'nope']);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain('plugin/not-found');
      expect(bad.stderr).toBe('');
      expect(await sea(['--bogus'])).toMatchObject({ code: 2, stderr: "error: unknown option '--bogus'\n" });

      // Scaffolding reads the templates embedded in the executable: the same files as the npm
      // build's (in-process here), and each plugin checks clean.
      const npmWork = await tempDir();
      await Promise.all(
        CATEGORIES.map(async (type) => {
          const args = ['plugin', 'init', '--quick', '--type', type, '--name', `p_${type.replaceAll('-', '_')}`];
          args.push('--author', 'acme', '--description', 'x');
          const made = await sea(args);
          expect(made, type).toMatchObject({ code: 0, stderr: '' });
          expect((await runCli(args, { cwd: npmWork })).code).toBe(0);
          const name = args[6]!;
          expect(tree(path.join(work, name)), type).toEqual(tree(path.join(npmWork, name)));
          if (type === 'bundle') return;
          const check = await sea(['plugin', 'package', '--check', '--format', 'json', name]);
          expect(JSON.parse(check.stdout), type).toMatchObject({ ok: true });
        }),
      );
      expect(Object.keys(tree(path.join(work, 'p_tool')))).toContain('.gitignore');

      // `module append` renders the module templates, also embedded.
      const append = ['plugin', 'module', 'append', 'endpoints', 'p_tool'];
      expect(await sea(append)).toMatchObject({ code: 0, stderr: '' });
      expect((await runCli(append, { cwd: npmWork })).code).toBe(0);
      expect(tree(path.join(work, 'p_tool'))).toEqual(tree(path.join(npmWork, 'p_tool')));

      // The same package bytes as the npm build (bin/dify.js) makes of the same plugin.
      const packed = await sea(['plugin', 'package', EXAMPLE, '-o', path.join(work, 'sea.difypkg')]);
      expect(packed).toMatchObject({ code: 0, stderr: '' });
      const npm = await dify(['plugin', 'package', EXAMPLE, '-o', path.join(work, 'npm.difypkg')]);
      expect(npm.code).toBe(0);
      expect(readFileSync(path.join(work, 'sea.difypkg')).equals(readFileSync(path.join(work, 'npm.difypkg')))).toBe(
        true,
      );

      // `plugin test` without pytest runs unittest through its driver, embedded as data/ is.
      const blocker = await tempDir();
      writeFileSync(path.join(blocker, 'pytest.py'), 'raise ImportError("no pytest here")\n');
      const testArgs = ['plugin', 'test', EXAMPLE, '--python', 'python3'];
      const tested = await sea(testArgs, work, { PYTHONPATH: blocker });
      expect(tested.stderr).toContain('pytest is not installed in python3; running unittest');
      expect(tested.stdout).toBe((await dify(testArgs, { env: { PYTHONPATH: blocker } })).stdout);
      expect(tested.stdout).toMatch(/\d+ passed, \d+ failed/);

      // The official key is embedded too: an unsigned package is refused for what it is.
      const verify = await sea(['signature', 'verify', 'sea.difypkg']);
      expect(verify.code).toBe(1);
      expect(verify.stderr).toContain('the package is not signed');
    });
  },
);
