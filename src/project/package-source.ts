import { createHash, hash as digest } from 'node:crypto';
import { MAX_PIECE_BYTES, ZipReader } from './zip-reader.js';
import { compareBytes } from './order.js';
import { DirectoryIndex } from './directory-index.js';
import { SourceError, type EntryType, type PluginSource, type SourceEntry } from './source.js';

/**
 * A packed plugin (`.difypkg`) read in place: the same loader and checks run on it as on a
 * directory, reading one entry at a time. A repeated `.verification.dify.json` (the only name the
 * reader lets repeat) resolves to its first entry, as in the daemon.
 */
export class PackageSource implements PluginSource {
  readonly kind = 'package';
  private readonly dirs: DirectoryIndex;
  private readonly listing: SourceEntry[];

  private constructor(
    readonly location: string,
    readonly zip: ZipReader,
  ) {
    const files = zip.files();
    this.dirs = new DirectoryIndex(files.map((e) => e.name));
    this.listing = files.map((e) => ({ path: e.name, size: e.size })).sort((a, b) => compareBytes(a.path, b.path));
  }

  static async open(location: string, maxTotalSize: number): Promise<PackageSource> {
    return new PackageSource(location, await ZipReader.open(location, maxTotalSize));
  }

  async listFiles(): Promise<SourceEntry[]> {
    return this.listing.map((e) => ({ ...e }));
  }

  async readFile(relPath: string): Promise<Buffer> {
    const entry = this.zip.entry(relPath);
    if (entry) return this.zip.read(entry);
    if (this.dirs.has(relPath)) throw new SourceError('is-directory', relPath, `${relPath} is a directory, not a file`);
    throw new SourceError('not-found', relPath, `${relPath} is not in the package`);
  }

  /**
   * Reads every entry, repeated ones included, so that a damaged byte anywhere (a CRC or size that
   * does not match) is found; with `hash`, returns each file's SHA-256 for the checksum.
   */
  async readAll(hash: boolean): Promise<{ path: string; sha256: Buffer }[]> {
    const hashes: { path: string; sha256: Buffer }[] = [];
    const byOffset = [...this.zip.contents.entries].sort((a, b) => a.dataOffset - b.dataOffset);
    for (const entry of byOffset) {
      const counted = hash && this.zip.entry(entry.name) === entry;
      if (entry.size <= MAX_PIECE_BYTES && entry.compressedSize <= MAX_PIECE_BYTES) {
        const data = await this.zip.read(entry);
        if (counted) hashes.push({ path: entry.name, sha256: digest('sha256', data, 'buffer') });
        continue;
      }
      const sha = counted ? createHash('sha256') : undefined;
      for await (const chunk of this.zip.chunks(entry)) sha?.update(chunk);
      if (sha) hashes.push({ path: entry.name, sha256: sha.digest() });
    }
    return hashes;
  }

  async statPath(relPath: string): Promise<EntryType | null> {
    if (this.zip.entry(relPath)) return 'file';
    return this.dirs.has(relPath) ? 'directory' : null;
  }

  close(): Promise<void> {
    return this.zip.close();
  }
}
