import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { PACKAGE_ROOT } from './package-root.js';

/**
 * The files the CLI reads from its own package at run time (package.json, templates/, data/),
 * named by their `/`-separated path in the package. An npm install has them on disk beside
 * dist/; the standalone executable (a Node single executable application, built by
 * scripts/build-sea.mjs) has no package directory, so they are embedded in it as assets under the
 * same names, with the list of names in the asset SEA_FILE_LIST (SEA assets cannot be listed).
 */
export const SEA_FILE_LIST = 'package-files.json';

/** Whether this process is the standalone executable; asked once, when a file is first read. */
let standalone: boolean | undefined;
const embedded = () => (standalone ??= isSea());

/** A package file's contents; throws when it is missing (a broken install). */
export function readPackageFile(name: string): Buffer {
  return embedded() ? Buffer.from(getAsset(name)) : readFileSync(packageFilePath(name));
}

/** The files below package directory `dir`, relative to it and `/`-separated, sorted; [] if there is none. */
export function listPackageFiles(dir: string): string[] {
  if (embedded()) {
    const prefix = `${dir}/`;
    const names = JSON.parse(getAsset(SEA_FILE_LIST, 'utf8')) as string[];
    return names
      .filter((n) => n.startsWith(prefix))
      .map((n) => n.slice(prefix.length))
      .sort();
  }
  const root = packageFilePath(dir);
  return existsSync(root) ? listDir(root) : [];
}

/** Where a package file is, for messages. */
export function packageFileLocation(name: string): string {
  return embedded() ? `${name} (embedded in ${process.execPath})` : packageFilePath(name);
}

function packageFilePath(name: string): string {
  return path.join(PACKAGE_ROOT, ...name.split('/'));
}

function listDir(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listDir(dir, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}
