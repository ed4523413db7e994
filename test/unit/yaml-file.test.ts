import { beforeAll, describe, expect, it } from 'vitest';
import { enablePositions, YamlFile } from '../../src/project/yaml-file.js';

beforeAll(enablePositions);

describe('YamlFile keeps positions', () => {
  const text = [
    'name: demo',
    'meta:',
    '  runner:',
    '    version: 3.10',
    '  arch:',
    '    - amd64',
    '    - x86',
    '',
  ].join('\n');
  const file = new YamlFile('manifest.yaml', text);

  it('locates values and keys', () => {
    expect(file.locate(['meta', 'runner', 'version'])).toEqual({ line: 4, column: 14 });
    expect(file.locate(['meta', 'runner', 'version'], true)).toEqual({ line: 4, column: 5 });
    expect(file.locate(['meta', 'arch', 1])).toEqual({ line: 7, column: 7 });
  });

  it('falls back to the deepest existing node for a missing key', () => {
    expect(file.locate(['meta', 'runner', 'entrypoint'])).toEqual({ line: 4, column: 5 });
    expect(file.locate(['nothing'])).toEqual({ line: 1, column: 1 });
  });

  it('keeps the source text of scalars read as numbers', () => {
    expect((file.value as { meta: { runner: { version: unknown } } }).meta.runner.version).toBe(3.1);
    expect(file.sourceText(['meta', 'runner', 'version'])).toEqual({ text: '3.10', quoted: false });
  });

  it('keeps timestamps as written', () => {
    const f = new YamlFile('m.yaml', 'created_at: 2024-09-20T08:03:44.658609186Z\n');
    expect(f.value).toEqual({ created_at: '2024-09-20T08:03:44.658609186Z' });
  });
});

describe('YamlFile reports bad YAML instead of throwing', () => {
  it('syntax errors carry their line', () => {
    const f = new YamlFile('x.yaml', 'a: 1\nb: [1, 2\nc: 3\n');
    expect(f.parsed).toBe(false);
    expect(f.problems[0]!.kind).toBe('syntax');
    expect(f.problems[0]!.position.line).toBeGreaterThanOrEqual(2);
  });

  it('a repeated key keeps the last value, as PyYAML does, and is listed with both lines', async () => {
    const f = new YamlFile('x.yaml', 'a: 1\nb:\n  - c: 2\n    c: 4\na: 3\n');
    expect(f.problems).toEqual([]);
    expect(f.value).toEqual({ a: 3, b: [{ c: 4 }] });
    expect(f.hasDuplicateKeys).toBe(true);
    expect(await f.duplicateKeys()).toEqual([
      { at: ['b', 0], key: 'c', line: 4, column: 5, firstLine: 3 },
      { at: [], key: 'a', line: 5, column: 1, firstLine: 1 },
    ]);
    expect(await new YamlFile('y.yaml', 'a: 1\n').duplicateKeys()).toEqual([]);
    // A syntax error after the repeated key is still one finding, not a crash.
    const broken = new YamlFile('z.yaml', 'a: 1\na: 2\nb: [\n');
    expect([broken.problems.map((p) => p.kind), broken.hasDuplicateKeys, broken.value]).toEqual([
      ['syntax'],
      false,
      undefined,
    ]);
  });

  it('a mapping with 100,000 keys reads in linear time', () => {
    const text = Array.from({ length: 100_000 }, (_, i) => `k${i}: ${i}`).join('\n');
    const f = new YamlFile('x.yaml', text);
    expect(f.parsed).toBe(true);
    expect(Object.keys(f.value as object)).toHaveLength(100_000);
  });

  it('alias bombs are stopped', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`,
      );
    }
    const f = new YamlFile('x.yaml', lines.join('\n'));
    expect(f.problems.map((p) => p.kind)).toContain('alias-limit');
    expect(f.value).toBeUndefined();
  });

  it('very deep nesting is refused', () => {
    for (const text of [
      '['.repeat(100_000) + ']'.repeat(100_000),
      Array.from({ length: 3000 }, (_, i) => ' '.repeat(i) + 'a:').join('\n'),
    ]) {
      const f = new YamlFile('x.yaml', text);
      expect(f.problems.map((p) => p.kind)).toEqual(['too-deep']);
    }
  });

  it('merge keys work as in the daemon and the SDK', () => {
    const f = new YamlFile('x.yaml', 'base: &b {x: 1}\nitem:\n  <<: *b\n  y: 2\n');
    expect(f.value).toEqual({ base: { x: 1 }, item: { x: 1, y: 2 } });
  });
});
