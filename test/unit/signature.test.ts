import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  generateKeyPairSync,
} from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkPlugin } from '../../src/pipelines/check-plugin.js';
import { OFFICIAL_PUBLIC_KEY, signedName } from '../../src/cli/commands/signature.js';
import { readPackageFile } from '../../src/package-files.js';
import {
  generateKeyPair,
  KeyError,
  KeyFilesExistError,
  loadPrivateKey,
  loadPublicKey,
  writeKeyPair,
  type PemKeyPair,
} from '../../src/pack/keys.js';
import {
  parseAuthorizedCategory,
  SignatureError,
  signPackage,
  VERIFICATION_FILE,
  verifyPackage,
} from '../../src/pack/signature.js';
import { ZipReader } from '../../src/project/zip-reader.js';
import { writeZip } from '../../src/pack/zip-writer.js';
import { EXAMPLE, tempDir } from '../helpers/plugin.js';
import { MAX_PACKAGE_BYTES } from '../../src/project/limits.js';

const options = { strict: false, maxBytes: MAX_PACKAGE_BYTES, env: { PATH: '' }, checksum: true };

// ---------------------------------------------------------------------------------------------
// An independent implementation of the daemon's scheme (the signature formats in docs/commands.md;
// dify-plugin-daemon `pkg/plugin_packager/decoder/verifier.go`), written from that description
// with node:crypto, zlib and Buffer writes only: none of the code under test is used, so the two
// sides can only agree by both following that description.

interface HandEntry {
  name: string;
  data: Buffer;
}

