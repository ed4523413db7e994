import { closeSync, lstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { printableJson, printableLines } from '../../diagnostics/excerpt.js';
import { UserError } from '../../diagnostics/user-error.js';
import { whyUnreadable } from '../../project/file-kind.js';
import { isObject } from '../../project/model.js';

/** The most a plugin may send of one blob: more is not saved (the rest of the file is left out). */
export const MAX_BLOB_BYTES = 256 * 1024 * 1024;
/**
 * Blobs begun and not ended at once, each an open file: the SDK sends one blob's chunks after
 * the other, so more is a plugin run amok, stopped before it uses up the file descriptors.
 */
export const MAX_OPEN_BLOBS = 16;

const EXTENSIONS: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'image/svg+xml': '.svg',
  'application/pdf': '.pdf',
  'application/json': '.json',
  'text/plain': '.txt',
  'text/markdown': '.md',
  'text/csv': '.csv',
  'text/html': '.html',
  'audio/mpeg': '.mp3',
  'audio/wav': '.wav',
};

/**
 * Tool messages (dify-plugin-sdks `src/dify_plugin/entities/invoke_message.py`) as a person reads
 * them: text as it streams, JSON pretty-printed, links, variables and logs one line each, blobs
 * saved under `saveDir`. The SDK sends every blob as `blob_chunk` messages (base64, 8 KiB each,
 * then one with `end`; dify-plugin-sdks `src/dify_plugin/plugin.py`), which are written to the
 * file as they come. Everything the plugin wrote is printed through printableLines/printableJson:
 * its control characters are shown, never obeyed.
 */
export class ToolMessageRenderer {
  /** Whether the output so far ends with a line break (text messages are joined as they come). */
  private atLineStart = true;
  private readonly blobs = new Map<string, { file: string; fd: number; bytes: number; dropped: boolean }>();
  private blobCount = 0;
  readonly saved: string[] = [];

  constructor(
    private readonly write: (text: string) => void,
    private readonly saveDir: string,
    /** How saved paths are shown (relative to the working directory). */
    private readonly show: (file: string) => string,
  ) {}

  message(m: Record<string, unknown>): void {
    const body = (typeof m.message === 'object' && m.message !== null ? m.message : {}) as Record<string, unknown>;
    const meta = (typeof m.meta === 'object' && m.meta !== null ? m.meta : {}) as Record<string, unknown>;
    switch (m.type) {
      case 'text':
        return this.text(printableLines(String(body.text ?? '')));
      case 'link':
        return this.line(`link: ${printableLines(String(body.text ?? ''))}`);
      case 'image':
      case 'image_link':
        return this.line(`image: ${printableLines(String(body.text ?? ''))}`);
      case 'json':
        return this.line(printableJson(body.json_object ?? null, 2));
      case 'variable': {
        const name = printableLines(String(body.variable_name ?? ''));
        // A streamed variable arrives as string pieces (the SDK requires a string when `stream` is set).
        return this.line(`variable ${name} ${body.stream ? '+=' : '='} ${printableJson(body.variable_value ?? null)}`);
      }
      case 'log': {
        const status = printableLines(String(body.status ?? ''));
        const error = body.error ? `: ${printableLines(String(body.error))}` : '';
        return this.line(`log [${status}] ${printableLines(String(body.label ?? ''))}${error}`);
      }
      case 'blob_chunk':
        return this.blobChunk(body, meta);
      case 'blob': {
        // Sent whole only by other runtimes; decoded as the SDK decodes it.
        const bytes = Buffer.from(String(body.blob ?? ''), 'base64');
        const key = `whole-${this.blobCount}`;
        this.blobChunk({ id: key, blob: bytes.toString('base64'), end: false }, meta);
        return this.blobChunk({ id: key, blob: '', end: true }, meta);
      }
      default:
        return this.line(`[${printableLines(String(m.type))}] ${printableJson(m.message ?? null)}`);
    }
  }

  /** After the last message: a final line break, and any blob left unfinished closed. */
  finish(): void {
    for (const id of [...this.blobs.keys()]) this.closeBlob(id, true);
    if (!this.atLineStart) this.write('\n');
    this.atLineStart = true;
  }

  private text(text: string): void {
    if (!text) return;
    this.write(text);
    this.atLineStart = text.endsWith('\n');
  }

  private line(text: string): void {
    if (!this.atLineStart) this.write('\n');
    this.write(text + '\n');
    this.atLineStart = true;
  }

