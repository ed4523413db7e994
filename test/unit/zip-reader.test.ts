// Properties of the ZIP reader over generated archives: whatever the bytes, opening and reading a
// package ends in its contents or a ZipError (a one-line user error), never another exception or
// a hang; and what the zip writer writes reads back as written.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeZip } from '../../src/pack/zip-writer.js';
import { ZipError, ZipReader } from '../../src/project/zip-reader.js';
import { tempDir } from '../helpers/plugin.js';
import { craftZip } from '../helpers/zip-craft.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await tempDir('dify-zip-prop-');
});

async function written(bytes: Buffer): Promise<string> {
  const file = path.join(dir, `z${n++}.zip`);
  await writeFile(file, bytes);
  return file;
}

/** Opens and reads every entry, whole and in pieces; the entries' contents, or the ZipError. */
async function readAll(file: string): Promise<Map<string, Buffer> | ZipError> {
  let zip: ZipReader;
  try {
    zip = await ZipReader.open(file, 1 << 20);
  } catch (err) {
    if (err instanceof ZipError) return err;
    throw err;
  }
  try {
    const out = new Map<string, Buffer>();
    for (const entry of zip.files()) {
      const whole = await zip.read(entry);
      const pieces: Buffer[] = [];
      for await (const chunk of zip.chunks(entry)) pieces.push(chunk);
      expect(Buffer.concat(pieces).equals(whole)).toBe(true);
      out.set(entry.name, whole);
    }
    return out;
  } catch (err) {
    if (err instanceof ZipError) return err;
    throw err;
  } finally {
    await zip.close();
  }
}

// A valid archive of stored and deflated entries, some larger than the reader's small-read window.
const sample = craftZip([
  { name: 'manifest.yaml', data: 'name: x\n'.repeat(20) },
  { name: 'a/b.txt', data: 'stored', method: 0 },
  { name: 'a/c.bin', data: Buffer.alloc(3000, 7) },
  { name: '_assets/icon.svg', data: '<svg/>' },
]);

describe('ZIP reader properties', () => {
  it('the unmodified sample reads back', async () => {
    const read = await readAll(await written(sample));
    expect(read).toBeInstanceOf(Map);
    expect([...(read as Map<string, Buffer>).keys()]).toEqual([
      'manifest.yaml',
      'a/b.txt',
      'a/c.bin',
      '_assets/icon.svg',
    ]);
  });

  it('any changed bytes or truncation: contents or a ZipError, nothing else', async () => {
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat({ max: sample.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      cut: fc.option(fc.nat({ max: sample.length }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ edits, cut }) => {
        const bytes = Buffer.from(sample);
        for (const [at, value] of edits) bytes[at] = value;
        const result = await readAll(await written(cut === undefined ? bytes : bytes.subarray(0, cut)));
        expect(result instanceof Map || result instanceof ZipError).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('what the zip writer writes reads back identically', async () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
    const name = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
    const files = fc.uniqueArray(fc.record({ name, data: fc.uint8Array({ maxLength: 2000 }) }), {
      selector: (f) => f.name,
      maxLength: 8,
    });
    await fc.assert(
      fc.asyncProperty(files, async (entries) => {
        // A name that is also another's directory cannot be written to disk either.
        const names = new Set(entries.map((e) => e.name));
        fc.pre(!entries.some((e) => e.name.split('/').some((_, i, p) => i > 0 && names.has(p.slice(0, i).join('/')))));
        const file = path.join(dir, `w${n++}.zip`);
        await writeZip(
          file,
          entries.map((e) => ({ name: e.name, read: async () => Buffer.from(e.data) })),
        );
        const read = await readAll(file);
        expect(read).toBeInstanceOf(Map);
        expect([...(read as Map<string, Buffer>)].map(([k, v]) => [k, [...v]])).toEqual(
          entries.map((e) => [e.name, [...e.data]]),
        );
      }),
      { numRuns: 40 },
    );
  });
});

describe('entries larger than one read', () => {
  const big = Buffer.alloc(1536 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;

  it.each([
    ['stored', 0],
    ['deflated', 8],
  ])('%s: read whole and in pieces of at most 1 MiB', async (_name, method) => {
    const file = await written(craftZip([{ name: 'big.bin', data: big, method }]));
    const zip = await ZipReader.open(file, 1 << 30);
    const entry = zip.entry('big.bin')!;
    expect((await zip.read(entry)).equals(big)).toBe(true);
    const sizes: number[] = [];
    for await (const chunk of zip.chunks(entry)) sizes.push(chunk.length);
    expect(sizes.reduce((a, b) => a + b)).toBe(big.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024 * 1024);
    await zip.close();
  });

  it('a deflate stream damaged in its middle is a ZipError', async () => {
    const random = Buffer.alloc(1536 * 1024);
    for (let i = 0; i < random.length; i++) random[i] = (i * i * 2654435761) >>> 24;
    const bytes = craftZip([{ name: 'big.bin', data: random }]);
    bytes.fill(0xff, 700_000, 700_100);
    const result = await readAll(await written(bytes));
    expect(result).toBeInstanceOf(ZipError);
  });
});
