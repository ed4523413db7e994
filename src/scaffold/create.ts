import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { ScaffoldFile } from './files.js';
import { UserError } from '../diagnostics/user-error.js';

/** The target exists and holds files the author owns. */
export class TargetNotEmptyError extends UserError {
  constructor(
    readonly dir: string,
    isFile = false,
  ) {
    super(
      isFile ? `${dir} already exists and is a file, not a directory` : `${dir} already exists and is not empty`,
      'choose another name, or pass --force to write into it',
    );
  }
}

/**
 * Why a new project cannot go into `dir`: a file is in the way (not even --force replaces a file
 * with a directory), or a directory that holds something and no --force. Undefined when it can.
 */
export function targetConflict(dir: string, force: boolean): 'file' | 'not-empty' | undefined {
  if (!existsSync(dir)) return undefined;
  if (!statSync(dir).isDirectory()) return 'file';
  if (!force && readdirSync(dir).length > 0) return 'not-empty';
  return undefined;
}

/**
 * Writes a new project into `dir`. An existing non-empty directory is refused unless `force`;
 * with `force`, files of the same name are replaced and everything else is left alone. If any
 * write fails, exactly what this call created is removed again — never anything that was there.
 */
export function writeProject(dir: string, files: readonly ScaffoldFile[], force: boolean): void {
  const conflict = targetConflict(dir, force);
  if (conflict) throw new TargetNotEmptyError(dir, conflict === 'file');
  if (existsSync(dir)) {
    // Before anything is written: a file written through a link lands where the link points.
    for (const f of files) refuseLinkOut(dir, f.path);
  }
  const createdFiles: string[] = [];
  const createdDirs: string[] = [];
  const ensureDir = (d: string) => {
    if (existsSync(d)) return;
    ensureDir(path.dirname(d));
    mkdirSync(d);
    createdDirs.push(d);
  };
  try {
    ensureDir(dir);
    for (const f of files) {
      const target = path.join(dir, ...f.path.split('/'));
      ensureDir(path.dirname(target));
      const existed = existsSync(target);
      writeFileSync(target, f.data, { mode: 0o644 });
      if (!existed) createdFiles.push(target);
    }
  } catch (err) {
    for (const f of createdFiles) rmSync(f, { force: true });
    for (const d of createdDirs.reverse()) {
      try {
        rmdirSync(d); // only if empty: a directory we made holds nothing of the author's
      } catch {
        // not empty or already gone
      }
    }
    throw err;
  }
}

/**
 * Refuses to write `rel` into the existing directory `dir` when the file, or the nearest
 * directory on its way that exists, is a link leading out of `dir` or to nothing: with --force,
 * `_assets -> ~/.ssh` or `README.md -> ~/.bashrc` would be overwritten.
 */
function refuseLinkOut(dir: string, rel: string): void {
  const root = realpathSync(dir);
  const parts = rel.split('/');
  for (let n = parts.length; n > 0; n--) {
    const p = path.join(dir, ...parts.slice(0, n));
    const own = lstatOrNull(p);
    if (!own) continue;
    let real: string;
    try {
      real = realpathSync(p);
    } catch (err) {
      if (!own.isSymbolicLink()) throw err;
      throw linkError(parts.slice(0, n).join('/'), dir, `is a link to nothing (${readlinkSync(p)})`);
    }
    const inside = path.relative(root, real);
    if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside))
      throw linkError(parts.slice(0, n).join('/'), dir, `is a link outside it, to ${real}`);
    return;
  }
}

function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

function linkError(rel: string, dir: string, what: string): UserError {
  return new UserError(
    `${rel} in ${dir} ${what}: not writing through it`,
    'remove the link, or create the project in another directory',
  );
}
