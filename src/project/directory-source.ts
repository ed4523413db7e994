import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { diskPathOf } from './plugin-path.js';
import { selectFiles, type FileSelection } from './file-selection.js';
import { SourceError, type EntryType, type PluginSource, type SourceEntry } from './source.js';

/**
 * A plugin directory seen the way its package will be: files excluded by the built-in rules or
 * the ignore file are not listed, and reading one fails with the rule that excluded it. So
 * checking a directory checks exactly what Dify will receive.
 */
export class DirectorySource implements PluginSource {
  readonly kind = 'directory';
  private readonly root: string;

  constructor(
    readonly location: string,
    readonly selection: FileSelection,
  ) {
    this.root = path.resolve(location);
  }

  static async open(location: string, options: { outputPath?: string } = {}): Promise<DirectorySource> {
    return new DirectorySource(location, selectFiles(location, options));
  }

  async listFiles(): Promise<SourceEntry[]> {
    return this.selection.files.map(({ path: p, size }) => ({ path: p, size }));
  }

  async readFile(relPath: string): Promise<Buffer> {
    const rule = this.selection.exclusionOf(relPath);
    if (rule) throw new SourceError('excluded', relPath, `${relPath} is excluded from the package by ${rule}`);
    try {
      // Synchronous reads of small files beat promise round trips through the thread pool.
      return readFileSync(this.resolve(relPath));
    } catch (err) {
      throw toSourceError(err, relPath);
    }
  }

  async statPath(relPath: string): Promise<EntryType | null> {
    let s;
    try {
      s = statSync(this.resolve(relPath), { throwIfNoEntry: false });
    } catch {
      return null; // e.g. a file where a directory was expected on the way
    }
    if (!s) return null;
    if (this.selection.exclusionOf(s.isDirectory() ? `${relPath}/` : relPath)) return 'excluded';
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
  }

  private resolve(relPath: string): string {
    return diskPathOf(this.root, relPath);
  }
}

function toSourceError(err: unknown, relPath: string): SourceError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SourceError('not-found', relPath, `${relPath} does not exist`);
  }
  if (code === 'EISDIR') {
    return new SourceError('is-directory', relPath, `${relPath} is a directory, not a file`);
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new SourceError('unreadable', relPath, `${relPath} cannot be read: ${reason}`);
}
