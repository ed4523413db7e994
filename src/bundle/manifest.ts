import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import { BundleError } from './errors.js';

export type DependencyType = 'github' | 'marketplace' | 'package';

/** One `dependencies` item as the daemon reads it: `{type, value}` (dify-plugin-daemon `pkg/entities/bundle_entities/dependency.go`). */
export interface DependencyEntry {
  type: DependencyType;
  value: Record<string, string>;
}

/** What `regenerate` rewrites (the Go CLI's profile screen). */
export interface BundleProfile {
  name: string;
  author: string;
  description: string;
  /** The display name (`labels`). */
  label: string;
}

/** The locales Dify keeps, in the order `init` writes them. */
export const LOCALES = ['en_US', 'zh_Hans', 'ja_JP', 'pt_BR'] as const;

/**
 * A bundle's manifest.yaml held as a YAML document, so that editing it keeps the author's
 * comments (and the `# yaml-language-server` line), key order, quoting and indentation: only
 * the nodes a command changes are touched.
 */
export class BundleManifest {
  private constructor(
    private readonly doc: Document.Parsed,
    private readonly indent: number,
  ) {}

  /** Parses manifest text; YAML errors and a non-mapping document throw a BundleError with the line. */
  static parse(text: string, label = 'manifest.yaml'): BundleManifest {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
    const first = doc.errors[0];
    if (first) {
      const { line, col } = lines.linePos(first.pos[0]);
      throw new BundleError(`${label}:${line}:${col}: ${first.message.split('\n')[0]}`, 'fix the YAML; `dify bundle package --check <bundle>` lists every problem');
    }
    if (!isMap(doc.contents)) throw new BundleError(`${label} is not a mapping of keys (name, version, dependencies, ...)`, 'recreate it with `dify bundle init`');
    return new BundleManifest(doc, detectIndent(text));
  }

  /** The manifest as plain data. */
  get data(): Record<string, unknown> {
    return this.doc.toJS() as Record<string, unknown>;
  }

  /** The `dependencies` items as plain data (none when the key is missing or empty). */
  dependencies(): unknown[] {
    const deps = this.data.dependencies;
    if (deps === undefined || deps === null) return [];
    if (!Array.isArray(deps)) throw notAList();
    return deps;
  }

  /** Appends a dependency and returns its index. */
  append(dep: DependencyEntry): number {
    const node = this.doc.get('dependencies', true) as Node | undefined;
    const item = this.doc.createNode({ type: dep.type, value: dep.value });
    if (node === undefined || node === null || (isScalar(node) && (node.value === null || node.value === undefined))) {
      this.doc.set('dependencies', this.doc.createNode([dep]));
      return 0;
    }
    if (!isSeq(node)) throw notAList();
    // `dependencies: []` as init writes it becomes a block list once it has items.
    if (node.items.length === 0) node.flow = false;
    node.items.push(item);
    return node.items.length - 1;
  }

  /** Removes the dependency at `index` (0-based) and returns it as plain data. */
  remove(index: number): unknown {
    const deps = this.dependencies();
    if (!Number.isInteger(index) || index < 0 || index >= deps.length) {
      const range = deps.length === 0 ? 'the bundle has no dependencies' : `the bundle has ${deps.length} dependenc${deps.length === 1 ? 'y (index 0)' : `ies (indexes 0 to ${deps.length - 1})`}`;
      throw new BundleError(`index ${index} is out of range: ${range}`, deps.length === 0 ? undefined : 'see the indexes with `dify bundle analyze <bundle>`');
    }
    const removed = deps[index];
    this.doc.deleteIn(['dependencies', index]);
    return removed;
  }

  /** Sets `version` and returns the previous value. */
  setVersion(version: string): unknown {
    const before = this.data.version;
    this.setScalar(['version'], version);
    return before;
  }

  /**
   * Sets name and author, and the en_US label and description. Other locales that still hold
   * the old English text (as `init` writes them) follow it; translations are kept. A missing
   * labels or description mapping is written for all four locales.
   */
  setProfile(p: BundleProfile): void {
    this.setScalar(['name'], p.name);
    this.setScalar(['author'], p.author);
    this.setI18n('labels', p.label);
    this.setI18n('description', p.description);
  }

  toString(): string {
    return this.doc.toString({ indent: this.indent, lineWidth: 0 });
  }

  private setI18n(key: string, text: string): void {
    const node = this.doc.get(key, true) as Node | undefined;
    if (!isMap(node)) {
      this.doc.set(key, this.doc.createNode(Object.fromEntries(LOCALES.map((l) => [l, text]))));
      return;
    }
    const old = (node as YAMLMap).get('en_US');
    for (const pair of (node as YAMLMap).items) {
      const locale = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (locale === undefined) continue;
      const value = isScalar(pair.value) ? pair.value.value : pair.value;
      if (locale === 'en_US' || (old !== undefined && value === old)) this.setScalar([key, locale], text);
    }
    if (!(node as YAMLMap).has('en_US')) this.setScalar([key, 'en_US'], text);
  }

  /** Replaces a scalar's value keeping its style (a quoted version stays quoted). */
  private setScalar(path: string[], value: string): void {
    const node = this.doc.getIn(path, true);
    if (isScalar(node)) node.value = value;
    else this.doc.setIn(path, value);
  }
}

function notAList(): BundleError {
  return new BundleError('dependencies in manifest.yaml is not a list', 'write it as `dependencies: []` or as a list of {type, value} items');
}

/** The indentation of the first nested block line: 2 as `init` writes, 4 as the Go CLI does. */
function detectIndent(text: string): number {
  const m = /^[^\s#-][^\n]*:[ \t]*\r?\n(?:[ \t]*(?:#[^\n]*)?\r?\n)*( +)[^\s-]/m.exec(text);
  const n = m?.[1]?.length ?? 2;
  return n >= 1 && n <= 8 ? n : 2;
}
