import { ZipReader, type ZipEntry } from './zip-reader.js';
import { compareBytes } from './order.js';
import { SourceError, type EntryType, type PluginSource, type SourceEntry } from './source.js';

/**
 * A packed plugin (`.difypkg`) read in place: the same loader and checks run on it as on a
 * directory, reading one entry at a time.
 */
export class PackageSource implements PluginSource {
  readonly kind = 'package';
  private readonly byName = new Map<string, ZipEntry>();
  private readonly dirs = new Set<string>();

  private constructor(
    readonly location: string,
    readonly zip: ZipReader,
  ) {
    // A repeated name (signed packages repeat .verification.dify.json) resolves to its last entry.
    for (const e of zip.contents.entries) {
      this.byName.set(e.name, e);
      const parts = e.name.split('/');
      for (let i = 1; i < parts.length; i++) this.dirs.add(parts.slice(0, i).join('/'));
    }
  }

  static async open(location: string, maxTotalSize: number): Promise<PackageSource> {
    return new PackageSource(location, await ZipReader.open(location, maxTotalSize));
  }

  async listFiles(): Promise<SourceEntry[]> {
    return [...this.byName.values()]
      .map((e) => ({ path: e.name, size: e.size }))
      .sort((a, b) => compareBytes(a.path, b.path));
  }

  async readFile(relPath: string): Promise<Buffer> {
    const entry = this.byName.get(relPath);
    if (entry) return this.zip.read(entry);
    if (this.dirs.has(relPath)) throw new SourceError('is-directory', relPath, `${relPath} is a directory, not a file`);
    throw new SourceError('not-found', relPath, `${relPath} is not in the package`);
  }

  /** A file's bytes piece by piece (hashing large entries without holding them). */
  chunks(relPath: string): AsyncGenerator<Buffer> {
    const entry = this.byName.get(relPath);
    if (!entry) throw new SourceError('not-found', relPath, `${relPath} is not in the package`);
    return this.zip.chunks(entry);
  }

  async statPath(relPath: string): Promise<EntryType | null> {
    if (this.byName.has(relPath)) return 'file';
    return this.dirs.has(relPath) ? 'directory' : null;
  }

  close(): Promise<void> {
    return this.zip.close();
  }
}
