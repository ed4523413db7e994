import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { UserError } from '../diagnostics/user-error.js';

/**
 * A report path (--report-json, --junit) may hold an earlier report, which each run writes anew,
 * never another file of the user's: throws unless nothing is there or the first bytes are what
 * `isReport` recognises (`what` names the kind in the message). A FIFO or device is never opened,
 * which could block; a path that cannot even be looked at is one line, not an internal error.
 */
export function refuseToReplaceReport(
  file: string,
  what: string,
  isReport: (head: string) => boolean,
  hint: string,
): void {
  const head = Buffer.alloc(256);
  let read: number;
  try {
    const info = statSync(file, { throwIfNoEntry: false });
    if (!info) return;
    if (!info.isFile()) throw new UserError(`${file} is not a regular file; not writing the report to it`, hint);
    const fd = openSync(file, 'r');
    try {
      read = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot write the report to ${file}: ${(err as Error).message}`, hint);
  }
  if (!isReport(head.toString('latin1', 0, read)))
    throw new UserError(`${file} exists and is not ${what}; not overwriting it`, hint);
}
