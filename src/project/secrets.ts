import { closeSync, readSync } from 'node:fs';
import { openRegularFile } from './file-kind.js';

/**
 * Files that hold credentials, which a plugin package (uploaded to a Dify instance, often
 * published) must never carry. Decided by name where the name says it all, and by content where
 * a common extension does not: a `.pem` is as often a certificate bundle (certifi's cacert.pem)
 * as a key, and an `.npmrc` is mostly registry settings.
 */
const SSH_KEY = /^id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?$/;
const BY_NAME = new Map([
  ['.pypirc', 'PyPI credentials (.pypirc)'],
  ['.netrc', 'login credentials (.netrc)'],
  ['.envrc', 'a direnv file (.envrc), which exports secrets into the environment'],
]);
const KEY_FILE = /\.(?:pem|key)$/i;
/** Any PEM private key: PKCS#1 `RSA`, `EC`, `DSA`, `OPENSSH`, PKCS#8, `ENCRYPTED`. */
const PRIVATE_KEY_BLOCK = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
/** npm's credential keys, bare or scoped to a registry (`//registry.npmjs.org/:_authToken=`). */
const NPM_AUTH = /^[ \t]*(?:[^#;\s][^\n=]*:)?_(?:authToken|auth|password)[ \t]*=/m;
/** How much of a `.pem`, `.key` or `.npmrc` is read to look: real ones are a few KiB. */
const SCAN_BYTES = 1024 * 1024;

/**
 * What secret the file at `abs` holds, for a message (`an SSH private key`), or null. `names`:
 * the name it would be packed under and, for a symbolic link, its target's name. `anyContent`
 * looks for a private key whatever the names (for links that lead out of the plugin directory).
 */
export function secretIn(abs: string, names: string[], anyContent = false): string | null {
  for (const name of names) {
    if (SSH_KEY.test(name)) return 'an SSH private key';
    const known = BY_NAME.get(name);
    if (known) return known;
  }
  const npmrc = names.includes('.npmrc');
  if (!npmrc && !anyContent && !names.some((n) => KEY_FILE.test(n))) return null;
  const head = readHead(abs);
  if (PRIVATE_KEY_BLOCK.test(head)) return 'a private key';
  if (npmrc && NPM_AUTH.test(head)) return 'npm credentials (.npmrc with an auth token or password)';
  return null;
}

/** The first SCAN_BYTES of a file as text; empty when it cannot be read (reported elsewhere). */
function readHead(abs: string): string {
  let fd: number;
  try {
    ({ fd } = openRegularFile(abs));
  } catch {
    return '';
  }
  try {
    const buffer = Buffer.allocUnsafe(SCAN_BYTES); // only the bytes read are looked at
    let filled = 0;
    for (let n; filled < SCAN_BYTES && (n = readSync(fd, buffer, filled, SCAN_BYTES - filled, null)) > 0;) filled += n;
    return buffer.toString('latin1', 0, filled);
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}
