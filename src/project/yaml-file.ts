import jsYaml from 'js-yaml';
import type { Document, LineCounter, Node } from 'yaml';
import type { Locatable } from '../diagnostics/catalog.js';
import type { Position } from '../diagnostics/diagnostic.js';
import type { PathSegment } from '../diagnostics/pointer.js';
import { loadPlainYaml, type ScalarType } from './yaml-fast.js';

/**
 * Declaration files larger than this are not parsed: real Dify declarations are a few KiB, so a
 * bigger file is almost surely a mistake, and parsing is never free.
 */
export const MAX_YAML_BYTES = 1024 * 1024;

/** More nodes than this once aliases are expanded means an "alias bomb", not a declaration. */
export const MAX_EXPANDED_NODES = 1_000_000;

/**
 * YAML 1.2 core schema plus merge keys (`<<`), which both the daemon (yaml.v3) and the SDK
 * (PyYAML) honour. No timestamp type: `created_at` stays the string it was written as.
 */
// (`types` exists at run time but is missing from @types/js-yaml.)
const { merge } = (jsYaml as unknown as { types: { merge: jsYaml.Type } }).types;
const SCHEMA = jsYaml.CORE_SCHEMA.extend({ implicit: [merge] });
/**
 * The schema's implicit types in js-yaml's order (an internal field: without it, every file is
 * simply read by js-yaml), so that the fast reader resolves plain scalars exactly as js-yaml does.
 */
const IMPLICIT = (SCHEMA as unknown as { compiledImplicit?: ScalarType[] }).compiledImplicit;

/**
 * The position-keeping YAML parser, loaded only when some finding needs a line and column:
 * valid plugins never pay for it.
 */
let positionParser: typeof import('yaml') | undefined;

export async function enablePositions(): Promise<void> {
  positionParser ??= await import('yaml');
}

export interface YamlProblem {
  kind: 'syntax' | 'too-deep' | 'alias-limit';
  message: string;
  position: Position;
}

/**
 * A parsed YAML file that can say where any node came from, so every finding about its data can
 * be reported at `file:line:col`. The data is read with a fast parser; the position-keeping
 * parse happens only when a position is asked for, which is when something is wrong.
 */
export class YamlFile implements Locatable {
  readonly problems: YamlProblem[] = [];
  /** The plain JS value, or undefined when the file could not be read as YAML. */
  readonly value: unknown;
  /**
   * True when a mapping repeats a key. The value then holds the last one, as PyYAML (the SDK)
   * reads it; whether the daemon refuses the file depends on where (see `duplicateKeys`).
   */
  readonly hasDuplicateKeys: boolean = false;
  private positions: { doc: Document; lines: LineCounter } | undefined;

  constructor(
    readonly path: string,
    readonly text: string,
  ) {
    // Most declarations are plain block YAML, which the fast reader takes; the rest, and every
    // file with a problem, goes through js-yaml.
    let value: unknown = Array.isArray(IMPLICIT) ? loadPlainYaml(text, IMPLICIT) : undefined;
    if (value !== undefined) {
      this.value = value;
      return;
    }
    try {
      value = jsYaml.load(text, { schema: SCHEMA, filename: path });
    } catch (err) {
      value = undefined;
      if (isDuplicateKey(err)) {
        // `json: true` makes js-yaml keep the last of repeated keys instead of failing; the rest of
        // the file may still hold a syntax error, which the first parse stopped before.
        try {
          value = jsYaml.load(text, { schema: SCHEMA, filename: path, json: true });
          this.hasDuplicateKeys = true;
        } catch (later) {
          this.problems.push(problemOf(later));
        }
      } else {
        this.problems.push(problemOf(err));
      }
    }
    if (value !== undefined && expandedSize(value) > MAX_EXPANDED_NODES) {
      this.problems.push({
        kind: 'alias-limit',
        message: `YAML aliases expand to more than ${MAX_EXPANDED_NODES.toLocaleString('en')} values`,
        position: { line: 1, column: 1 },
      });
      value = undefined;
    }
    this.value = value;
  }

  /** True when the file was read as YAML (its value may still be null for an empty file). */
  get parsed(): boolean {
    return this.problems.length === 0;
  }

  /**
   * Position of the node at `segments` (or of its key, with `atKey`). When the path does not
   * exist completely, the deepest existing node is used, which for a missing key is the mapping
   * that lacks it. Needs `enablePositions()` first.
   */
  locate(segments: readonly PathSegment[], atKey = false): Position {
    const { lines } = this.located();
    const node = this.nodeAt(segments, atKey);
    const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
    return { line, column: col };
  }

