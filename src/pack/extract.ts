import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { whyUnreadable } from '../project/file-kind.js';
import { ZipError, ZipReader } from '../project/zip-reader.js';

/**
 * Unpacks a package into `dir`. The reader has already refused entry names that could escape a
 * directory, and every target is checked again against `dir` before writing. A repeated
 * `.verification.dify.json` is written once, from its first entry: the copy the checks read.
 */
export async function extractPackage(file: string, dir: string, maxTotalSize: number): Promise<number> {
  const zip = await ZipReader.open(file, maxTotalSize);
  const root = path.resolve(dir);
  let count = 0;
  try {
    for (const entry of zip.files()) {
      const target = path.resolve(root, ...entry.name.split('/'));
      if (!target.startsWith(root + path.sep))
        throw new ZipError(`entry ${JSON.stringify(entry.name)} would be written outside ${root}`);
      const data = await zip.read(entry);
      try {
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, data, { mode: 0o644 });
      } catch (err) {
        // This file system may refuse what the archive holds (a name too long, no space left).
        throw new ZipError(`cannot unpack ${JSON.stringify(entry.name)}: ${whyUnreadable(err)}`);
      }
      count++;
    }
  } finally {
    await zip.close();
  }
  return count;
}