  /** Throws a UserError when the blob cannot be saved (the invocation then ends with it). */
  private blobChunk(body: Record<string, unknown>, meta: Record<string, unknown>): void {
    const id = String(body.id ?? '');
    let blob = this.blobs.get(id);
    if (!blob) {
      if (this.blobs.size >= MAX_OPEN_BLOBS)
        throw new UserError(`the plugin sent more than ${MAX_OPEN_BLOBS} blobs at once, none of them ended`);
      const file = this.saving(() => this.newFile(meta));
      blob = { file, fd: this.saving(() => openSync(file, 'wx')), bytes: 0, dropped: false };
      this.blobs.set(id, blob);
    }
    const bytes = Buffer.from(String(body.blob ?? ''), 'base64');
    if (blob.bytes + bytes.length > MAX_BLOB_BYTES) blob.dropped = true;
    else if (bytes.length) {
      const fd = blob.fd;
      this.saving(() => writeSync(fd, bytes));
      blob.bytes += bytes.length;
    }
    if (body.end === true) this.closeBlob(id, false);
  }

  /** A file system call for a blob; its failure (no space, no permission) said in one line. */
  private saving<T>(call: () => T): T {
    try {
      return call();
    } catch (err) {
      throw new UserError(
        `cannot save the plugin's blob in ${printableLines(this.show(this.saveDir))}: ${whyUnreadable(err)}`,
        'pass --save-dir with a folder that can take it',
      );
    }
  }

  private closeBlob(id: string, unfinished: boolean): void {
    const blob = this.blobs.get(id)!;
    this.blobs.delete(id);
    closeSync(blob.fd);
    this.saved.push(blob.file);
    const notes = [
      `${blob.bytes} bytes`,
      ...(blob.dropped ? [`cut at ${MAX_BLOB_BYTES / 1024 / 1024} MiB`] : []),
      ...(unfinished ? ['incomplete: the plugin sent no end'] : []),
    ];
    this.line(`saved ${printableLines(this.show(blob.file))} (${notes.join(', ')})`);
  }

  /** A file name in saveDir that is not taken: the plugin's file name (made safe) or blob-N. */
  private newFile(meta: Record<string, unknown>): string {
    this.blobCount++;
    mkdirSync(this.saveDir, { recursive: true });
    const mime = typeof meta.mime_type === 'string' ? meta.mime_type.toLowerCase() : '';
    // `filename` from tools, `file_name` from datasources (dify-plugin-sdks create_blob_message callers)
    const named = typeof meta.filename === 'string' ? meta.filename : meta.file_name;
    const given = typeof named === 'string' ? safeName(named) : '';
    const name = given || `blob-${this.blobCount}${EXTENSIONS[mime] ?? '.bin'}`;
    const ext = path.extname(name);
    const stem = name.slice(0, name.length - ext.length);
    // Never over a file already there, a user's or an earlier run's: the next free number.
    for (let n = 0; ; n++) {
      const file = path.join(this.saveDir, n === 0 ? name : `${stem}-${n}${ext}`);
      // lstat: a link there, even one to nothing, is taken too (opening it with 'wx' fails).
      if (!lstatSync(file, { throwIfNoEntry: false })) return file;
    }
  }
}

/** A plugin's file name as a plain name in one folder: no path, no controls, no leading dot. */
function safeName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  return base
    .replace(/[\u0000-\u001f\u007f-\u009f:*?"<>|]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 120);
}

/**
 * One website crawl message (dify-plugin-sdks WebsiteCrawlMessage, `{result: WebSiteInfo}`): its
 * progress as a line, then the pages crawled so far, pretty-printed, once there are any.
 */
export function crawlText(m: Record<string, unknown>): string {
  const r = isObject(m.result) ? m.result : {};
  const pages = Array.isArray(r.web_info_list) ? r.web_info_list : [];
  const status = printableLines(String(r.status ?? ''));
  const line = `crawl ${status || 'status unknown'}: ${Number(r.completed ?? 0)} of ${Number(r.total ?? 0)} pages\n`;
  return pages.length ? `${line}${printableJson(pages, 2)}\n` : line;
}

/** The `{result}` of online document pages or online drive files, pretty-printed. */
export function resultText(m: Record<string, unknown>): string {
  return `${printableJson(Object.hasOwn(m, 'result') ? m.result : m, 2)}\n`;
}

/** The usage a chunk reports (the last one carries it), as one line. */
export function chunkUsage(chunk: Record<string, unknown>): string | undefined {
  const usage = (chunk.delta as Record<string, unknown> | undefined)?.usage as Record<string, unknown> | undefined;
  if (!usage || typeof usage !== 'object') return undefined;
  return `tokens: ${Number(usage.prompt_tokens ?? 0)} prompt, ${Number(usage.completion_tokens ?? 0)} completion`;
}

/** A save folder that is a file cannot take blobs: said before the plugin starts. */
export function checkSaveDir(dir: string, shown: string): void {
  let stat;
  try {
    stat = statSync(dir, { throwIfNoEntry: false });
  } catch (err) {
    // ENOTDIR: a file on the way (`notes.txt/out`)
    throw new UserError(`--save-dir ${printableLines(shown)} cannot be a folder: ${whyUnreadable(err)}`);
  }
  if (stat && !stat.isDirectory()) throw new UserError(`--save-dir ${printableLines(shown)} is not a directory`);
}
