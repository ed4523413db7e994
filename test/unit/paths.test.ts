import { describe, expect, it } from 'vitest';
import { fromPointer, toPointer } from '../../src/diagnostics/pointer.js';
import { resolveRef } from '../../src/project/references.js';

describe('references are resolved from the plugin root', () => {
  it('accepts clean relative paths as they are', () => {
    expect(resolveRef('provider/x.yaml')).toEqual({ path: 'provider/x.yaml' });
  });

  it('normalizes ./ and // but says they break inside a package', () => {
    expect(resolveRef('./provider/x.yaml')).toEqual({
      path: 'provider/x.yaml',
      problem: { kind: 'not-normalized', suggestion: 'provider/x.yaml' },
    });
    expect(resolveRef('provider//x.yaml').problem?.kind).toBe('not-normalized');
    expect(resolveRef('provider/../tools/x.yaml').path).toBe('tools/x.yaml');
  });

  it('refuses paths that leave the root or are absolute', () => {
    expect(resolveRef('../../etc/passwd')).toEqual({ path: undefined, problem: { kind: 'outside-root' } });
    expect(resolveRef('provider/../../x.yaml').problem?.kind).toBe('outside-root');
    expect(resolveRef('/etc/passwd')).toEqual({ path: undefined, problem: { kind: 'outside-root' } });
    expect(resolveRef('C:\\x.yaml').problem?.kind).toBe('outside-root');
  });

  it('reports backslashes with the forward-slash spelling', () => {
    expect(resolveRef('provider\\x.yaml')).toEqual({
      path: 'provider/x.yaml',
      problem: { kind: 'backslash', suggestion: 'provider/x.yaml' },
    });
  });

  it('reports empty paths', () => {
    expect(resolveRef('  ').problem).toEqual({ kind: 'empty' });
  });
});

describe('JSON pointers', () => {
  it('round-trip with escaping', () => {
    const segments = ['a/b', 'c~d', 0, 'e'];
    expect(toPointer(segments)).toBe('/a~1b/c~0d/0/e');
    expect(fromPointer('/a~1b/c~0d/0/e')).toEqual(segments);
    expect(fromPointer('')).toEqual([]);
  });
});
