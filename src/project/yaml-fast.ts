/**
 * A fast reader for the plain block YAML that Dify declarations are written in: block mappings
 * and sequences, scalars (plain, quoted, `|` and `>`), one-line lists, comments. It exists
 * because a check is mostly start-up: a general YAML parser running cold (before V8 has
 * optimised it) takes a large part of checking a plugin with many model files, while this one
 * does little per line, mostly in native string and regular-expression calls, and keeps its state
 * in closure variables rather than object properties (cheaper for V8's interpreter).
 *
 * It never guesses. Anything it is not certain to read exactly as js-yaml does (anchors,
 * aliases, tags, flow collections other than one-line lists, multi-line double-quoted scalars,
 * explicit keys, several documents, tabs, unusual characters, duplicate keys, deep nesting, or
 * any error) makes it give up, and the caller reads the file with js-yaml instead. So its result,
 * when there is one, is the one js-yaml gives: the tests compare the two over every YAML file in
 * the repository and over thousands of mutations of them, and before it was adopted, over all
 * 3,313 YAML files of the official plugins.
 */

/** How a plain scalar becomes a value: js-yaml's implicit types, in js-yaml's order. */
export interface ScalarType {
  resolve(data: string): boolean;
  construct(data: string): unknown;
}

/** Thrown (never escaping this module) when the input needs the full parser. */
const GIVE_UP: unique symbol = Symbol('give up');

/** Deeper than this is left to js-yaml, which has its own nesting limit and message. */
const MAX_DEPTH = 50;

/**
 * Only printable YAML characters (c-printable of YAML 1.2), less tab, carriage return, the
 * Unicode line and paragraph separators and byte-order marks. Anything else goes to js-yaml,
 * which rejects it or knows what to do with it. Surrogates are looked at apart (LONE_SURROGATE),
 * only in the rare text that has any: a regular expression without the `u` flag is faster.
 */
const UNUSUAL_CHARACTER = /[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\ud800-\udfff]/;
const SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const NOT_SPACE = /[^ ]/;
/**
 * `key: value` (or `key:`) with a key this reader takes as written: a plain scalar of ordinary
 * characters. A line with a colon this does not match is an error or something unusual: either
 * way, js-yaml's.
 */
const KEY_LINE = /^([A-Za-z0-9_$][A-Za-z0-9_$./-]*(?: [A-Za-z0-9_$./-]+)*):(?: +(.*))?$/;
/**
 * KEY_LINE with a value that is a whole plain scalar on its own: no indicator first, no
 * comment, no `: ` and no colon at the end (then it would be a mapping, or an error).
 */
