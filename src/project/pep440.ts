/**
 * PEP 440 versions: the syntax check the Python SDK applies (`isPep440`) and the order of
 * versions (`comparePep440`), which the uv.lock export uses to tell several locked versions of
 * one package apart.
 */

/**
 * PEP 440 version syntax, as the Python SDK checks it with `packaging.version.Version`:
 * optional `v` and epoch, release numbers, then optional pre-, post- and dev-release parts and a
 * local label, with the separators PEP 440 normalizes.
 *
 * One expression serves both the check and `parsePep440`: the named groups only capture, so they
 * change nothing in what is accepted (`(?<n>\d+)?` matches exactly what `\d*` does).
 */
const PEP440 = new RegExp(
  [
    '^\\s*v?',
    '(?:(?<epoch>\\d+)!)?', // epoch
    '(?<release>\\d+(?:\\.\\d+)*)', // release
    '(?:[-_.]?(?<pre>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?<preNumber>\\d+)?)?', // pre-release
    '(?:-(?<implicitPost>\\d+)|[-_.]?(?<post>post|rev|r)[-_.]?(?<postNumber>\\d+)?)?', // post-release
    '(?:[-_.]?(?<dev>dev)[-_.]?(?<devNumber>\\d+)?)?', // dev release
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?', // local version label
    '\\s*$',
  ].join(''),
  'i',
);

export function isPep440(version: string): boolean {
  return PEP440.test(version);
}

// ---------------------------------------------------------------------------------------------
// PEP 440 version order
// ---------------------------------------------------------------------------------------------

interface Pep440Version {
  epoch: number;
  release: number[];
  pre: [number, number] | null;
  post: number | null;
  dev: number | null;
  local: (number | string)[] | null;
}

export function parsePep440(text: string): Pep440Version | null {
  const m = PEP440.exec(text);
  if (!m) return null;
  const { epoch, release, pre, preNumber, implicitPost, post, postNumber, dev, devNumber, local } = m.groups ?? {};
  const preKind = pre?.toLowerCase();
  const preRank =
    preKind === undefined ? -1 : preKind.startsWith('a') ? 0 : preKind === 'b' || preKind === 'beta' ? 1 : 2;
  const postValue = implicitPost ?? (post !== undefined ? (postNumber ?? '0') : undefined);
  return {
    epoch: Number(epoch ?? 0),
    release: (release ?? '0').split('.').map(Number),
    pre: preRank >= 0 ? [preRank, Number(preNumber ?? 0)] : null,
    post: postValue !== undefined ? Number(postValue) : null,
    dev: dev !== undefined ? Number(devNumber ?? 0) : null,
    local: local
      ? local
          .toLowerCase()
          .split(/[-_.]/)
          .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
      : null,
  };
}

/** PEP 440 ordering; strings that are not versions fall back to plain string order. */
export function comparePep440(a: string, b: string): number {
  const va = parsePep440(a);
  const vb = parsePep440(b);
  if (!va || !vb) return compareStrings(a, b);
  return (
    va.epoch - vb.epoch ||
    compareRelease(va.release, vb.release) ||
    compareTuple(preKey(va), preKey(vb)) ||
    (va.post ?? -1) - (vb.post ?? -1) ||
    (va.dev ?? Infinity) - (vb.dev ?? Infinity) ||
    compareLocal(va.local, vb.local)
  );
}

/** A bare dev release sorts before any pre-release of the same version; a final after them. */
function preKey(v: Pep440Version): [number, number] {
  if (v.pre) return v.pre;
  return v.post === null && v.dev !== null ? [-1, 0] : [3, 0];
}

function compareTuple(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

function compareLocal(a: (number | string)[] | null, b: (number | string)[] | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x !== typeof y) return typeof x === 'number' ? 1 : -1;
    const c = typeof x === 'number' ? x - (y as number) : compareStrings(x, y as string);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Release segments compared with implied trailing zeros (3.12 == 3.12.0). */
export function compareRelease(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = (a[i] ?? 0) - (b[i] ?? 0);
    if (c !== 0) return c;
  }
  return 0;
}

/** Byte-wise (code unit) order, as Rust compares strings. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
