import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument, stringify, type Document, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { YamlFile } from './yaml-file.js';
import { UserError } from '../diagnostics/user-error.js';

/**
 * Surgical edits of a YAML file that keep every byte outside the edited key.
 *
 * The `yaml` package's Document API finds the node to change and where it sits in the text, but
 * `doc.toString()` re-serializes the whole file: on the real plugins it folds long lines,
 * re-indents sequences and drops trailing spaces. So the new key is rendered on its own, in the
 * file's style (indentation step, sequence indentation, quoting, line ending), and spliced into
 * the original text at the node's range. The result is then parsed again, with the same parser
 * the loader uses, and must equal the original data with exactly the intended change; otherwise
 * nothing is returned and the caller writes nothing.
 */

/** An edit that cannot be made without touching more than the edited key. */
export class YamlEditError extends UserError {}

/** Bytes [start, end) of the original text were replaced by `insert`. */
export interface Splice {
  start: number;
  end: number;
  insert: string;
}

export interface EditResult {
  text: string;
  splice: Splice;
}

type QuoteStyle = 'PLAIN' | 'QUOTE_DOUBLE' | 'QUOTE_SINGLE';

interface Style {
  /** Spaces per nesting level of mappings. */
  step: number;
  /** Where `-` sits relative to its key: 0 (`key:\n- a`) or `step` (`key:\n  - a`). */
  seqOffset: number;
  quote: QuoteStyle;
  eol: string;
}

type PlainObject = Record<string, unknown>;

/**
 * Sets `path` (a chain of mapping keys) to `value`, a mapping, replacing what was there. Missing
 * parents are created. Comments on the key's line are kept; what was inside the old value is not.
 */
export function setMapping(text: string, file: string, path: readonly string[], value: PlainObject): EditResult {
  const y = new YamlText(text, file);
  const splice = y.setPath(path, value);
  return y.finish(splice, path, (data) => setIn(data, path, value));
}

/** Appends `item` to the sequence at `path`, creating it (and its parents) when missing. */
export function appendToSequence(text: string, file: string, path: readonly string[], item: string): EditResult {
  const y = new YamlText(text, file);
  const splice = y.appendItem(path, item);
  return y.finish(splice, path, (data) => {
    const parent = path.slice(0, -1);
    const key = path.at(-1)!;
    const holder = ensureIn(data, parent);
    const list = holder[key];
    holder[key] = Array.isArray(list) ? [...list, item] : [item];
  });
}

/**
 * Lines of `after` that differ from `before`, as 1-based line numbers of `before`: the first
 * changed line and the last one (inclusive), or null when the texts are equal. Lines outside that
 * range are byte-for-byte the same in both.
 */
export function changedLines(before: string, after: string): { first: number; lastBefore: number; lastAfter: number } | null {
  if (before === after) return null;
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return { first: head + 1, lastBefore: a.length - tail, lastAfter: b.length - tail };
}

class YamlText {
  private readonly doc: Document;
  private readonly eol: string;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {
    this.doc = parseDocument(text, { uniqueKeys: false });
    const error = this.doc.errors[0];
    if (error) throw new YamlEditError(`${file} cannot be parsed: ${error.message.split('\n')[0]}`, 'fix the YAML first (`dify plugin package --check` shows where)');
    this.eol = text.includes('\r\n') ? '\r\n' : '\n';
  }

  /** Applies the splice, then proves that the data changed exactly as `change` says. */
  finish(splice: Splice, path: readonly string[], change: (data: PlainObject) => void): EditResult {
    const text = this.text.slice(0, splice.start) + splice.insert + this.text.slice(splice.end);
    const before = new YamlFile(this.file, this.text).value;
    const expected = structuredClone(isPlainObject(before) ? before : {}) as PlainObject;
    change(expected);
    const after = new YamlFile(this.file, text);
    if (!after.parsed || parseDocument(text).errors.length > 0 || !isDeepStrictEqual(after.value, expected)) {
      throw new YamlEditError(`${this.file}: ${path.join('.')} cannot be changed in place without touching other keys, so the file was left as it is`, 'make the change by hand (an anchor or merge key there is the usual reason)');
    }
    return { text, splice };
  }

  setPath(path: readonly string[], value: PlainObject): Splice {
    const { map, depth } = this.deepestMap(path.slice(0, -1));
    const rest = path.slice(depth);
    const key = rest[0]!;
    const pair = map.items.find((p) => keyOf(p) === key);
    const nested = nest(rest.slice(1), value);
    if (pair) return this.replacePair(pair, nested, this.style(map));
    return this.insertPair(map, key, nested, this.style(map));
  }

  appendItem(path: readonly string[], item: string): Splice {
    const { map, depth } = this.deepestMap(path.slice(0, -1));
    const style = this.style(map);
    const rest = path.slice(depth);
    const pair = map.items.find((p) => keyOf(p) === rest[0]);
    if (!pair) return this.insertPair(map, rest[0]!, nest(rest.slice(1), [item]), style);
    // Only a missing or empty (null) key stops the walk early: fill it in.
    if (rest.length > 1) return this.replacePair(pair, nest(rest.slice(1), [item]), style);
    const seq = pair.value as Node | null;
    if (seq === null || (isScalar(seq) && seq.value === null)) return this.replacePair(pair, [item], style);
    if (!isSeq(seq)) throw this.refuse(path, 'is not a list');
    return seq.flow ? this.appendFlow(seq, item, style, path) : this.appendBlock(seq, item, style);
  }

