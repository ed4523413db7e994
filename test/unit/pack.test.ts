import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPlugin } from '../../src/pipelines/check-plugin.js';
import { checksumOfHashes, pluginChecksum } from '../../src/pack/checksum.js';
import { planPackage, sizeFinding } from '../../src/pack/plan.js';
import { UV_EXPORT_ARGS } from '../../src/pack/requirements.js';
import { selectFiles } from '../../src/project/file-selection.js';
import { exportRequirementsFromUvLock } from '../../src/pack/uv-export.js';
import { ZipError, ZipReader } from '../../src/project/zip-reader.js';
import { writeZip, type ZipInput } from '../../src/pack/zip-writer.js';
import { PackageSource } from '../../src/project/package-source.js';
import { copyPlugin, EXAMPLE, REAL_FIXTURES, tempDir } from '../helpers/plugin.js';
import { MAX_PACKAGE_BYTES } from '../../src/project/limits.js';

const fixtures = readdirSync(REAL_FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
const options = { strict: false, maxBytes: MAX_PACKAGE_BYTES, env: { PATH: '' }, checksum: true };

/** Packs a directory the way `dify plugin package` does; returns the package path and the directory's checksum. */
async function pack(dir: string, out: string): Promise<{ file: string; checksum: string }> {
  const result = await checkPlugin(dir, { ...options, outputPath: out });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  await writeZip(out, result.plan!.entries);
  return { file: out, checksum: result.plugin!.checksum! };
}

async function drain(chunks: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of chunks);
}

const inputs = (files: Record<string, string>): ZipInput[] =>
  Object.entries(files).map(([name, text]) => ({ name, read: async () => Buffer.from(text) }));

