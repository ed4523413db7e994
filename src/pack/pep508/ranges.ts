/**
 * Value ranges for marker variables: string variables range over strings (code unit order),
 * version variables over release tuples (compared with implied trailing zeros). A decision node
 * splits the whole line into segments, each built from a lower and an upper bound.
 */
import { compareRelease, compareStrings } from '../../project/pep440.js';

export type Value = string | readonly number[];
export type Bound = { kind: 'unbounded' } | { kind: 'included' | 'excluded'; value: Value };
export interface Segment {
  lower: Bound;
  upper: Bound;
}

export const UNBOUNDED: Bound = { kind: 'unbounded' };

export function compareValues(a: Value, b: Value): number {
  if (typeof a === 'string' || typeof b === 'string') return compareStrings(String(a), String(b));
  return compareRelease(a, b);
}

function valueId(v: Value): string {
  return typeof v === 'string' ? JSON.stringify(v) : trimRelease(v).join('.');
}

export function included(value: Value): Bound {
  return { kind: 'included', value };
}
export function excluded(value: Value): Bound {
  return { kind: 'excluded', value };
}

/** Orders lower bounds: unbounded first; at one value, an included bound starts earlier. */
export function compareLower(a: Bound, b: Bound): number {
  if (a.kind === 'unbounded' || b.kind === 'unbounded') return a.kind === b.kind ? 0 : a.kind === 'unbounded' ? -1 : 1;
  const c = compareValues(a.value, b.value);
  if (c !== 0 || a.kind === b.kind) return c;
  return a.kind === 'included' ? -1 : 1;
}

/** Orders upper bounds: unbounded last; at one value, an excluded bound ends earlier. */
function compareUpper(a: Bound, b: Bound): number {
  if (a.kind === 'unbounded' || b.kind === 'unbounded') return a.kind === b.kind ? 0 : a.kind === 'unbounded' ? 1 : -1;
  const c = compareValues(a.value, b.value);
  if (c !== 0 || a.kind === b.kind) return c;
  return a.kind === 'excluded' ? -1 : 1;
}

function isEmptySegment(s: Segment): boolean {
  if (s.lower.kind === 'unbounded' || s.upper.kind === 'unbounded') return false;
  const c = compareValues(s.lower.value, s.upper.value);
  return c > 0 || (c === 0 && (s.lower.kind === 'excluded' || s.upper.kind === 'excluded'));
}

export function intersectSegments(a: Segment, b: Segment): Segment | null {
  const s = {
    lower: compareLower(a.lower, b.lower) >= 0 ? a.lower : b.lower,
    upper: compareUpper(a.upper, b.upper) <= 0 ? a.upper : b.upper,
  };
  return isEmptySegment(s) ? null : s;
}

/** The lower bound of what follows a segment ending at `upper` (no gap, no overlap). */
function startAfter(upper: Bound & { value: Value }): Bound {
  return upper.kind === 'included' ? excluded(upper.value) : included(upper.value);
}

/** The upper bound of what precedes a segment starting at `lower`. */
function endBefore(lower: Bound & { value: Value }): Bound {
  return lower.kind === 'included' ? excluded(lower.value) : included(lower.value);
}

/** The gaps of a sorted list of disjoint segments. */
export function complementSegments(segments: readonly Segment[]): Segment[] {
  const result: Segment[] = [];
  let lower: Bound | null = UNBOUNDED;
  for (const s of segments) {
    if (lower && s.lower.kind !== 'unbounded') {
      const gap = { lower, upper: endBefore(s.lower) };
      if (!isEmptySegment(gap)) result.push(gap);
    }
    lower = s.upper.kind === 'unbounded' ? null : startAfter(s.upper);
  }
  if (lower) result.push({ lower, upper: UNBOUNDED });
  return result;
}

/** Whether `a` ends exactly where `b` starts. */
function touches(a: Segment, b: Segment): boolean {
  if (a.upper.kind === 'unbounded' || b.lower.kind === 'unbounded') return false;
  return a.upper.kind !== b.lower.kind && compareValues(a.upper.value, b.lower.value) === 0;
}

/** Sorted, merged union of segments. */
export function unionSegments(segments: readonly Segment[]): Segment[] {
  const sorted = [...segments].sort((a, b) => compareLower(a.lower, b.lower));
  const result: Segment[] = [];
  for (const s of sorted) {
    const last = result[result.length - 1];
    if (last && (intersectSegments(last, s) || touches(last, s))) {
      if (compareUpper(s.upper, last.upper) > 0) last.upper = s.upper;
    } else {
      result.push({ ...s });
    }
  }
  return result;
}

export function trimRelease(release: readonly number[]): number[] {
  let end = release.length;
  while (end > 1 && release[end - 1] === 0) end--;
  return release.slice(0, end);
}

export function boundId(b: Bound): string {
  return b.kind === 'unbounded' ? '*' : `${b.kind === 'included' ? '[' : '('}${valueId(b.value)}`;
}

export function singleton(value: Value): Segment {
  return { lower: included(value), upper: included(value) };
}
