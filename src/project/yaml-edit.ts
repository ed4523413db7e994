import { isDeepStrictEqual } from 'node:util';
import {
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseDocument,
  stringify,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { YamlFile } from './yaml-file.js';
import { UserError } from '../diagnostics/user-error.js';

/**
 * Surgical edits of a YAML file that keep every byte outside the edited node: set a key to a
 * mapping or a scalar, append an item to a list, remove one.
 *
 * The `yaml` package's Document API finds the node to change and where it sits in the text, but
 * `doc.toString()` re-serializes the whole file: on the real plugins it folds long lines,
 * re-indents sequences and drops trailing spaces. So only the new key, item or value is
 * rendered, in the file's style (indentation step, sequence indentation, quoting, line ending),
 * and spliced into the original text at the node's range. The result is then parsed again, with the same parser
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

/** What the editor can write: strings, numbers, booleans, null, and lists and mappings of them. */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

/**
 * Sets `path` (a chain of mapping keys) to `value`, a mapping, replacing what was there. Missing
 * parents are created. Comments on the key's line are kept; what was inside the old value is not.
 */
export function setMapping(text: string, file: string, path: readonly string[], value: PlainObject): EditResult {
  const y = new YamlText(text, file);
  const splice = y.setPath(path, value);
  return y.finish(splice, path, (data) => setIn(data, path, value));
}

/**
 * Sets `path` to the string `value`. A scalar already there is replaced where it stands, in its
 * own quoting (a quoted version stays quoted) and keeping a comment after it; a missing key is
 * added after the last key of its mapping, with missing parents.
 */
export function setScalar(text: string, file: string, path: readonly string[], value: string): EditResult {
  const y = new YamlText(text, file);
  const splice = y.setScalar(path, value);
  return y.finish(splice, path, (data) => setIn(data, path, value));
}

/** Appends `item` to the sequence at `path`, creating it (and its parents) when missing. */
export function appendToSequence(text: string, file: string, path: readonly string[], item: YamlValue): EditResult {
  const y = new YamlText(text, file);
  const splice = y.appendItem(path, item);
  return y.finish(splice, path, (data) => {
    const parent = path.slice(0, -1);
    const key = path.at(-1)!;
    const holder = ensureIn(data, parent);
    const list = holder[key];
    holder[key] = Array.isArray(list) ? [...list, structuredClone(item)] : [structuredClone(item)];
  });
}

/**
 * Removes item `index` (0-based) of the sequence at `path`, with its lines; comment lines around
 * it stay. Removing the last item leaves `key: []`.
 */
export function removeFromSequence(text: string, file: string, path: readonly string[], index: number): EditResult {
  const y = new YamlText(text, file);
  const splice = y.removeItem(path, index);
  return y.finish(splice, path, (data) => {
    const list = getIn(data, path);
    if (Array.isArray(list)) list.splice(index, 1);
  });
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
    if (error)
      throw new YamlEditError(
        `${file} cannot be parsed: ${error.message.split('\n')[0]}`,
        'fix the YAML first (`dify plugin package --check` shows where)',
      );
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
      throw new YamlEditError(
        `${this.file}: ${path.join('.')} cannot be changed in place without touching other keys, so the file was left as it is`,
        'make the change by hand (an anchor or merge key there is the usual reason)',
      );
    }
    return { text, splice };
  }

  setPath(path: readonly string[], value: unknown): Splice {
    const { map, depth } = this.deepestMap(path.slice(0, -1));
    const rest = path.slice(depth);
    const key = rest[0]!;
    const pair = map.items.find((p) => keyOf(p) === key);
    const nested = nest(rest.slice(1), value);
    if (pair) return this.replacePair(map, pair, nested, this.style(map));
    return this.insertPair(map, key, nested, this.style(map));
  }

  setScalar(path: readonly string[], value: string): Splice {
    const found = this.find(path);
    const old = found?.pair.value;
    // Block scalars (`|`, `>`) and empty values have no quoting to keep: the key is rewritten.
    if (isScalar(old) && isQuoteStyle(old.type) && old.range![0] < old.range![1]) {
      return {
        start: old.range![0],
        end: old.range![1],
        insert: quoteString(value, old.type, found!.map.flow === true),
      };
    }
    return this.setPath(path, value);
  }

  appendItem(path: readonly string[], item: YamlValue): Splice {
    const { map, depth } = this.deepestMap(path.slice(0, -1));
    const style = this.style(map);
    const rest = path.slice(depth);
    const pair = map.items.find((p) => keyOf(p) === rest[0]);
    if (!pair) return this.insertPair(map, rest[0]!, nest(rest.slice(1), [item]), style);
    // Only a missing or empty (null) key stops the walk early: fill it in.
    if (rest.length > 1) return this.replacePair(map, pair, nest(rest.slice(1), [item]), style);
    const seq = pair.value as Node | null;
    if (seq === null || (isScalar(seq) && seq.value === null)) return this.replacePair(map, pair, [item], style);
    if (!isSeq(seq)) throw this.refuse(path, 'is not a list');
    if (!seq.flow) return this.appendBlock(seq, item, style);
    // A list of mappings reads better one item per line: `dependencies: []` as init writes it
    // becomes a block list with its first item (unless the mapping around it is flow too). A list
    // of strings stays on its line.
    if (seq.items.length === 0 && typeof item === 'object' && item !== null && !map.flow)
      return this.replacePair(map, pair, [item], style);
    return this.appendFlow(seq, item, style, path);
  }

  removeItem(path: readonly string[], index: number): Splice {
    const found = this.find(path);
    const seq = found?.pair.value;
    if (!isSeq(seq)) throw this.refuse(path, 'is not a list');
    const item = seq.items[index];
    if (!isNode(item) || !item.range) throw this.refuse(path, `has no item ${index}`);
    return seq.flow ? this.removeFlow(seq, index) : this.removeBlock(found!.pair, seq, item, path);
  }

  /** The pair at `path` and the mapping holding it, through block and flow mappings alike. */
  private find(path: readonly string[]): { pair: Pair; map: YAMLMap } | undefined {
    let node: unknown = this.doc.contents;
    let found: { pair: Pair; map: YAMLMap } | undefined;
    for (const key of path) {
      if (!isMap(node)) return undefined;
      const pair = node.items.find((p) => keyOf(p) === key);
      if (!pair) return undefined;
      found = { pair, map: node };
      node = pair.value;
    }
    return found;
  }

  /**
   * The deepest existing mapping along `path`, and how many keys of it exist. Block and flow
   * mappings alike: a change inside a flow mapping (`{a: 1}`) is written as flow text.
   */
  private deepestMap(path: readonly string[]): { map: YAMLMap; depth: number } {
    const root = this.doc.contents;
    if (!isMap(root)) throw this.refuse([], 'is not a mapping of keys');
    let map: YAMLMap = root;
    let depth = 0;
    for (const key of path) {
      const pair: Pair | undefined = map.items.find((p) => keyOf(p) === key);
      if (!pair || pair.value === null || (isScalar(pair.value) && pair.value.value === null)) break;
      const next: unknown = pair.value;
      if (!isMap(next)) throw this.refuse(path.slice(0, depth + 1), 'is not a mapping');
      map = next;
      depth++;
    }
    return { map, depth };
  }

  /** Replaces a key and its value, from the key to the end of the value's last line. */
  private replacePair(map: YAMLMap, pair: Pair, value: unknown, style: Style): Splice {
    if (map.flow) return this.replaceFlowPair(pair, value, style);
    const key = pair.key as Node;
    const [keyStart, keyEnd] = key.range!;
    const old = pair.value as Node | null;
    const valueStart = old?.range?.[0] ?? keyEnd;
    const valueEnd = old ? Math.max(keyEnd, this.contentEnd(old)) : keyEnd;
    const end = this.lineBreakAt(valueEnd);
    const sameLine = !this.text.slice(keyEnd, valueStart).includes('\n');
    // A comment on the key's line stays on it.
    const comment = sameLine
      ? trailingComment(this.text.slice(valueEnd, end))
      : trailingComment(this.text.slice(keyEnd, this.lineBreakAt(keyEnd)).replace(/^\s*:/, ''));
    const lines = renderPair(this.text.slice(keyStart, keyEnd), value, this.column(keyStart), style, comment);
    return { start: keyStart, end, insert: lines.join(this.eol).replace(/^ */, '') };
  }

  /** Adds `key: value` after the last key of `map`, at its indentation. */
  private insertPair(map: YAMLMap, key: string, value: unknown, style: Style): Splice {
    if (map.flow) return this.insertFlowPair(map, key, value, style);
    const last = map.items.at(-1);
    if (!last) throw this.refuse([], 'is empty');
    const col = this.column((map.items[0]!.key as Node).range![0]);
    const at = this.lineBreakAt(this.contentEnd(last.value as Node | null, last.key as Node));
    const lines = renderPair(renderKey(key), value, col, style, '');
    return { start: at, end: at, insert: this.eol + lines.join(this.eol) };
  }

  /** Adds a line (or lines) after the last item, with its dash where the last item has it. */
  private appendBlock(seq: YAMLSeq, item: YamlValue, style: Style): Splice {
    const last = seq.items.at(-1) as Node;
    const lastStart = last.range![0];
    const dash = this.text.lastIndexOf('-', lastStart - 1);
    const gap = this.text.slice(dash + 1, lastStart);
    // A mapping item is laid out and quoted as the last one is: inside list items, files often
    // nest by another step than elsewhere.
    const itemStyle = isMap(last) && !last.flow ? this.style(last) : style;
    const quote = quoteOf(last) ?? itemStyle.quote;
    const at = this.lineBreakAt(this.contentEnd(last));
    const lines = renderItem(item, this.column(dash), { ...itemStyle, quote }, /^ +$/.test(gap) ? 1 + gap.length : 2);
    return { start: at, end: at, insert: this.eol + lines.join(this.eol) };
  }

  /** `key: value` in place of a pair of a flow mapping, on the same line. */
  private replaceFlowPair(pair: Pair, value: unknown, style: Style): Splice {
    const key = pair.key as Node;
    const old = pair.value as Node | null;
    const end = old?.range?.[1] ?? key.range![1];
    const quote = quoteOf(old) ?? style.quote;
    return {
      start: key.range![0],
      end,
      insert: `${this.text.slice(key.range![0], key.range![1])}: ${renderFlow(value, quote)}`,
    };
  }

  /** `key: value` after the last pair of a flow mapping, before its `}`. */
  private insertFlowPair(map: YAMLMap, key: string, value: unknown, style: Style): Splice {
    const close = map.range![1] - 1;
    if (this.text[close] !== '}') throw this.refuse([key], 'is in a mapping this editor cannot extend');
    const last = map.items.at(-1);
    const at = last ? ((last.value as Node | null)?.range?.[1] ?? (last.key as Node).range![1]) : close;
    const quote = quoteOf(map) ?? style.quote;
    return {
      start: at,
      end: at,
      insert: `${last ? ', ' : ''}${quoteString(key, 'PLAIN', true)}: ${renderFlow(value, quote)}`,
    };
  }

  private appendFlow(seq: YAMLSeq, item: YamlValue, style: Style, path: readonly string[]): Splice {
    const close = seq.range![1] - 1;
    if (this.text[close] !== ']') throw this.refuse(path, 'is a list this editor cannot extend');
    const quote = quoteOf(seq.items.at(-1)) ?? style.quote;
    return { start: close, end: close, insert: `${seq.items.length > 0 ? ', ' : ''}${renderFlow(item, quote)}` };
  }

  /** Removes the item's lines, from its dash to the end of its content and the line break after. */
  private removeBlock(pair: Pair, seq: YAMLSeq, item: Node, path: readonly string[]): Splice {
    const dash = this.text.lastIndexOf('-', item.range![0] - 1);
    let start = this.text.lastIndexOf('\n', dash) + 1;
    if (this.text.slice(start, dash).trim() !== '') throw this.refuse(path, 'is a list this editor cannot shorten');
    let end = this.lineBreakAt(this.contentEnd(item));
    if (end < this.text.length) end = this.text.indexOf('\n', end) + 1;
    else if (start > 0) start -= this.text[start - 2] === '\r' ? 2 : 1; // the last line: its break goes instead
    if (seq.items.length > 1) return { start, end, insert: '' };
    // The list goes empty: `key: []` keeps it a list. Whatever stood between the key and the
    // item (a comment on the key's line, comment lines) is written back as it was.
    const colon = this.text.indexOf(':', (pair.key as Node).range![1]) + 1;
    return { start: colon, end, insert: ` []${this.text.slice(colon, start)}` };
  }

  /** Removes the item and the comma that separates it from a neighbour. */
  private removeFlow(seq: YAMLSeq, index: number): Splice {
    const items = seq.items as Node[];
    const item = items[index]!.range!;
    if (index + 1 < items.length) return { start: item[0], end: items[index + 1]!.range![0], insert: '' };
    if (index > 0) return { start: items[index - 1]!.range![1], end: item[1], insert: '' };
    return { start: item[0], end: item[1], insert: '' };
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
          if (seqOffset < 0 && !value.flow)
            seqOffset = this.column(this.text.lastIndexOf('-', first.range![0] - 1)) - this.column(key.range![0]);
          if (!quote && isScalar(first) && isQuoteStyle(first.type)) quote = first.type;
        }
        if (depthFirst && isMap(value) && !value.flow) visit(value, true);
      }
    };
    visit(near, false); // the neighbours first: `plugins:` lists say how plugin paths are quoted
    visit(root, true);
    return {
      step: step > 0 ? step : 2,
      seqOffset: seqOffset >= 0 ? seqOffset : 2,
      quote: quote ?? 'PLAIN',
      eol: this.eol,
    };
  }

  /** Where the node's content ends: for a block collection, the end of its last item's content. */
  private contentEnd(node: Node | null, fallback?: Node): number {
    if (!node) return fallback!.range![1];
    if (isMap(node) && !node.flow && node.items.length > 0) {
      const last = node.items.at(-1)!;
      return Math.max((last.key as Node).range![1], this.contentEnd(last.value as Node | null, last.key as Node));
    }
    if (isSeq(node) && !node.flow && node.items.length > 0) return this.contentEnd(node.items.at(-1) as Node);
    // A block scalar (`|`, `>`) ends after its line break and any blank lines.
    let end = node.range![1];
    while (end > node.range![0] && /\s/.test(this.text[end - 1]!)) end--;
    return end;
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
    return new YamlEditError(
      `${this.file}: ${where} ${what}, so it cannot be edited in place`,
      'make the change by hand',
    );
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

function getIn(data: PlainObject, path: readonly string[]): unknown {
  return path.reduce<unknown>((at, key) => (isPlainObject(at) ? at[key] : undefined), data);
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
    return [
      `${pad}${key}:${comment}`,
      ...entries.flatMap(([k, v]) => renderPair(renderKey(k), v, col + style.step, style, '')),
    ];
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}${key}: []${comment}`];
    return [`${pad}${key}:${comment}`, ...value.flatMap((v) => renderItem(v, col + style.seqOffset, style))];
  }
  return [`${pad}${key}: ${renderScalar(value, style.quote)}${comment}`];
}

/** `- value` as lines, the dash at `col` and the value `offset` columns after it. */
function renderItem(value: unknown, col: number, style: Style, offset = 2): string[] {
  const dash = `${' '.repeat(col)}-${' '.repeat(offset - 1)}`;
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    // `- first: 1` then the other keys under `first`.
    const lines = Object.entries(value).flatMap(([k, v]) => renderPair(renderKey(k), v, col + offset, style, ''));
    return [`${dash}${lines[0]!.trimStart()}`, ...lines.slice(1)];
  }
  if (Array.isArray(value) && value.length > 0) {
    const lines = value.flatMap((v) => renderItem(v, col + offset, style));
    return [`${dash}${lines[0]!.trimStart()}`, ...lines.slice(1)];
  }
  if (isPlainObject(value) || Array.isArray(value)) return [`${dash}${renderFlow(value, style.quote)}`]; // {} or []
  return [`${dash}${renderScalar(value, style.quote)}`];
}

/** A value on one line: `{a: 1, b: [x, y]}`, or a scalar. */
function renderFlow(value: unknown, quote: QuoteStyle): string {
  if (Array.isArray(value)) return `[${value.map((v) => renderFlow(v, quote)).join(', ')}]`;
  if (isPlainObject(value))
    return `{${Object.entries(value)
      .map(([k, v]) => `${quoteString(k, 'PLAIN', true)}: ${renderFlow(v, quote)}`)
      .join(', ')}}`;
  return renderScalar(value, quote, true);
}

/** How the strings of a node are quoted: as its first quoted string, else as its first string. */
function quoteOf(node: unknown): QuoteStyle | undefined {
  const styles: QuoteStyle[] = [];
  const visit = (n: unknown): void => {
    if (isScalar(n) && typeof n.value === 'string' && isQuoteStyle(n.type)) styles.push(n.type);
    else if (isMap(n)) n.items.forEach((p) => visit(p.value));
    else if (isSeq(n)) n.items.forEach(visit);
  };
  visit(node);
  return styles.find((q) => q !== 'PLAIN') ?? styles[0];
}

function renderKey(key: string): string {
  return quoteString(key, 'PLAIN');
}

function renderScalar(value: unknown, quote: QuoteStyle, flow = false): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (typeof value === 'string') return quoteString(value, quote, flow);
  throw new YamlEditError(`cannot write a ${typeof value} into YAML`);
}

/** A string in the requested style, or quoted anyway when the style would change its meaning. */
function quoteString(s: string, quote: QuoteStyle, flow = false): string {
  if (quote === 'QUOTE_SINGLE' && !/[\u0000-\u001f\u007f]/.test(s)) return `'${s.replaceAll("'", "''")}'`;
  if (quote === 'QUOTE_DOUBLE') return JSON.stringify(s);
  // `stringify` leaves a string plain only when it reads back as the same string, outside
  // brackets; it writes a multi-line one as a block scalar, which cannot go where a value stood.
  const plain = stringify(s, { lineWidth: 0 }).replace(/\n$/, '');
  return plain.includes('\n') || (flow && /[,[\]{}]/.test(plain)) ? JSON.stringify(s) : plain;
}
