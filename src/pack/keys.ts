import { createPrivateKey, createPublicKey, generateKeyPair as generateRsa, type KeyObject } from 'node:crypto';
import { lstat, writeFile } from 'node:fs/promises';
import { UserError } from '../diagnostics/user-error.js';
import { writeFileAtomic } from '../project/temp-file.js';

/** A key file that cannot be used, with a one-line reason and, where useful, what to do. */
export class KeyError extends UserError {}

export interface PemKeyPair {
  /** PKCS#1 `RSA PRIVATE KEY` block, as the Go CLI writes it. */
  privatePem: string;
  /** PKCS#1 `RSA PUBLIC KEY` block, as the Go CLI writes it. */
  publicPem: string;
}

/** Key size of `dify signature generate` (dify-plugin-daemon `cmd/commandline/signature/generate.go`). */
export const KEY_BITS = 4096;

/**
 * A new RSA-4096 key pair in the Go CLI's formats (PKCS#1 PEM for both halves), which is also
 * the only format the daemon reads for third-party public keys. Takes a second or a few; the work
 * runs off the main thread, so a spinner keeps turning.
 */
export function generateKeyPair(bits = KEY_BITS): Promise<PemKeyPair> {
  return new Promise((resolve, reject) => {
    generateRsa(
      'rsa',
      {
        modulusLength: bits,
        publicExponent: 0x10001,
        publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      },
      (err, publicPem, privatePem) => (err ? reject(err) : resolve({ privatePem, publicPem })),
    );
  });
}

interface PemBlock {
  type: string;
  /** The block itself, BEGIN to END line, for node:crypto. */
  text: string;
}

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/;

/**
 * The first PEM block of `text`. As Go's pem.Decode, text before the block is skipped; unlike
 * the Go CLI, whitespace after it (an editor's trailing newline) is accepted, but anything else
 * is refused, so a file holding two keys is never half-read.
 */
function firstPemBlock(text: string, what: string, source: string): PemBlock {
  const begin = BEGIN.exec(text);
  if (!begin) {
    throw new KeyError(
      `${source} is not a PEM file (no "-----BEGIN ...-----" line)`,
      `pass the ${what} file written by \`dify signature generate\``,
    );
  }
  const type = begin[1]!;
  const endLine = `-----END ${type}-----`;
  const end = text.indexOf(endLine, begin.index);
  if (end < 0) throw new KeyError(`${source}: the ${type} block has no "${endLine}" line (truncated file?)`);
  const after = text.slice(end + endLine.length);
  if (after.trim() !== '') {
    throw new KeyError(
      `${source}: unexpected data after the ${type} block`,
      'a key file holds exactly one PEM block; remove the rest',
    );
  }
  return { type, text: text.slice(begin.index, end + endLine.length) + '\n' };
}

function parseWith<T>(parse: () => T, source: string, type: string): T {
  try {
    return parse();
  } catch (err) {
    throw new KeyError(`${source}: the ${type} block cannot be read (${(err as Error).message})`);
  }
}

function requireRsa(key: KeyObject, source: string): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new KeyError(
      `${source} holds a ${key.asymmetricKeyType ?? 'non-RSA'} key; Dify signatures use RSA keys`,
      'create one with `dify signature generate`',
    );
  }
  return key;
}

/**
 * The private key of a PEM file: PKCS#1 `RSA PRIVATE KEY` (what the Go CLI reads and writes)
 * or, beyond it, unencrypted PKCS#8 `PRIVATE KEY` holding an RSA key. `source` names the file
 * in messages.
 */
