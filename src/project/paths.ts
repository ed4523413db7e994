import path from 'node:path';

/** Why a path written in a declaration cannot be used as it is. */
export type RefProblem =
  | { kind: 'empty' }
  | { kind: 'outside-root' }
  | { kind: 'backslash'; suggestion: string }
  | { kind: 'not-normalized'; suggestion: string };

export interface ResolvedRef {
  /** The path to read, relative to the plugin root; undefined when it cannot be read safely. */
  path: string | undefined;
  problem?: RefProblem;
}

/**
 * Resolves a path written in manifest.yaml or a provider YAML. Both the daemon and the Python SDK
 * resolve every such path from the plugin root (never from the referencing file). Inside a
 * package the daemon opens entries through Go's io/fs, which rejects `./x`, `a//b` and `..`, so
 * those spellings work from a directory but break once installed.
 */
export function resolveRef(written: string): ResolvedRef {
  if (written.trim() === '') return { path: undefined, problem: { kind: 'empty' } };
  if (written.includes('\\')) {
    const suggestion = written.replaceAll('\\', '/');
    const inner = resolveRef(suggestion);
    return { path: inner.path, problem: inner.problem ?? { kind: 'backslash', suggestion } };
  }
  if (written.startsWith('/') || /^[A-Za-z]:/.test(written)) {
    return { path: undefined, problem: { kind: 'outside-root' } };
  }
  const normalized = path.posix.normalize(written);
  if (normalized === '..' || normalized.startsWith('../')) {
    return { path: undefined, problem: { kind: 'outside-root' } };
  }
  const clean = normalized.replace(/\/$/, '');
  if (clean !== written) return { path: clean, problem: { kind: 'not-normalized', suggestion: clean } };
  return { path: clean };
}

/** `/a/b/0` from segments, escaping `~` and `/` as RFC 6901 says. */
export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

export function fromPointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}
