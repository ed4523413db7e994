import { createHash } from 'node:crypto';
import { closeSync, createReadStream, readSync, writevSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { crc32, createDeflateRaw, createGzip, deflateRawSync } from 'node:zlib';
import { UserError } from '../diagnostics/user-error.js';
import { formatBytes } from './plan.js';
import { openRegularFile, whyUnreadable } from '../project/file-kind.js';
import { ZIP32_MAX } from '../project/limits.js';
import { createTempBeside } from '../project/temp-file.js';
import { CENTRAL_SIGNATURE, DESCRIPTOR_SIGNATURE, EOCD_SIGNATURE, LOCAL_SIGNATURE } from '../project/zip-magic.js';

/** One file to store: its name inside the archive and a way to read its bytes when needed. */
export interface ZipInput {
  name: string;
  /** Its size when known beforehand: how much is read ahead is bounded by it. */
  size?: number;
  read(): Promise<Buffer>;
  /**
   * For files on disk: where they are, so that they are read into reused buffers, and a large one
   * is streamed through the compressor instead of being held in memory whole.
   */
  file?: string;
  /**
   * Unix permission bits to record (e.g. 0o755 for a script run as a Lambda handler). Without
   * one the entry says nothing of its mode, as a .difypkg's entries never do.
   */
  mode?: number;
}

export interface ZipWriteOptions {
  /** The archive comment (signatures live there). */
  comment?: string;
  /** Also return the SHA-256 of each input's content, saving a second read to checksum them. */
  hashContents?: boolean;
  /**
   * Refuse once the inputs' content passes this many bytes (`--max-size`). Counted on the bytes
   * actually read, not on the sizes listed beforehand: a file that grows between the check and
   * the packing (a log being written) cannot take the package past the limit.
   */
  maxBytes?: number;
}

/** The packing stopped short: an input could not be read, or the inputs outgrew a limit. */
export class PackInputError extends UserError {}

export interface ZipWriteResult {
  bytes: number;
  files: number;
  /** With `hashContents`: SHA-256 of each input's content, in input order. */
  contentHashes?: Buffer[];
}

const VERSION = 20; // "2.0": Deflate, no ZIP64
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const METHOD_DEFLATE = 8;

/** Files on disk larger than this are streamed; smaller ones are compressed whole, in parallel. */
const STREAM_ABOVE = 4 * 1024 * 1024;
/**
 * Input read ahead of the file being written, and compressed meanwhile: as many 4 MB files as
 * there are cores (at least two, at most libuv's four threads), or up to eight smaller files.
 * More gained nothing on two cores and cost memory: the compressed output of each file waiting
 * its turn is held too, and every compressor in flight holds about 256 KB.
 */
const AHEAD_BYTES = Math.min(4, Math.max(2, availableParallelism())) * STREAM_ABOVE;
const AHEAD_FILES = 8;
/**
 * Files up to this size are compressed on the main thread: handing them to the thread pool costs
 * about as much as compressing them.
 */
const POOL_ABOVE = 64 * 1024;
/** Output piece size of the thread-pool compressors: each piece is a round trip between threads. */
const OUTPUT_CHUNK = 1024 * 1024;
/** Read buffers kept for reuse (first touching fresh memory is expensive on some machines). */
const SPARE_BYTES = AHEAD_BYTES;

interface CentralRecord {
  name: Buffer;
  flags: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
  mode?: number;
}

/**
 * A file compressed ahead of its turn (`data`: its raw Deflate stream, perhaps a view into a
 * larger buffer), or a large one left to stream when its turn comes.
 */
type Prepared =
  | { data: Buffer[]; compressed: number; crc: number; size: number; sha256: Buffer | undefined }
  | { stream: { name: string; path: string } };

/**
 * Writes a ZIP the way the Go CLI lays out a `.difypkg` (dify-plugin-daemon
 * `pkg/plugin_packager/packager/packager.go`, `writePackagedFile`): entries in the order
 * given (callers sort them byte-wise), file entries only, Deflate, DOS time and date zero, no
 * extra fields, data descriptors, the UTF-8 flag only for non-ASCII names, an empty comment.
 * Nothing in it depends on the clock, the timezone, file modes or how the work was scheduled, so
 * equal input gives equal bytes. Files are compressed in parallel, a bounded amount ahead of the
 * one being written, into a temporary file beside `outPath` that is renamed into place only when
 * complete: a failure, or Ctrl-C, never leaves a partial package.
 */
export async function writeZip(
  outPath: string,
  inputs: readonly ZipInput[],
  options: ZipWriteOptions = {},
): Promise<ZipWriteResult> {
  // Armed, and told the name, before the file exists: no moment unguarded. (Should the file
  // still appear after the handler removed it, it is a leftover of a dead process, which the
  // next write to `outPath` removes: project/temp-file.ts.)
  const guard = removeOnInterrupt();
  const created = await createTempBeside(outPath, 0o644, (name) => (guard.file = name)).catch((err: unknown) => {
    guard.disarm();
    throw err;
  });
  const { path: tmp, handle } = created;
  let offset = 0;
  const write = async (...buffers: Buffer[]) => {
    const total = buffers.reduce((n, b) => n + b.length, 0);
    // Offsets are 32-bit: past 4 GiB the archive could not say where its entries are.
    if (offset + total > ZIP32_MAX) {
      throw new PackInputError(
        'the package would pass 4 GiB, which a ZIP without ZIP64 cannot address',
        'leave large files out with .difyignore',
      );
    }
    const bytesWritten = writevSync(handle.fd, buffers, offset);
    // A short write is rare on a local file, but possible: finish it byte-exactly.
    if (bytesWritten < total)
      await handle.write(Buffer.concat(buffers).subarray(bytesWritten), 0, total - bytesWritten, offset + bytesWritten);
    offset += total;
  };
  const ahead = new ReadAhead(inputs, Boolean(options.hashContents));
  const hashes: Buffer[] = [];
  let read = 0;
  const count = (name: string, bytes: number) => {
    read += bytes;
    if (options.maxBytes !== undefined && read > options.maxBytes) {
      throw new PackInputError(
        `the files grew while being packed: at ${name} they passed the ${formatBytes(options.maxBytes)} limit (--max-size)`,
        'pack again once the plugin directory stops changing, or raise --max-size',
      );
    }
  };
  try {
    const central: CentralRecord[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!;
      const name = Buffer.from(input.name, 'utf8');
      const flags = FLAG_DATA_DESCRIPTOR | (/^[\x20-\x7e]*$/.test(input.name) ? 0 : FLAG_UTF8);
      const record: CentralRecord = { name, flags, crc: 0, compressed: 0, size: 0, offset, mode: input.mode };
      const prepared = await ahead.take(i);
      if ('data' in prepared) {
        count(input.name, prepared.size);
        Object.assign(record, { crc: prepared.crc, compressed: prepared.compressed, size: prepared.size });
        await write(localHeader(record), ...prepared.data, dataDescriptor(record));
        if (prepared.sha256) hashes.push(prepared.sha256);
      } else {
        await write(localHeader(record));
        const streamed = await streamCompressed(prepared.stream, Boolean(options.hashContents), write, (n) =>
          count(input.name, n),
        );
        Object.assign(record, streamed);
        await write(dataDescriptor(record));
        if (streamed.sha256) hashes.push(streamed.sha256);
      }
      central.push(record);
    }
    const centralStart = offset;
    await write(...central.map(centralHeader));
    await write(endOfCentralDirectory(central.length, offset - centralStart, centralStart, options.comment ?? ''));
    await handle.close();
    await rename(tmp, outPath);
    return { bytes: offset, files: central.length, ...(options.hashContents ? { contentHashes: hashes } : {}) };
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  } finally {
    guard.disarm();
  }
}

/** A large file, read and compressed piece by piece straight into the archive; `count` may throw to stop it. */
async function streamCompressed(
  file: { name: string; path: string },
  hash: boolean,
  write: (chunk: Buffer) => Promise<void>,
  count: (bytes: number) => void,
): Promise<{ crc: number; size: number; compressed: number; sha256: Buffer | undefined }> {
  let crc = 0;
  let size = 0;
  let compressed = 0;
  const sha256 = hash ? createHash('sha256') : undefined;
  const deflate = createDeflateRaw({ chunkSize: OUTPUT_CHUNK });
  const source = createReadStream('', { fd: openInput(file.name, file.path).fd });
  source.on('data', (chunk) => {
    try {
      count(chunk.length);
    } catch (err) {
      deflate.destroy(err as Error);
      return;
    }
    crc = crc32(chunk as Buffer, crc);
    size += chunk.length;
    sha256?.update(chunk);
  });
  source.on('error', (err) => deflate.destroy(unreadable(file.name, err)));
  source.pipe(deflate);
  try {
    for await (const chunk of deflate) {
      compressed += (chunk as Buffer).length;
      await write(chunk as Buffer);
    }
  } finally {
    source.destroy(); // a failed write leaves the file open otherwise, until collected
  }
  return { crc, size, compressed, sha256: sha256?.digest() };
}

/** An input file opened for reading, refused when it is not a regular file (a FIFO would block). */
function openInput(name: string, file: string): { fd: number; size: number } {
  try {
    return openRegularFile(file, name);
  } catch (err) {
    throw unreadable(name, err);
  }
}

/** `cannot read <name>: <reason>`, naming the plugin's file rather than the output being written. */
function unreadable(name: string, err: unknown): Error {
  if (err instanceof UserError) return err;
  const reason = whyUnreadable(err);
  return new PackInputError(`cannot read ${name}: ${reason}`, 'make it readable, or leave it out with .difyignore');
}

/**
 * Compresses the inputs ahead of the writer, in order, as many at a time as AHEAD_BYTES and
 * AHEAD_FILES allow (files above STREAM_ABOVE are left to stream and do not count). Files above
 * POOL_ABOVE go to the thread pool as gzip, whose trailer carries the CRC-32 computed there: the
 * gzip body is exactly the raw Deflate stream of the same settings (tested), so for them the
 * main thread only reads, hashes and writes. Read buffers are reused, and compressed output is
 * written from where zlib put it, never copied.
 */
class ReadAhead {
  private readonly jobs = new Map<number, { job: Promise<Prepared>; bytes: number }>();
  private next = 0;
  private aheadBytes = 0;
  private readonly spare: Buffer[] = [];
  private spareBytes = 0;

  constructor(
    private readonly inputs: readonly ZipInput[],
    private readonly hash: boolean,
  ) {}

  async take(index: number): Promise<Prepared> {
    this.fill(index);
    const { job, bytes } = this.jobs.get(index)!;
    const prepared = await job;
    this.jobs.delete(index);
    this.aheadBytes -= bytes;
    this.fill(index + 1);
    return prepared;
  }

  /** Starts the jobs that fit, in order; the one for `index` (the writer's turn) always. */
  private fill(index: number): void {
    while (this.next < this.inputs.length && this.next - index < AHEAD_FILES) {
      const input = this.inputs[this.next]!;
      const size = input.size ?? 0;
      const bytes = size > STREAM_ABOVE ? 0 : size;
      if (this.next > index && this.aheadBytes + bytes > AHEAD_BYTES) break;
      const job = this.prepare(input);
      job.catch(() => undefined); // awaited in turn; never an unhandled rejection meanwhile
      this.jobs.set(this.next, { job, bytes });
      this.aheadBytes += bytes;
      this.next++;
    }
  }

  private async prepare(input: ZipInput): Promise<Prepared> {
    let data: Buffer;
    let buffer: Buffer | undefined;
    if (input.file) {
      const read = this.readFile(input.name, input.file);
      if (read === 'stream') return { stream: { name: input.name, path: input.file } };
      [data, buffer] = read;
    } else {
      data = await input.read();
    }
    const sha256 = this.hash ? createHash('sha256').update(data).digest() : undefined;
    if (data.length <= POOL_ABOVE) {
      const deflated = deflateRawSync(data);
      const prepared = { crc: crc32(data), size: data.length, sha256, data: [deflated], compressed: deflated.length };
      if (buffer) this.release(buffer);
      return prepared;
    }
    let gzipped: Buffer[];
    try {
      gzipped = await gzipPieces(data);
    } finally {
      if (buffer) this.release(buffer);
    }
    const { body, trailer } = unwrapGzip(gzipped);
    return { crc: trailer.readUInt32LE(0), size: data.length, sha256, data: body, compressed: byteLength(body) };
  }

  /** The file's bytes in a reused buffer (and that buffer), or 'stream' for a large file. */
  private readFile(name: string, file: string): [Buffer, Buffer] | 'stream' {
    const { fd, size } = openInput(name, file);
    try {
      if (size > STREAM_ABOVE) return 'stream';
      const buffer = this.acquire(size);
      let filled = 0;
      try {
        for (let n; filled < size && (n = readSync(fd, buffer, filled, size - filled, filled)) > 0;) filled += n;
      } catch (err) {
        this.release(buffer);
        throw unreadable(name, err);
      }
      return [buffer.subarray(0, filled), buffer];
    } finally {
      closeSync(fd);
    }
  }

  /** The smallest spare buffer that holds `size` bytes, or a new one. */
  private acquire(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) {
      const length = this.spare[i]!.length;
      if (length >= size && (best < 0 || length < this.spare[best]!.length)) best = i;
    }
    if (best < 0) return Buffer.allocUnsafeSlow(Math.max(size, 64 * 1024));
    const [buffer] = this.spare.splice(best, 1);
    this.spareBytes -= buffer!.length;
    return buffer!;
  }

  private release(buffer: Buffer): void {
    if (this.spareBytes + buffer.length > SPARE_BYTES) return;
    this.spare.push(buffer);
    this.spareBytes += buffer.length;
  }
}

