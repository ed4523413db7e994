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
