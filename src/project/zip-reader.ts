import { open, type FileHandle } from 'node:fs/promises';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import { CENTRAL_SIGNATURE, EOCD_SIGNATURE, LOCAL_SIGNATURE } from './zip-magic.js';
import { UserError } from '../diagnostics/user-error.js';

/** A ZIP that cannot be read safely: damaged, hostile, or in a form Dify never produces. */
export class ZipError extends UserError {}

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export interface ZipContents {
  /** File entries in central-directory order (directory entries dropped; duplicates kept). */
  entries: ZipEntry[];
  comment: string;
}

const MAX_COMMENT = 0xffff;

/**
 * Reads a ZIP's central directory without loading the archive: entry data is read only when
 * asked for, one entry at a time. Entry names that could escape an extraction directory
 * (absolute, `..`, backslashes, drive letters) and archives whose declared uncompressed total
 * passes `maxTotalSize` are refused before any data is read.
 */
export class ZipReader {
  private constructor(
    private readonly handle: FileHandle,
    readonly contents: ZipContents,
  ) {}

  static async open(file: string, maxTotalSize: number): Promise<ZipReader> {
    const handle = await open(file, 'r');
    try {
      const contents = await readCentralDirectory(handle);
      checkEntries(contents.entries, maxTotalSize);
      return new ZipReader(handle, contents);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async read(entry: ZipEntry): Promise<Buffer> {
    const raw = await readAt(this.handle, await this.dataStart(entry), entry.compressedSize);
    let data: Buffer;
    if (entry.method === 0) {
      data = raw;
    } else if (entry.method === 8) {
      try {
        // The declared size bounds the output, so a lying header cannot inflate without limit.
        data = inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
      } catch {
        throw new ZipError(`${entry.name}: compressed data is damaged or larger than declared`);
      }
    } else {
      throw new ZipError(`${entry.name}: unsupported compression method ${entry.method}`);
    }
    if (data.length !== entry.size) throw new ZipError(`${entry.name}: size differs from its header`);
    if (crc32(data) !== entry.crc) throw new ZipError(`${entry.name}: damaged (its CRC does not match)`);
    return data;
  }

  /**
   * The entry's bytes piece by piece, for hashing entries of any size in little memory; checked
   * against the declared size and CRC like `read`.
   */
  async *chunks(entry: ZipEntry): AsyncGenerator<Buffer> {
    if (entry.method !== 0 && entry.method !== 8)
      throw new ZipError(`${entry.name}: unsupported compression method ${entry.method}`);
    const start = await this.dataStart(entry);
    const raw = this.handle.createReadStream({ start, end: start + entry.compressedSize - 1, autoClose: false });
    const source = entry.method === 0 ? raw : raw.pipe(createInflateRaw());
    raw.on('error', (err) => source.destroy(err));
    let size = 0;
    let crc = 0;
    try {
      if (entry.compressedSize > 0) {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          size += chunk.length;
          // A header that lies about the size cannot make this inflate without limit.
          if (size > entry.size)
            throw new ZipError(`${entry.name}: compressed data is damaged or larger than declared`);
          crc = crc32(chunk, crc);
          yield chunk;
        }
      }
    } catch (err) {
      if (err instanceof ZipError) throw err;
      throw new ZipError(`${entry.name}: compressed data is damaged or larger than declared`);
    } finally {
      source.destroy();
    }
    if (size !== entry.size) throw new ZipError(`${entry.name}: size differs from its header`);
    if (crc !== entry.crc) throw new ZipError(`${entry.name}: damaged (its CRC does not match)`);
  }

  private async dataStart(entry: ZipEntry): Promise<number> {
    const header = await readAt(this.handle, entry.localHeaderOffset, 30);
    if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new ZipError(`${entry.name}: damaged local header`);
    return entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, position);
  if (bytesRead !== length) throw new ZipError('the file ends early (truncated archive)');
  return buf;
}

async function readCentralDirectory(handle: FileHandle): Promise<ZipContents> {
  const { size } = await handle.stat();
  const tailLength = Math.min(size, 22 + MAX_COMMENT);
  if (tailLength < 22) throw new ZipError('not a ZIP archive (too short)');
  const tail = await readAt(handle, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE && i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('not a ZIP archive (no end of central directory)');
  const count = tail.readUInt16LE(eocd + 10);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new ZipError('ZIP64 archives are not supported (Dify packages never need them)');
  }
  if (cdOffset + cdSize > size) throw new ZipError('the central directory lies outside the file');
  const comment = tail.subarray(eocd + 22).toString('utf8');
  const cd = await readAt(handle, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIGNATURE) throw new ZipError('damaged central directory');
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    const name = cd.subarray(p + 46, p + 46 + nameLength).toString('utf8');
    const entry: ZipEntry = {
      name,
      method: cd.readUInt16LE(p + 10),
      crc: cd.readUInt32LE(p + 16),
      compressedSize: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24),
      localHeaderOffset: cd.readUInt32LE(p + 42),
    };
    // Third-party zip tools add directory entries; they carry no data and are skipped.
    if (!name.endsWith('/')) entries.push(entry);
    p += 46 + nameLength + extraLength + commentLength;
  }
  return { entries, comment };
}

function checkEntries(entries: ZipEntry[], maxTotalSize: number): void {
  let total = 0;
  for (const e of entries) {
    if (e.name.includes('\\')) throw new ZipError(`entry "${e.name}" uses backslashes; Dify reads only / separators`);
    if (e.name.startsWith('/') || /^[A-Za-z]:/.test(e.name))
      throw new ZipError(`entry "${e.name}" has an absolute path`);
    if (e.name.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      throw new ZipError(`entry "${e.name}" is not a clean relative path (it could escape the plugin directory)`);
    }
    total += e.size;
  }
  if (total > maxTotalSize) {
    throw new ZipError(`the archive unpacks to ${total} bytes, more than the limit of ${maxTotalSize} bytes`);
  }
}