describe('packages of the real plugins', () => {
  it.each(fixtures)('%s: same bytes every time, Dify layout, valid, same checksum as its directory', async (name) => {
    const dir = path.join(REAL_FIXTURES, name); // packing only reads it
    const out = await tempDir();
    const { file: first, checksum } = await pack(dir, path.join(out, 'a.difypkg'));
    const { file: second } = await pack(dir, path.join(out, 'b.difypkg'));
    expect(readFileSync(first).equals(readFileSync(second))).toBe(true);

    // What unzip sees: sorted names, no directory entries, intact data.
    const names = execFileSync('unzip', ['-Z1', first], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(names.some((n) => n.endsWith('/'))).toBe(false);
    expect(execFileSync('unzip', ['-tq', first], { encoding: 'utf8' })).toMatch(/No errors detected/);
    expect(execFileSync('unzip', ['-l', first], { encoding: 'utf8' })).toMatch(/1980-00-00 00:00\s+manifest\.yaml/);
    expect(names).toContain('requirements.txt'); // generated from uv.lock

    const reread = await checkPlugin(first, options);
    expect(reread.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(reread.plugin!.checksum).toBe(checksum);
  });
});

describe('ZIP writer', () => {
  it('writes zero times, data descriptors, no extra fields, UTF-8 flag only for non-ASCII names', async () => {
    const out = path.join(await tempDir(), 'x.zip');
    await writeZip(out, inputs({ 'a.txt': 'hello', 'é.txt': 'accent' }));
    const bytes = readFileSync(out);
    const local = (offset: number) => ({
      flags: bytes.readUInt16LE(offset + 6),
      method: bytes.readUInt16LE(offset + 8),
      time: bytes.readUInt16LE(offset + 10),
      date: bytes.readUInt16LE(offset + 12),
      extra: bytes.readUInt16LE(offset + 28),
    });
    const reader = await ZipReader.open(out, 1e6);
    const [a, e] = reader.contents.entries;
    expect(local(a!.localHeaderOffset)).toEqual({ flags: 0x0008, method: 8, time: 0, date: 0, extra: 0 });
    expect(local(e!.localHeaderOffset).flags).toBe(0x0808);
    expect(reader.contents.comment).toBe('');
    expect((await reader.read(e!)).toString()).toBe('accent');
    await reader.close();
  });

  it('gives the same bytes whether files are compressed here, in the thread pool or streamed', async () => {
    const dir = await tempDir();
    // Sizes either side of each path: main thread, thread pool, and streamed from disk.
    const sizes = { 'a-small.txt': 1000, 'b-medium.bin': 300 * 1024, 'c-large.bin': 6 * 1024 * 1024, 'd-tail.txt': 10 };
    const files: ZipInput[] = [];
    for (const [name, size] of Object.entries(sizes)) {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 7919) % 251; // compressible, not trivially
      await writeFile(path.join(dir, name), data);
      files.push({ name, read: async () => data, file: path.join(dir, name) });
    }
    const streamed = await writeZip(path.join(dir, 'from-disk.zip'), files, { hashContents: true });
    await writeZip(
      path.join(dir, 'in-memory.zip'),
      files.map(({ name, read }) => ({ name, read })),
    );
    expect(readFileSync(path.join(dir, 'from-disk.zip')).equals(readFileSync(path.join(dir, 'in-memory.zip')))).toBe(
      true,
    );
    execFileSync('unzip', ['-tq', path.join(dir, 'from-disk.zip')]); // CRCs and sizes agree
    const reader = await ZipReader.open(path.join(dir, 'from-disk.zip'), 1e8);
    expect(reader.contents.entries.map((e) => [e.name, e.size])).toEqual(Object.entries(sizes));
    await reader.close();
    const expected = await pluginChecksum(files.map((f) => ({ path: f.name, read: f.read })));
    expect(checksumOfHashes(streamed.contentHashes!.map((sha256, i) => ({ path: files[i]!.name, sha256 })))).toBe(
      expected,
    );
  });

  it('leaves nothing behind when a file cannot be read', async () => {
    const dir = await tempDir();
    const failing: ZipInput = { name: 'b.txt', read: () => Promise.reject(new Error('disk on fire')) };
    await expect(writeZip(path.join(dir, 'x.difypkg'), [...inputs({ 'a.txt': 'a' }), failing])).rejects.toThrow(
      'disk on fire',
    );
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('reading packages is safe against hostile archives', () => {
  it.each([
    ['a parent-directory entry', '../evil.sh', /not a clean relative path/],
    ['an absolute entry', '/etc/cron.d/evil', /absolute path/],
    ['a backslash entry', 'a\\..\\..\\evil', /backslashes/],
  ])('refuses %s', async (_name, entry, message) => {
    const out = path.join(await tempDir(), 'evil.difypkg');
    await writeZip(out, inputs({ 'manifest.yaml': 'x', [entry]: 'boom' }));
    await expect(ZipReader.open(out, 1e6)).rejects.toThrow(message);
    const result = await checkPlugin(out, options);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['package/unreadable']);
  });

  it('refuses an archive that unpacks beyond the limit, before reading it', async () => {
    const out = path.join(await tempDir(), 'big.difypkg');
    await writeZip(out, inputs({ 'a.bin': 'x'.repeat(5000) }));
    await expect(ZipReader.open(out, 4000)).rejects.toThrow(/more than the limit of 4000 bytes/);
  });

  it('refuses entries whose data is larger than their header says', async () => {
    const out = path.join(await tempDir(), 'lie.difypkg');
    await writeZip(out, inputs({ 'a.bin': 'x'.repeat(100_000) }));
    const bytes = readFileSync(out);
    const cd = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(10, cd + 24); // declared uncompressed size
    await writeFile(out, bytes);
    const reader = await ZipReader.open(out, 1e6);
    await expect(reader.read(reader.contents.entries[0]!)).rejects.toThrow(ZipError);
    await expect(drain(reader.chunks(reader.contents.entries[0]!))).rejects.toThrow(/larger than declared/);
    await reader.close();
  });

  it('refuses damaged data by its CRC, read whole or in pieces', async () => {
    const out = path.join(await tempDir(), 'flipped.difypkg');
    execFileSync('zip', ['-q', '-0', '-j', out, '-'], { input: 'hello, plugin' }); // stored, not deflated
    const bytes = readFileSync(out);
    const at = bytes.indexOf('plugin');
    bytes[at] = 'P'.charCodeAt(0);
    await writeFile(out, bytes);
    const reader = await ZipReader.open(out, 1e6);
    const entry = reader.contents.entries[0]!;
    await expect(reader.read(entry)).rejects.toThrow(/CRC does not match/);
    await expect(drain(reader.chunks(entry))).rejects.toThrow(/CRC does not match/);
    await reader.close();
  });

  it('hashes a large entry piece by piece, never whole', async () => {
    const dir = await copyPlugin(EXAMPLE);
    // Above the writer's 4 MiB streaming threshold, and several times the largest piece allowed below.
    await writeFile(path.join(dir, '_assets', 'zeros.bin'), Buffer.alloc(6 * 1024 * 1024));
    const out = path.join(await tempDir(), 'zeros.difypkg');
    const { checksum } = await pack(dir, out);
    const reader = await ZipReader.open(out, 1e9);
    const sizes: number[] = [];
    for await (const chunk of reader.chunks(reader.contents.entries.find((e) => e.name === '_assets/zeros.bin')!))
      sizes.push(chunk.length);
    await reader.close();
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(6 * 1024 * 1024);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024 * 1024);
    expect((await checkPlugin(out, options)).plugin?.checksum).toBe(checksum);
  });

  it('tolerates directory entries; refuses repeated names but a verification file, read as its first copy', async () => {
    const dir = await tempDir();
    const out = path.join(dir, 'third-party.zip');
    await writeZip(out, inputs({ '_assets/': '', 'x.json': 'first' }));
    const withDup = path.join(dir, 'dup.zip');
    await writeZip(withDup, [...inputs({ 'x.json': 'first' }), ...inputs({ 'x.json': 'second' })]);
    const resigned = path.join(dir, 'resigned.zip');
    const verification = '.verification.dify.json';
    await writeZip(resigned, [...inputs({ [verification]: 'first' }), ...inputs({ [verification]: 'second' })]);
    const a = await PackageSource.open(out, 1e6);
    expect((await a.listFiles()).map((f) => f.path)).toEqual(['x.json']);
    expect(await a.statPath('_assets')).toBe(null);
    await a.close();
    await expect(PackageSource.open(withDup, 1e6)).rejects.toThrow(/"x\.json" appears twice/);
    const b = await PackageSource.open(resigned, 1e6);
    expect((await b.readFile(verification)).toString()).toBe('first');
    expect(await b.listFiles()).toEqual([{ path: verification, size: 5 }]);
    await b.close();
  });
});

describe('checksum', () => {
  it('is SHA-256 over sorted SHA-256(path) ‖ SHA-256(content), independent of order', async () => {
    const files = [
      { path: 'b.txt', read: async () => Buffer.from('B') },
      { path: 'a.txt', read: async () => Buffer.from('A') },
    ];
    const { createHash } = await import('node:crypto');
    const h = (x: string) => createHash('sha256').update(x).digest();
    const expected = createHash('sha256')
      .update(Buffer.concat([h('a.txt'), h('A'), h('b.txt'), h('B')]))
      .digest('hex');
    expect(await pluginChecksum(files)).toBe(expected);
    expect(await pluginChecksum([...files].reverse())).toBe(expected);
  });
});

describe('requirements.txt for uv projects', () => {
  it('is exported natively from uv.lock when uv is not installed', async () => {
    const dir = await copyPlugin(path.join(REAL_FIXTURES, 'self_refine_agent'));
    const plan = await planPackage(dir, selectFiles(dir), { language: 'python', env: { PATH: '' } });
    const entry = plan.entries.find((e) => e.name === 'requirements.txt')!;
    expect(entry.generated).toBe(true);
    expect(plan.requirements?.via).toBe('uv.lock');
    const expected = exportRequirementsFromUvLock(
      readFileSync(path.join(dir, 'uv.lock'), 'utf8'),
      readFileSync(path.join(dir, 'pyproject.toml'), 'utf8'),
    ).text;
    expect((await entry.read()).toString()).toBe(expected);
    expect(expected).toMatch(/^dify-plugin==/m);
  });

  it('runs uv export with the Go CLI flags when uv is found (UV_PATH first)', async () => {
    const dir = await copyPlugin(path.join(REAL_FIXTURES, 'self_refine_agent'));
    const bin = await tempDir();
    const uv = path.join(bin, 'fake-uv');
    await writeFile(uv, `#!/bin/sh\necho "$@" > "${bin}/args"\npwd > "${bin}/cwd"\necho "requests==2.0.0"\n`);
    chmodSync(uv, 0o755);
    const plan = await planPackage(dir, selectFiles(dir), { language: 'python', env: { UV_PATH: uv, PATH: '' } });
    expect(plan.requirements?.via).toBe('uv');
    expect((await plan.entries.find((e) => e.name === 'requirements.txt')!.read()).toString()).toBe(
      'requests==2.0.0\n',
    );
    expect(readFileSync(path.join(bin, 'args'), 'utf8').trim()).toBe(UV_EXPORT_ARGS.join(' '));
    expect(readFileSync(path.join(bin, 'cwd'), 'utf8').trim()).toBe(dir);
  });

  it('is not generated when requirements.txt is packed, nor for a non-python runner', async () => {
    const dir = await copyPlugin(path.join(REAL_FIXTURES, 'self_refine_agent'));
    expect(
      (await planPackage(dir, selectFiles(dir), { language: 'go', env: { PATH: '' } })).requirements,
    ).toBeUndefined();
    await writeFile(path.join(dir, 'requirements.txt'), 'dify_plugin\n');
    const plan = await planPackage(dir, selectFiles(dir), { language: 'python', env: { PATH: '' } });
    expect(plan.requirements).toBeUndefined();
    expect(plan.entries.filter((e) => e.name === 'requirements.txt')).toHaveLength(1);
  });
});

describe('size limit', () => {
  it('names the largest files and directories, the ignore file and what to add', async () => {
    const dir = await copyPlugin(path.join(REAL_FIXTURES, 'whatsapp-bot'));
    const plan = await planPackage(dir, selectFiles(dir), { language: 'python', env: { PATH: '' } });
    const finding = sizeFinding(plan, 1024 * 1024, '.difyignore')!;
    expect(finding.code).toBe('pack/too-large');
    expect(finding.message).toMatch(/over the 1\.0 MB limit/);
    expect(finding.message).toMatch(/Largest files: _assets\/\S+ \(\d+\.\d KB\)(, [^,]+){4}\./);
    expect(finding.message).toMatch(/Largest directories: _assets\/ \(/);
    expect(finding.message).toMatch(/Ignore file: \.difyignore\./);
    // Nothing spare comes near the 0.6 MB excess: _assets/ holds the icons Dify needs, uv.lock
    // the dependencies; leaving out .env.example would not help.
    expect(finding.hint).toMatch(/^the largest files are ones the plugin needs/);
    // Just over the limit, the largest spare path is worth naming, but never what Dify reads
    // or what the plugin refers to.
    const near = (referenced: string[]) =>
      sizeFinding(plan, plan.totalSize - 1000, '.difyignore', new Set(referenced))!.hint!;
    expect(near([])).toMatch(
      /^if (\S+) is not needed at run time, add "\1" to \.difyignore; or raise the limit with --max-size <MB>$/,
    );
    expect(near([])).not.toMatch(/_assets|manifest\.yaml|uv\.lock|\.py"|README/);
    const named = /^if (\S+) is not needed/.exec(near([]))![1]!;
    const inside = plan.entries.map((e) => e.name).filter((n) => n === named || n.startsWith(named));
    expect(near(inside)).not.toContain(`"${named}"`);
    const onlyAssets = { ...plan, entries: plan.entries.filter((e) => e.name.startsWith('_assets/')) };
    expect(sizeFinding(onlyAssets, 1024, null)!.hint).toMatch(
      /^the largest files are ones the plugin needs \(its declarations, code and assets\): make them smaller/,
    );
    expect(sizeFinding(plan, MAX_PACKAGE_BYTES, '.difyignore')).toBeNull();
  });
});
