import { isUtf8 } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import { DirectoryIndex } from './directory-index.js';
import { CONTROL, DRIVE } from './entry-name.js';
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
  /** Where the entry's compressed bytes start (after its local header, as that header says). */
  dataOffset: number;
}

export interface ZipContents {
  /**
   * File entries in central-directory order (directory entries dropped). A name repeats only for
   * `.verification.dify.json` (see `checkNames`).
   */
  entries: ZipEntry[];
  comment: string;
}

/**
 * The entry holding a signed package's authorized category, the one name a package may repeat:
 * the Go CLI's signer stacks one more each time it signs a signed package.
 */
export const VERIFICATION_FILE = '.verification.dify.json';

/** Without ZIP64 no offset or size can reach 4 GiB; a larger file is refused unread. */
const MAX_ARCHIVE_BYTES = 0xffffffff;
/** 65,535 entries of 1 KiB names: far beyond any plugin, and never read whole beyond it. */
const MAX_CENTRAL_DIRECTORY = 64 * 1024 * 1024;
const MAX_COMMENT = 0xffff;
const MAX_NAME_BYTES = 1024;
const MAX_NAME_PART_BYTES = 255;
/** Small reads (local headers, small entries) are served from one read of this size. */
const WINDOW = 256 * 1024;
/** The largest piece read or inflated at once; entries up to this size are read in one piece. */
export const MAX_PIECE_BYTES = 1024 * 1024;
const CHUNK = MAX_PIECE_BYTES;
/** A data descriptor after an entry's data, signature and ZIP64 sizes included. */
const MAX_DESCRIPTOR = 24;

const ZIP64_RECORD = 56;
const ZIP64_LOCATOR = 20;
const ZIP64_RECORD_SIGNATURE = 0x06064b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;

const FLAG_ENCRYPTED = 0x0001;
const FLAG_DESCRIPTOR = 0x0008;
const STORED = 0;
const DEFLATED = 8;

/**
 * Reads a ZIP's central directory without loading the archive: entry data is read only when
 * asked for, one entry at a time. No number from a header is trusted: every offset and size is
 * checked against the file before anything is read or allocated, entries may not overlap each
 * other or the central directory (the classic bomb of many entries sharing one stream), and the
 * declared uncompressed total must stay within `maxTotalSize`, which inflating then enforces
 * (an entry inflates to its declared size and no further). Names that could escape a directory,
 * hold control characters or repeat, and entries that are encrypted or use another compression
 * than stored/deflated, are refused when the archive is opened.
 */
export class ZipReader {
  private window: { start: number; bytes: Buffer } | undefined;
  private byName: Map<string, ZipEntry> | undefined;

  private constructor(
    private readonly handle: FileHandle,
    private readonly fileSize: number,
    readonly contents: ZipContents,
  ) {}

  static async open(file: string, maxTotalSize: number): Promise<ZipReader> {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_ARCHIVE_BYTES)
        throw new ZipError(`the archive is ${size} bytes, over 4 GiB: that needs ZIP64, which Dify packages never use`);
      const reader = new ZipReader(handle, size, { entries: [], comment: '' });
      const { central, cd, cdOffset, comment } = await reader.readCentralDirectory();
      checkNames(central, cd);
      checkTotal(central, maxTotalSize);
      const entries = await reader.locate(central, cd, cdOffset);
      return new ZipReader(handle, size, { entries, comment });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** The entry Dify reads for `name`: the first of that name, as Go's `zip.Reader.Open` finds it. */
  entry(name: string): ZipEntry | undefined {
    return this.firstOfEach().get(name);
  }

  /** Each name once, with the entry `entry(name)` gives, in central-directory order. */
  files(): ZipEntry[] {
    return [...this.firstOfEach().values()];
  }

  private firstOfEach(): Map<string, ZipEntry> {
    if (!this.byName) {
      this.byName = new Map();
      for (const e of this.contents.entries) if (!this.byName.has(e.name)) this.byName.set(e.name, e);
    }
    return this.byName;
  }

  /** The entry's bytes, checked against its declared size and CRC. */
  async read(entry: ZipEntry): Promise<Buffer> {
    if (entry.compressedSize <= CHUNK) {
      const raw = await this.readAt(entry.dataOffset, entry.compressedSize);
      // A stored entry's bytes are copied out of the shared read window.
      return verified(entry, entry.method === STORED ? Buffer.from(raw) : inflateSmall(entry, raw));
    }
    const out = Buffer.allocUnsafe(entry.size);
    let at = 0;
    for await (const chunk of this.chunks(entry)) at += chunk.copy(out, at);
    return out;
  }

