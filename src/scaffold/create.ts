import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
 * Writes a new project into `dir`. An existing non-empty directory is refused unless `force`;
 * with `force`, files of the same name are replaced and everything else is left alone. If any
 * write fails, exactly what this call created is removed again — never anything that was there.
 */
export function writeProject(dir: string, files: readonly ScaffoldFile[], force: boolean): void {
  if (existsSync(dir)) {
    // Not even --force replaces a file with a directory.
    if (!statSync(dir).isDirectory()) throw new TargetNotEmptyError(dir, true);
    if (!force && readdirSync(dir).length > 0) throw new TargetNotEmptyError(dir);
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
