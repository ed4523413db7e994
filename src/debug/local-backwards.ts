import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BackwardsReply } from './local-runner.js';

/**
 * Backwards invocations (the plugin calling Dify) without a Dify: the plugin's persistent storage
 * is emulated in a folder, one file per key; every other call is answered at once with an error
 * naming it, so that the plugin fails with a reason instead of waiting out the SDK's timeout.
 *
 * The replies have the daemon's shapes (dify-plugin-daemon
 * `internal/core/io_tunnel/backwards_invocation/task.go`, executeDifyInvocationStorageTask):
 * `get` answers `{"data": <hex>}`, `set` and `del` `{"data": "ok"}`, `exist` `{"data": <bool>}`;
 * values travel hex-encoded both ways (dify-plugin-sdks `src/dify_plugin/invocations/storage.py`).
 */

/** The longest key taken, in UTF-8 bytes: a key becomes a file name, which most systems cap at 255. */
export const MAX_STORAGE_KEY_BYTES = 200;
/** The longest file name of a key (percent-encoded), leaving room for the temporary `.<name>.tmp`. */
const MAX_STORAGE_FILE_NAME = 250;
/** The largest value stored (hex text is twice that): storage holds state, not files. */
export const MAX_STORAGE_VALUE_BYTES = 16 * 1024 * 1024;

/** What each backwards invocation type would have asked Dify for, to name it in the error. */
const CALL_NAMES: Record<string, string> = {
  tool: 'tool invocation',
  llm: 'model invocation',
  llm_structured_output: 'model invocation',
  text_embedding: 'model invocation',
  multimodal_embedding: 'model invocation',
  rerank: 'model invocation',
  multimodal_rerank: 'model invocation',
  tts: 'model invocation',
  speech2text: 'model invocation',
  moderation: 'model invocation',
  system_summary: 'model invocation',
  node_parameter_extractor: 'workflow node invocation',
  node_question_classifier: 'workflow node invocation',
  app: 'app invocation',
  fetch_app: 'app invocation',
  upload_file: 'file upload',
};

/** One file per key in `dir` (created on the first `set`). */
export class LocalStorage {
  constructor(readonly dir: string) {}

  /** The file of `key`: its name percent-encoded, so no key can name a path outside `dir`. */
  private fileOf(key: string): string {
    if (Buffer.byteLength(key) > MAX_STORAGE_KEY_BYTES)
      throw new Error(`storage key longer than ${MAX_STORAGE_KEY_BYTES} bytes`);
    if (key === '') throw new Error('storage key is empty');
    // encodeURIComponent leaves `.`, so a leading one is encoded too (no `.` or `..` names).
    const name = encodeURIComponent(key).replace(/^\./, '%2E').replaceAll('*', '%2A');
    // Encoded, a non-ASCII byte takes 3 characters: the name, and its `.<name>.tmp` beside it,
    // must still fit the 255 bytes of a file name.
    if (name.length > MAX_STORAGE_FILE_NAME)
      throw new Error(
        `storage key too long: ${name.length} characters once percent-encoded as a file name (at most ${MAX_STORAGE_FILE_NAME})`,
      );
    return path.join(this.dir, name);
  }

  /** The reply data of one storage request, or an Error whose message the plugin gets. */
  handle(request: Record<string, unknown>): { data: unknown } {
    const { opt, key, value } = request;
    if (typeof key !== 'string') throw new Error('storage request without a key');
    const file = this.fileOf(key);
    switch (opt) {
      case 'get':
        if (!existsSync(file))
          throw new Error(`load data failed: the key "${key}" was never set (local storage in ${this.dir})`);
        return { data: readFileSync(file).toString('hex') };
      case 'set': {
        if (typeof value !== 'string' || !/^(?:[0-9a-f]{2})*$/i.test(value))
          throw new Error('decode data failed: the value is not hex');
        if (value.length / 2 > MAX_STORAGE_VALUE_BYTES)
          throw new Error(`value larger than ${MAX_STORAGE_VALUE_BYTES / 1024 / 1024} MiB (local storage limit)`);
        mkdirSync(this.dir, { recursive: true });
        // Whole or not at all: written aside, then renamed over the old value. The name aside
        // starts with a dot, which no key's file does (see fileOf): never another key's value.
        const aside = path.join(this.dir, `.${path.basename(file)}.tmp`);
        try {
          writeFileSync(aside, Buffer.from(value, 'hex'));
          renameSync(aside, file);
        } catch (err) {
          rmSync(aside, { force: true });
          throw err;
        }
        return { data: 'ok' };
      }
      case 'del':
        rmSync(file, { force: true });
        return { data: 'ok' };
      case 'exist':
        return { data: existsSync(file) };
      default:
        throw new Error(`unknown storage operation ${JSON.stringify(opt)} (get, set, del or exist)`);
    }
  }
}

/** Answers backwards invocations: storage from `storage`, anything else with an error naming the call. */
export function answerWithoutDify(storage: LocalStorage) {
  return (invoke: Record<string, unknown>, reply: BackwardsReply): void => {
    const type = typeof invoke.type === 'string' ? invoke.type : String(invoke.type);
    if (type === 'storage') {
      try {
        const request = invoke.request;
        const answer = storage.handle(typeof request === 'object' && request !== null ? { ...request } : {});
        reply('response', answer);
        reply('end', null);
      } catch (err) {
        reply('error', null, (err as Error).message);
      }
      return;
    }
    const what = CALL_NAMES[type] ?? `"${type}" invocation`;
    reply(
      'error',
      null,
      `${what} is not available without Dify (backwards invocation "${type}"; dify plugin invoke emulates storage only)`,
    );
  };
}
