import { createHash } from 'node:crypto';
import { compareBytes } from '../project/order.js';

export interface ChecksumInput {
  path: string;
  read(): Promise<Buffer>;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();

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

/** The checksum of files read piece by piece, so that no file is held whole. */
export async function streamedChecksum(
  paths: readonly string[],
  chunks: (path: string) => AsyncIterable<Buffer>,
): Promise<string> {
  const hashes: FileHash[] = [];
  for (const p of paths) {
    const hash = createHash('sha256');
    for await (const chunk of chunks(p)) hash.update(chunk);
    hashes.push({ path: p, sha256: hash.digest() });
  }
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