/** What Node's gzip puts around the raw Deflate stream: a fixed header, then CRC-32 and size. */
const GZIP_HEADER = 10;
const GZIP_TRAILER = 8;

/** gzip of `data` in the thread pool, in the pieces zlib produced (joining them would copy it all). */
function gzipPieces(data: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const pieces: Buffer[] = [];
    createGzip({ chunkSize: OUTPUT_CHUNK })
      .on('data', (piece: Buffer) => pieces.push(piece))
      .on('end', () => resolve(pieces))
      .on('error', reject)
      .end(data);
  });
}

/** The raw Deflate stream inside gzip pieces, as pieces, and the 8-byte trailer. */
function unwrapGzip(pieces: Buffer[]): { body: Buffer[]; trailer: Buffer } {
  const body = [...pieces];
  for (let skip = GZIP_HEADER; skip > 0;) {
    const first = body.shift()!;
    if (first.length > skip) body.unshift(first.subarray(skip));
    skip -= Math.min(skip, first.length);
  }
  const tail: Buffer[] = [];
  for (let need = GZIP_TRAILER; need > 0;) {
    const last = body.pop()!;
    if (last.length > need) {
      tail.unshift(last.subarray(last.length - need));
      body.push(last.subarray(0, last.length - need));
      need = 0;
    } else {
      tail.unshift(last);
      need -= last.length;
    }
  }
  return { body, trailer: Buffer.concat(tail) };
}

