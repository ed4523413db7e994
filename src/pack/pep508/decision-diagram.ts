/**
 * Markers as reduced, ordered decision diagrams, the representation uv uses: each inner node
 * tests one variable and has one child per value range (string and version variables) or per
 * truth value (`in`, `contains` and `extra` tests). Identical nodes are shared, so two markers are
 * equivalent exactly when they are the same node, contradictions collapse to FALSE and
 * tautologies to TRUE.
 *
 * The operations follow uv's step for step (the variable order, OR through De Morgan, the platform
 * combinations uv knows to be impossible: see `exclusions`) because the marker printed at the end
 * must be the one `uv export` writes.
 */
import { boundId, compareLower, complementSegments, intersectSegments, singleton, type Segment } from './ranges.js';
import { compareVariables, isConflictingVariable, variableName, type StringKey, type Variable } from './variables.js';

export type NodeId = number;
export const TRUE_ID: NodeId = 0;
export const FALSE_ID: NodeId = 1;

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
    const eq = (key: StringKey, value: string): NodeId =>
      this.fromSegments({ kind: 'string', key }, [singleton(value)]);
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

export const DIAGRAMS = new DecisionDiagrams();
