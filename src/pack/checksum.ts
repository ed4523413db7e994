import { createHash, hash } from 'node:crypto';
import { compareBytes } from '../project/order.js';

export interface ChecksumInput {
  path: string;
  read(): Promise<Buffer>;
}

// One-shot hashing: thousands of small files make a Hash object per file count.
const sha256 = (data: Buffer | string) => hash('sha256', data, 'buffer');

/**
 * The daemon's plugin checksum (dify-plugin-daemon `pkg/plugin_packager/decoder/checksum.go`):
 * over the paths in byte order, the SHA-256 of the concatenated SHA-256(path) ‖ SHA-256(content)
 * pairs, as 64 lowercase hex characters. Only names and contents count, not the ZIP around them.
 */
export async function pluginChecksum(files: readonly ChecksumInput[]): Promise<string> {
  const hashes: FileHash[] = [];
  for (const f of files) hashes.push({ path: f.path, sha256: sha256(await f.read()) });
  return checksumOfHashes(hashes);
}

export interface FileHash {
  path: string;
  /** SHA-256 of the file's content. */
  sha256: Buffer;
}

/** The same checksum from content hashes already at hand; a repeated path counts once, the last. */
export function checksumOfHashes(files: readonly FileHash[]): string {
  const byPath = new Map(files.map((f) => [f.path, f.sha256]));
  const outer = createHash('sha256');
  for (const p of [...byPath.keys()].sort(compareBytes)) {
    outer.update(sha256(Buffer.from(p, 'utf8')));
    outer.update(byPath.get(p)!);
  }
  return outer.digest('hex');
}