const PLAIN_PAIR =
  /^([A-Za-z0-9_$][A-Za-z0-9_$./-]*(?: [A-Za-z0-9_$./-]+)*): +((?!-(?: |$))[^&*!%@`,[\]{}#|>'"?: ](?:[^:# ]|:(?! |$)| (?!#)|(?<! )#)*)$/;
/** What cannot be in a plain scalar here: a comment, or a colon that makes it a mapping. */
const NOT_PLAIN = / #|: |:$/;
/** Block scalar header: style, optional chomping (keep is left to js-yaml), optional comment. */
const BLOCK_HEADER = /^([|>])(-?)(?: +#.*)?$/;
/** What may follow a closing quote or bracket: nothing, or a comment. */
const LINE_END = /^(?: +(?:#.*)?)?$/;
const EMPTY_FLOW_MAPPING = /^\{ *\}(?: +#.*)?$/;
const NOT_FLOW_PLAIN = /[[\]{}#:"']/;
/** Escapes js-yaml decodes in double-quoted scalars (besides \x, \u and \U). */
const ESCAPES: Record<string, string> = {
  '0': '\x00',
  a: '\x07',
  b: '\x08',
  t: '\t',
  n: '\n',
  v: '\x0b',
  f: '\x0c',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};
const HEX_LENGTH: Record<string, number> = { x: 2, u: 4, U: 8 };
/** js-yaml's implicit types of the core schema, plus merge (`<<`). */
const CORE_TAGS = ['null', 'bool', 'int', 'float', 'merge'].map((t) => `tag:yaml.org,2002:${t}`);

/** Character classes by code, for what a scalar starts with. */
const charClass = (chars: string) => {
  const table = new Uint8Array(128);
  for (const c of chars) table[c.charCodeAt(0)] = 1;
  return table;
};
/**
 * Which plain scalars js-yaml's core types (null, bool, int, float, merge) could take: those
 * starting with a digit, a sign, `.`, `~` or `<`, and these words. Any other is a string, known
 * without calling the five resolvers.
 */
const MAYBE_NOT_STRING_START = charClass('0123456789+-.~<');
const CORE_WORDS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
/** YAML indicators a plain scalar may not start with (`-` is apart: it may, before a non-space). */
const INDICATOR = charClass('&*!%@`,[]{}#|>\'"?:');

/**
 * The value of `text` when it is plain block YAML, exactly as js-yaml would load it with the
 * given implicit types; `undefined` when the text needs the full parser (including when it is
 * invalid, or empty).
 */
export function loadPlainYaml(text: string, implicit: readonly ScalarType[]): unknown {
  if (text.includes('\r')) {
    // Windows line ends are line ends; any other carriage return is left to js-yaml.
    text = text.replace(/\r\n/g, '\n');
    if (text.includes('\r')) return undefined;
  }
  if (UNUSUAL_CHARACTER.test(text) || (SURROGATE.test(text) && LONE_SURROGATE.test(text))) return undefined;
  try {
    return read(text.split('\n'), implicit);
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

function giveUp(): never {
  throw GIVE_UP;
}

function read(lines: string[], implicit: readonly ScalarType[]): unknown {
  const count = lines.length;
  /** Leading spaces of each line; -1 for a blank one, -2 for a comment. */
  const indents = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const line = lines[i]!;
    const indent = line.search(NOT_SPACE);
    indents[i] = indent >= 0 && line.charCodeAt(indent) === 0x23 /* # */ ? -2 : indent;
  }
  /** The implicit types are the core schema's (and merge): most scalars are ruled out at once. */
  const coreTypes = implicit.every((t) => CORE_TAGS.includes((t as { tag?: string }).tag ?? ''));
  /** The next line not yet consumed. */
  let at = 0;
  let depth = 0;

  /** Index of the next line with content (not blank, not a comment), or -1 at the end. */
  function nextContent(): number {
    while (at < count) {
      if (indents[at]! >= 0) return at;
      at++;
    }
    return -1;
  }

  /** Indentation of the next content line, or -1 at the end. */
  function nextIndent(): number {
    const next = nextContent();
    return next < 0 ? -1 : indents[next]!;
  }

  /** A content line without its indentation and trailing spaces. */
  function content(index: number): string {
    const line = lines[index]!;
    let end = line.length;
    while (line.charCodeAt(end - 1) === 0x20) end--;
    return line.slice(indents[index], end);
  }

  function document(): unknown {
    const first = nextContent();
    if (first < 0) giveUp(); // empty, or only comments: js-yaml decides what that is
    const line = content(first);
    let value: unknown;
    if (isSequenceItem(line)) value = sequence(indents[first]!);
    else if (KEY_LINE.test(line)) value = mapping(indents[first]!, undefined);
    else giveUp(); // a lone scalar, or an error
    if (nextContent() >= 0) giveUp(); // something left over: an error, or more than we read
    return value;
  }

  /** Block mapping whose keys are at `indent`; `first` is an entry already in hand (after `- `). */
  function mapping(indent: number, first: string | undefined): Record<string, unknown> {
    if (++depth > MAX_DEPTH) giveUp();
    const result: Record<string, unknown> = {};
    let line = first;
    for (;;) {
      if (line === undefined) {
        const next = nextContent();
        if (next < 0 || indents[next]! < indent) break;
        if (indents[next]! > indent) giveUp();
        line = content(next);
        at++;
      }
      // Most lines are `key: value` with a one-line plain value: one expression reads them.
      const pair = PLAIN_PAIR.exec(line);
      const match = pair ?? KEY_LINE.exec(line); // KEY_LINE also refuses an item where a key belongs
      if (match === null) giveUp();
      const key = match[1]!;
      // js-yaml turns a key such as 1 or true into a string; leave those to it.
      if (key === '__proto__' || typeof plain(key) !== 'string') giveUp();
      if (Object.hasOwn(result, key)) giveUp(); // a duplicate key: js-yaml reports it
      // A deeper line after a plain value continues it: the general reader folds the lines (and
      // must see the comments and blank lines in between, which nextIndent skips).
      const after = at;
      if (pair !== null && nextIndent() <= indent) {
        result[key] = plain(pair[2]!);
      } else {
        at = after;
        result[key] = value(match[2] ?? '', indent, true);
      }
      line = undefined;
    }
    depth--;
    return result;
  }

  /** Block sequence whose dashes are at `indent`. */
  function sequence(indent: number): unknown[] {
    if (++depth > MAX_DEPTH) giveUp();
    const result: unknown[] = [];
    for (;;) {
      const next = nextContent();
      if (next < 0 || indents[next]! < indent) break;
      if (indents[next]! > indent) giveUp();
      const line = content(next);
      if (!isSequenceItem(line)) break; // the parent decides whether a key may follow
      at++;
      const after = skipSpaces(line, 1);
      const rest = line.slice(after);
      if (isSequenceItem(rest)) giveUp(); // `- - x`
      const c = rest.charCodeAt(0);
      if (c !== 0x23 /* # */ && c !== 0x22 /* " */ && c !== 0x27 /* ' */ && KEY_LINE.test(rest)) {
        result.push(mapping(indent + after, rest));
      } else {
        result.push(value(rest, indent, false));
      }
    }
    depth--;
    return result;
  }

  /**
   * The value after `key:` or `-` (`rest`, without leading spaces) of an entry at `indent`; in a
   * mapping, a sequence may follow at the same indentation.
   */
  function value(rest: string, indent: number, inMapping: boolean): unknown {
    const c = rest.charCodeAt(0);
    if (rest === '' || c === 0x23 /* # */) {
      const next = nextContent();
      if (next < 0) return null;
      const below = indents[next]!;
      const line = content(next);
      if (below > indent) {
        if (isSequenceItem(line)) return sequence(below);
        if (KEY_LINE.test(line)) return mapping(below, undefined);
        at = next + 1;
        return scalar(line, indent); // a scalar on the lines below its key
      }
      if (below === indent && inMapping && isSequenceItem(line)) return sequence(indent);
      return null;
    }
    if (c === 0x7c /* | */ || c === 0x3e /* > */) return blockScalar(rest, indent);
    return scalar(rest, indent);
  }

  /**
   * A flow scalar (or one-line flow collection) that starts with `first`, the rest of a line,
   * for an entry at `indent`: lines indented deeper continue it.
   */
  function scalar(first: string, indent: number): unknown {
    const c = first.charCodeAt(0);
    let result: unknown;
    if (c === 0x27 /* ' */) result = singleQuoted(first, indent);
    else if (c === 0x22 /* " */) result = afterQuoted(first, doubleQuoted(first, 0));
    else if (c === 0x5b /* [ */) result = flowList(first);
    else if (c === 0x7b /* { */) result = emptyFlowMapping(first);
    else if (!plainStart(first)) giveUp();
    else return plainLines(first, indent);
    // A deeper line now would continue the scalar over several lines (or be an error).
    if (nextIndent() > indent) giveUp();
    return result;
  }

  /**
   * A plain scalar from `first` on, over the deeper lines that follow: each line break folds into
   * a space, blank lines into line breaks.
   */
  function plainLines(first: string, indent: number): unknown {
    let text = first;
    let commented = false;
    if (NOT_PLAIN.test(first)) {
      const comment = first.indexOf(' #');
      if (comment < 0) giveUp(); // `a: b: c`, or a plain scalar ending in a colon
      text = trimEndSpaces(first, comment);
      if (NOT_PLAIN.test(text)) giveUp();
      commented = true;
    }
    let blanks = 0;
    for (; at < count; at++) {
      let lineIndent = indents[at]!;
      if (lineIndent === -1) {
        blanks++;
        continue;
      }
      const comment = lineIndent === -2;
      if (comment) lineIndent = lines[at]!.search(NOT_SPACE);
      if (lineIndent <= indent) break;
      // A comment ends a plain scalar; deeper text after one is an error.
      if (comment || commented) giveUp();
      const line = content(at);
      if (!plainStart(line) || NOT_PLAIN.test(line)) giveUp();
      text += blanks > 0 ? '\n'.repeat(blanks) : ' ';
      text += line;
      blanks = 0;
    }
    return plain(text);
  }

  /**
   * A single-quoted scalar from `first` on, over as many lines as it takes: each line break
   * folds into a space, blank lines into line breaks, `''` is a quote.
   */
  function singleQuoted(first: string, indent: number): string {
    let result = '';
    let line = first;
    let from = 1;
    for (;;) {
      const quote = line.indexOf("'", from);
      if (quote >= 0) {
        result += line.slice(from, quote);
        if (line.charCodeAt(quote + 1) === 0x27) {
          result += "'";
          from = quote + 2;
          continue;
        }
        return afterQuoted(line, { value: result, end: quote + 1 });
      }
      result += trimEndSpaces(line, line.length).slice(from);
      let blanks = 0;
      for (;;) {
        if (at >= count) giveUp(); // never closed
        const next = at++;
        const lineIndent = lines[next]!.search(NOT_SPACE); // a "#" here is text
        if (lineIndent < 0) {
          blanks++;
          continue;
        }
        if (lineIndent <= indent) giveUp(); // js-yaml is lenient here; leave it to it
        line = lines[next]!;
        from = lineIndent;
        break;
      }
      result += blanks > 0 ? '\n'.repeat(blanks) : ' ';
    }
  }

  /** A flow sequence on one line, of quoted and plain scalars. */
  function flowList(rest: string): unknown[] {
    const items: unknown[] = [];
    let i = skipSpaces(rest, 1);
    if (rest.charCodeAt(i) === 0x5d /* ] */) {
      i++;
    } else {
      for (;;) {
        const c = rest.charCodeAt(i);
        if (c === 0x22 /* " */ || c === 0x27 /* ' */) {
          const quoted = c === 0x22 ? doubleQuoted(rest, i) : singleQuotedLine(rest, i);
          items.push(quoted.value);
          i = quoted.end;
        } else {
          let end = i;
          while (end < rest.length && rest[end] !== ',' && rest[end] !== ']') end++;
          const text = trimEndSpaces(rest, end).slice(skipSpaces(rest, i));
          // Empty items, pairs, nested collections, comments and indicators: the full parser's.
          if (text === '' || NOT_FLOW_PLAIN.test(text) || !plainStart(text)) giveUp();
          items.push(plain(text));
          i = end;
        }
        i = skipSpaces(rest, i);
        if (rest.charCodeAt(i) === 0x5d /* ] */) {
          i++;
          break;
        }
        if (rest.charCodeAt(i) !== 0x2c /* , */) giveUp();
        i = skipSpaces(rest, i + 1);
        if (rest.charCodeAt(i) === 0x5d) giveUp(); // a trailing comma
      }
    }
    afterQuoted(rest, { value: '', end: i });
    return items;
  }

  /** A plain scalar's value: the first of js-yaml's implicit types that takes it, else the text. */
  function plain(text: string): unknown {
    if (coreTypes && text !== '' && MAYBE_NOT_STRING_START[text.charCodeAt(0)] !== 1 && !CORE_WORDS.has(text)) {
      return text;
    }
    for (const type of implicit) if (type.resolve(text)) return type.construct(text);
    return text;
  }

  /** `|` or `>` scalar whose header is `header`, for an entry at `indent`. */
  function blockScalar(header: string, indent: number): string {
    const match = BLOCK_HEADER.exec(header);
    if (!match) giveUp(); // keep chomping, an explicit indentation, or something else after it
    const folded = match[1] === '>';
    const strip = match[2] === '-';
    const body: string[] = [];
    let contentIndent = -1;
    let longestLeadingBlank = 0;
    for (; at < count; at++) {
      const line = lines[at]!;
      const lineIndent = indents[at] === -2 ? line.search(NOT_SPACE) : indents[at]!; // "#" is text here
      if (lineIndent < 0) {
        // Blank lines: spaces past the content's indentation would be content; leave them.
        if (contentIndent < 0) longestLeadingBlank = Math.max(longestLeadingBlank, line.length);
        else if (line.length > contentIndent) giveUp();
        body.push('');
        continue;
      }
      if (contentIndent < 0) {
        if (lineIndent <= indent) break;
        if (longestLeadingBlank > lineIndent) giveUp();
        contentIndent = lineIndent;
      } else if (lineIndent < contentIndent) {
        break;
      }
      const text = line.slice(contentIndent);
      // In a folded scalar, more-indented lines keep their line breaks: not handled here.
      if (folded && text.charCodeAt(0) === 0x20) giveUp();
      body.push(text);
    }
    // The blank lines after the content belong to no one once chomped.
    while (body.length > 0 && body[body.length - 1] === '') body.pop();
    if (body.length === 0) return '';
    const joined = folded ? fold(body) : body.join('\n');
    return strip ? joined : `${joined}\n`;
  }

  return document();
}

function isSequenceItem(line: string): boolean {
  return line === '-' || (line.charCodeAt(0) === 0x2d /* - */ && line.charCodeAt(1) === 0x20);
}

/** Whether `text` may start a plain scalar (YAML indicators may not, nor `- `, `? `, `: `). */
function plainStart(text: string): boolean {
  const c = text.charCodeAt(0);
  if (c < 128 && INDICATOR[c] === 1) return false;
  return !(c === 0x2d /* - */ && (text.length === 1 || text.charCodeAt(1) === 0x20));
}

/** `s` up to `end`, without the spaces before it (String#trimEnd would also take e.g. U+00A0). */
function trimEndSpaces(s: string, end: number): string {
  while (end > 0 && s.charCodeAt(end - 1) === 0x20) end--;
  return s.slice(0, end);
}

function skipSpaces(s: string, from: number): number {
  while (s.charCodeAt(from) === 0x20) from++;
  return from;
}

function afterQuoted(rest: string, quoted: { value: string; end: number }): string {
  // Only a comment, after a space, may follow the closing quote.
  if (quoted.end < rest.length && !LINE_END.test(rest.slice(quoted.end))) giveUp();
  return quoted.value;
}

function emptyFlowMapping(rest: string): Record<string, unknown> {
  if (!EMPTY_FLOW_MAPPING.test(rest)) giveUp();
  return {};
}

/** Folding of `>`: a single line break between two lines becomes a space; blank lines stay. */
function fold(lines: readonly string[]): string {
  let out = '';
  let previousText = false;
  for (const line of lines) {
    if (line === '') {
      out += '\n';
      previousText = false;
    } else {
      if (previousText) out += ' ';
      out += line;
      previousText = true;
    }
  }
  return out;
}

/**
 * A double-quoted scalar opening at `start` that closes on its line: its value and the index
 * after the closing quote.
 */
function doubleQuoted(rest: string, start: number): { value: string; end: number } {
  let value = '';
  let from = start + 1;
  for (;;) {
    const quote = rest.indexOf('"', from);
    const escape = rest.indexOf('\\', from);
    if (quote < 0 && escape < 0) giveUp(); // the scalar goes on to the next line
    if (escape < 0 || (quote >= 0 && quote < escape)) return { value: value + rest.slice(from, quote), end: quote + 1 };
    value += rest.slice(from, escape);
    const code = rest[escape + 1];
    if (code === undefined) giveUp(); // an escaped line break: the scalar goes on
    const simple = ESCAPES[code];
    if (simple !== undefined) {
      value += simple;
      from = escape + 2;
      continue;
    }
    const length = HEX_LENGTH[code];
    if (length === undefined) giveUp();
    const hex = rest.slice(escape + 2, escape + 2 + length);
    if (hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) giveUp();
    const point = parseInt(hex, 16);
    if (point > 0x10ffff) giveUp();
    value += String.fromCodePoint(point);
    from = escape + 2 + length;
  }
}

/** A single-quoted scalar opening at `start` that closes on its line (`''` is a quote). */
function singleQuotedLine(rest: string, start: number): { value: string; end: number } {
  let value = '';
  let from = start + 1;
  for (;;) {
    const quote = rest.indexOf("'", from);
    if (quote < 0) giveUp(); // goes on to the next line
    value += rest.slice(from, quote);
    if (rest.charCodeAt(quote + 1) !== 0x27) return { value, end: quote + 1 };
    value += "'";
    from = quote + 2;
  }
}
