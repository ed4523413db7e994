import { constants, createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { MAX_PACKAGE_BYTES } from '../project/limits.js';
import { VERIFICATION_FILE, ZipReader } from '../project/zip-reader.js';
import { writeZip, type ZipInput } from './zip-writer.js';
import { UserError } from '../diagnostics/user-error.js';
import { AUTHORIZED_CATEGORIES, type AuthorizedCategory } from './authorized-categories.js';

/**
 * Dify package signatures, byte for byte as the daemon computes them (dify-plugin-daemon
 * `pkg/plugin_packager/signer/withkey/sign_with_key.go`, `pkg/plugin_packager/decoder/verifier.go`):
 *
 *   data      = SHA-256(entry 1) ‖ … ‖ SHA-256(entry n) ‖ decimal(time)
 *               (entry contents in central-directory order, `.verification.dify.json` included)
 *   signature = RSASSA-PKCS1-v1_5(SHA-256(data))
 *   comment   = {"signature":"<base64>","time":<time>}
 */

/** The entry holding the authorized category, written last by the signer. */
export { VERIFICATION_FILE };

export { AUTHORIZED_CATEGORIES, type AuthorizedCategory };

/** What the daemon assumes for a verified package without a verification file (historical). */
export const DEFAULT_CATEGORY: AuthorizedCategory = 'langgenius';

/** Signing or verification failed for a reason about the package or its signature. */
export class SignatureError extends UserError {}

/** The category as typed when it is one of the three, compared without case (as the Go CLI does); else null. */
export function parseAuthorizedCategory(value: string): string | null {
  return AUTHORIZED_CATEGORIES.some((c) => c === value.toLowerCase()) ? value : null;
}

/** The bytes the RSA signature covers. */
export function signedData(entryHashes: readonly Buffer[], time: number): Buffer {
  return Buffer.concat([...entryHashes, Buffer.from(String(time), 'ascii')]);
}

/** `.verification.dify.json` as Go's json.Marshal writes the struct. */
function verificationJson(category: string): Buffer {
  return Buffer.from(JSON.stringify({ authorized_category: category }), 'utf8');
}

/** The zip comment, keys in Go's map order (alphabetical). */
function signatureComment(signature: Buffer, time: number): string {
  return JSON.stringify({ signature: signature.toString('base64'), time });
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();
const PKCS1 = constants.RSA_PKCS1_PADDING;

function rsaSign(privateKey: KeyObject, data: Buffer): Buffer {
  return sign('sha256', data, { key: privateKey, padding: PKCS1 });
}

function rsaVerify(publicKey: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return verify('sha256', data, { key: publicKey, padding: PKCS1 }, signature);
  } catch {
    return false; // e.g. a signature of the wrong length for this key
  }
}

export interface SignOptions {
  privateKey: KeyObject;
  /** Stored as given (the CLI checks it against AUTHORIZED_CATEGORIES, ignoring case). */
  category: string;
  /** Unix seconds to sign with; the current time by default. */
  time?: number;
  /** Uncompressed size limit for reading the input (the daemon's 50 MB by default). */
  maxTotalSize?: number;
}

export interface SignResult {
  time: number;
  category: string;
  /** Files in the signed package, the verification file included. */
  files: number;
  bytes: number;
  /** True when the input was already signed and that signature was replaced. */
  replaced: boolean;
}

/**
 * Signs the package at `input` into `output` (which may not be `input`). Entries are copied in
 * their order, then `.verification.dify.json` is added last and the signature set as the zip
 * comment. A signature already present is replaced: its verification entries and comment are
 * dropped, where the Go CLI would stack a second verification entry that its own verifier then
 * rejects when the categories differ; so a package signed here never repeats a name (the reader
 * refuses any other repeated name). Input entries are read twice (hash, then copy), one at a
 * time, so memory stays bounded by the largest file.
 */
export async function signPackage(input: string, output: string, options: SignOptions): Promise<SignResult> {
  if (path.resolve(input) === path.resolve(output))
    throw new SignatureError('the signed package must be written to another file than the input');
  const zip = await ZipReader.open(input, options.maxTotalSize ?? MAX_PACKAGE_BYTES);
  try {
    const { entries, comment } = zip.contents;
    const kept = entries.filter((e) => e.name !== VERIFICATION_FILE);
    const replaced = kept.length !== entries.length || /^\s*\{[\s\S]*"signature"/i.test(comment);

    const hashes: Buffer[] = [];
    for (const entry of kept) hashes.push(sha256(await zip.read(entry)));
    const verification = verificationJson(options.category);
    hashes.push(sha256(verification));
    const time = options.time ?? Math.floor(Date.now() / 1000);
    const signature = rsaSign(options.privateKey, signedData(hashes, time));

    const inputs: ZipInput[] = kept.map((entry, i) => ({
      name: entry.name,
      read: async () => {
        const data = await zip.read(entry);
        // The archive changed under us between the two passes: never sign what was not hashed.
        if (!sha256(data).equals(hashes[i]!))
          throw new SignatureError(`${entry.name} changed while the package was being signed`);
        return data;
      },
    }));
    inputs.push({ name: VERIFICATION_FILE, read: async () => verification });
    const written = await writeZip(output, inputs, { comment: signatureComment(signature, time) });
    await selfCheck(output, options.privateKey);
    return { time, category: options.category, files: written.files, bytes: written.bytes, replaced };
  } finally {
    await zip.close();
  }
}

/** Reads the written package back as a verifier would; a package that fails is removed, never left behind. */
async function selfCheck(output: string, privateKey: KeyObject): Promise<void> {
  try {
    await verifyPackage(output, [{ label: 'signing key', key: createPublicKey(privateKey) }]);
  } catch (err) {
    await rm(output, { force: true });
    throw new SignatureError(
      `the signed package failed its own verification (${(err as Error).message}); nothing was written`,
    );
  }
}

/** A key to verify with and how to name it in messages. */
export interface VerifyKey {
  label: string;
  key: KeyObject;
}

export interface VerifyResult {
  /** Label of the key that matched. */
  key: string;
  /** Unix seconds from the comment. */
  time: number;
  /** The authorized category, `langgenius` when the package has no verification file. */
  category: string;
  /** Whether a verification file was present (else the category is the daemon's default). */
  categoryDeclared: boolean;
}

/**
 * Verifies a package's signature against each key in turn (dify-plugin-daemon
 * `pkg/plugin_packager/decoder/verifier.go`). Throws SignatureError when the package is unsigned,
 * its signature is malformed, or no key matches. As in the daemon, an entry whose name repeats is
 * read as the first entry of that name.
 */
export async function verifyPackage(
  file: string,
  keys: readonly VerifyKey[],
  maxTotalSize = MAX_PACKAGE_BYTES,
): Promise<VerifyResult> {
  const zip = await ZipReader.open(file, maxTotalSize);
  try {
    const { entries, comment } = zip.contents;
    const { signature, time } = parseComment(comment);

    const hashes: Buffer[] = [];
    const contentHashes = new Map<string, Buffer>();
    let conflicting: string | null = null;
    for (const entry of entries) {
      const own = sha256(await zip.read(entry));
      const firstHash = contentHashes.get(entry.name);
      if (firstHash === undefined) contentHashes.set(entry.name, own);
      else if (!firstHash.equals(own)) conflicting ??= entry.name;
      hashes.push(firstHash ?? own);
    }

    const verificationEntry = zip.entry(VERIFICATION_FILE);
    const category = verificationEntry ? parseVerification(await zip.read(verificationEntry)) : DEFAULT_CATEGORY;

    const data = signedData(hashes, time);
    const match = keys.find((k) => rsaVerify(k.key, data, signature));
    if (!match) {
      const hint = conflicting
        ? `the package holds several ${conflicting} entries with different contents (signed twice by the Go CLI?); Dify reads only the first, so no signature over them verifies. Sign the unsigned package again`
        : undefined;
      throw new SignatureError(
        'the signature does not match: the package was changed after signing, or it was signed with another key',
        hint,
      );
    }
    return { key: match.label, time, category, categoryDeclared: verificationEntry !== undefined };
  } finally {
    await zip.close();
  }
}

/** A JSON object's field as Go's encoding/json finds it: the exact key, else one equal but for case. */
function field(object: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(object, name)) return object[name];
  const key = Object.keys(object).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : object[key];
}

function parseComment(comment: string): { signature: Buffer; time: number } {
  if (comment === '') {
    throw new SignatureError(
      'the package is not signed (its zip comment is empty)',
      'sign it with `dify signature sign <package> -p <name>.private.pem`',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(comment);
  } catch {
    throw new SignatureError('the package is not signed: its zip comment is not a Dify signature (not JSON)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SignatureError('the package is not signed: its zip comment is not a Dify signature (not a JSON object)');
  }
  const signature = field(parsed as Record<string, unknown>, 'signature');
  const time = field(parsed as Record<string, unknown>, 'time');
  if (typeof signature !== 'string' || signature === '')
    throw new SignatureError('the zip comment has no "signature" string');
  if (typeof time !== 'number' || !Number.isSafeInteger(time))
    throw new SignatureError('the zip comment has no integer "time"');
  // Go's StdEncoding: padded standard alphabet; line breaks are ignored.
  const b64 = signature.replace(/[\r\n]/g, '');
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64))
    throw new SignatureError('the signature in the zip comment is not valid base64');
  return { signature: Buffer.from(b64, 'base64'), time };
}

function parseVerification(bytes: Buffer): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SignatureError(`${VERIFICATION_FILE} is not valid JSON, so Dify rejects the signature`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SignatureError(`${VERIFICATION_FILE} is not a JSON object, so Dify rejects the signature`);
  }
  const category = field(parsed as Record<string, unknown>, 'authorized_category');
  if (category === undefined || category === null) return '';
  if (typeof category !== 'string')
    throw new SignatureError(
      `${VERIFICATION_FILE}: "authorized_category" is not a string, so Dify rejects the signature`,
    );
  return category;
}
