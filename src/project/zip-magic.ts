import { closeSync, openSync, readSync } from 'node:fs';

/** The four-byte signatures that open each ZIP record (APPNOTE 4.3). */
export const LOCAL_SIGNATURE = 0x04034b50;
export const DESCRIPTOR_SIGNATURE = 0x08074b50;
export const CENTRAL_SIGNATURE = 0x02014b50;
export const EOCD_SIGNATURE = 0x06054b50;

/**
 * True when `file` begins as a ZIP does: with a local header, or (an empty archive) with the end
 * record. Cheap enough to ask before deciding how to read or whether to overwrite a file.
 */
export function startsLikeZip(file: string): boolean {
  const head = Buffer.alloc(4);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    return (
      readSync(fd, head, 0, 4, 0) === 4 &&
      (head.readUInt32LE(0) === LOCAL_SIGNATURE || head.readUInt32LE(0) === EOCD_SIGNATURE)
    );
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