  /** The deepest existing block mapping along `path`, and how many keys of it exist. */
  private deepestMap(path: readonly string[]): { map: YAMLMap; depth: number } {
    const root = this.doc.contents;
    if (!isMap(root) || root.flow) throw this.refuse([], 'is not a block mapping of keys');
    let map: YAMLMap = root;
    let depth = 0;
    for (const key of path) {
      const pair: Pair | undefined = map.items.find((p) => keyOf(p) === key);
      if (!pair || pair.value === null || (isScalar(pair.value) && pair.value.value === null)) break;
      const next: unknown = pair.value;
      if (!isMap(next)) throw this.refuse(path.slice(0, depth + 1), 'is not a mapping');
      if (next.flow) throw this.refuse(path.slice(0, depth + 1), 'is written in flow style ({...})');
      map = next;
      depth++;
    }
    return { map, depth };
  }

  /** Replaces a key and its value, from the key to the end of the value's last line. */
  private replacePair(pair: Pair, value: unknown, style: Style): Splice {
    const key = pair.key as Node;
    const [keyStart, keyEnd] = key.range!;
    const old = pair.value as Node | null;
    const valueStart = old?.range?.[0] ?? keyEnd;
    const valueEnd = old ? Math.max(keyEnd, this.contentEnd(old)) : keyEnd;
    const end = this.lineBreakAt(valueEnd);
    const sameLine = !this.text.slice(keyEnd, valueStart).includes('\n');
    // A comment on the key's line stays on it.
    const comment = sameLine ? trailingComment(this.text.slice(valueEnd, end)) : trailingComment(this.text.slice(keyEnd, this.lineBreakAt(keyEnd)).replace(/^\s*:/, ''));
    const lines = renderPair(this.text.slice(keyStart, keyEnd), value, this.column(keyStart), style, comment);
    return { start: keyStart, end, insert: lines.join(this.eol).replace(/^ */, '') };
  }

  /** Adds `key: value` after the last key of `map`, at its indentation. */
  private insertPair(map: YAMLMap, key: string, value: unknown, style: Style): Splice {
    const last = map.items.at(-1);
    if (!last) throw this.refuse([], 'is empty');
    const col = this.column((map.items[0]!.key as Node).range![0]);
    const at = this.lineBreakAt(this.contentEnd(last.value as Node | null, last.key as Node));
    const lines = renderPair(renderKey(key), value, col, style, '');
    return { start: at, end: at, insert: this.eol + lines.join(this.eol) };
  }

  private appendBlock(seq: YAMLSeq, item: string, style: Style): Splice {
    const last = seq.items.at(-1) as Node;
    const lastStart = last.range![0];
    const dash = this.text.lastIndexOf('-', lastStart - 1);
    const gap = this.text.slice(dash + 1, lastStart);
    const quote = isScalar(last) && isQuoteStyle(last.type) ? last.type : style.quote;
    const at = this.lineBreakAt(this.contentEnd(last));
    const line = `${' '.repeat(this.column(dash))}-${/^ +$/.test(gap) ? gap : ' '}${quoteString(item, quote)}`;
    return { start: at, end: at, insert: this.eol + line };
  }

  private appendFlow(seq: YAMLSeq, item: string, style: Style, path: readonly string[]): Splice {
    const close = seq.range![1] - 1;
    if (this.text[close] !== ']') throw this.refuse(path, 'is a list this editor cannot extend');
    const last = seq.items.at(-1);
    const quote = isScalar(last) && isQuoteStyle(last.type) ? last.type : style.quote;
    return { start: close, end: close, insert: `${seq.items.length > 0 ? ', ' : ''}${quoteString(item, quote)}` };
  }

  /** The file's own style, read from what is already there. */
  private style(near: YAMLMap): Style {
    const root = this.doc.contents as YAMLMap;
    let step = 0;
    let seqOffset = -1;
    let quote: QuoteStyle | undefined;
    const visit = (map: YAMLMap, depthFirst: boolean) => {
      for (const pair of map.items) {
        const key = pair.key as Node;
        const value = pair.value as Node | null;
        if (isMap(value) && !value.flow && value.items.length > 0 && step === 0) {
          step = this.column((value.items[0]!.key as Node).range![0]) - this.column(key.range![0]);
        }
        if (isSeq(value) && value.items.length > 0) {
          const first = value.items[0] as Node;
          if (seqOffset < 0 && !value.flow) seqOffset = this.column(this.text.lastIndexOf('-', first.range![0] - 1)) - this.column(key.range![0]);
          if (!quote && isScalar(first) && isQuoteStyle(first.type)) quote = first.type;
        }
        if (depthFirst && isMap(value) && !value.flow) visit(value, true);
      }
    };
    visit(near, false); // the neighbours first: `plugins:` lists say how plugin paths are quoted
    visit(root, true);
    return { step: step > 0 ? step : 2, seqOffset: seqOffset >= 0 ? seqOffset : 2, quote: quote ?? 'PLAIN', eol: this.eol };
  }

