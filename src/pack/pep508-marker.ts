/**
 * PEP 508 environment markers, simplified and printed the way uv does.
 *
 * The uv.lock export (uv-export.ts) ANDs and ORs the markers found along dependency paths and has
 * to write the result exactly as `uv export` would. This module is therefore a port of uv's
 * marker algebra rather than a general PEP 508 library: its canonical form, its known-impossible
 * platform combinations, its leniency towards comparisons that mean nothing, and its printing.
 *
 * Syntax errors are thrown as UvLockError: markers come from uv.lock.
 */
import { compareRelease, compareStrings, parsePep440 } from '../project/pep440.js';
import { UvLockError } from './uv-lock-error.js';

// Markers are kept as reduced, ordered decision diagrams (as uv does): each inner node tests one
// variable and has one child per value range (string and version variables) or per truth value
// (`in`, `contains` and `extra` tests). Identical nodes are shared, so two markers are equivalent
// exactly when they are the same node, contradictions collapse to FALSE and tautologies to TRUE.
//
// Printing walks every path to TRUE (giving a DNF), drops literals made redundant by a
// complementary clause and clauses absorbed by a smaller one, and orders literals and clauses by
// marker kind — the same steps, in the same order, as uv's `to_dnf`, so the text matches uv's.
// That DNF clean-up is, like uv's, not a complete minimization; the output always denotes exactly
// the environments of the diagram.

type StringKey =
  | 'os_name'
  | 'sys_platform'
  | 'platform_system'
  | 'platform_machine'
  | 'platform_python_implementation'
  | 'platform_release'
  | 'platform_version'
  | 'implementation_name';
type VersionKey = 'implementation_version' | 'python_full_version';

/** Decision order of string variables. os_name/sys_platform/platform_system come first because
 * known-incompatible pairs among them are detected at the top of a diagram. */
const STRING_KEY_ORDER: readonly StringKey[] = [
  'os_name',
  'sys_platform',
  'platform_system',
  'platform_machine',
  'platform_python_implementation',
  'platform_release',
  'platform_version',
  'implementation_name',
];
const VERSION_KEY_ORDER: readonly VersionKey[] = ['implementation_version', 'python_full_version'];

/** Marker names (including PEP 345 spellings) → canonical variable. */
const STRING_KEYS: Readonly<Record<string, StringKey>> = {
  os_name: 'os_name',
  'os.name': 'os_name',
  sys_platform: 'sys_platform',
  'sys.platform': 'sys_platform',
  platform_system: 'platform_system',
  platform_machine: 'platform_machine',
  'platform.machine': 'platform_machine',
  platform_python_implementation: 'platform_python_implementation',
  'platform.python_implementation': 'platform_python_implementation',
  python_implementation: 'platform_python_implementation',
  platform_release: 'platform_release',
  platform_version: 'platform_version',
  'platform.version': 'platform_version',
  implementation_name: 'implementation_name',
};

/** `platform_system` values that always equal a `sys_platform` value are rewritten to it. */
const PLATFORM_SYSTEM_TO_SYS_PLATFORM: Readonly<Record<string, string>> = {
  Windows: 'win32',
  Darwin: 'darwin',
  Linux: 'linux',
  AIX: 'aix',
  Emscripten: 'emscripten',
  Android: 'android',
};

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

type Variable =
  | { kind: 'string'; key: StringKey }
  | { kind: 'version'; key: VersionKey }
  | { kind: 'in' | 'contains'; key: StringKey; value: string }
  | { kind: 'extra'; name: string };

const VARIABLE_KIND_ORDER = { string: 0, version: 1, in: 2, contains: 3, extra: 4 } as const;

function compareVariables(a: Variable, b: Variable): number {
  const byKind = VARIABLE_KIND_ORDER[a.kind] - VARIABLE_KIND_ORDER[b.kind];
  if (byKind !== 0) return byKind;
  if (a.kind === 'extra' || b.kind === 'extra') return compareStrings(variableName(a), variableName(b));
  if (a.kind === 'version' || b.kind === 'version') {
    return VERSION_KEY_ORDER.indexOf(a.key as VersionKey) - VERSION_KEY_ORDER.indexOf(b.key as VersionKey);
  }
  const byKey = STRING_KEY_ORDER.indexOf(a.key) - STRING_KEY_ORDER.indexOf(b.key);
  if (byKey !== 0 || a.kind === 'string' || b.kind === 'string') return byKey;
  return compareStrings(a.value, b.value);
}

