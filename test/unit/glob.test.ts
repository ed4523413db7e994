import { describe, expect, it } from 'vitest';
import { goGlobToRegExp } from '../../src/project/glob.js';

const matches = (pattern: string, path: string) => goGlobToRegExp(pattern)!.test(path);

describe('model globs follow Go filepath.Match', () => {
  it('* stays within one directory', () => {
    expect(matches('models/llm/*.yaml', 'models/llm/gpt-4.yaml')).toBe(true);
    expect(matches('models/llm/*.yaml', 'models/llm/sub/gpt-4.yaml')).toBe(false);
    expect(matches('models/*.yaml', 'models/llm/gpt-4.yaml')).toBe(false);
  });

  it('** is just two stars, not a recursive wildcard', () => {
    expect(matches('models/**.yaml', 'models/a.yaml')).toBe(true);
    expect(matches('models/**/a.yaml', 'models/x/y/a.yaml')).toBe(false);
  });

  it('? matches one character other than /', () => {
    expect(matches('m/?.yaml', 'm/a.yaml')).toBe(true);
    expect(matches('m/?.yaml', 'm/ab.yaml')).toBe(false);
    expect(matches('m?a.yaml', 'm/a.yaml')).toBe(false);
  });

  it('character classes, negated with ^, and escapes', () => {
    expect(matches('m/[ab].yaml', 'm/b.yaml')).toBe(true);
    expect(matches('m/[^ab].yaml', 'm/b.yaml')).toBe(false);
    expect(matches('m/[a-c]x.yaml', 'm/cx.yaml')).toBe(true);
    expect(matches('m/\\*.yaml', 'm/*.yaml')).toBe(true);
    expect(matches('m/\\*.yaml', 'm/a.yaml')).toBe(false);
  });

  it('regex metacharacters are literal', () => {
    expect(matches('m/a+b(1).yaml', 'm/a+b(1).yaml')).toBe(true);
    expect(matches('m/a.yaml', 'm/aXyaml')).toBe(false);
  });

  it('rejects patterns Go reports as ErrBadPattern', () => {
    expect(goGlobToRegExp('m/[ab.yaml')).toBeNull();
    expect(goGlobToRegExp('m/a\\')).toBeNull();
  });
});
