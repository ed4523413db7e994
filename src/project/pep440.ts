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

// ---------------------------------------------------------------------------------------------
// PEP 440 version specifiers
// ---------------------------------------------------------------------------------------------

const SPECIFIER = /^\s*(===|~=|==|!=|<=|>=|<|>)\s*(\S+?)\s*$/;

/**
 * Whether `version` (an installed one: a Python interpreter's, a package's) satisfies a specifier
 * set such as `>=0.9.0,<0.11.0` (PEP 440 "Version specifiers"). An installed pre-release counts
 * as satisfying, as `pip check` takes it. Undefined when the set or the version cannot be read,
 * so that a caller says nothing rather than something wrong.
 */
export function satisfiesSpecifiers(version: string, specifiers: string): boolean | undefined {
  const v = parsePep440(version);
  if (!v) return undefined;
  let result = true;
  for (const part of specifiers.split(',')) {
    if (part.trim() === '') continue;
    const m = SPECIFIER.exec(part);
    if (!m) return undefined;
    const ok = satisfiesOne(version, v, m[1]!, m[2]!);
    if (ok === undefined) return undefined;
    result &&= ok;
  }
  return result;
}

function satisfiesOne(text: string, v: Pep440Version, op: string, target: string): boolean | undefined {
  if (op === '===') return text.trim().toLowerCase() === target.toLowerCase();
  if (target.endsWith('.*')) {
    if (op !== '==' && op !== '!=') return undefined;
    const prefix = parsePep440(target.slice(0, -2));
    if (!prefix) return undefined;
    const head = v.release.slice(0, prefix.release.length);
    const same = v.epoch === prefix.epoch && compareRelease(head, prefix.release) === 0;
    return op === '==' ? same : !same;
  }
  const t = parsePep440(target);
  if (!t) return undefined;
  // Without a local label in the specifier, a version's own local label is not compared.
  const c = comparePep440(t.local ? text : withoutLocal(text), target);
  switch (op) {
    case '==':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<=':
      return c <= 0;
    case '>=':
      return c >= 0;
    case '<':
      // `<3.12` leaves out 3.12's own pre-releases, unless it names a pre-release itself.
      return c < 0 && (t.pre !== null || v.pre === null || compareRelease(v.release, t.release) !== 0);
    case '>':
      // `>3.12` leaves out 3.12's post-releases, unless it names a post-release itself.
      return c > 0 && (t.post !== null || v.post === null || compareRelease(v.release, t.release) !== 0);
    default: {
      // ~=X.Y.Z: >= X.Y.Z and == X.Y.*
      if (t.release.length < 2) return undefined;
      const prefix = t.release.slice(0, -1);
      return c >= 0 && v.epoch === t.epoch && compareRelease(v.release.slice(0, prefix.length), prefix) === 0;
    }
  }
}

function withoutLocal(version: string): string {
  const plus = version.indexOf('+');
  return plus < 0 ? version : version.slice(0, plus);
}
