import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import { isObject } from '../project/model.js';
import { appendToSequence, removeFromSequence, setMapping, setScalar, type EditResult } from '../project/yaml-edit.js';
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
 * A bundle's manifest.yaml as the author wrote it. Each change is spliced into the text and
 * proven (src/project/yaml-edit.ts), so comments (and the `# yaml-language-server` line), key
 * order, quoting, indentation and line endings stay as they were: only the nodes a command
 * changes are touched.
 */
export class BundleManifest {
  private constructor(
    private text: string,
    private doc: Document.Parsed,
    private readonly label: string,
  ) {}

  /** Parses manifest text; YAML errors and a non-mapping document throw a BundleError with the line. */
  static parse(text: string, label = 'manifest.yaml'): BundleManifest {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
    const first = doc.errors[0];
    if (first) {
      const { line, col } = lines.linePos(first.pos[0]);
      throw new BundleError(
        `${label}:${line}:${col}: ${first.message.split('\n')[0]}`,
        'fix the YAML; `dify bundle package --check <bundle>` lists every problem',
      );
    }
    if (!isMap(doc.contents))
      throw new BundleError(
        `${label} is not a mapping of keys (name, version, dependencies, ...)`,
        'recreate it with `dify bundle init`',
      );
    return new BundleManifest(text, doc, label);
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
    const index = this.dependencies().length;
    this.apply(appendToSequence(this.text, this.label, ['dependencies'], { type: dep.type, value: dep.value }));
    return index;
  }

  /** Removes the dependency at `index` (0-based) and returns it as plain data. */
  remove(index: number): unknown {
    const deps = this.dependencies();
    if (!Number.isInteger(index) || index < 0 || index >= deps.length) {
      const range =
        deps.length === 0
          ? 'the bundle has no dependencies'
          : `the bundle has ${deps.length} dependenc${deps.length === 1 ? 'y (index 0)' : `ies (indexes 0 to ${deps.length - 1})`}`;
      throw new BundleError(
        `index ${index} is out of range: ${range}`,
        deps.length === 0 ? undefined : 'see the indexes with `dify bundle analyze <bundle>`',
      );
    }
    this.apply(removeFromSequence(this.text, this.label, ['dependencies'], index));
    return deps[index];
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
    return this.text;
  }

  private setI18n(key: string, text: string): void {
    const texts = this.data[key];
    if (!isObject(texts)) {
      this.apply(setMapping(this.text, this.label, [key], Object.fromEntries(LOCALES.map((l) => [l, text]))));
      return;
    }
    const old = texts.en_US;
    for (const [locale, value] of Object.entries(texts)) {
      if (locale === 'en_US' || (old !== undefined && value === old)) this.setScalar([key, locale], text);
    }
    if (!('en_US' in texts)) this.setScalar([key, 'en_US'], text);
  }

  private setScalar(path: string[], value: string): void {
    this.apply(setScalar(this.text, this.label, path, value));
  }

  private apply(edit: EditResult): void {
    this.text = edit.text;
    this.doc = parseDocument(edit.text);
  }
}

function notAList(): BundleError {
  return new BundleError(
    'dependencies in manifest.yaml is not a list',
    'write it as `dependencies: []` or as a list of {type, value} items',
  );
}