  /**
   * The entry's bytes piece by piece (at most 1 MiB each), for hashing entries of any size in
   * little memory; checked against the declared size and CRC like `read`.
   */
  async *chunks(entry: ZipEntry): AsyncGenerator<Buffer> {
    if (entry.compressedSize <= CHUNK && entry.size <= CHUNK) {
      yield await this.read(entry);
      return;
    }
    const source = entry.method === STORED ? this.raw(entry) : this.inflated(entry);
    let size = 0;
    let crc = 0;
    for await (const chunk of source) {
      size += chunk.length;
      // Inflating stops here: a header that lies about the size cannot make it go on.
      if (size > entry.size) throw tooLarge(entry);
      crc = crc32(chunk, crc);
      yield chunk;
    }
    if (size !== entry.size) throw new ZipError(`${shown(entry.name)}: size differs from its header`);
    if (crc !== entry.crc) throw damaged(entry);
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private async *raw(entry: ZipEntry): AsyncGenerator<Buffer> {
    const end = entry.dataOffset + entry.compressedSize;
    for (let at = entry.dataOffset; at < end; at += CHUNK) yield await this.readAt(at, Math.min(CHUNK, end - at));
  }

  /** Inflates through zlib's stream, fed by reads of the file (never a stream on the shared handle). */
  private async *inflated(entry: ZipEntry): AsyncGenerator<Buffer> {
    const inflate = createInflateRaw({ chunkSize: 64 * 1024 });
    // Errors reach the iteration below through the inflate stream, which the pipeline destroys.
    const output = pipeline(Readable.from(this.raw(entry)), inflate, () => {});
    try {
      yield* output as AsyncIterable<Buffer>;
    } catch (err) {
      if (err instanceof ZipError) throw err;
      throw tooLarge(entry);
    } finally {
      output.destroy();
    }
  }

  /**
   * `length` bytes at `position`, all inside the file. Small reads come from a window read once,
   * so that walking thousands of small entries costs a few reads, not thousands.
   */
  private async readAt(position: number, length: number): Promise<Buffer> {
    if (position + length > this.fileSize) throw new ZipError('the file ends early (truncated archive)');
    const w = this.window;
    if (w && position >= w.start && position + length <= w.start + w.bytes.length)
      return w.bytes.subarray(position - w.start, position - w.start + length);
    if (length > WINDOW / 2) return this.readExactly(position, length);
    const bytes = await this.readExactly(position, Math.min(WINDOW, this.fileSize - position));
    this.window = { start: position, bytes };
    return bytes.subarray(0, length);
  }

  private async readExactly(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buf, done, length - done, position + done);
      if (bytesRead === 0) throw new ZipError('the file ends early (truncated archive)');
      done += bytesRead;
    }
    return buf;
  }

  private async readCentralDirectory(): Promise<{ central: Central[]; cd: Buffer; cdOffset: number; comment: string }> {
    const size = this.fileSize;
    const tailLength = Math.min(size, 22 + MAX_COMMENT);
    if (tailLength < 22) throw new ZipError('not a ZIP archive (too short)');
    const tailStart = size - tailLength;
    const tail = await this.readExactly(tailStart, tailLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE && i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ZipError('not a ZIP archive (no end of central directory)');
    const disk = tail.readUInt16LE(eocd + 4);
    const cdDisk = tail.readUInt16LE(eocd + 6);
    const countOnDisk = tail.readUInt16LE(eocd + 8);
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff)
      throw new ZipError('ZIP64 archives are not supported (Dify packages never need them)');
    if (disk !== 0 || cdDisk !== 0 || countOnDisk !== count)
      throw new ZipError('split (multi-disk) archives are not supported');
    const cdEnd = tailStart + eocd - (await this.zip64Tail(tailStart + eocd, count, cdSize, cdOffset));
    if (cdOffset + cdSize !== cdEnd)
      throw new ZipError('damaged central directory (it does not end where the end record begins)');
    if (cdSize > MAX_CENTRAL_DIRECTORY)
      throw new ZipError(`the central directory takes ${cdSize} bytes, more than any plugin package needs`);
    if (cdSize < count * 46) throw new ZipError(`damaged central directory (too small for ${count} entries)`);
    const comment = tail.subarray(eocd + 22).toString('utf8');
    const cd = await this.readExactly(cdOffset, cdSize);
    const central: Central[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIGNATURE)
        throw new ZipError('damaged central directory');
      const nameLength = cd.readUInt16LE(p + 28);
      const next = p + 46 + nameLength + cd.readUInt16LE(p + 30) + cd.readUInt16LE(p + 32);
      if (next > cd.length) throw new ZipError('damaged central directory');
      central.push({
        name: cd.toString('utf8', p + 46, p + 46 + nameLength),
        nameStart: p + 46,
        nameLength,
        flags: cd.readUInt16LE(p + 8),
        method: cd.readUInt16LE(p + 10),
        crc: cd.readUInt32LE(p + 16),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
        dataOffset: 0, // known once the local header is read
      });
      p = next;
    }
    return { central, cd, cdOffset, comment };
  }

  /**
   * The length of the ZIP64 end records before the end record at `eocdAt`, or 0 when there are
   * none. Info-ZIP writes them when it zips a stream; they are accepted only when they repeat the
   * end record's numbers, since Go's reader (the daemon's) would follow them instead.
   */
  private async zip64Tail(eocdAt: number, count: number, cdSize: number, cdOffset: number): Promise<number> {
    const length = ZIP64_RECORD + ZIP64_LOCATOR;
    if (eocdAt < length) return 0;
    const tail = await this.readExactly(eocdAt - length, length);
    if (tail.readUInt32LE(ZIP64_RECORD) !== ZIP64_LOCATOR_SIGNATURE) return 0;
    const same =
      tail.readUInt32LE(0) === ZIP64_RECORD_SIGNATURE &&
      tail.readBigUInt64LE(4) === BigInt(ZIP64_RECORD - 12) &&
      tail.readBigUInt64LE(24) === BigInt(count) &&
      tail.readBigUInt64LE(32) === BigInt(count) &&
      tail.readBigUInt64LE(40) === BigInt(cdSize) &&
      tail.readBigUInt64LE(48) === BigInt(cdOffset) &&
      tail.readBigUInt64LE(ZIP64_RECORD + 8) === BigInt(eocdAt - length);
    if (!same) throw new ZipError('ZIP64 archives are not supported (Dify packages never need them)');
    return length;
  }

  /**
   * Reads each file entry's local header (in file order, through the window) to find where its
   * data starts, and checks that the entries' header-and-data ranges lie before the central
   * directory without overlapping: each byte of the archive belongs to one entry at most.
   */
  private async locate(central: Central[], cd: Buffer, cdOffset: number): Promise<ZipEntry[]> {
    const byOffset = [...central].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    let previousEnd = 0;
    let previous: string | undefined;
    let covered = 0;
    let descriptors = 0;
    for (const c of byOffset) {
      const where = () => shown(c.name);
      if (c.localHeaderOffset < previousEnd)
        throw new ZipError(
          `entries ${shown(previous!)} and ${where()} overlap: one stretch of the archive cannot be two files (a zip bomb's trick)`,
        );
      if (c.localHeaderOffset + 30 > cdOffset)
        throw new ZipError(`${where()}: its local header lies outside the entries`);
      // The header and the name it should hold, in one read.
      const header = await this.readAt(
        c.localHeaderOffset,
        Math.min(30 + c.nameLength, cdOffset - c.localHeaderOffset),
      );
      if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new ZipError(`${where()}: damaged local header`);
      const nameLength = header.readUInt16LE(26);
      const dataOffset = c.localHeaderOffset + 30 + nameLength + header.readUInt16LE(28);
      const end = dataOffset + c.compressedSize;
      if (end > cdOffset)
        throw new ZipError(`${where()}: its data (${c.compressedSize} bytes from its header) runs past the entries`);
      if (header.readUInt16LE(8) !== c.method)
        throw new ZipError(`${where()}: its local header names another compression method`);
      if (nameLength !== c.nameLength || header.compare(cd, c.nameStart, c.nameStart + nameLength, 30) !== 0)
        throw new ZipError(`${where()}: its local header names another file`);
      c.dataOffset = dataOffset;
      previousEnd = end;
      previous = c.name;
      covered += end - c.localHeaderOffset;
      if (c.flags & FLAG_DESCRIPTOR) descriptors++;
    }
    // Only data descriptors may sit between entries: other bytes would be data no check has seen.
    const loose = cdOffset - covered;
    if (loose > descriptors * MAX_DESCRIPTOR)
      throw new ZipError(
        `${loose} bytes of the archive belong to no entry (data hidden before or between the entries)`,
      );
    return central.filter((c) => !c.name.endsWith('/')).map(toEntry);
  }
}

