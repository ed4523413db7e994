import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync, writevSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { crc32, createDeflateRaw, deflateRaw, deflateRawSync } from 'node:zlib';
import { CENTRAL_SIGNATURE, DESCRIPTOR_SIGNATURE, EOCD_SIGNATURE, LOCAL_SIGNATURE } from '../project/zip-magic.js';

/** One file to store: its name inside the archive and a way to read its bytes when needed. */
export interface ZipInput {
  name: string;
  read(): Promise<Buffer>;
  /**
   * For files on disk: where they are, so that they are read into reused buffers, and a large one
   * is streamed through the compressor instead of being held in memory whole.
   */
  file?: string;
}

export interface ZipWriteOptions {
  /** The archive comment (signatures live there). */
  comment?: string;
  /** Also return the SHA-256 of each input's content, saving a second read to checksum them. */
  hashContents?: boolean;
}

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
/** Files compressed ahead of the one being written (zlib's async calls run in the thread pool). */
const READ_AHEAD_FILES = 2 * availableParallelism();

const deflateRawAsync = promisify(deflateRaw);
/** Output piece size of the thread-pool compressor: each piece is a round trip between threads. */
const OUTPUT_CHUNK = 1024 * 1024;
/** Files up to this size are compressed on the main thread (see ReadAhead.prepare). */
const ASYNC_ABOVE = 128 * 1024;

interface CentralRecord {
  name: Buffer;
  flags: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
}

/** A file compressed ahead of its turn, or a large one left to stream when its turn comes. */
type Prepared = { data: Buffer; crc: number; size: number; sha256: Buffer | undefined } | { stream: string };

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
  const tmp = path.join(path.dirname(outPath), `.${path.basename(outPath)}.${process.pid}.tmp`);
  const removeOnSignal = removeOnInterrupt(tmp); // before the file exists: no moment unguarded
  const handle = await open(tmp, 'w', 0o644).catch((err: unknown) => {
    removeOnSignal();
    throw err;
  });
  let offset = 0;
  const write = async (...buffers: Buffer[]) => {
    const bytesWritten = writevSync(handle.fd, buffers, offset);
    const total = buffers.reduce((n, b) => n + b.length, 0);
    // A short write is rare on a local file, but possible: finish it byte-exactly.
    if (bytesWritten < total)
      await handle.write(Buffer.concat(buffers).subarray(bytesWritten), 0, total - bytesWritten, offset + bytesWritten);
    offset += total;
  };
  const ahead = new ReadAhead(inputs, Boolean(options.hashContents));
  const hashes: Buffer[] = [];
  try {
    const central: CentralRecord[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!;
      const name = Buffer.from(input.name, 'utf8');
      const flags = FLAG_DATA_DESCRIPTOR | (/^[\x20-\x7e]*$/.test(input.name) ? 0 : FLAG_UTF8);
      const record: CentralRecord = { name, flags, crc: 0, compressed: 0, size: 0, offset };
      const prepared = await ahead.take(i);
      if ('data' in prepared) {
        Object.assign(record, { crc: prepared.crc, compressed: prepared.data.length, size: prepared.size });
        await write(localHeader(record), prepared.data, dataDescriptor(record));
        if (prepared.sha256) hashes.push(prepared.sha256);
      } else {
        await write(localHeader(record));
        const streamed = await streamCompressed(prepared.stream, Boolean(options.hashContents), write);
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
    removeOnSignal();
  }
}

/** A large file, read and compressed piece by piece straight into the archive. */
async function streamCompressed(
  file: string,
  hash: boolean,
  write: (chunk: Buffer) => Promise<void>,
): Promise<{ crc: number; size: number; compressed: number; sha256: Buffer | undefined }> {
  let crc = 0;
  let size = 0;
  let compressed = 0;
  const sha256 = hash ? createHash('sha256') : undefined;
  const deflate = createDeflateRaw({ chunkSize: OUTPUT_CHUNK });
  const source = createReadStream(file);
  source.on('data', (chunk) => {
    crc = crc32(chunk as Buffer, crc);
    size += chunk.length;
    sha256?.update(chunk);
  });
  source.on('error', (err) => deflate.destroy(err));
  source.pipe(deflate);
  for await (const chunk of deflate) {
    compressed += (chunk as Buffer).length;
    await write(chunk as Buffer);
  }
  return { crc, size, compressed, sha256: sha256?.digest() };
}

/**
 * Compresses the inputs ahead of the writer, in order, at most READ_AHEAD_FILES at a time; as
 * files above STREAM_ABOVE are left to stream, that also bounds the memory it holds. Files on
 * disk are read into buffers reused round-robin: on some machines first touching fresh memory
 * costs more than reading the file.
 */
class ReadAhead {
  private readonly jobs = new Map<number, Promise<Prepared>>();
  /** One per job that can be in hand: job i uses slot i mod the count, free again once taken. */
  private readonly slots: Buffer[] = Array.from({ length: READ_AHEAD_FILES + 1 }, () => Buffer.alloc(0));
  private next = 0;

  constructor(
    private readonly inputs: readonly ZipInput[],
    private readonly hash: boolean,
  ) {}

  async take(index: number): Promise<Prepared> {
    for (; this.next < this.inputs.length && this.next <= index + READ_AHEAD_FILES; this.next++) {
      const job = this.prepare(this.inputs[this.next]!, this.next % this.slots.length);
      job.catch(() => undefined); // awaited in turn below; never an unhandled rejection meanwhile
      this.jobs.set(this.next, job);
    }
    const prepared = await this.jobs.get(index)!;
    this.jobs.delete(index);
    return prepared;
  }

  private async prepare(input: ZipInput, slot: number): Promise<Prepared> {
    let data: Buffer;
    if (input.file) {
      const read = this.readInto(input.file, slot);
      if (read === 'stream') return { stream: input.file };
      data = read;
    } else {
      data = await input.read();
    }
    // Large files are compressed in the thread pool while this thread goes on; for small ones the
    // hand-over between threads costs more than compressing them here.
    const compressing =
      data.length > ASYNC_ABOVE ? deflateRawAsync(data, { chunkSize: OUTPUT_CHUNK }) : deflateRawSync(data);
    const sha256 = this.hash ? createHash('sha256').update(data).digest() : undefined;
    const crc = crc32(data);
    return { crc, size: data.length, sha256, data: await compressing };
  }

  private readInto(file: string, slot: number): Buffer | 'stream' {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > STREAM_ABOVE) return 'stream';
      if (this.slots[slot]!.length < size) this.slots[slot] = Buffer.allocUnsafe(Math.max(size, 64 * 1024));
      const buffer = this.slots[slot]!;
      let filled = 0;
      for (let n; filled < size && (n = readSync(fd, buffer, filled, size - filled, filled)) > 0;) filled += n;
      return buffer.subarray(0, filled);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Until the returned function is called, SIGINT or SIGTERM first removes `file`, then ends the
 * process as the signal would have.
 */
function removeOnInterrupt(file: string): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    void rm(file, { force: true }).finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
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
  b.writeUInt16LE(VERSION, 4); // made by
  b.writeUInt16LE(VERSION, 6); // needed to extract
  b.writeUInt16LE(r.flags, 8);
  b.writeUInt16LE(METHOD_DEFLATE, 10);
  b.writeUInt32LE(r.crc, 16);
  b.writeUInt32LE(r.compressed, 20);
  b.writeUInt32LE(r.size, 24);
  b.writeUInt16LE(r.name.length, 28);
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
