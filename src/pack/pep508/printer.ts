/**
 * Prints a marker decision diagram as uv does.
 *
 * Printing walks every path to TRUE (giving a DNF), drops literals made redundant by a
 * complementary clause and clauses absorbed by a smaller one, and orders literals and clauses by
 * marker kind — the same steps, in the same order, as uv's `to_dnf`, so the text matches uv's.
 * That DNF clean-up is, like uv's, not a complete minimization; the output always denotes exactly
 * the environments of the diagram.
 */
import { compareRelease } from '../../project/pep440.js';
import { DIAGRAMS, FALSE_ID, TRUE_ID, type NodeId } from './decision-diagram.js';
import { compareValues, trimRelease, unionSegments, type Segment, type Value } from './ranges.js';
import type { StringKey, Variable, VersionKey } from './variables.js';
import type { VersionOp } from './version-comparisons.js';

/** Printing order of literals within a clause (uv sorts by marker kind, then marker name). */
const PRINT_RANK: Readonly<Record<StringKey | VersionKey | 'extra', number>> = {
  implementation_version: 1,
  python_full_version: 2,
  implementation_name: 100,
  os_name: 101,
  platform_machine: 103,
  platform_python_implementation: 105,
  platform_release: 108,
  platform_system: 109,
  platform_version: 110,
  sys_platform: 112,
  extra: 400,
};

type Literal =
  | { kind: 'version'; key: VersionKey; op: VersionOp; release: readonly number[] }
  | { kind: 'string'; key: StringKey; op: string; value: string }
  | { kind: 'extra'; name: string; op: '==' | '!=' };

/** The text of a marker that is neither always true nor always false. */
export function printMarker(id: NodeId): string {
  return formatDnf(toDnf(id));
}

/** Every path to TRUE as a conjunction, then uv's clean-up and ordering. */
function toDnf(id: NodeId): Literal[][] {
  const dnf: Literal[][] = [];
  collectPaths(id, [], dnf);
  removeRedundancy(dnf);
  return sortDnf(dnf);
}

function collectPaths(id: NodeId, path: Literal[], dnf: Literal[][]): void {
  if (id === FALSE_ID) return;
  if (id === TRUE_ID) {
    if (path.length > 0) dnf.push([...path]);
    return;
  }
  const node = DIAGRAMS.node(id);
  if ('high' in node) {
    const { variable } = node;
    for (const [value, child] of [
      [true, node.high],
      [false, node.low],
    ] as const) {
      const literal: Literal =
        variable.kind === 'extra'
          ? { kind: 'extra', name: variable.name, op: value ? '==' : '!=' }
          : {
              kind: 'string',
              key: variable.key,
              value: variable.value,
              op: `${value ? '' : 'not '}${variable.kind}`,
            };
      collectPaths(child, [...path, literal], dnf);
    }
    return;
  }
  // Edges leading to the same child are printed together, in order of first appearance.
  const groups = new Map<NodeId, Segment[]>();
  for (const edge of node.edges) {
    const list = groups.get(edge.child);
    if (list) list.push(edge.segment);
    else groups.set(edge.child, [edge.segment]);
  }
  for (const [child, segments] of groups) {
    for (const conjunction of rangeLiterals(node.variable, unionSegments(segments))) {
      collectPaths(child, [...path, ...conjunction], dnf);
    }
  }
}

/** The literals for "variable lies in these segments": one conjunction per alternative. */
function rangeLiterals(variable: Variable & { kind: 'string' | 'version' }, segments: Segment[]): Literal[][] {
  const make = (op: string, value: Value): Literal =>
    variable.kind === 'version'
      ? { kind: 'version', key: variable.key, op: op as VersionOp, release: value as readonly number[] }
      : { kind: 'string', key: variable.key, op, value: value as string };

  // Everything but a few points: `!= a and != b`.
  const holes = pointHoles(segments);
  if (holes) return [holes.map((v) => make('!=', v))];

  // Everything but one minor series: `!= '3.8.*'`.
  if (variable.kind === 'version') {
    const starHole = minorSeriesHole(segments);
    if (starHole) return [[make('!=*', starHole)]];
  }
  return segments.map((s) => boundLiterals(s, variable.kind === 'version').map(([op, v]) => make(op, v)));
}

/** For a range covering the whole line except isolated points, those points. */
function pointHoles(segments: Segment[]): Value[] | null {
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (!first || !last || first.lower.kind !== 'unbounded' || last.upper.kind !== 'unbounded') return null;
  const holes: Value[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    const end = segments[i]!.upper;
    const start = segments[i + 1]!.lower;
    if (end.kind !== 'excluded' || start.kind !== 'excluded' || compareValues(end.value, start.value) !== 0)
      return null;
    holes.push(end.value);
  }
  return holes;
}

/** For `(-inf, 3.8) ∪ [3.9, inf)`, the version `3.8` (printed `!= '3.8.*'`). */
function minorSeriesHole(segments: Segment[]): readonly number[] | null {
  const [a, b, ...rest] = segments;
  if (!a || !b || rest.length > 0) return null;
  if (a.lower.kind !== 'unbounded' || a.upper.kind !== 'excluded') return null;
  if (b.lower.kind !== 'included' || b.upper.kind !== 'unbounded') return null;
  const v1 = trimRelease(a.upper.value as readonly number[]);
  const v2 = b.lower.value as readonly number[];
  const [major = 0, minor] = v1;
  if (v1.length === 1 && v2.length === 2 && v2[0] === major && v2[1] === 1) return [major, 0];
  if (v1.length === 2 && v2.length === 2 && v2[0] === major && v2[1] === (minor ?? 0) + 1) {
    return a.upper.value as readonly number[];
  }
  return null;
}

