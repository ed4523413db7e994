import { compareBytes } from '../../project/order.js';
import type { PluginSource } from '../../project/source.js';

/** The daemon receives each asset in base64 chunks of this many raw bytes (the SDK's size). */
export const ASSET_CHUNK_BYTES = 8192;

export interface AssetChunk {
  filename: string;
  data: string;
  end: boolean;
}

/**
 * Every regular file directly inside `_assets/` (sub-directories are not sent), in code-point
 * order of their names: the SDK sends them in file-system order, which is undefined. `end`
 * marks the last chunk of a file; an empty file sends nothing, as in the SDK.
 *
 * Unlike the SDK, which reads the folder from disk, files the package leaves out (`.DS_Store`,
 * the ignore file's rules) are not sent: an installed plugin only has its packed assets, and
 * debugging should show what installing will give.
 */
export async function assetChunks(source: PluginSource): Promise<AssetChunk[]> {
  const names = (await source.listFiles())
    .map((f) => /^_assets\/([^/]+)$/.exec(f.path)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort(compareBytes);
  const chunks: AssetChunk[] = [];
  for (const filename of names) {
    const bytes = await source.readFile(`_assets/${filename}`);
    for (let start = 0; start < bytes.length; start += ASSET_CHUNK_BYTES) {
      const end = Math.min(start + ASSET_CHUNK_BYTES, bytes.length);
      chunks.push({ filename, data: bytes.subarray(start, end).toString('base64'), end: end === bytes.length });
    }
  }
  return chunks;
}
