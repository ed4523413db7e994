import { describe, expect, it } from 'vitest';
import { EXCERPT_WIDTH, excerptAt, printableJson, printableLines } from '../../src/diagnostics/excerpt.js';
import { formatText } from '../../src/report/text.js';
import { colorFor } from '../../src/report/color.js';
import type { PluginResult } from '../../src/pipelines/check-plugin.js';
import { diagnosticsOf, pluginWith } from '../helpers/plugin.js';
import { edit, exampleFile, lineOf } from '../helpers/text.js';

const plain = colorFor({ isTTY: false }, {});

/** The excerpt lines formatText prints for one finding. */
function rendered(text: string, line: number, column: number): string[] {
  const excerpt = excerptAt(text, line, column)!;
  const result: PluginResult = {
    path: 'p',
    ok: false,
    plugin: null,
    diagnostics: [
      { code: 'yaml/syntax', severity: 'error', message: 'm', file: 'f.yaml', line, column, path: '', excerpt },
    ],
  };
  return formatText([result], plain).split('\n').slice(2, 4);
}

describe('source excerpts', () => {
  it('show the line with a caret under the column', () => {
    expect(excerptAt('a: 1\nb: [x\nc: d\n', 2, 4)).toEqual({ line: 2, text: 'b: [x', caret: 4 });
    expect(rendered('a: 1\nb: [x\nc: d\n', 2, 4)).toEqual(['      2 | b: [x', '        |    ^']);
  });

  it('count lines as YAML parsers do (CRLF, CR) and columns in UTF-16 units', () => {
    expect(excerptAt('a: 1\r\nb: [x\r\n', 2, 4)).toEqual({ line: 2, text: 'b: [x', caret: 4 });
    expect(excerptAt('a: 1\rb: [x\r', 2, 4)).toEqual({ line: 2, text: 'b: [x', caret: 4 });
    // 😀 is two UTF-16 units and one character: column 6 is the x after it.
    expect(excerptAt('a: 😀x\n', 1, 6)).toEqual({ line: 1, text: 'a: 😀x', caret: 5 });
  });

  it('keep the caret under the character on lines with wide characters', () => {
    expect(rendered('名前: [x\n', 1, 5)).toEqual(['      1 | 名前: [x', '        |       ^']);
  });

  it('drop control and bidirectional characters, and turn tabs into spaces', () => {
    const line = 'a:\t"\u001b[31mred\u202e\u0007" ]';
    const excerpt = excerptAt(line, 1, line.indexOf(']') + 1)!;
    expect(excerpt.text).toBe('a: "[31mred" ]');
    expect([...excerpt.text][excerpt.caret - 1]).toBe(']');
  });

  it('cut a very long line to a window around the caret', () => {
    const line = 'k: ' + 'x'.repeat(500) + ' }' + 'y'.repeat(500);
    const column = line.indexOf('}') + 1;
    const excerpt = excerptAt(line, 1, column)!;
    expect([...excerpt.text]).toHaveLength(EXCERPT_WIDTH + 2); // the window and a … at each cut
    expect(excerpt.text.startsWith('…x')).toBe(true);
    expect(excerpt.text.endsWith('y…')).toBe(true);
    expect([...excerpt.text][excerpt.caret - 1]).toBe('}');
    // At the very end of a long line, the window ends there.
    const atEnd = excerptAt(line, 1, line.length + 1)!;
    expect(atEnd.text.endsWith('y')).toBe(true);
    expect(atEnd.caret).toBe([...atEnd.text].length + 1);
  });

  it('show the last line with text when the parser ran out of input on a blank line', () => {
    expect(excerptAt('a: [x\n\n', 3, 1)).toEqual({ line: 1, text: 'a: [x', caret: 6 });
    expect(excerptAt('\n\n', 2, 1)).toBeUndefined();
  });
});

describe('a YAML syntax error is one finding', () => {
  it('in the manifest: no "must be a mapping" besides it, and the line it is on', async () => {
    const text = edit(exampleFile('manifest.yaml'), ['label:\n', 'label: [unclosed\n']);
    const found = await diagnosticsOf(await pluginWith({ 'manifest.yaml': text }));
    expect(found.filter((d) => d.file === 'manifest.yaml')).toEqual([
      expect.objectContaining({
        code: 'yaml/syntax',
        line: lineOf(text, 'en_US: Hello World'),
        column: 8,
        excerpt: { line: lineOf(text, 'en_US: Hello World'), text: '  en_US: Hello World', caret: 8 },
      }),
    ]);
  });

  it('an empty manifest is file/empty alone', async () => {
    const found = await diagnosticsOf(await pluginWith({ 'manifest.yaml': '# nothing yet\n' }));
    expect(found.filter((d) => d.file === 'manifest.yaml').map((d) => d.code)).toEqual(['file/empty']);
  });
});

describe('printableLines and printableJson', () => {
  it('keep line breaks and tabs, indent further lines, and show every other control', () => {
    expect(printableLines('a\x1b[2J\tb\r\nc\x9bd\u202e', '  ')).toBe('a\\u{1b}[2J\tb\n  c\\u{9b}d\\u{202e}');
  });

  it('escape what JSON.stringify leaves raw (DEL, C1, bidi) so that a reader decodes the same text', () => {
    const value = { s: 'a\x7f\x9b\u202e\x1b\n', list: ['\x85'] };
    const json = printableJson(value, 2);
    expect(json).toBe('{\n  "s": "a\\u007f\\u009b\\u202e\\u001b\\n",\n  "list": [\n    "\\u0085"\n  ]\n}');
    expect(JSON.parse(json)).toEqual(value);
  });
});
