import path from 'node:path';
import type { RuleCode } from '../diagnostics/catalog.js';

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

/** The diagnostic for a path written in a declaration that cannot be used as written. */
export function refProblemFinding(
  problem: RefProblem,
  written: string,
): { code: RuleCode; message: string; hint?: string } {
  switch (problem.kind) {
    case 'empty':
      return { code: 'reference/empty', message: 'the path is empty' };
    case 'outside-root':
      return {
        code: 'reference/outside-root',
        message: `"${written}" points outside the plugin directory`,
        hint: 'write the path relative to the plugin root, e.g. provider/my_plugin.yaml',
      };
    case 'backslash':
      return {
        code: 'reference/backslash',
        message: `"${written}" uses \\ as a separator`,
        hint: `write it as "${problem.suggestion}"`,
      };
    case 'not-normalized':
      return {
        code: 'reference/not-normalized',
        message: `"${written}" works from a directory but not inside an installed package`,
        hint: `write it as "${problem.suggestion}"`,
      };
  }
}
