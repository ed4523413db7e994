import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import jsYaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { loadPlainYaml, type ScalarType } from '../../src/project/yaml-fast.js';
import { YamlFile } from '../../src/project/yaml-file.js';
import { REPO } from '../helpers/plugin.js';

/**
 * The fast reader must give what js-yaml gives, or nothing (then js-yaml reads the file). These
 * tests hold it to that on every YAML file in the repository, on hand-made cases at the edges of
 * what it takes, and on thousands of mutations of real files.
 */

const { merge } = (jsYaml as unknown as { types: { merge: jsYaml.Type } }).types;
const SCHEMA = jsYaml.CORE_SCHEMA.extend({ implicit: [merge] });
const IMPLICIT = (SCHEMA as unknown as { compiledImplicit: ScalarType[] }).compiledImplicit;

type Outcome = { value: unknown } | { error: string };

function reference(text: string): Outcome {
  try {
    return { value: jsYaml.load(text, { schema: SCHEMA }) };
  } catch (err) {
    return { error: (err as jsYaml.YAMLException).reason };
  }
}

/** The fast reader's result, checked against js-yaml's; true when it took the text. */
function agrees(text: string): boolean {
  const fast = loadPlainYaml(text, IMPLICIT);
  if (fast === undefined) return false;
  expect({ text, outcome: reference(text) }).toEqual({ text, outcome: { value: fast } });
  return true;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

const realFiles = yamlFiles(path.join(REPO, 'test', 'fixtures', 'real'));
const otherFiles = [...yamlFiles(path.join(REPO, 'examples')), ...yamlFiles(path.join(REPO, 'templates'))];

describe('fast YAML reader', () => {
  it('reads every declaration of the real plugins, exactly as js-yaml does', () => {
    expect(realFiles.length).toBeGreaterThan(40);
    for (const file of realFiles) expect([file, agrees(readFileSync(file, 'utf8'))]).toEqual([file, true]);
  });

  it('agrees with js-yaml on the examples and templates', () => {
    for (const file of otherFiles) agrees(readFileSync(file, 'utf8'));
  });

  it.each([
    ['nested mappings and sequences', 'a:\n  b:\n    - 1\n    - x: y\n      z: [1, "2", \'3\', ~, true]\n'],
    ['a sequence at its key’s indentation', 'a:\n- 1\n- 2\nb: 3\n'],
    ['items that are mappings, scalars and empty', '- a: 1\n  b: 2\n- c\n-\n- "d"\n'],
    ['literal block scalars', 'k: |\n  x\n\n    indented\n  y\n\nj: |-\n  z\nl: |\nm: 1\n'],
    ['folded block scalars', 'k: >\n\n  x\n  y\n\n  z\nj: >-\n  a\n\n\n  b\n'],
    ['plain scalars over several lines', 'k: abc\n  def\n\n  ghi\nj:\n  one\n  two\n'],
    ['single-quoted scalars over several lines', "k: 'a''s\n  b\n\n  c'\n"],
    ['double-quoted escapes', 'k: "a\\tb\\u00e9\\x41\\U0001F600\\/\\"\\\\"\n'],
    ['comments everywhere', '# top\na: 1 # one\n# between\nb: "x" # two\nc:\n  # inside\n  - y # three\n'],
    [
      'numbers, booleans and null as js-yaml reads them',
      'a: 0x1F\nb: 1_000\nc: .inf\nd: -.5\ne: 1e3\nf: +1\ng: 0o7\nh: Null\ni: FALSE\nj: 1.10\n',
    ],
    ['Windows line ends', 'a: 1\r\nb: |\r\n  x\r\n  y\r\n'],
    ['keys with spaces, dots and dashes; inherited names', 'a b: 1\nx.y-z/w: 2\nconstructor: 3\ntoString: 4\n'],
    ['an indented document', '  a: 1\n  b:\n    - 2\n'],
    ['trailing spaces, and a no-break space that is content', 'a: x   \nb: y\u00a0\nc:  \u00a0z\n'],
    ['empty flow collections', 'a: []\nb: {}\nc: [ ]\nd: { } # e\n'],
  ])('takes %s', (_, text) => {
    expect(agrees(text)).toBe(true);
  });

  it.each([
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['bad indentation', 'a: b\n  c: d\n'],
    ['a scalar continued under a comment', 'a: b #c\n  d\n'],
    ['a comment line inside a plain scalar', 'a: b\n  # c\n  d\n'],
    ['a key with a mapping for a value on one line', 'key: value: x\n'],
    ['text after a closing quote', 'a: "x"y\n'],
    ['an unclosed flow sequence', 'a: [1, 2\nb: 3\n'],
    ['a block scalar less indented than its first line', 'a: |\n    x\n   y\n'],
    ['a sequence item where a key belongs', 'a: 1\n- b\n'],
    ['a key and its sequence misaligned', 'a:\n  - x\n - y\n'],
    ['tabs', 'a:\n\t- x\n'],
    ['a null byte', 'a: \u0000\n'],
  ])('leaves %s to js-yaml', (_, text) => {
    expect(loadPlainYaml(text, IMPLICIT)).toBeUndefined();
  });

  it.each([
    ['anchors and aliases', 'a: &x 1\nb: *x\n'],
    ['merge keys', 'base: &b {x: 1}\nitem:\n  <<: *b\n'],
    ['tags', 'a: !!str 1\n'],
    ['keys read as numbers or booleans', '1: a\ntrue: b\n'],
    ['non-empty flow mappings', 'a: {b: 1}\n'],
    ['nested or trailing-comma flow sequences', 'a: [a, [b]]\nb: [a,]\n'],
    ['keep chomping and explicit indentation', 'a: |+\n  x\n\nb: |2\n   y\n'],
    ['several documents', 'a: 1\n---\nb: 2\n'],
    ['a lone scalar, or nothing', 'just text\n'],
    ['__proto__', '__proto__: 1\n'],
    ['deep nesting', Array.from({ length: 80 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n'],
  ])('leaves %s to js-yaml, which reads them', (_, text) => {
    expect(loadPlainYaml(text, IMPLICIT)).toBeUndefined();
  });

  it('agrees with js-yaml on mutations of real files', () => {
    const sources = realFiles.map((f) => readFileSync(f, 'utf8')).filter((t) => t.length < 4000);
    const pieces = [' ', '  ', ':', ': ', '-', '- ', '#', ' #', '"', "'", '\n', '\n\n', '|', '>', '|-', '>-'];
    pieces.push('[', ']', '{', '}', ',', '&a', '*a', '!', '?', 'a', '1', 'true', '~', '\\', "''", '\u00a0', '\t');
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let taken = 0;
    for (let i = 0; i < 2000; i++) {
      let text = sources[random(sources.length)]!;
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(text.length + 1);
        const lines = text.split('\n');
        const line = random(lines.length);
        switch (random(4)) {
          case 0:
            text = text.slice(0, at) + text.slice(at + 1 + random(3));
            break;
          case 1:
            text = text.slice(0, at) + pieces[random(pieces.length)] + text.slice(at);
            break;
          case 2:
            lines[line] = ' '.repeat(random(5)) + lines[line]!.trimStart();
            text = lines.join('\n');
            break;
          default:
            lines.splice(line, 0, lines[random(lines.length)]!);
            text = lines.join('\n');
        }
      }
      if (agrees(text)) taken++;
    }
    expect(taken).toBeGreaterThan(400); // it was put to the test, not just declining
  });

  it('YamlFile still reports what js-yaml finds', () => {
    // The fast reader leaves a repeated key to js-yaml, which keeps the last value as PyYAML does.
    const f = new YamlFile('x.yaml', 'a: 1\nb: 2\na: 3\n');
    expect([f.problems, f.hasDuplicateKeys, f.value]).toEqual([[], true, { a: 3, b: 2 }]);
    expect(new YamlFile('z.yaml', 'a: [1\n').problems).toEqual([expect.objectContaining({ kind: 'syntax' })]);
    expect(new YamlFile('y.yaml', 'a:\n  - 1\n  - b: [x, "y"]\n').value).toEqual({ a: [1, { b: ['x', 'y'] }] });
  });
});