function variableName(v: Variable): string {
  switch (v.kind) {
    case 'extra':
      return v.name;
    case 'in':
    case 'contains':
      return `${v.kind}:${v.key}:${v.value}`;
    default:
      return `${v.kind}:${v.key}`;
  }
}

/** True for the variables that take part in known-incompatible pairs (see `exclusions`). */
function isConflictingVariable(v: Variable): boolean {
  return v.kind === 'string' && (v.key === 'os_name' || v.key === 'sys_platform' || v.key === 'platform_system');
}

// ---- Value ranges ---------------------------------------------------------------------------
// String variables range over strings (code unit order), version variables over release tuples
// (compared with implied trailing zeros). A decision node splits the whole line into segments.

type Value = string | readonly number[];
type Bound = { kind: 'unbounded' } | { kind: 'included' | 'excluded'; value: Value };
interface Segment {
  lower: Bound;
  upper: Bound;
}

const UNBOUNDED: Bound = { kind: 'unbounded' };

function compareValues(a: Value, b: Value): number {
  if (typeof a === 'string' || typeof b === 'string') return compareStrings(String(a), String(b));
  return compareRelease(a, b);
}

function valueId(v: Value): string {
  return typeof v === 'string' ? JSON.stringify(v) : trimRelease(v).join('.');
}

function included(value: Value): Bound {
  return { kind: 'included', value };
}
function excluded(value: Value): Bound {
  return { kind: 'excluded', value };
}

