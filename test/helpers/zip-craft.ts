import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

/**
 * Builds ZIP archives byte by byte for tests of the reader, with any header field free to lie:
 * local headers, central directory and end record are written from these descriptions only
 * (APPNOTE 4.3), none of the code under test is used.
 */
export interface CraftEntry {
  /** The name in both headers (a Buffer for bytes that are not UTF-8). */
  name: string | Buffer;
  /** Uncompressed content (default empty). */
  data?: Buffer | string;
  /** 0 stored, 8 deflated (default), or any other number (the data is then written stored). */
  method?: number;
  /** The compressed bytes as written, instead of `data` compressed. */
  raw?: Buffer;
  flags?: number;
  /** Header values that lie; by default the true ones. */
  crc?: number;
  compressedSize?: number;
  size?: number;
  /** The local header's name, when it should differ from the central directory's. */
  localName?: string | Buffer;
  /**
   * Where the central record says the local header is: the index of an earlier entry (its header
   * is shared, and this entry writes nothing of its own), or an absolute offset.
   */
  sharesWith?: number;
  offset?: number;
}

export interface CraftOptions {
  comment?: string;
  /** Bytes written before the first entry. */
  prefix?: Buffer;
  /** Bytes written between the central directory and the end record. */
  beforeEnd?: Buffer;
  /** End-record values that lie. */
  count?: number;
  cdSize?: number;
  cdOffset?: number;
}

const bytes = (v: string | Buffer) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

export function craftZip(entries: readonly CraftEntry[], options: CraftOptions = {}): Buffer {
  const parts: Buffer[] = options.prefix ? [options.prefix] : [];
  const central: Buffer[] = [];
  const offsets: number[] = [];
  let offset = options.prefix?.length ?? 0;
  for (const e of entries) {
    const name = bytes(e.name);
    const data = bytes(e.data ?? '');
    const method = e.method ?? 8;
    const body = e.raw ?? (method === 8 ? deflateRawSync(data) : data);
    const crc = e.crc ?? crc32(data);
    const compressedSize = e.compressedSize ?? body.length;
    const size = e.size ?? data.length;
    let at = offset;
    if (e.sharesWith !== undefined) at = offsets[e.sharesWith]!;
    else {
      const localName = bytes(e.localName ?? name);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(e.flags ?? 0, 6);
      local.writeUInt16LE(method, 8);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(compressedSize, 18);
      local.writeUInt32LE(size, 22);
      local.writeUInt16LE(localName.length, 26);
      parts.push(local, localName, body);
      offset += 30 + localName.length + body.length;
    }
    offsets.push(at);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(0x031e, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(e.flags ?? 0, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(compressedSize, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(e.offset ?? at, 42);
    central.push(cd, name);
  }
  const cd = Buffer.concat(central);
  const comment = Buffer.from(options.comment ?? '', 'utf8');
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(options.count ?? entries.length, 8);
  eocd.writeUInt16LE(options.count ?? entries.length, 10);
  eocd.writeUInt32LE(options.cdSize ?? cd.length, 12);
  eocd.writeUInt32LE(options.cdOffset ?? offset, 16);
  eocd.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...parts, cd, options.beforeEnd ?? Buffer.alloc(0), eocd, comment]);
}

/** Every file under `dir` as stored entries (no directory entries), sorted: a valid plugin to build hostile ones from. */
export function filesOf(dir: string): CraftEntry[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort()
    .map((name) => ({ name, data: readFileSync(path.join(dir, ...name.split('/'))), method: 0 }));
}