/** A ZIP unlike ours: sizes in the local headers (no data descriptors), DOS times, an extra field, some entries stored. */
function handZip(entries: readonly HandEntry[], comment: string): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  entries.forEach((e, i) => {
    const name = Buffer.from(e.name, 'utf8');
    const stored = i % 2 === 1 || e.name.endsWith('/');
    const body = stored ? e.data : deflateRawSync(e.data, { level: 9 });
    const extra = Buffer.alloc(9);
    extra.writeUInt16LE(0x5455, 0); // extended timestamp
    extra.writeUInt16LE(5, 2);
    extra.writeUInt8(1, 4);
    extra.writeUInt32LE(1_700_000_000, 5);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt16LE(0x6000, 10); // 12:00
    local.writeUInt16LE(0x5821, 12); // 2024-01-01
    local.writeUInt32LE(crc32(e.data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    parts.push(local, name, extra, body);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(0x031e, 4); // made by Unix
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(stored ? 0 : 8, 10);
    cd.writeUInt16LE(0x6000, 12);
    cd.writeUInt16LE(0x5821, 14);
    cd.writeUInt32LE(crc32(e.data), 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(e.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(((e.name.endsWith('/') ? 0o40755 : 0o100644) * 0x10000) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    offset += local.length + name.length + extra.length + body.length;
  });
  const cdBytes = Buffer.concat(central);
  const text = Buffer.from(comment, 'utf8');
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(offset, 16);
  eocd.writeUInt16LE(text.length, 20);
  return Buffer.concat([...parts, cdBytes, eocd, text]);
}

/** Every entry (directories included) in central-directory order, and the comment. */
function handUnzip(zip: Buffer): { entries: HandEntry[]; comment: string } {
  let eocd = zip.length - 22;
  while (zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const entries: HandEntry[] = [];
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const skip = nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    const name = zip.subarray(p + 46, p + 46 + nameLength).toString('utf8');
    const local = zip.readUInt32LE(p + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    entries.push({ name, data: method === 8 ? inflateRawSync(raw) : Buffer.from(raw) });
    p += 46 + skip;
  }
  return { entries, comment: zip.subarray(eocd + 22, eocd + 22 + zip.readUInt16LE(eocd + 20)).toString('utf8') };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest();

/** The daemon's signed bytes: SHA-256 of each file entry (directories skipped), then the decimal time. */
function handData(entries: readonly HandEntry[], time: number): Buffer {
  const files = entries.filter((e) => !e.name.endsWith('/'));
  return Buffer.concat([...files.map((e) => sha(e.data)), Buffer.from(String(time))]);
}

function handSign(entries: readonly HandEntry[], privatePem: string, category: string, time: number): Buffer {
  const all = [...entries, { name: VERIFICATION_FILE, data: Buffer.from(`{"authorized_category":"${category}"}`) }];
  const signature = createSign('RSA-SHA256').update(handData(all, time)).sign(privatePem, 'base64');
  return handZip(all, `{"signature":"${signature}","time":${time}}`);
}

function handVerify(zip: Buffer, publicPem: string): boolean {
  const { entries, comment } = handUnzip(zip);
  const { signature, time } = JSON.parse(comment) as { signature: string; time: number };
  return createVerify('RSA-SHA256').update(handData(entries, time)).verify(publicPem, signature, 'base64');
}

// ---------------------------------------------------------------------------------------------

let keys: PemKeyPair;
let other: PemKeyPair;
let unsigned: string;
let work: string;

beforeAll(async () => {
  [keys, other] = await Promise.all([generateKeyPair(), generateKeyPair(2048)]); // RSA-4096 once for the file; the other is only ever the wrong key
  work = await tempDir('dify-sign-');
  unsigned = path.join(work, 'hello-world.difypkg');
  const result = await checkPlugin(EXAMPLE, { ...options, outputPath: unsigned });
  expect(result.ok).toBe(true);
  await writeZip(unsigned, result.plan!.entries);
});

const priv = () => loadPrivateKey(keys.privatePem);
const pub = (pair = keys) => ({ label: 'mine', key: loadPublicKey(pair.publicPem) });
let n = 0;
const out = (name = `p${n++}.difypkg`) => path.join(work, name);

async function entriesOf(
  file: string,
): Promise<{ names: string[]; comment: string; read(name: string): Promise<Buffer> }> {
  const zip = await ZipReader.open(file, 1e9);
  const data = new Map<string, Buffer>();
  for (const e of zip.contents.entries) data.set(e.name, await zip.read(e));
  const result = {
    names: zip.contents.entries.map((e) => e.name),
    comment: zip.contents.comment,
    read: async (name: string) => data.get(name)!,
  };
  await zip.close();
  return result;
}

/** The package rewritten with `change` applied to its entries and comment. */
async function rewrite(
  file: string,
  change: (e: HandEntry[], comment: string) => { entries: HandEntry[]; comment: string },
): Promise<string> {
  const { entries, comment } = handUnzip(readFileSync(file));
  const changed = change(entries, comment);
  const target = out();
  await writeZip(
    target,
    changed.entries.map((e) => ({ name: e.name, read: async () => e.data })),
    { comment: changed.comment },
  );
  return target;
}

describe('generate', () => {
  it('makes RSA-4096 keys in PKCS#1 PEM, as the Go CLI writes them', () => {
    expect(keys.privatePem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----\n$/);
    expect(keys.publicPem).toMatch(/^-----BEGIN RSA PUBLIC KEY-----\n[\s\S]+\n-----END RSA PUBLIC KEY-----\n$/);
    expect(priv().asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect(pub().key.asymmetricKeyDetails?.modulusLength).toBe(4096);
  });

  it('writes the private key 0600 and the public key 0644, refusing to overwrite unless forced', async () => {
    const dir = await tempDir();
    const a = path.join(dir, 'k.private.pem');
    const b = path.join(dir, 'k.public.pem');
    const umask = process.umask();
    await writeKeyPair(a, b, keys, false);
    expect(statSync(a).mode & 0o777).toBe(0o600 & ~umask);
    expect(statSync(b).mode & 0o777).toBe(0o644 & ~umask);
    expect(readFileSync(a, 'utf8')).toBe(keys.privatePem);

    await writeFile(b, 'mine');
    await expect(writeKeyPair(a, b, other, false)).rejects.toThrow(KeyFilesExistError);
    expect(readFileSync(a, 'utf8')).toBe(keys.privatePem);
    expect(readFileSync(b, 'utf8')).toBe('mine');

    await chmod(a, 0o644); // an old key with loose permissions does not pass them on
    await writeKeyPair(a, b, other, true);
    expect(readFileSync(a, 'utf8')).toBe(other.privatePem);
    expect(statSync(a).mode & 0o777).toBe(0o600 & ~umask);
  });
});

describe('sign and verify', () => {
  it('round-trips; the verification file is the last entry and the comment is Go-shaped', async () => {
    const signed = out();
    const result = await signPackage(unsigned, signed, {
      privateKey: priv(),
      category: 'langgenius',
      time: 1_700_000_123,
    });
    expect(result).toMatchObject({ time: 1_700_000_123, category: 'langgenius', replaced: false });

    const before = await entriesOf(unsigned);
    const after = await entriesOf(signed);
    expect(after.names).toEqual([...before.names, VERIFICATION_FILE]);
    for (const name of before.names) expect((await after.read(name)).equals(await before.read(name))).toBe(true);
    expect((await after.read(VERIFICATION_FILE)).toString()).toBe('{"authorized_category":"langgenius"}');
    expect(after.comment).toMatch(/^\{"signature":"[A-Za-z0-9+/]{683}=","time":1700000123\}$/);

    await expect(verifyPackage(signed, [pub()])).resolves.toEqual({
      key: 'mine',
      time: 1_700_000_123,
      category: 'langgenius',
      categoryDeclared: true,
    });

    // Still a valid plugin; the verification file changes the checksum.
    const checked = await checkPlugin(signed, options);
    expect(checked.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(checked.plugin!.checksum).not.toBe((await checkPlugin(unsigned, options)).plugin!.checksum);
  });

  it('fails when an entry was changed after signing', async () => {
    const signed = out();
    await signPackage(unsigned, signed, { privateKey: priv(), category: 'langgenius' });
    const tampered = await rewrite(signed, (entries, comment) => ({
      entries: entries.map((e) =>
        e.name === 'main.py' ? { ...e, data: Buffer.concat([e.data, Buffer.from('\n# evil\n')]) } : e,
      ),
      comment,
    }));
    await expect(verifyPackage(tampered, [pub()])).rejects.toThrow(/the signature does not match/);
  });

  it('fails when the time in the comment was changed', async () => {
    const signed = out();
    await signPackage(unsigned, signed, { privateKey: priv(), category: 'langgenius', time: 1_700_000_000 });
    const tampered = await rewrite(signed, (entries, comment) => ({
      entries,
      comment: comment.replace('"time":1700000000', '"time":1700000001'),
    }));
    expect((await entriesOf(tampered)).comment).toContain('"time":1700000001');
    await expect(verifyPackage(tampered, [pub()])).rejects.toThrow(SignatureError);
  });

  it('fails when the category was changed, or the verification file removed', async () => {
    const signed = out();
    await signPackage(unsigned, signed, { privateKey: priv(), category: 'community' });
    const promoted = await rewrite(signed, (entries, comment) => ({
      entries: entries.map((e) =>
        e.name === VERIFICATION_FILE ? { ...e, data: Buffer.from('{"authorized_category":"langgenius"}') } : e,
      ),
      comment,
    }));
    await expect(verifyPackage(promoted, [pub()])).rejects.toThrow(/does not match/);
    const dropped = await rewrite(signed, (entries, comment) => ({
      entries: entries.filter((e) => e.name !== VERIFICATION_FILE),
      comment,
    }));
    await expect(verifyPackage(dropped, [pub()])).rejects.toThrow(/does not match/);
  });

  it('fails with the wrong key, and names the key that matched among several', async () => {
    const signed = out();
    await signPackage(unsigned, signed, { privateKey: priv(), category: 'langgenius' });
    await expect(verifyPackage(signed, [pub(other)])).rejects.toThrow(/does not match/);
    const result = await verifyPackage(signed, [
      { ...pub(other), label: 'other' },
      { ...pub(), label: 'right' },
    ]);
    expect(result.key).toBe('right');
  });

  it('re-signing replaces the signature: one verification file, a new comment', async () => {
    const first = out();
    await signPackage(unsigned, first, { privateKey: priv(), category: 'langgenius', time: 1_700_000_000 });
    const second = out();
    const result = await signPackage(first, second, {
      privateKey: loadPrivateKey(other.privatePem),
      category: 'partner',
      time: 1_800_000_000,
    });
    expect(result.replaced).toBe(true);
    const a = await entriesOf(first);
    const b = await entriesOf(second);
    expect(b.names.filter((x) => x === VERIFICATION_FILE)).toHaveLength(1);
    expect(b.names).toEqual(a.names);
    expect(b.names.at(-1)).toBe(VERIFICATION_FILE);
    expect(b.comment).not.toBe(a.comment);
    expect((await b.read(VERIFICATION_FILE)).toString()).toBe('{"authorized_category":"partner"}');
    await expect(verifyPackage(second, [pub(other)])).resolves.toMatchObject({
      category: 'partner',
      time: 1_800_000_000,
    });
    await expect(verifyPackage(second, [pub()])).rejects.toThrow(SignatureError); // the old key no longer matches
  });

  it('keeps the authorized category as typed; checks it without case', async () => {
    expect(parseAuthorizedCategory('Partner')).toBe('Partner');
    expect(parseAuthorizedCategory('COMMUNITY')).toBe('COMMUNITY');
    expect(parseAuthorizedCategory('langgenius')).toBe('langgenius');
    expect(parseAuthorizedCategory('xyz')).toBe(null);
    expect(parseAuthorizedCategory('')).toBe(null);
    const signed = out();
    await signPackage(unsigned, signed, { privateKey: priv(), category: 'Partner' });
    expect((await (await entriesOf(signed)).read(VERIFICATION_FILE)).toString()).toBe(
      '{"authorized_category":"Partner"}',
    );
    await expect(verifyPackage(signed, [pub()])).resolves.toMatchObject({
      category: 'Partner',
      categoryDeclared: true,
    });
  });

  it('names the output <name>.signed<ext> beside the input, as the Go CLI', () => {
    expect(signedName('/a/b/foo.difypkg')).toBe('/a/b/foo.signed.difypkg');
    expect(signedName('/a/foo.signed.difypkg')).toBe('/a/foo.signed.signed.difypkg');
    expect(signedName('/a/foo')).toBe('/a/foo.signed');
  });

  it('refuses to sign a package with a repeated entry name (Dify would read only the first)', async () => {
    const dup = out();
    await writeZip(dup, [
      { name: 'manifest.yaml', read: async () => Buffer.from('a') },
      { name: 'manifest.yaml', read: async () => Buffer.from('b') },
    ]);
    await expect(signPackage(dup, out(), { privateKey: priv(), category: 'langgenius' })).rejects.toThrow(
      /"manifest\.yaml" appears twice/,
    );
  });
});

describe('the official key', () => {
  it('parses as an RSA-4096 PKCS#1 public key; an unsigned package fails with a clear message', async () => {
    const pem = readPackageFile(OFFICIAL_PUBLIC_KEY).toString('utf8');
    expect(pem.startsWith('-----BEGIN RSA PUBLIC KEY-----\n')).toBe(true);
    const official = loadPublicKey(pem, 'official');
    expect(official.asymmetricKeyDetails?.modulusLength).toBe(4096);
    await expect(verifyPackage(unsigned, [{ label: 'official', key: official }])).rejects.toThrow(
      'the package is not signed (its zip comment is empty)',
    );
    const signed = out();
    await signPackage(unsigned, signed, { privateKey: priv(), category: 'langgenius' });
    await expect(verifyPackage(signed, [{ label: 'official', key: official }])).rejects.toThrow(/does not match/);
  });

  it('rejects a comment that is not a signature', async () => {
    const odd = await rewrite(unsigned, (entries) => ({ entries, comment: 'made with zip 3.0' }));
    await expect(verifyPackage(odd, [pub()])).rejects.toThrow(/not a Dify signature/);
    const noTime = await rewrite(unsigned, (entries) => ({ entries, comment: '{"signature":"AAAA"}' }));
    await expect(verifyPackage(noTime, [pub()])).rejects.toThrow(/no integer "time"/);
  });
});

describe('an independent implementation of the scheme', () => {
  const category = 'Community';

  it('signs a hand-built zip (stored and deflated entries, a directory entry) that our verify accepts', async () => {
    const { entries } = handUnzip(readFileSync(unsigned));
    const withDir = [{ name: '_assets/', data: Buffer.alloc(0) }, ...entries];
    const file = out();
    await writeFile(file, handSign(withDir, keys.privatePem, category, 1_712_345_678));
    expect(handVerify(readFileSync(file), keys.publicPem)).toBe(true); // the two halves agree with each other
    await expect(verifyPackage(file, [pub()])).resolves.toEqual({
      key: 'mine',
      time: 1_712_345_678,
      category,
      categoryDeclared: true,
    });
    // our signer re-signs it (its directory entry is dropped: Dify skips directories)
    const resigned = out();
    await signPackage(file, resigned, { privateKey: priv(), category: 'langgenius' });
    await expect(verifyPackage(resigned, [pub()])).resolves.toMatchObject({ category: 'langgenius' });
  });

  it('verifies what our sign wrote', async () => {
    const signed = out();
    await signPackage(unsigned, signed, { privateKey: priv(), category });
    expect(handVerify(readFileSync(signed), keys.publicPem)).toBe(true);
    expect(handVerify(readFileSync(signed), other.publicPem)).toBe(false);
  });

  it('agrees with the daemon on a package signed twice by the Go CLI (stacked verification files)', async () => {
    // Go re-signing copies the old .verification.dify.json and appends a new one; the daemon reads
    // a repeated name as its first entry, so only equal categories still verify.
    const { entries } = handUnzip(readFileSync(unsigned));
    const goResign = (first: string, second: string) => {
      const old = { name: VERIFICATION_FILE, data: Buffer.from(`{"authorized_category":"${first}"}`) };
      return handSign([...entries, old], keys.privatePem, second, 1_700_000_000);
    };
    const same = out();
    await writeFile(same, goResign('partner', 'partner'));
    await expect(verifyPackage(same, [pub()])).resolves.toMatchObject({ category: 'partner' });
    const different = out();
    await writeFile(different, goResign('partner', 'langgenius'));
    const failure = await verifyPackage(different, [pub()]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SignatureError);
    expect((failure as SignatureError).hint).toMatch(
      /several \.verification\.dify\.json entries with different contents/,
    );
    // Our sign replaces both with one.
    const fixed = out();
    await signPackage(different, fixed, { privateKey: priv(), category: 'partner' });
    expect((await entriesOf(fixed)).names.filter((x) => x === VERIFICATION_FILE)).toHaveLength(1);
    await expect(verifyPackage(fixed, [pub()])).resolves.toMatchObject({ category: 'partner' });
  });

  it('treats a verified package without a verification file as langgenius (signed before categories existed)', async () => {
    const { entries } = handUnzip(readFileSync(unsigned));
    const time = 1_650_000_000;
    const signature = createSign('RSA-SHA256').update(handData(entries, time)).sign(keys.privatePem, 'base64');
    const file = out();
    await writeFile(file, handZip(entries, `{"signature":"${signature}","time":${time}}`));
    await expect(verifyPackage(file, [pub()])).resolves.toEqual({
      key: 'mine',
      time,
      category: 'langgenius',
      categoryDeclared: false,
    });
  });
});

describe('key files', () => {
  it('accepts whitespace after the PEM block (the Go CLI refuses a trailing newline)', () => {
    expect(loadPrivateKey(`${keys.privatePem}\n\n`).asymmetricKeyType).toBe('rsa');
    expect(loadPublicKey(`${keys.publicPem}\r\n  \n`).asymmetricKeyType).toBe('rsa');
    expect(loadPublicKey(keys.publicPem.trimEnd()).asymmetricKeyType).toBe('rsa'); // no newline at all
    expect(() => loadPublicKey(`${keys.publicPem}${other.publicPem}`, 'two.pem')).toThrow(
      'two.pem: unexpected data after the RSA PUBLIC KEY block',
    );
  });

  it('gives one clear line for the wrong kind of PEM', () => {
    expect(() => loadPrivateKey(keys.publicPem, 'k.public.pem')).toThrow(
      'k.public.pem is a public key (RSA PUBLIC KEY); signing needs the private key',
    );
    expect(() => loadPublicKey(keys.privatePem, 'k.private.pem')).toThrow(
      'k.private.pem is a private key (RSA PRIVATE KEY); verifying needs the public key',
    );
    expect(() => loadPublicKey('hello', 'x')).toThrow('x is not a PEM file');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => loadPrivateKey(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }), 'ec.pem')).toThrow(
      'ec.pem holds a ec key; Dify signatures use RSA keys',
    );
    expect(() => loadPrivateKey(ec.privateKey.export({ type: 'sec1', format: 'pem' }), 'ec.pem')).toThrow(
      /"EC PRIVATE KEY" PEM block, not an RSA private key/,
    );
    const broken = keys.publicPem.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
    expect(() => loadPublicKey(broken, 'broken.pem')).toThrow(KeyError);
  });

  it('also reads PKCS#8 private and SPKI public keys, with the same signatures', async () => {
    const pkcs8 = createPrivateKey(keys.privatePem).export({ type: 'pkcs8', format: 'pem' }) as string;
    const spki = createPublicKey(keys.publicPem).export({ type: 'spki', format: 'pem' }) as string;
    expect(pkcs8).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const signed = out();
    await signPackage(unsigned, signed, { privateKey: loadPrivateKey(pkcs8), category: 'langgenius' });
    await expect(verifyPackage(signed, [{ label: 'spki', key: loadPublicKey(spki) }])).resolves.toMatchObject({
      key: 'spki',
    });
    expect(handVerify(await readFile(signed), keys.publicPem)).toBe(true);
  });
});