export function loadPrivateKey(pem: string | Buffer, source = 'the private key'): KeyObject {
  const block = firstPemBlock(pem.toString('utf8'), 'private key (<name>.private.pem)', source);
  switch (block.type) {
    case 'RSA PRIVATE KEY':
    case 'PRIVATE KEY':
      return requireRsa(
        parseWith(() => createPrivateKey({ key: block.text, format: 'pem' }), source, block.type),
        source,
      );
    case 'ENCRYPTED PRIVATE KEY':
      throw new KeyError(
        `${source} is encrypted with a passphrase, which Dify keys never are`,
        'decrypt it: openssl rsa -in <file> -traditional -out <name>.private.pem',
      );
    case 'RSA PUBLIC KEY':
    case 'PUBLIC KEY':
      throw new KeyError(
        `${source} is a public key (${block.type}); signing needs the private key`,
        'pass the <name>.private.pem written by `dify signature generate`',
      );
    case 'OPENSSH PRIVATE KEY':
      throw new KeyError(
        `${source} is an OpenSSH key; Dify signatures need an RSA key in PEM form`,
        'create one with `dify signature generate`',
      );
    default:
      throw new KeyError(
        `${source} holds a "${block.type}" PEM block, not an RSA private key`,
        'pass the <name>.private.pem written by `dify signature generate`',
      );
  }
}

/**
 * The public key of a PEM file: PKCS#1 `RSA PUBLIC KEY` (what the Go CLI and the daemon read)
 * or, beyond them, SPKI `PUBLIC KEY` holding an RSA key.
 */
export function loadPublicKey(pem: string | Buffer, source = 'the public key'): KeyObject {
  const block = firstPemBlock(pem.toString('utf8'), 'public key (<name>.public.pem)', source);
  switch (block.type) {
    case 'RSA PUBLIC KEY':
    case 'PUBLIC KEY':
      return requireRsa(
        parseWith(() => createPublicKey({ key: block.text, format: 'pem' }), source, block.type),
        source,
      );
    case 'RSA PRIVATE KEY':
    case 'PRIVATE KEY':
    case 'ENCRYPTED PRIVATE KEY':
      throw new KeyError(
        `${source} is a private key (${block.type}); verifying needs the public key`,
        'pass the <name>.public.pem written beside it by `dify signature generate`, and keep the private key secret',
      );
    case 'CERTIFICATE':
      throw new KeyError(
        `${source} is a certificate; Dify verifies with a bare RSA public key`,
        'extract it: openssl x509 -in <file> -pubkey -noout > key.public.pem',
      );
    default:
      throw new KeyError(
        `${source} holds a "${block.type}" PEM block, not an RSA public key`,
        'pass the <name>.public.pem written by `dify signature generate`',
      );
  }
}

/** Key files that are already there and were not to be overwritten. */
export class KeyFilesExistError extends KeyError {
  constructor(readonly files: string[]) {
    super(
      `${files.join(' and ')} ${files.length === 1 ? 'exists' : 'exist'}; not overwriting ${files.length === 1 ? 'it' : 'them'}`,
      'choose another name with -f, or pass --force to replace them',
    );
  }
}

/** File modes of `dify signature generate`: the private key readable by its owner only. */
export const PRIVATE_KEY_MODE = 0o600;
export const PUBLIC_KEY_MODE = 0o644;

/**
 * Writes a key pair. Unless `force`, nothing is written when either file exists. Each file is
 * created with its final mode (never briefly world-readable); with `force` it is written beside
 * the target and renamed over it, so an old key with looser permissions does not pass them on.
 */
export async function writeKeyPair(
  privatePath: string,
  publicPath: string,
  pair: PemKeyPair,
  force: boolean,
): Promise<void> {
  if (!force) await refuseExistingKeyFiles(privatePath, publicPath);
  await writeKeyFile(privatePath, pair.privatePem, PRIVATE_KEY_MODE, force);
  await writeKeyFile(publicPath, pair.publicPem, PUBLIC_KEY_MODE, force);
}

/** Throws KeyFilesExistError when either file (or anything else at its path) exists. */
export async function refuseExistingKeyFiles(...files: string[]): Promise<void> {
  const existing: string[] = [];
  for (const file of files) if (await lstat(file).catch(() => null)) existing.push(file);
  if (existing.length > 0) throw new KeyFilesExistError(existing);
}

async function writeKeyFile(file: string, text: string, mode: number, force: boolean): Promise<void> {
  if (!force) {
    await writeFile(file, text, { mode, flag: 'wx' });
    return;
  }
  await writeFileAtomic(file, text, mode);
}
