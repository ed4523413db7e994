/**
 * Comparisons on version marker variables (`python_version`, `python_full_version`,
 * `implementation_version`), turned into decision nodes the way uv does: only release segments
 * count, and `python_version` is lowered to ranges of `python_full_version`.
 */
import { parsePep440 } from '../../project/pep440.js';
import { DIAGRAMS, FALSE_ID, TRUE_ID, type NodeId } from './decision-diagram.js';
import {
  UNBOUNDED,
  complementSegments,
  excluded,
  included,
  singleton,
  trimRelease,
  unionSegments,
  type Segment,
} from './ranges.js';
import type { VersionKey } from './variables.js';

export type VersionOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '~=' | '===' | '==*' | '!=*';

/** A marker version: its release segments only (uv ignores pre/post/dev parts in markers). */
function parseMarkerVersion(text: string): { release: number[]; star: boolean } | null {
  const star = text.trim().endsWith('.*');
  const parsed = parsePep440(star ? text.trim().slice(0, -2) : text);
  return parsed ? { release: parsed.release, star } : null;
}

export function versionComparison(name: string, op: string, value: string): NodeId | null {
  if (op === 'in' || op === 'not in') return versionInComparison(name, op === 'not in', value);
  const version = parseMarkerVersion(value);
  if (!version) return null;
  let specOp: VersionOp;
  if (version.star) {
    if (op !== '==' && op !== '!=') return null;
    specOp = op === '==' ? '==*' : '!=*';
  } else if (['==', '!=', '<', '<=', '>', '>=', '~=', '==='].includes(op)) {
    specOp = op as VersionOp;
  } else {
    return null;
  }
  if (specOp === '~=' && version.release.length < 2) return null;

  if (name === 'python_version') {
    const lowered = pythonVersionToFullVersion(specOp, trimPatchZeros(version.release));
    if (typeof lowered === 'number') return lowered;
    return versionNode('python_full_version', versionSegments(lowered.op, lowered.release));
  }
  return versionNode(name as VersionKey, versionSegments(specOp, version.release));
}

function versionNode(key: VersionKey, segments: Segment[]): NodeId {
  return DIAGRAMS.fromSegments({ kind: 'version', key }, segments);
}

/** `python_version in '3.8 3.9'` and friends. */
function versionInComparison(name: string, negated: boolean, value: string): NodeId | null {
  const versions = value.split(/\s+/).filter(Boolean).map(parseMarkerVersion);
  if (versions.length === 0 || versions.some((v) => v === null || v.star)) return null;
  const parts: Segment[] = [];
  for (const v of versions as { release: number[] }[]) {
    if (name !== 'python_version') {
      parts.push(singleton(trimRelease(v.release)));
      continue;
    }
    const lowered = pythonVersionToFullVersion('==', trimPatchZeros(v.release));
    if (typeof lowered === 'number') return lowered;
    parts.push(...versionSegments(lowered.op, lowered.release));
  }
  const union = unionSegments(parts);
  const key: VersionKey = name === 'implementation_version' ? 'implementation_version' : 'python_full_version';
  return versionNode(key, negated ? complementSegments(union) : union);
}

/** `3.9.0` compared with python_version means `3.9`; a non-zero patch part is kept. */
function trimPatchZeros(release: number[]): number[] {
  let end = release.length;
  while (end > 2 && release[end - 1] === 0) end--;
  return release.slice(0, end);
}

/**
 * `python_version` is `python_full_version` cut to major.minor, so every comparison on it is one
 * on the full version: `python_version > '3.8'` is `python_full_version >= '3.9'`, `== '3.8'` is
 * `== '3.8.*'`. Comparisons with a longer version are constant or round up to the next minor.
 */
function pythonVersionToFullVersion(op: VersionOp, release: number[]): { op: VersionOp; release: number[] } | NodeId {
  if (release.length === 1 && (op === '==*' || op === '!=*')) return { op, release };
  if (release.length <= 2) {
    const major = release[0] ?? 0;
    const minor = release[1] ?? 0;
    switch (op) {
      case '==':
      case '===':
        return { op: '==*', release: [major, minor] };
      case '!=':
        return { op: '!=*', release: [major, minor] };
      case '>':
        return { op: '>=', release: [major, minor + 1] };
      case '<=':
        return { op: '<', release: [major, minor + 1] };
      default:
        return { op, release };
    }
  }
  const [major = 0, minor = 0] = release;
  switch (op) {
    case '==':
    case '===':
    case '==*':
    case '~=':
      return FALSE_ID;
    case '!=':
    case '!=*':
      return TRUE_ID;
    case '<':
    case '<=':
      return { op: '<', release: [major, minor + 1] };
    case '>':
    case '>=':
      return { op: '>=', release: [major, minor + 1] };
  }
}

/** The release-only range of a version specifier (trailing zeros dropped except under `.*`). */
function versionSegments(op: VersionOp, release: number[]): Segment[] {
  const v = trimRelease(release);
  switch (op) {
    case '==':
    case '===':
      return [singleton(v)];
    case '!=':
      return complementSegments([singleton(v)]);
    case '<':
      return [{ lower: UNBOUNDED, upper: excluded(v) }];
    case '<=':
      return [{ lower: UNBOUNDED, upper: included(v) }];
    case '>':
      return [{ lower: excluded(v), upper: UNBOUNDED }];
    case '>=':
      return [{ lower: included(v), upper: UNBOUNDED }];
    case '~=': {
      const upper = [...release.slice(0, -2), (release[release.length - 2] ?? 0) + 1];
      return [{ lower: included(v), upper: excluded(upper) }];
    }
    case '==*':
    case '!=*': {
      const upper = [...release.slice(0, -1), (release[release.length - 1] ?? 0) + 1];
      const star = [{ lower: included(release), upper: excluded(upper) }];
      return op === '==*' ? star : complementSegments(star);
    }
  }
}
