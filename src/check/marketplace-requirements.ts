import { compareRelease, parsePep440 } from '../project/pep440.js';

/** The oldest dify_plugin the Marketplace review accepts (its review helper's minimum). */
export const MIN_SDK_VERSION = '0.5.0';
const MIN_RELEASE = [0, 5, 0];

export interface SdkRequirement {
  /** The requirement as written (comment and marker left out). */
  text: string;
  /** 1-based line and column of the package name. */
  line: number;
  column: number;
  /** The version the specifiers start at, or null when they set no lower bound. */
  lowest: string | null;
  /** Whether every version the specifiers allow is MIN_SDK_VERSION or later. */
  accepted: boolean;
}

const NAME = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$/;
const SPECIFIER = /^(===|~=|==|!=|<=|>=|<|>)\s*(\S+)$/;

/**
 * The `dify_plugin` (or `dify-plugin`, any spelling PEP 503 normalizes to it) line of a
 * requirements.txt, and whether its specifiers keep out every version below MIN_SDK_VERSION:
 * `>=0.5.0`, `==0.9.1`, `~=0.5`, `>=0.9,<0.11` are accepted; `==0.4.2`, `>=0.4`, no specifier or
 * a direct URL are not (pip would be free to install an older one, and the toolkit's
 * checks/dependencies.py refuses a dify-plugin requirement without a `>=` or `==` bound).
 * Pip options (`-r`, `-e`, `--index-url`) and comments are skipped.
 */
export function requirementOf(requirements: string): SdkRequirement | null {
  for (const [i, raw] of logicalLines(requirements)) {
    // Per-requirement options (`--hash=sha256:…` of a hashed, `pip-compile --generate-hashes` file,
    // `--config-settings`) follow the requirement and its marker, as pip's req_file.py splits them.
    const line = raw.replace(/(^|\s)#.*$/, '').replace(/\s--.*$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('-')) continue;
    const m = NAME.exec(trimmed);
    if (!m || m[1]!.toLowerCase().replace(/[-_.]+/g, '-') !== 'dify-plugin') continue;
    const text = trimmed.split(';')[0]!.trim();
    const specifiers = m[3]!
      .split(';')[0]!
      .trim()
      .replace(/^\((.*)\)$/, '$1');
    const lowest = specifiers.startsWith('@') ? null : lowerBound(specifiers);
    return {
      text,
      line: i,
      column: line.indexOf(m[1]!) + 1,
      lowest,
      accepted: lowest !== null && atLeastMinimum(lowest),
    };
  }
  return null;
}

/**
 * The lines of a requirements file as pip reads them (pip `req/req_file.py`): a line ending in a
 * backslash goes on with the next one. Each with the 1-based number of its first line.
 */
function logicalLines(text: string): [number, string][] {
  const lines: [number, string][] = [];
  let start = 0;
  let pending = '';
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    if (pending === '') start = i + 1;
    if (raw.endsWith('\\')) pending += raw.slice(0, -1);
    else {
      lines.push([start, pending + raw]);
      pending = '';
    }
  }
  if (pending !== '') lines.push([start, pending]);
  return lines;
}

/** The highest lower bound of a specifier set (`>=`, `>`, `~=`, `==`, `===`), or null. */
function lowerBound(specifiers: string): string | null {
  let lowest: string | null = null;
  for (const part of specifiers.split(',')) {
    const m = SPECIFIER.exec(part.trim());
    if (!m || m[1] === '<' || m[1] === '<=' || m[1] === '!=') continue;
    // `==0.5.*` starts at 0.5; `>0.4.9` still allows 0.4.10, so its bound counts as the version.
    const version = m[2]!.replace(/\.\*$/, '');
    if (!parsePep440(version)) continue;
    if (lowest === null || compareRelease(release(version), release(lowest)) > 0) lowest = version;
  }
  return lowest;
}

function release(version: string): number[] {
  return parsePep440(version)!.release;
}

/**
 * Compared on the release numbers: `>=0.5.0rc1` lets pip install 0.5.0 or later (it installs a
 * pre-release only when nothing else fits), which is what the review checks once installed.
 */
function atLeastMinimum(version: string): boolean {
  return compareRelease(release(version), MIN_RELEASE) >= 0;
}
