import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../diagnostics/user-error.js';

/** The Go CLI's exact `uv export` invocation (dify-plugin-daemon `pkg/plugin_packager/packager/packager.go`). */
export const UV_EXPORT_ARGS = [
  'export',
  '--frozen',
  '--format',
  'requirements.txt',
  '--no-group',
  'dev',
  '--no-emit-project',
  '--no-hashes',
  '--no-header',
  '--no-annotate',
];

export class RequirementsError extends UserError {}

export interface GeneratedRequirements {
  text: string;
  /** `uv` when uv ran, `uv.lock` when exported natively because uv was not found. */
  via: 'uv' | 'uv.lock';
  uvPath?: string;
}

/**
 * `requirements.txt` for a python plugin that has `pyproject.toml` and `uv.lock` but no
 * `requirements.txt` (see planPackage for exactly when), as the Go CLI makes it: by `uv export`
 * when uv is installed (`UV_PATH`, then `PATH`), otherwise natively from `uv.lock`.
 */
export async function generateRequirements(root: string, env: NodeJS.ProcessEnv): Promise<GeneratedRequirements> {
  const uv = findUv(env);
  if (uv) {
    const text = await runUv(uv, root, env);
    return { text, via: 'uv', uvPath: uv };
  }
  const { lock, pyproject } = readSources(root);
  // Loaded only here: most runs never need a TOML parser.
  const { exportRequirementsFromUvLock } = await import('./uv-export.js');
  try {
    return { text: exportRequirementsFromUvLock(lock, pyproject).text, via: 'uv.lock' };
  } catch (err) {
    throw new RequirementsError(`cannot export requirements.txt from uv.lock: ${(err as Error).message}`);
  }
}

/**
 * For a check that writes nothing: fails exactly when generateRequirements would, without
 * exporting in the usual case. The cheap checks of uv.lock run first (uv-export.ts `checkUvLock`);
 * only when they find fault does the real export run (uv if installed), so a problem is reported
 * in the export's own words and nothing it accepts is ever reported.
 */
export async function checkRequirements(root: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { lock, pyproject } = readSources(root);
  const { checkUvLock, UvLockError } = await import('./uv-export.js');
  try {
    checkUvLock(lock, pyproject);
  } catch (err) {
    if (!(err instanceof UvLockError)) throw err;
    await generateRequirements(root, env);
  }
}

function readSources(root: string): { lock: string; pyproject: string } {
  const read = (name: string) => {
    try {
      return readFileSync(path.join(root, name), 'utf8');
    } catch (err) {
      // e.g. a directory of that name, which the Go CLI's check for the file lets through too
      throw new RequirementsError(`cannot read ${name}: ${(err as Error).message}`);
    }
  };
  return { lock: read('uv.lock'), pyproject: read('pyproject.toml') };
}

/** Where uv is, looked up once per search path (checking many plugins asks many times). */
const uvLookups = new Map<string, string | undefined>();

export function findUv(env: NodeJS.ProcessEnv): string | undefined {
  const key = `${env.UV_PATH ?? ''}\u0000${env.PATH ?? ''}`;
  if (!uvLookups.has(key)) {
    const candidates = env.UV_PATH
      ? [env.UV_PATH]
      : (env.PATH ?? '')
          .split(path.delimiter)
          .filter(Boolean)
          .map((dir) => path.join(dir, process.platform === 'win32' ? 'uv.exe' : 'uv'));
    uvLookups.set(key, candidates.find(isExecutable));
  }
  return uvLookups.get(key);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function runUv(uv: string, root: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { execFile } = await import('node:child_process'); // rarely needed: keep it off start-up
  return new Promise((resolve, reject) => {
    execFile(uv, UV_EXPORT_ARGS, { cwd: root, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new RequirementsError(`uv export failed: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}