  /** `locate`, loading the position-keeping parser first if need be. */
  async position(segments: readonly PathSegment[], atKey = false): Promise<Position> {
    await enablePositions();
    return this.locate(segments, atKey);
  }

  /** The scalar at a path as written in the source, e.g. `1.10` for a value read as 1.1. */
  sourceText(segments: readonly PathSegment[]): { text: string; quoted: boolean } | undefined {
    const node = this.deref(this.nodeAt(segments));
    if (!positionParser!.isScalar(node) || !node.range) return undefined;
    const text = this.text.slice(node.range[0], node.range[1]);
    return { text, quoted: node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' };
  }

  /**
   * Every key written again in the same mapping: where the mapping is, the key, and the lines of
   * its first and last occurrence (the last one is the value read).
   */
  async duplicateKeys(): Promise<DuplicateKey[]> {
    if (!this.hasDuplicateKeys) return [];
    await enablePositions();
    const { doc, lines } = this.located();
    const { isMap, isScalar, isSeq } = positionParser!;
    const found: DuplicateKey[] = [];
    const lineOf = (node: Node) => lines.linePos(node.range?.[0] ?? 0);
    const walk = (node: unknown, at: PathSegment[]) => {
      if (isMap(node)) {
        const first = new Map<string, Node>();
        const last = new Map<string, Node>();
        for (const pair of node.items) {
          if (!isScalar(pair.key)) continue;
          const key = String(pair.key.value);
          if (first.has(key)) last.set(key, pair.key as Node);
          else first.set(key, pair.key as Node);
          walk(pair.value, [...at, key]);
        }
        for (const [key, node] of last) {
          const { line, col } = lineOf(node);
          found.push({ at, key, line, column: col, firstLine: lineOf(first.get(key)!).line });
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => walk(item, [...at, i]));
      }
    };
    walk(doc.contents, []);
    return found;
  }

  private located(): { doc: Document; lines: LineCounter } {
    if (!this.positions) {
      if (!positionParser) throw new Error('YamlFile: await enablePositions() before asking for positions');
      const lines = new positionParser.LineCounter();
      const doc = positionParser.parseDocument(this.text, { lineCounter: lines, uniqueKeys: false, merge: true });
      this.positions = { doc, lines };
    }
    return this.positions;
  }

  private nodeAt(segments: readonly PathSegment[], atKey: boolean = false): Node | undefined {
    const { doc } = this.located();
    const { isMap, isScalar, isSeq } = positionParser!;
    let node: Node | null | undefined = doc.contents;
    let key: Node | undefined;
    for (const seg of segments) {
      node = this.deref(node);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        key = pair.key as Node;
        node = pair.value as Node | null;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined;
        if (!item) break;
        key = undefined;
        node = item;
      } else {
        break;
      }
    }
    if (atKey && key) return key;
    return node ?? key ?? doc.contents ?? undefined;
  }

  private deref(node: Node | null | undefined): Node | null | undefined {
    return positionParser!.isAlias(node) ? (node.resolve(this.located().doc) as Node | undefined) : node;
  }
}

export interface DuplicateKey {
  /** The mapping that repeats the key. */
  at: PathSegment[];
  key: string;
  /** Where the key is written the last time. */
  line: number;
  column: number;
  firstLine: number;
}

function isDuplicateKey(err: unknown): boolean {
  return err instanceof jsYaml.YAMLException && (err.reason ?? '').startsWith('duplicated mapping key');
}

function problemOf(err: unknown): YamlProblem {
  if (err instanceof jsYaml.YAMLException) {
    const position = { line: (err.mark?.line ?? 0) + 1, column: (err.mark?.column ?? 0) + 1 };
    const reason = err.reason ?? err.message;
    if (reason.includes('maxDepth')) return { kind: 'too-deep', message: 'YAML nesting is too deep to read', position };
    return { kind: 'syntax', message: reason, position };
  }
  // A stack overflow on pathological input is the only other way the parser fails.
  return { kind: 'too-deep', message: 'YAML nesting is too deep to read', position: { line: 1, column: 1 } };
}

/** Number of values once aliases are expanded, counting each shared object once per use. */
function expandedSize(root: unknown): number {
  const sizes = new Map<object, number>();
  const size = (v: unknown): number => {
    if (typeof v !== 'object' || v === null) return 1;
    const known = sizes.get(v);
    if (known !== undefined) return known;
    sizes.set(v, 1); // a cycle counts once
    let n = 1;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      n += size(child);
      if (n > MAX_EXPANDED_NODES) break;
    }
    sizes.set(v, n);
    return n;
  };
  return size(root);
}
