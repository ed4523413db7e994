// The CLI as npm publishes it: `npm pack` leaves some files out of a package (every `.gitignore`,
// for one), so what a checkout scaffolds proves nothing about what an installed CLI scaffolds.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { cliEnv } from '../helpers/cli.js';
import { REPO, tempDir } from '../helpers/plugin.js';

const run = promisify(execFile);
const TYPES = ['tool', 'llm', 'extension', 'agent-strategy', 'datasource', 'trigger', 'bundle'];

it('an npm-installed CLI scaffolds every type with a .gitignore, and each plugin checks clean', async () => {
  const work = await tempDir();
  const env = cliEnv();
  // Packing runs no scripts: the tarball holds the dist/ this checkout built.
  await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: REPO, env });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
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
  const dify = (args: string[]) =>
    run(path.join(prefix, 'node_modules', '.bin', 'dify'), args, { cwd: work, env, encoding: 'utf8' });

  await Promise.all(
    TYPES.map(async (type) => {
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
        return;
      }
      expect(gitignore, type).toMatch(/^\.env$/m);
      // Exit 0 (execFile rejects otherwise); the template text left in README.md is a warning.
      const check = await dify(['plugin', 'package', '--check', '--format', 'json', dir]);
      expect(JSON.parse(check.stdout), type).toMatchObject({ ok: true });
    }),
  );
});