function byteLength(pieces: Buffer[]): number {
  return pieces.reduce((n, p) => n + p.length, 0);
}

/**
 * Until `disarm()`, SIGINT or SIGTERM first removes `file` (once set), then ends the process as
 * the signal would have.
 */
function removeOnInterrupt(): { file: string | undefined; disarm(): void } {
  const guard = {
    file: undefined as string | undefined,
    disarm: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
  const onSignal = (signal: NodeJS.Signals) => {
    guard.disarm();
    const removed = guard.file ? rm(guard.file, { force: true }) : Promise.resolve();
    void removed.finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return guard;
}

function localHeader(r: CentralRecord): Buffer {
  const b = Buffer.alloc(30);
  b.writeUInt32LE(LOCAL_SIGNATURE, 0);
  b.writeUInt16LE(VERSION, 4);
  b.writeUInt16LE(r.flags, 6);
  b.writeUInt16LE(METHOD_DEFLATE, 8);
  // time, date, crc and sizes stay zero: they follow in the data descriptor
  b.writeUInt16LE(r.name.length, 26);
  return Buffer.concat([b, r.name]);
}

function dataDescriptor(r: CentralRecord): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(DESCRIPTOR_SIGNATURE, 0);
  b.writeUInt32LE(r.crc, 4);
  b.writeUInt32LE(r.compressed, 8);
  b.writeUInt32LE(r.size, 12);
  return b;
}

function centralHeader(r: CentralRecord): Buffer {
  const b = Buffer.alloc(46);
  b.writeUInt32LE(CENTRAL_SIGNATURE, 0);
  // With a mode, "made by" names Unix (3 in the high byte), whose unzip tools and AWS Lambda take
  // the mode from the high 16 bits of the external attributes (APPNOTE.TXT 4.4.2 and 4.4.15), here
  // with the regular-file type bits (S_IFREG).
  b.writeUInt16LE(r.mode === undefined ? VERSION : (3 << 8) | VERSION, 4); // made by
  b.writeUInt16LE(VERSION, 6); // needed to extract
  b.writeUInt16LE(r.flags, 8);
  b.writeUInt16LE(METHOD_DEFLATE, 10);
  b.writeUInt32LE(r.crc, 16);
  b.writeUInt32LE(r.compressed, 20);
  b.writeUInt32LE(r.size, 24);
  b.writeUInt16LE(r.name.length, 28);
  if (r.mode !== undefined) b.writeUInt32LE(((0o100000 | (r.mode & 0o7777)) << 16) >>> 0, 38);
  b.writeUInt32LE(r.offset, 42);
  return Buffer.concat([b, r.name]);
}

function endOfCentralDirectory(count: number, size: number, start: number, comment: string): Buffer {
  const text = Buffer.from(comment, 'utf8');
  const b = Buffer.alloc(22);
  b.writeUInt32LE(EOCD_SIGNATURE, 0);
  b.writeUInt16LE(count, 8);
  b.writeUInt16LE(count, 10);
  b.writeUInt32LE(size, 12);
  b.writeUInt32LE(start, 16);
  b.writeUInt16LE(text.length, 20);
  return Buffer.concat([b, text]);
}
