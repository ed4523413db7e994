import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { writeZip, type ZipInput } from '../../src/pack/zip-writer.js';
import { tempDir } from '../helpers/plugin.js';

/** Bytes that compress a little, a lot, or not at all, from a fixed seed. */
function sample(size: number, kind: 'text' | 'noise' | 'runs', seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = kind === 'noise' ? x & 0xff : kind === 'runs' ? (i >> 9) & 0xff : 97 + (x % 7);
  }
  return out;
}

describe('ZIP writer: compression', () => {
  it('the body of a gzip is the raw Deflate stream of the same settings, and its trailer the CRC-32', () => {
    // The thread-pool path compresses as gzip to get the CRC computed there.
    for (const kind of ['text', 'noise', 'runs'] as const) {
      for (const size of [1, 100, 70_000, 1_500_000]) {
        const data = sample(size, kind, size);
        const gzipped = gzipSync(data);
        expect(gzipped.subarray(10, gzipped.length - 8).equals(deflateRawSync(data))).toBe(true);
        expect(gzipped.readUInt32LE(gzipped.length - 8)).toBe(crc32(data));
      }
    }
  });

  it('gives the same bytes on each side of the thread-pool and streaming thresholds', async () => {
    const dir = await tempDir();
    const sizes = [64 * 1024, 64 * 1024 + 1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 0];
    const files: ZipInput[] = [];
    for (const [i, size] of sizes.entries()) {
      const data = sample(size, i % 2 ? 'noise' : 'text', i + 1);
      const name = `f${i}.bin`;
      await writeFile(path.join(dir, name), data);
      files.push({ name, size, read: async () => data, file: path.join(dir, name) });
    }
    await writeZip(path.join(dir, 'disk.zip'), files);
    await writeZip(
      path.join(dir, 'memory.zip'),
      files.map(({ name, read }) => ({ name, read })),
    );
    const disk = readFileSync(path.join(dir, 'disk.zip'));
    expect(disk.equals(readFileSync(path.join(dir, 'memory.zip')))).toBe(true);
    // Each entry as zlib alone would compress it, one after another.
    let offset = 0;
    for (const [i, size] of sizes.entries()) {
      const data = sample(size, i % 2 ? 'noise' : 'text', i + 1);
      const deflated = deflateRawSync(data);
      const nameLength = disk.readUInt16LE(offset + 26);
      const start = offset + 30 + nameLength;
      expect(disk.subarray(start, start + deflated.length).equals(deflated)).toBe(true);
      expect(disk.readUInt32LE(start + deflated.length + 4)).toBe(crc32(data));
      offset = start + deflated.length + 16;
    }
  });
});
