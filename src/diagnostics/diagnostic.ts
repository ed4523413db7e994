/** One finding about a plugin, in the shape every output format shares (README.md, Output formats). */
export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  /** Stable identifier, documented in docs/rules.md. */
  code: string;
  severity: Severity;
  message: string;
  /** Relative to the plugin root, `/`-separated; null when the finding is about no file. */
  file: string | null;
  /** 1-based; null when the file could not be read at all. */
  line: number | null;
  column: number | null;
  /** JSON pointer into the file's document ('' for the whole document). */
  path: string;
  hint?: string;
  /**
   * `remote-debug` when only remote debugging enforces the rule (the daemon's struct validator runs
   * on the registration of a debugging session, not on an installed package): a warning from
   * `package`, an error from `run` (see `forRemoteDebugging`).
   */
  scope?: 'remote-debug';
  /** The source line at fault, for findings a message cannot place by itself (YAML syntax errors). */
  excerpt?: Excerpt;
}

/**
 * One source line as output can show it safely: control and bidirectional-override characters
 * removed (a tab becomes a space), and a long line cut to a window around the caret, `…` marking
 * each cut.
 */
export interface Excerpt {
  /** 1-based number of the line shown: the finding's, or the last line with text before it. */
  line: number;
  text: string;
  /** 1-based position in `text`, in characters (code points), of the character at fault. */
  caret: number;
}

const REMOTE_ONLY_PREFIX = 'remote debugging would reject this: ';
const REMOTE_ONLY_SUFFIX = '; installing the package is not affected';

/** A finding about a rule only remote debugging enforces, as `package` reports it: a warning. */
export function remoteDebugOnly(d: Diagnostic): Diagnostic {
  d.scope = 'remote-debug';
  d.severity = 'warning';
  d.message = REMOTE_ONLY_PREFIX + d.message + REMOTE_ONLY_SUFFIX;
  return d;
}

/** The same findings as `run` reports them, before it connects: the daemon would refuse them. */
export function forRemoteDebugging(diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    if (d.scope !== 'remote-debug' || d.severity === 'error') continue;
    d.severity = 'error';
    if (d.message.startsWith(REMOTE_ONLY_PREFIX) && d.message.endsWith(REMOTE_ONLY_SUFFIX))
      d.message = `remote debugging rejects this: ${d.message.slice(REMOTE_ONLY_PREFIX.length, -REMOTE_ONLY_SUFFIX.length)}`;
  }
}

export interface Position {
  line: number;
  column: number;
}

export function countBySeverity(diagnostics: readonly Diagnostic[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const d of diagnostics) counts[d.severity]++;
  return counts;
}

/** Errors block; with `strict`, warnings block too. */
export function isBlocking(d: Diagnostic, strict: boolean): boolean {
  return d.severity === 'error' || (strict && d.severity === 'warning');
}

const severityRank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Stable order for output: by file, then line, then column, errors before warnings. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort(
    (a, b) =>
      compareNullable(a.file, b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      severityRank[a.severity] - severityRank[b.severity] ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}

function compareNullable(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}
