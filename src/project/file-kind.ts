import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import { UserError } from '../diagnostics/user-error.js';

/**
 * What a non-regular file is, for messages: opening a FIFO for reading waits for a writer and
 * reading a device may never end, so neither is ever read as a plugin file, a package or a key.
 */
export function specialKind(info: Stats): string | null {
  if (info.isFile() || info.isDirectory() || info.isSymbolicLink()) return null;
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** A file that had to be regular (to be read) and is not. */
export class NotRegularFileError extends UserError {
  constructor(
    readonly file: string,
    /** `a FIFO (named pipe)`, `a directory`, ... */
    readonly kind: string,
  ) {
    super(`${file} is ${kind}, not a regular file`, 'pass a regular file');
  }
}

/**
 * Opens `file` for reading, following links, and returns its descriptor and size (from the one
 * fstat that tells its kind): refused with NotRegularFileError unless it is a regular file.
 * O_NONBLOCK makes the open of a FIFO return at once instead of waiting for a writer; it changes
 * nothing for a regular file.
 */
export function openRegularFile(file: string, shown = file): { fd: number; size: number } {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  let info: Stats;
  try {
    info = fstatSync(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (info.isFile()) return { fd, size: info.size };
  closeSync(fd);
  throw new NotRegularFileError(
    shown,
    info.isDirectory() ? 'a directory' : (specialKind(info) ?? 'not a regular file'),
  );
}

/**
 * Why a file could not be opened, read or written, in words, for messages of the form
 * "cannot read <file>: <reason>"; the one mapping of system error codes every command uses.
 */
export function whyUnreadable(err: unknown): string {
  if (err instanceof NotRegularFileError) return `it is ${err.kind}`;
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENAMETOOLONG':
      return 'its name is too long for the file system';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return (err as Error).message;
  }
}
