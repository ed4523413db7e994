import type { Excerpt } from './diagnostic.js';

/** Characters shown at most; a longer line is cut to a window around the caret. */
export const EXCERPT_WIDTH = 100;
/** How much of the window comes before the caret, when the line is cut. */
const LEAD = 40;

/**
 * Characters that must not reach a terminal or a CI log from a plugin's file: C0 and C1 controls
 * (escape sequences could rewrite the screen), DEL, the byte-order mark, and the bidirectional
 * controls that make text display in an order other than the one it is read in.
 */
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u;

const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu');

const visible = (ch: string) => `\\u{${ch.codePointAt(0)!.toString(16)}}`;

/**
 * `text` safe to print: every unsafe character written as `\u{…}` and a tab as `\t`, so that a
 * name or key taken from a plugin file can neither drive the terminal nor forge a line of output.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE_ALL, visible).replaceAll('\t', '\\t');
}

/**
 * A text of several lines safe to print, as printable() but keeping its line breaks (a `\r\n`
 * as `\n`) and tabs: for messages that are legitimately multi-line (a daemon's reply, a plugin's
 * stderr, an error listing files). Its lines after the first start with `indent`, so that none of
 * them can pass for a line of the CLI's own; without one, the caller has indented them already
 * (the daemon's reply in an error message).
 */
export function printableLines(text: string, indent = ''): string {
  return text.replaceAll('\r\n', '\n').replace(UNSAFE_ALL, (ch) => (ch === '\n' ? `\n${indent}` : visible(ch)));
}

/**
 * JSON.stringify, safe to print: it escapes C0 controls but leaves DEL, C1 controls (which some
 * terminals obey even UTF-8 encoded) and the bidirectional controls as they are. Those can only
 * occur inside strings, where `\uXXXX` is an escape every JSON reader decodes back to them; the
 * C0 characters left are the indentation's line breaks.
 */
export function printableJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(UNSAFE_ALL, (ch) =>
    ch < ' ' ? ch : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Line `line` of `text` with a caret at `column` (1-based, in UTF-16 code units as YAML parsers
 * count). A parser that ran out of text ("unexpected end of the stream") points past the last
 * line or at a blank one, which would show nothing: the excerpt is then the last line with text
 * before it, the caret after its end, where the missing text was expected. Undefined when there
 * is no such line.
 */
export function excerptAt(text: string, line: number, column: number): Excerpt | undefined {
  const lines = text.split(/\r\n|\r|\n/);
  for (let n = Math.min(line, lines.length); n >= 1; n--) {
    const excerpt = excerptOf(lines[n - 1]!, n === line ? column : Infinity);
    if (excerpt) return { line: n, ...excerpt };
  }
  return undefined;
}

function excerptOf(source: string, column: number): Omit<Excerpt, 'line'> | undefined {
  const chars: string[] = [];
  let caret = 1;
  let units = 0;
  for (const ch of source) {
    const beforeColumn = units < column - 1;
    units += ch.length;
    if (ch === '\t') chars.push(' ');
    else if (ch.length === 1 && ch >= '\ud800' && ch <= '\udfff')
      chars.push('\ufffd'); // a lone surrogate
    else if (!UNSAFE.test(ch)) chars.push(ch);
    if (beforeColumn) caret = chars.length + 1;
  }
  if (chars.join('').trim() === '') return undefined;
  if (chars.length <= EXCERPT_WIDTH) return { text: chars.join(''), caret };
  const start = Math.max(0, Math.min(caret - 1 - LEAD, chars.length - EXCERPT_WIDTH));
  const end = start + EXCERPT_WIDTH;
  const head = start > 0 ? '…' : '';
  const tail = end < chars.length ? '…' : '';
  return { text: head + chars.slice(start, end).join('') + tail, caret: caret - start + head.length };
}