/** Orders lower bounds: unbounded first; at one value, an included bound starts earlier. */
function compareLower(a: Bound, b: Bound): number {
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

function intersectSegments(a: Segment, b: Segment): Segment | null {
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
function complementSegments(segments: readonly Segment[]): Segment[] {
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
function unionSegments(segments: readonly Segment[]): Segment[] {
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

function trimRelease(release: readonly number[]): number[] {
  let end = release.length;
  while (end > 1 && release[end - 1] === 0) end--;
  return release.slice(0, end);
}

// ---- Decision diagram -----------------------------------------------------------------------

type NodeId = number;
const TRUE_ID: NodeId = 0;
const FALSE_ID: NodeId = 1;

interface RangeEdge {
  segment: Segment;
  child: NodeId;
}
type DecisionNode =
  | { variable: Variable & { kind: 'string' | 'version' }; edges: RangeEdge[] }
  | { variable: Variable & { kind: 'in' | 'contains' | 'extra' }; high: NodeId; low: NodeId };

/** Holds every decision node; nodes are shared (hash-consed), which makes equality an id check. */
class DecisionDiagrams {
  private readonly nodes: DecisionNode[] = [];
  private readonly unique = new Map<string, NodeId>();
  private readonly andCache = new Map<string, NodeId>();
  private readonly notCache = new Map<NodeId, NodeId>();
  private exclusionsId: NodeId | undefined;

  node(id: NodeId): DecisionNode {
    const node = this.nodes[id - 2];
    if (!node) throw new Error(`no decision node ${id}`);
    return node;
  }

  /** A node over a range variable; adjacent segments leading to the same child are merged. */
  rangeNode(variable: Variable & { kind: 'string' | 'version' }, edges: readonly RangeEdge[]): NodeId {
    const merged: RangeEdge[] = [];
    for (const edge of edges) {
      const last = merged[merged.length - 1];
      if (last && last.child === edge.child) last.segment = { lower: last.segment.lower, upper: edge.segment.upper };
      else merged.push({ segment: edge.segment, child: edge.child });
    }
    const [first, ...rest] = merged;
    if (!first) throw new Error('a decision node needs edges');
    if (rest.length === 0) return first.child;
    const key = `${variableName(variable)}|${merged.map((e) => `${boundId(e.segment.lower)},${boundId(e.segment.upper)}>${e.child}`).join(';')}`;
    return this.intern(key, { variable, edges: merged });
  }

  boolNode(variable: Variable & { kind: 'in' | 'contains' | 'extra' }, high: NodeId, low: NodeId): NodeId {
    if (high === low) return high;
    return this.intern(`${variableName(variable)}|${high}|${low}`, { variable, high, low });
  }

  /** A node true exactly on the given sorted, disjoint segments. */
  fromSegments(variable: Variable & { kind: 'string' | 'version' }, segments: readonly Segment[]): NodeId {
    const edges = [
      ...segments.map((segment) => ({ segment, child: TRUE_ID })),
      ...complementSegments(segments).map((segment) => ({ segment, child: FALSE_ID })),
    ].sort((a, b) => compareLower(a.segment.lower, b.segment.lower));
    return this.rangeNode(variable, edges);
  }

  not(id: NodeId): NodeId {
    if (id === TRUE_ID) return FALSE_ID;
    if (id === FALSE_ID) return TRUE_ID;
    const cached = this.notCache.get(id);
    if (cached !== undefined) return cached;
    const result = this.mapChildren(id, (child) => this.not(child));
    this.notCache.set(id, result);
    return result;
  }

  and(x: NodeId, y: NodeId): NodeId {
    return this.conjunction(x, y, true);
  }

  /** OR through De Morgan, like uv, so that known incompatibilities apply to both operations. */
  or(x: NodeId, y: NodeId): NodeId {
    return this.not(this.conjunction(this.not(x), this.not(y), true));
  }

  /** Fixes boolean variables for which `decide` returns a value; others are kept. */
  restrict(id: NodeId, decide: (v: Variable) => boolean | undefined, done = new Map<NodeId, NodeId>()): NodeId {
    if (id === TRUE_ID || id === FALSE_ID) return id;
    const cached = done.get(id);
    if (cached !== undefined) return cached;
    const node = this.node(id);
    const value = 'high' in node ? decide(node.variable) : undefined;
    const result =
      value !== undefined && 'high' in node
        ? this.restrict(value ? node.high : node.low, decide, done)
        : this.mapChildren(id, (child) => this.restrict(child, decide, done));
    done.set(id, result);
    return result;
  }

  private conjunction(x: NodeId, y: NodeId, withExclusions: boolean): NodeId {
    if (x === TRUE_ID) return y;
    if (y === TRUE_ID) return x;
    if (x === y) return x;
    if (x === FALSE_ID || y === FALSE_ID) return FALSE_ID;
    const key = `${Math.min(x, y)},${Math.max(x, y)},${withExclusions ? 1 : 0}`;
    const cached = this.andCache.get(key);
    if (cached !== undefined) return cached;

    const nx = this.node(x);
    const ny = this.node(y);
    const order = compareVariables(nx.variable, ny.variable);
    const conj = (a: NodeId, b: NodeId): NodeId => this.conjunction(a, b, withExclusions);
    let result: NodeId;
    if (order < 0) result = this.mapChildren(x, (child) => conj(child, y));
    else if (order > 0) result = this.mapChildren(y, (child) => conj(child, x));
    else result = this.mergeChildren(nx, ny, conj);

    // Environments no real interpreter has (e.g. os_name == 'nt' on sys_platform == 'linux')
    // make a conjunction false when it lies entirely within them, as uv assumes.
    if (
      withExclusions &&
      result !== FALSE_ID &&
      isConflictingVariable(nx.variable) &&
      isConflictingVariable(ny.variable) &&
      this.conjunction(result, this.not(this.exclusions()), false) === FALSE_ID
    ) {
      result = FALSE_ID;
    }
    this.andCache.set(key, result);
    return result;
  }

  /** Combines two nodes over the same variable child by child. */
  private mergeChildren(a: DecisionNode, b: DecisionNode, op: (x: NodeId, y: NodeId) => NodeId): NodeId {
    if ('high' in a && 'high' in b) return this.boolNode(a.variable, op(a.high, b.high), op(a.low, b.low));
    if ('edges' in a && 'edges' in b) {
      const edges: RangeEdge[] = [];
      for (const left of a.edges) {
        for (const right of b.edges) {
          const segment = intersectSegments(left.segment, right.segment);
          if (segment) edges.push({ segment, child: op(left.child, right.child) });
        }
      }
      return this.rangeNode(a.variable, edges);
    }
    throw new Error('cannot merge nodes of different shapes');
  }

  private mapChildren(id: NodeId, f: (child: NodeId) => NodeId): NodeId {
    const node = this.node(id);
    if ('high' in node) return this.boolNode(node.variable, f(node.high), f(node.low));
    return this.rangeNode(
      node.variable,
      node.edges.map((e) => ({ segment: e.segment, child: f(e.child) })),
    );
  }

  /**
   * Known-impossible combinations, as uv encodes them: os_name 'nt' with sys_platform linux,
   * darwin or ios; os_name 'posix' with win32; BSD/SunOS/iOS platform_system values with the
   * common sys_platform values.
   */
  private exclusions(): NodeId {
    if (this.exclusionsId !== undefined) return this.exclusionsId;
    const eq = (key: StringKey, value: string): NodeId => this.fromSegments({ kind: 'string', key }, [singleton(value)]);
    const rawOr = (a: NodeId, b: NodeId): NodeId => this.not(this.conjunction(this.not(a), this.not(b), false));
    const pairs: [NodeId, NodeId][] = [
      [eq('os_name', 'nt'), eq('sys_platform', 'linux')],
      [eq('os_name', 'nt'), eq('sys_platform', 'darwin')],
      [eq('os_name', 'nt'), eq('sys_platform', 'ios')],
      [eq('os_name', 'posix'), eq('sys_platform', 'win32')],
    ];
    const sysPlatforms = ['aix', 'android', 'emscripten', 'ios', 'linux', 'darwin', 'win32', 'cygwin', 'wasi'];
    for (const system of ['FreeBSD', 'NetBSD', 'OpenBSD', 'SunOS', 'iOS', 'iPadOS']) {
      for (const platform of sysPlatforms) {
        if (platform === 'ios' && (system === 'iOS' || system === 'iPadOS')) continue;
        pairs.push([eq('platform_system', system), eq('sys_platform', platform)]);
      }
    }
    let tree = FALSE_ID;
    for (const [a, b] of pairs) tree = rawOr(tree, this.conjunction(a, b, false));
    this.exclusionsId = tree;
    return tree;
  }

  private intern(key: string, node: DecisionNode): NodeId {
    const existing = this.unique.get(key);
    if (existing !== undefined) return existing;
    this.nodes.push(node);
    const id = this.nodes.length + 1;
    this.unique.set(key, id);
    return id;
  }
}

function boundId(b: Bound): string {
  return b.kind === 'unbounded' ? '*' : `${b.kind === 'included' ? '[' : '('}${valueId(b.value)}`;
}

function singleton(value: Value): Segment {
  return { lower: included(value), upper: included(value) };
}

const DIAGRAMS = new DecisionDiagrams();

// ---- Marker values --------------------------------------------------------------------------

/** An environment marker (PEP 508), in canonical form. */
export class Marker {
  static readonly TRUE = new Marker(TRUE_ID);
  static readonly FALSE = new Marker(FALSE_ID);

  private constructor(private readonly id: NodeId) {}

  /** Parses a PEP 508 marker expression; throws UvLockError on a syntax error. */
  static parse(text: string): Marker {
    return new Marker(parseMarkerExpression(text));
  }

  and(other: Marker): Marker {
    return new Marker(DIAGRAMS.and(this.id, other.id));
  }

  or(other: Marker): Marker {
    return new Marker(DIAGRAMS.or(this.id, other.id));
  }

  negate(): Marker {
    return new Marker(DIAGRAMS.not(this.id));
  }

  isTrue(): boolean {
    return this.id === TRUE_ID;
  }

  isFalse(): boolean {
    return this.id === FALSE_ID;
  }

  /** Same set of environments. */
  equals(other: Marker): boolean {
    return this.id === other.id;
  }

  /** This marker with `extra == name` decided for the names `decide` knows. */
  assumeExtras(decide: (name: string) => boolean | undefined): Marker {
    return new Marker(DIAGRAMS.restrict(this.id, (v) => (v.kind === 'extra' ? decide(v.name) : undefined)));
  }

  /** The marker as uv prints it, or null when it always holds. */
  contents(): string | null {
    if (this.id === TRUE_ID) return null;
    if (this.id === FALSE_ID) return "python_version < '0'";
    return formatDnf(toDnf(this.id));
  }

  toString(): string {
    return this.contents() ?? 'true';
  }
}

// ---- Parsing --------------------------------------------------------------------------------

type Token =
  | { t: '(' | ')' | 'and' | 'or' }
  | { t: 'op'; v: string }
  | { t: 'name'; v: string }
  | { t: 'str'; v: string };

function tokenizeMarker(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s*(?:(\()|(\))|('[^']*'|"[^"]*")|(===|==|!=|<=|>=|~=|<|>)|(not\s+in\b)|([A-Za-z_][A-Za-z0-9_.]*))\s*/y;
  let at = 0;
  while (at < text.length && text.slice(at).trim() !== '') {
    pattern.lastIndex = at;
    const m = pattern.exec(text);
    if (!m) throw new UvLockError(`invalid marker "${text}": unexpected "${text.slice(at, at + 10)}"`);
    at = pattern.lastIndex;
    if (m[1]) tokens.push({ t: '(' });
    else if (m[2]) tokens.push({ t: ')' });
    else if (m[3]) tokens.push({ t: 'str', v: m[3].slice(1, -1) });
    else if (m[4]) tokens.push({ t: 'op', v: m[4] });
    else if (m[5]) tokens.push({ t: 'op', v: 'not in' });
    else if (m[6] === 'and' || m[6] === 'or') tokens.push({ t: m[6] });
    else if (m[6] === 'in') tokens.push({ t: 'op', v: 'in' });
    else if (m[6]) tokens.push({ t: 'name', v: m[6] });
  }
  return tokens;
}

/**
 * Recursive descent over `or` / `and` / parenthesised atoms. Like uv, comparisons that carry no
 * meaning (two literals, `~=` on a string, an unparsable version…) are left out of the
 * expression rather than rejected; `null` stands for such a dropped part.
 */
function parseMarkerExpression(text: string): NodeId {
  const tokens = tokenizeMarker(text);
  if (tokens.length === 0) return TRUE_ID;
  let pos = 0;
  const fail = (what: string): never => {
    throw new UvLockError(`invalid marker "${text}": ${what}`);
  };
  const peek = (): Token | undefined => tokens[pos];

  const parseOr = (): NodeId | null => {
    let result = parseAnd();
    while (peek()?.t === 'or') {
      pos++;
      const right = parseAnd();
      result = result === null ? right : right === null ? result : DIAGRAMS.or(result, right);
    }
    return result;
  };
  const parseAnd = (): NodeId | null => {
    let result = parseAtom();
    while (peek()?.t === 'and') {
      pos++;
      const right = parseAtom();
      result = result === null ? right : right === null ? result : DIAGRAMS.and(result, right);
    }
    return result;
  };
  const parseAtom = (): NodeId | null => {
    const token = peek();
    if (token?.t === '(') {
      pos++;
      const inner = parseOr();
      if (peek()?.t !== ')') fail('missing ")"');
      pos++;
      return inner;
    }
    const left = tokens[pos++];
    const op = tokens[pos++];
    const right = tokens[pos++];
    if (!left || !op || !right) return fail('incomplete comparison');
    if (op.t !== 'op') return fail('expected a comparison operator');
    if ((left.t !== 'name' && left.t !== 'str') || (right.t !== 'name' && right.t !== 'str')) {
      return fail('expected a marker name or a quoted string');
    }
    return comparison(left, op.v, right);
  };

  const result = parseOr();
  if (pos < tokens.length) fail('unexpected text after the expression');
  return result ?? TRUE_ID;
}

const REVERSED_OPERATOR: Readonly<Record<string, string>> = {
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
  '==': '==',
  '!=': '!=',
  '===': '===',
  '~=': '~=',
  in: 'contains',
  'not in': 'not contains',
};

/** One `<name> <op> '<value>'` comparison (either side may be the marker name). */
function comparison(
  left: { t: 'name' | 'str'; v: string },
  operator: string,
  right: { t: 'name' | 'str'; v: string },
): NodeId | null {
  let name: string;
  let value: string;
  let op = operator;
  if (left.t === 'name' && right.t === 'str') {
    name = left.v;
    value = right.v;
  } else if (left.t === 'str' && right.t === 'name') {
    name = right.v;
    value = left.v;
    op = REVERSED_OPERATOR[operator] ?? operator;
  } else {
    return null; // comparing two names or two literals means nothing
  }

  if (name === 'extra') return extraComparison(op, value);
  if (name === 'python_version' || name === 'python_full_version' || name === 'implementation_version') {
    return versionComparison(name, op, value);
  }
  const key = STRING_KEYS[name];
  if (!key) throw new UvLockError(`invalid marker: unknown marker name "${name}"`);
  return stringComparison(key, op, value);
}

function extraComparison(op: string, value: string): NodeId | null {
  if (op !== '==' && op !== '!=') return null;
  // A name that is not a valid extra name can never be an enabled extra.
  if (!/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/i.test(value)) return FALSE_ID;
  const variable = { kind: 'extra', name: normalizeName(value) } as const;
  return op === '==' ? DIAGRAMS.boolNode(variable, TRUE_ID, FALSE_ID) : DIAGRAMS.boolNode(variable, FALSE_ID, TRUE_ID);
}

function stringComparison(key: StringKey, op: string, value: string): NodeId | null {
  switch (op) {
    case 'in':
    case 'not in':
    case 'contains':
    case 'not contains': {
      const kind = op.endsWith('contains') ? 'contains' : 'in';
      const positive = !op.startsWith('not');
      return DIAGRAMS.boolNode({ kind, key, value }, positive ? TRUE_ID : FALSE_ID, positive ? FALSE_ID : TRUE_ID);
    }
    case '~=':
    case '===':
      return null;
  }
  const mapped = key === 'platform_system' ? PLATFORM_SYSTEM_TO_SYS_PLATFORM[value] : undefined;
  const variable = { kind: 'string', key: mapped ? 'sys_platform' : key } as const;
  return DIAGRAMS.fromSegments(variable, stringSegments(variable.key, op, mapped ?? value));
}

/**
 * Current marker semantics: `<`/`>` on pure string fields never hold and `<=`/`>=` mean
 * equality; platform_release and platform_version keep lexicographic ordering.
 */
function stringSegments(key: StringKey, op: string, value: string): Segment[] {
  const ordered = key === 'platform_release' || key === 'platform_version';
  switch (op) {
    case '==':
      return [singleton(value)];
    case '!=':
      return complementSegments([singleton(value)]);
    case '<':
      return ordered ? [{ lower: UNBOUNDED, upper: excluded(value) }] : [];
    case '<=':
      return ordered ? [{ lower: UNBOUNDED, upper: included(value) }] : [singleton(value)];
    case '>':
      return ordered ? [{ lower: excluded(value), upper: UNBOUNDED }] : [];
    case '>=':
      return ordered ? [{ lower: included(value), upper: UNBOUNDED }] : [singleton(value)];
  }
  throw new UvLockError(`invalid marker: operator "${op}" on ${key}`);
}

// ---- Version comparisons --------------------------------------------------------------------

type VersionOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '~=' | '===' | '==*' | '!=*';

/** A marker version: its release segments only (uv ignores pre/post/dev parts in markers). */
function parseMarkerVersion(text: string): { release: number[]; star: boolean } | null {
  const star = text.trim().endsWith('.*');
  const parsed = parsePep440(star ? text.trim().slice(0, -2) : text);
  return parsed ? { release: parsed.release, star } : null;
}

function versionComparison(name: string, op: string, value: string): NodeId | null {
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

// ---- Printing -------------------------------------------------------------------------------

type Literal =
  | { kind: 'version'; key: VersionKey; op: VersionOp; release: readonly number[] }
  | { kind: 'string'; key: StringKey; op: string; value: string }
  | { kind: 'extra'; name: string; op: '==' | '!=' };

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
    for (const [value, child] of [[true, node.high], [false, node.low]] as const) {
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
    if (end.kind !== 'excluded' || start.kind !== 'excluded' || compareValues(end.value, start.value) !== 0) return null;
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
  if (!isVersion && lower.kind === 'excluded' && upper.kind === 'excluded' && compareValues(lower.value, upper.value) === 0) {
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
      if (literal.op === '==*' || literal.op === '!=*') return `${literal.key} ${literal.op.slice(0, 2)} '${version}.*'`;
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

// ---- Small helpers --------------------------------------------------------------------------

/** PEP 503 normalization, which uv applies to package, extra and group names. */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/[-_.]+/g, '-');
}