/** A central-directory record before its local header is read. */
interface Central extends ZipEntry {
  flags: number;
  /** Where the name's bytes are in the central directory. */
  nameStart: number;
  nameLength: number;
}

const toEntry = (c: Central): ZipEntry => ({
  name: c.name,
  method: c.method,
  crc: c.crc,
  compressedSize: c.compressedSize,
  size: c.size,
  localHeaderOffset: c.localHeaderOffset,
  dataOffset: c.dataOffset,
});

/** A name as messages show it: quoted, any control character escaped. */
function shown(name: string): string {
  return JSON.stringify(name);
}

/**
 * Names, flags and methods, checked for every entry before any data is read. Names must be clean
 * relative UTF-8 paths without control characters, unique (a repeated name is read differently by
 * different readers: the daemon's Go reader takes the first copy, others the last), and neither a
 * file and a directory at once. The one repeat accepted is `.verification.dify.json`, which the
 * Go CLI's signer stacks when it signs a signed package again; Dify installs such packages, reading
 * the first copy, and so does this reader.
 */
function checkNames(central: Central[], cd: Buffer): void {
  const seen = new Set<string>();
  for (const c of central) {
    const name = c.name;
    // Decoding replaced what is not UTF-8 with U+FFFD; only then are the bytes looked at again.
    if (name.includes('\uFFFD') && !isUtf8(cd.subarray(c.nameStart, c.nameStart + c.nameLength)))
      throw new ZipError(`entry ${shown(name)} has a name that is not UTF-8`);
    const where = () => `entry ${shown(name)}`;
    if (name === '') throw new ZipError('an entry has an empty name');
    if (CONTROL.test(name)) throw new ZipError(`${where()} has a control character in its name`);
    if (name.includes('\\')) throw new ZipError(`${where()} uses backslashes; Dify reads only / separators`);
    if (name.startsWith('/') || DRIVE.test(name)) throw new ZipError(`${where()} has an absolute path`);
    const parts = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
    if (parts.some((part) => part === '..' || part === '.' || part === ''))
      throw new ZipError(`${where()} is not a clean relative path (it could escape the plugin directory)`);
    // The daemon unpacks a package onto disk, where no file system takes a name part over 255
    // bytes; a whole name is held to 1 KiB, over ten times the longest of the official plugins.
    if (c.nameLength > MAX_NAME_BYTES || parts.some((part) => Buffer.byteLength(part) > MAX_NAME_PART_BYTES))
      throw new ZipError(
        `${shown(name.slice(0, 64))}... is too long a name (at most ${MAX_NAME_BYTES} bytes, ${MAX_NAME_PART_BYTES} between slashes)`,
      );
    if (name.endsWith('/')) continue; // third-party tools add directory entries; they carry no data
    if (c.flags & FLAG_ENCRYPTED) throw new ZipError(`${where()} is encrypted; Dify cannot read encrypted packages`);
    if (c.method !== STORED && c.method !== DEFLATED)
      throw new ZipError(`${where()} uses compression method ${c.method}; Dify reads only stored and deflated entries`);
    if (c.method === STORED && c.compressedSize !== c.size)
      throw new ZipError(`${where()} is stored uncompressed but its two sizes differ`);
    if (seen.has(name)) {
      if (name !== VERIFICATION_FILE)
        throw new ZipError(
          `${where()} appears twice; readers disagree on which copy counts (Dify reads the first)`,
          'repack the plugin with `dify plugin package`',
        );
      continue;
    }
    seen.add(name);
  }
  const dirs = new DirectoryIndex(seen);
  for (const name of seen)
    if (dirs.has(name)) throw new ZipError(`entry ${shown(name)} is both a file and a directory in the archive`);
}

function checkTotal(central: Central[], maxTotalSize: number): void {
  let total = 0;
  for (const c of central) if (!c.name.endsWith('/')) total += c.size;
  if (total > maxTotalSize)
    throw new ZipError(`the archive unpacks to ${total} bytes, more than the limit of ${maxTotalSize} bytes`);
}

/** Inflates a small entry in one call, never past its declared size. */
function inflateSmall(entry: ZipEntry, raw: Buffer): Buffer {
  try {
    return inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
  } catch {
    throw tooLarge(entry);
  }
}

function verified(entry: ZipEntry, data: Buffer): Buffer {
  if (data.length !== entry.size) throw new ZipError(`${shown(entry.name)}: size differs from its header`);
  if (crc32(data) !== entry.crc) throw damaged(entry);
  return data;
}

const tooLarge = (entry: ZipEntry) =>
  new ZipError(`${shown(entry.name)}: compressed data is damaged or larger than declared`);
const damaged = (entry: ZipEntry) => new ZipError(`${shown(entry.name)}: damaged (its CRC does not match)`);
