import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

/** One file to store: its name inside the archive and a way to read its bytes when needed. */
export interface ZipInput {
  name: string;
  read(): Promise<Buffer>;
}

export interface ZipWriteResult {
  bytes: number;
  files: number;
}

const VERSION = 20; // "2.0": Deflate, no ZIP64
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const METHOD_DEFLATE = 8;

interface CentralRecord {
  name: Buffer;
  flags: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
}

/**
 * Writes a ZIP the way the Go CLI lays out a `.difypkg` (daemon.md §3.5): entries in the order
 * given (callers sort them byte-wise), file entries only, Deflate, DOS time and date zero, no
 * extra fields, data descriptors, the UTF-8 flag only for non-ASCII names, an empty comment.
 * Nothing in it depends on the clock, the timezone or file modes, so equal input gives equal
 * bytes. Files are read and compressed one at a time into a temporary file beside `outPath`,
 * which is renamed into place only when complete: a failure never leaves a partial package.
 */
export async function writeZip(outPath: string, inputs: readonly ZipInput[], comment = ''): Promise<ZipWriteResult> {
  const tmp = path.join(path.dirname(outPath), `.${path.basename(outPath)}.${process.pid}.tmp`);
  const handle = await open(tmp, 'w', 0o644);
  let offset = 0;
  const write = async (buf: Buffer) => {
    await handle.write(buf, 0, buf.length, offset);
    offset += buf.length;
  };
  try {
    const central: CentralRecord[] = [];
    for (const input of inputs) {
      const data = await input.read();
      const name = Buffer.from(input.name, 'utf8');
      const flags = FLAG_DATA_DESCRIPTOR | (/^[\x20-\x7e]*$/.test(input.name) ? 0 : FLAG_UTF8);
      const compressed = deflateRawSync(data);
      const record: CentralRecord = { name, flags, crc: crc32(data), compressed: compressed.length, size: data.length, offset };
      await write(localHeader(record));
      await write(compressed);
      await write(dataDescriptor(record));
      central.push(record);
    }
    const centralStart = offset;
    for (const record of central) await write(centralHeader(record));
    await write(endOfCentralDirectory(central.length, offset - centralStart, centralStart, comment));
    await handle.close();
    await rename(tmp, outPath);
    return { bytes: offset, files: central.length };
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}

function localHeader(r: CentralRecord): Buffer {
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(VERSION, 4);
  b.writeUInt16LE(r.flags, 6);
  b.writeUInt16LE(METHOD_DEFLATE, 8);
  // time, date, crc and sizes stay zero: they follow in the data descriptor
  b.writeUInt16LE(r.name.length, 26);
  return Buffer.concat([b, r.name]);
}

function dataDescriptor(r: CentralRecord): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(0x08074b50, 0);
  b.writeUInt32LE(r.crc, 4);
  b.writeUInt32LE(r.compressed, 8);
  b.writeUInt32LE(r.size, 12);
  return b;
}

function centralHeader(r: CentralRecord): Buffer {
  const b = Buffer.alloc(46);
  b.writeUInt32LE(0x02014b50, 0);
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
  b.writeUInt32LE(0x06054b50, 0);
  b.writeUInt16LE(count, 8);
  b.writeUInt16LE(count, 10);
  b.writeUInt32LE(size, 12);
  b.writeUInt32LE(start, 16);
  b.writeUInt16LE(text.length, 20);
  return Buffer.concat([b, text]);
}