  /** Where the node's content ends: for a block collection, the end of its last item's content. */
  private contentEnd(node: Node | null, fallback?: Node): number {
    if (!node) return fallback!.range![1];
    if (isMap(node) && !node.flow && node.items.length > 0) {
      const last = node.items.at(-1)!;
      return Math.max((last.key as Node).range![1], this.contentEnd(last.value as Node | null, last.key as Node));
    }
    if (isSeq(node) && !node.flow && node.items.length > 0) return this.contentEnd(node.items.at(-1) as Node);
    return node.range![1];
  }

  /** Index of the line break at or after `pos` (before `\r\n` or `\n`), or the end of the text. */
  private lineBreakAt(pos: number): number {
    const nl = this.text.indexOf('\n', pos);
    if (nl < 0) return this.text.length;
    return nl > 0 && this.text[nl - 1] === '\r' && nl - 1 >= pos ? nl - 1 : nl;
  }

  private column(pos: number): number {
    const start = this.text.lastIndexOf('\n', pos - 1) + 1;
    // A byte-order mark is not indentation.
    return pos - start - (start === 0 && this.text.startsWith('\uFEFF') ? 1 : 0);
  }

  private refuse(path: readonly string[], what: string): YamlEditError {
    const where = path.length > 0 ? path.join('.') : 'the document';
    return new YamlEditError(`${this.file}: ${where} ${what}, so it cannot be edited in place`, 'make the change by hand');
  }
}

function keyOf(pair: Pair): unknown {
  return isScalar(pair.key) ? String(pair.key.value) : undefined;
}

function isQuoteStyle(type: unknown): type is QuoteStyle {
  return type === 'PLAIN' || type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE';
}

function isPlainObject(v: unknown): v is PlainObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `# comment` at the end of a line fragment, with the spaces before it, or ''. */
function trailingComment(fragment: string): string {
  const m = /^(\s*)(#.*)$/.exec(fragment);
  return m ? `${m[1] || ' '}${m[2]}` : '';
}

function nest(keys: readonly string[], value: unknown): unknown {
  return keys.reduceRight<unknown>((v, k) => ({ [k]: v }), value);
}

function setIn(data: PlainObject, path: readonly string[], value: unknown): void {
  ensureIn(data, path.slice(0, -1))[path.at(-1)!] = structuredClone(value);
}

function ensureIn(data: PlainObject, path: readonly string[]): PlainObject {
  let at = data;
  for (const key of path) {
    if (!isPlainObject(at[key])) at[key] = {};
    at = at[key] as PlainObject;
  }
  return at;
}

/** `key: value` as lines, the first one indented too (callers splicing at the key strip it). */
function renderPair(key: string, value: unknown, col: number, style: Style, comment: string): string[] {
  const pad = ' '.repeat(col);
  if (isPlainObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return [`${pad}${key}: {}${comment}`];
    return [`${pad}${key}:${comment}`, ...entries.flatMap(([k, v]) => renderPair(renderKey(k), v, col + style.step, style, ''))];
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}${key}: []${comment}`];
    return [`${pad}${key}:${comment}`, ...value.flatMap((v) => renderItem(v, col + style.seqOffset, style))];
  }
  return [`${pad}${key}: ${renderScalar(value, style.quote)}${comment}`];
}

function renderItem(value: unknown, col: number, style: Style): string[] {
  const pad = ' '.repeat(col);
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    // `- first: 1` then the other keys under `first`.
    const lines = Object.entries(value).flatMap(([k, v]) => renderPair(renderKey(k), v, col + 2, style, ''));
    return [`${pad}- ${lines[0]!.trimStart()}`, ...lines.slice(1)];
  }
  if (Array.isArray(value) && value.length > 0) {
    const lines = value.flatMap((v) => renderItem(v, col + 2, style));
    return [`${pad}- ${lines[0]!.trimStart()}`, ...lines.slice(1)];
  }
  if (isPlainObject(value)) return [`${pad}- {}`];
  if (Array.isArray(value)) return [`${pad}- []`];
  return [`${pad}- ${renderScalar(value, style.quote)}`];
}

function renderKey(key: string): string {
  return quoteString(key, 'PLAIN');
}

function renderScalar(value: unknown, quote: QuoteStyle): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (typeof value === 'string') return quoteString(value, quote);
  throw new YamlEditError(`cannot write a ${typeof value} into YAML`);
}

/** A string in the requested style, or quoted anyway when the style would change its meaning. */
function quoteString(s: string, quote: QuoteStyle): string {
  if (quote === 'QUOTE_SINGLE' && !/[\u0000-\u001f\u007f]/.test(s)) return `'${s.replaceAll("'", "''")}'`;
  if (quote === 'QUOTE_DOUBLE') return JSON.stringify(s);
  // `stringify` leaves a string plain only when it reads back as the same string.
  return stringify(s, { lineWidth: 0 }).replace(/\n$/, '');
}
