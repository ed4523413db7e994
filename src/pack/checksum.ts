import { createHash } from 'node:crypto';
import { compareBytes } from '../project/order.js';

export interface ChecksumInput {
  path: string;
  read(): Promise<Buffer>;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();

/**
 * The daemon's plugin checksum (daemon.md §3.6): over the paths in byte order, the SHA-256 of
 * the concatenated SHA-256(path) ‖ SHA-256(content) pairs, as 64 lowercase hex characters. Only
 * names and contents count, not the ZIP around them.
 */
export async function pluginChecksum(files: readonly ChecksumInput[]): Promise<string> {
  const hashes = new Map<string, Buffer>();
  for (const f of files) hashes.set(f.path, sha256(await f.read()));
  const outer = createHash('sha256');
  for (const p of [...hashes.keys()].sort(compareBytes)) {
    outer.update(sha256(Buffer.from(p, 'utf8')));
    outer.update(hashes.get(p)!);
  }
  return outer.digest('hex');
}
