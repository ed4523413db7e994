import { UsageError } from '../diagnostics/user-error.js';
import { MAX_PACKAGE_BYTES } from '../project/limits.js';
import type { Io } from './io.js';

const MB = 1024 * 1024;

/** The default of `--max-size`, as help shows it. */
export const DEFAULT_MAX_SIZE_MB = String(MAX_PACKAGE_BYTES / MB);

/**
 * `--max-size <MB>` in bytes, the daemon's 50 MB when not given. As in the Go CLI, zero or a
 * negative number falls back to the default (with a warning here).
 */
export function parseMaxSize(value: string | undefined, io: Io): number {
  if (value === undefined) return MAX_PACKAGE_BYTES;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--max-size must be a whole number of MB, not "${value}"`);
  const mb = Number(value);
  if (mb <= 0) {
    io.stderr.write(`warning: --max-size ${mb} is not positive; using the default of ${DEFAULT_MAX_SIZE_MB} MB\n`);
    return MAX_PACKAGE_BYTES;
  }
  return mb * MB;
}
