// Every command that opens a .difypkg, given archives built to mislead a ZIP reader: each is
// refused when the package is opened, with one line and exit 1, and leaves nothing behind.
import { truncateSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { EXAMPLE, tempDir } from '../helpers/plugin.js';
import { craftZip, filesOf, type CraftEntry, type CraftOptions } from '../helpers/zip-craft.js';
import { MAX_PACKAGE_BYTES } from '../../src/project/limits.js';

let dir: string;
let n = 0;
const base = filesOf(EXAMPLE);

beforeAll(async () => {
  dir = await tempDir('dify-hostile-');
});

/** The example plugin plus `extra` entries, written to a fresh .difypkg. */
async function pkg(extra: CraftEntry[] = [], options: CraftOptions = {}, entries = base): Promise<string> {
  const file = path.join(dir, `p${n++}.difypkg`);
  await writeFile(file, craftZip([...entries, ...extra], options));
  return file;
}

/** One line on stderr (the error), a hint at most, no stack trace. */
function refused(r: CliResult, message: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr + r.stdout).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

const check = (file: string, ...flags: string[]) => runCli(['plugin', 'package', '--check', file, ...flags]);

describe('the crafted example package', () => {
  it('is valid as built, so that each test below fails for its own reason only', async () => {
    const file = await pkg();
    const r = await check(file);
    expect(r.code, r.stdout).toBe(0);
    expect((await runCli(['plugin', 'checksum', file])).code).toBe(0);
  });
});

describe('sizes from headers are checked against the file before anything is read', () => {
  it('a compressed size past the end of the file', async () => {
    const file = await pkg([{ name: 'big.bin', data: 'x', compressedSize: 0x7fffffff + 1 }]);
    refused(await check(file), /"big\.bin": its data \(2147483648 bytes from its header\) runs past the entries/);
  });

  it('a local header that names another file than the central directory', async () => {
    const file = await pkg([], {}, [{ ...base[0]!, localName: 'other.txt' }, ...base.slice(1)]);
    refused(await check(file), /"\.difyignore": its local header names another file/);
  });

  it('a central directory that does not end at the end record', async () => {
    const file = await pkg([], { beforeEnd: Buffer.from('hidden') });
    refused(await check(file), /damaged central directory \(it does not end where the end record begins\)/);
  });

  it('an input over 4 GiB is refused unread (no ZIP64)', async () => {
    const file = path.join(dir, 'huge.difypkg');
    await writeFile(file, '');
    truncateSync(file, 2 ** 32 + 10); // sparse: no disk used
    refused(await check(file), /over 4 GiB: that needs ZIP64/);
    refused(await runCli(['plugin', 'checksum', file]), /over 4 GiB/);
  });
});

describe('one unpacked-size limit for every command, enforced before inflating', () => {
  let zeros: string;
  beforeAll(async () => {
    // A bit over the daemon's 50 MB, deflated to about 50 KB.
    const data = Buffer.alloc(MAX_PACKAGE_BYTES + 1024);
    zeros = await pkg([{ name: '_assets/zeros.bin', raw: deflateRawSync(data), size: data.length, crc: 0 }]);
  });

  it.each([
    ['plugin', 'checksum'],
    ['plugin', 'module', 'list'],
    ['plugin', 'readme', 'list'],
    ['signature', 'verify'],
  ])('%s %s', async (...command) => {
    const r = await runCli([...command, zeros]);
    refused(r, /unpacks to \d+ bytes, more than the limit of 52428800 bytes/);
  });

  it('package --check, and --max-size raises the limit', async () => {
    refused(await check(zeros), /more than the limit of 52428800 bytes/);
    // Over the limit no more: the archive is read, and the lying CRC found.
    refused(await check(zeros, '--max-size', '60'), /"_assets\/zeros\.bin": damaged \(its CRC does not match\)/);
  });

  it('a manifest.yaml over its 1 MiB limit is not inflated at all', async () => {
    // Its data is no deflate stream: inflating it would fail, so only the size can have been read.
    const file = await pkg(
      [],
      {},
      base.map((e) =>
        e.name === 'manifest.yaml' ? { name: e.name, raw: Buffer.from('not deflate'), size: 2 * 1024 * 1024 } : e,
      ),
    );
    // module list reads the manifest and nothing else.
    refused(
      await runCli(['plugin', 'module', 'list', file]),
      /manifest\.yaml is 2\.0 MiB; YAML declarations over 1 MiB are not read/,
    );
  });
});

describe('entries that overlap, repeat, or cannot be read as Dify reads them', () => {
  const a = (data: string): CraftEntry => ({ name: 'a.bin', data });

  it.each<[string, CraftEntry[], RegExp]>([
    [
      'entries sharing one stream (the bomb)',
      [a('aaaa'), { name: 'b.bin', data: 'aaaa', sharesWith: base.length }],
      /overlap/,
    ],
    [
      'data running into the central directory',
      [{ ...a('aaaa'), raw: deflateRawSync('aaaa'), compressedSize: 40 }],
      /runs past the entries/,
    ],
    ['a repeated name', [a('one'), a('two')], /"a\.bin" appears twice/],
    ['a NUL in a name', [{ name: 'a\0.sh', data: 'x' }], /"a\\u0000\.sh" has a control character/],
    [
      'an escape sequence in a name',
      [{ name: 'a\x1b[2J.txt', data: 'x' }],
      /"a\\u001b\[2J\.txt" has a control character/,
    ],
    ['a name that is not UTF-8', [{ name: Buffer.from([0x61, 0xff]), data: 'x' }], /not UTF-8/],
    [
      'a file that is also a directory',
      [a('x'), { name: 'a.bin/c', data: 'x' }],
      /"a\.bin" is both a file and a directory/,
    ],
    ['bzip2 compression', [{ ...a('x'), method: 12 }], /uses compression method 12/],
    ['an encrypted entry', [{ ...a('x'), flags: 1 }], /"a\.bin" is encrypted/],
    ['a name over 1 KiB', [{ name: 'd/'.repeat(600) + 'f', data: 'x' }], /is too long a name \(at most 1024 bytes/],
    ['a name part over 255 bytes', [{ name: `${'n'.repeat(256)}.txt`, data: 'x' }], /is too long a name/],
  ])('%s', async (_name, extra, message) => {
    const file = await pkg(extra);
    refused(await check(file), message);
    refused(await runCli(['plugin', 'checksum', file]), message);
  });

  it('bytes that belong to no entry (data no check would see)', async () => {
    const file = await pkg([], { prefix: Buffer.alloc(100) });
    refused(await check(file), /100 bytes of the archive belong to no entry/);
  });

  it('a repeated .verification.dify.json (a package signed twice by the Go CLI) is accepted, read as its first copy', async () => {
    const file = await pkg([
      { name: '.verification.dify.json', data: '{"authorized_category":"partner"}' },
      { name: '.verification.dify.json', data: '{"authorized_category":"langgenius"}' },
    ]);
    const r = await runCli(['plugin', 'package', '--check', file, '--list']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(
      /warning package\/verification-repeated .*2 \.verification\.dify\.json entries \(signed again by the Go CLI\); Dify reads only the first/,
    );
    expect(r.stdout.match(/^\s+\d+ B\s+\.verification\.dify\.json$/gm)).toHaveLength(1); // listed once
  });

  it('a damaged entry no rule reads fails the check in text and JSON alike', async () => {
    const file = await pkg([{ name: 'notes.txt', data: 'hello', crc: 1234 }]);
    refused(await check(file), /"notes\.txt": damaged \(its CRC does not match\)/);
    const json = await check(file, '--format', 'json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false });
  });
});

/** The example plus `extra`, packed; checksum opens it, loads the plugin, then reads and hashes every entry. */
async function checksumsWith(extra: CraftEntry[]): Promise<void> {
  const r = await runCli(['plugin', 'checksum', await pkg(extra)]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
}

describe('many entries, deep names', () => {
  it('60,000 tiny entries are read and hashed in one pass', async () => {
    await checksumsWith(
      Array.from({ length: 60_000 }, (_, i) => ({
        name: `data/${String(i).padStart(5, '0')}.txt`,
        data: String(i),
        method: 0,
      })),
    );
  });

  it('2,000 names 500 levels deep are read in linear time and memory (every directory prefix of each would be 0.5 GB of strings)', async () => {
    await checksumsWith(
      Array.from({ length: 2000 }, (_, i) => ({
        name: `${i.toString(36)}/${'a/'.repeat(500)}f.py`,
        data: '',
        method: 0,
      })),
    );
  });
});

describe('local runs', () => {
  it('a hostile package is refused before anything is unpacked', async () => {
    const tmp = await tempDir();
    const file = await pkg([
      { name: 'a.bin', data: 'aaaa' },
      { name: 'b.bin', data: 'aaaa', sharesWith: base.length },
    ]);
    const r = await runCli(['plugin', 'run', file], { env: { TMPDIR: tmp } });
    refused(r, /overlap/);
    expect(await readdir(tmp)).toEqual([]);
  });
});