/** The comparisons bounding one segment: `== v`, `== '3.8.*'`, or a lower and/or upper bound. */
function boundLiterals(s: Segment, isVersion: boolean): [string, Value][] {
  const { lower, upper } = s;
  if (lower.kind === 'included' && upper.kind === 'included' && compareValues(lower.value, upper.value) === 0) {
    return [['==', lower.value]];
  }
  if (
    !isVersion &&
    lower.kind === 'excluded' &&
    upper.kind === 'excluded' &&
    compareValues(lower.value, upper.value) === 0
  ) {
    return [['!=', lower.value]];
  }
  if (isVersion && lower.kind === 'included' && upper.kind === 'excluded') {
    // `[3.8, 3.9)` is one minor series, `== '3.8.*'` (and `[3, 3.1)` is `== '3.0.*'`).
    const [major = 0, minor = 0, ...patch] = trimRelease(lower.value as readonly number[]);
    const next = trimRelease(upper.value as readonly number[]);
    if (patch.length === 0 && next.length === 2 && next[0] === major && next[1] === minor + 1) {
      return [['==*', [major, minor]]];
    }
  }
  const result: [string, Value][] = [];
  if (lower.kind !== 'unbounded') result.push([lower.kind === 'included' ? '>=' : '>', lower.value]);
  if (upper.kind !== 'unbounded') result.push([upper.kind === 'included' ? '<=' : '<', upper.value]);
  return result;
}

const NEGATED_OPERATOR: Readonly<Record<string, string>> = {
  '==': '!=',
  '!=': '==',
  '<': '>=',
  '>=': '<',
  '<=': '>',
  '>': '<=',
  '==*': '!=*',
  '!=*': '==*',
  in: 'not in',
  'not in': 'in',
  contains: 'not contains',
  'not contains': 'contains',
};

function sameLiteral(a: Literal, b: Literal): boolean {
  if (a.kind === 'version' && b.kind === 'version') {
    return a.key === b.key && a.op === b.op && compareRelease(a.release, b.release) === 0;
  }
  if (a.kind === 'string' && b.kind === 'string') return a.key === b.key && a.op === b.op && a.value === b.value;
  if (a.kind === 'extra' && b.kind === 'extra') return a.name === b.name && a.op === b.op;
  return false;
}

function isNegation(a: Literal, b: Literal): boolean {
  return sameLiteral({ ...a, op: NEGATED_OPERATOR[a.op] ?? '' } as Literal, b);
}

/**
 * The DNF clean-up uv applies before printing:
 * 1. In a clause, a literal is dropped when some other clause consists only of its negation and
 *    of literals this clause keeps (`A or (not A and B)` → `A or B`).
 * 2. A clause containing every literal of another clause is dropped (absorption).
 */
function removeRedundancy(dnf: Literal[][]): void {
  for (let i = 0; i < dnf.length; i++) {
    const clause = dnf[i]!;
    const redundant = new Set<number>();
    clause.forEach((literal, index) => {
      const droppable = dnf.some(
        (other, j) =>
          j !== i &&
          other.every((term) => {
            if (sameLiteral(term, literal)) return false;
            if (isNegation(term, literal)) return true;
            const at = clause.findIndex((x) => sameLiteral(x, term));
            return at >= 0 && !redundant.has(at);
          }),
      );
      if (droppable) redundant.add(index);
    });
    dnf[i] = clause.filter((_, index) => !redundant.has(index));
  }

  const dropped = new Set<number>();
  dnf.forEach((clause, i) => {
    const absorbed = dnf.some(
      (other, j) => j !== i && !dropped.has(j) && other.every((term) => clause.some((x) => sameLiteral(x, term))),
    );
    if (absorbed) dropped.add(i);
  });
  const kept = dnf.filter((_, i) => !dropped.has(i));
  dnf.splice(0, dnf.length, ...kept);
}

function printRank(literal: Literal): number {
  return PRINT_RANK[literal.kind === 'extra' ? 'extra' : literal.key];
}

/** Literals by kind within a clause, clauses by their kind sequence (both sorts stable). */
function sortDnf(dnf: Literal[][]): Literal[][] {
  const sorted = dnf.map((clause) => [...clause].sort((a, b) => printRank(a) - printRank(b)));
  return sorted.sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = printRank(a[i]!) - printRank(b[i]!);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  });
}

function formatDnf(dnf: Literal[][]): string {
  if (dnf.length === 1) return dnf[0]!.map(formatLiteral).join(' and ');
  return dnf
    .map((clause) => (clause.length === 1 ? formatLiteral(clause[0]!) : `(${clause.map(formatLiteral).join(' and ')})`))
    .join(' or ');
}

function formatLiteral(literal: Literal): string {
  switch (literal.kind) {
    case 'version': {
      const version = literal.release.join('.');
      if (literal.op === '==*' || literal.op === '!=*')
        return `${literal.key} ${literal.op.slice(0, 2)} '${version}.*'`;
      return `${literal.key} ${literal.op} '${version}'`;
    }
    case 'string':
      if (literal.op === 'contains' || literal.op === 'not contains') {
        return `'${literal.value}' ${literal.op === 'contains' ? 'in' : 'not in'} ${literal.key}`;
      }
      return `${literal.key} ${literal.op} '${literal.value}'`;
    case 'extra':
      return `extra ${literal.op} '${literal.name}'`;
  }
}
