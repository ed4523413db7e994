import { UserError } from '../diagnostics/user-error.js';

/**
 * Where a plugin's files come from. Everything that reads a plugin goes through this, so a
 * directory on disk and a packed `.difypkg` are read by the same loader and checks.
 * Paths are always relative to the plugin root with `/` separators.
 */
export interface PluginSource {
  readonly kind: 'directory' | 'package';
  /** What the user named on the command line, for messages. */
  readonly location: string;
  /** Every file that is (or would be) in the package, sorted by path (byte order). */
  listFiles(): Promise<SourceEntry[]>;
  readFile(relPath: string): Promise<Buffer>;
  /** `null` when nothing exists at that path; `excluded` when it exists but is not packed. */
  statPath(relPath: string): Promise<EntryType | null>;
}

export type EntryType = 'file' | 'directory' | 'other' | 'excluded';

export interface SourceEntry {
  path: string;
  size: number;
}

export type SourceErrorCode = 'not-found' | 'is-directory' | 'unreadable' | 'excluded';

/** A read that failed for a reason the user can act on (never an internal bug). */
export class SourceError extends UserError {
  constructor(
    readonly code: SourceErrorCode,
    readonly relPath: string,
    message: string,
  ) {
    super(message);
  }
}
