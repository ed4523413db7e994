import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { get } from '../project/model.js';
import { DEFAULT_STORAGE_SIZE, STORAGE_RANGE } from '../project/permissions.js';
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

/** The longest file name of a key (percent-encoded), leaving room for the temporary `.<name>.tmp`. */
const MAX_FILE_NAME = 250;
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

/**
 * The plugin's storage permission as its manifest declares it (`resource.permission.storage`):
 * the daemon answers no storage call without `enabled: true`, and counts `size` bytes as the
 * plugin's whole storage (dify-plugin-daemon `pkg/entities/plugin_entities/plugin_declaration.go`,
 * AllowInvokeStorage and PluginPermissionStorageRequirement).
 */
export interface StoragePermission {
  enabled: boolean;
  /** Bytes; 0 when the manifest gives none (the daemon's manifest check wants 1024 to 1 GiB). */
  size: number;
}

export function storagePermissionOf(manifest: unknown): StoragePermission {
  const storage = get(manifest, 'resource', 'permission', 'storage');
  const size = get(storage, 'size');
  return {
    enabled: get(storage, 'enabled') === true,
    size: typeof size === 'number' && Number.isSafeInteger(size) && size > 0 ? size : 0,
  };
}

/**
 * The daemon's own cap on a plugin's storage, under the manifest's size: the default of
 * PERSISTENCE_STORAGE_MAX_SIZE (dify-plugin-daemon `internal/types/app/default.go`); an instance
 * may set another.
 */
export const DAEMON_MAX_STORAGE_BYTES = 100 * 1024 * 1024;
/** The daemon refuses to set a longer key, in bytes (`internal/core/persistence/persistence.go`, Save). */
export const MAX_STORAGE_KEY_BYTES = 256;

/** The hint every refusal for want of permission or room ends with. */
const permissionFix = (size: number) =>
  `add resource.permission.storage: {enabled: true, size: ${size}} to manifest.yaml`;

/**
 * Go's `path.Clean`, which the daemon applies to a key before looking for a traversal and before
 * making it a path (`internal/core/persistence/persistence.go`, `wrapper.go`): Node's normalize
 * differs only in keeping a trailing slash.
 */
function goPathClean(key: string): string {
  const normal = path.posix.normalize(key);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/**
 * One file per key in `dir` (created on the first `set`), refusing what the daemon refuses
 * (dify-plugin-daemon `internal/core/io_tunnel/backwards_invocation/task.go`, checkPermission and
 * executeDifyInvocationStorageTask; `internal/core/persistence/persistence.go`), with its error texts.
 */
export class LocalStorage {
  /** Bytes stored in `dir`, as the daemon's per-plugin total: counted once, on the first need. */
  private total: number | undefined;

  constructor(
    readonly dir: string,
    readonly permission: StoragePermission,
  ) {}

  /**
   * The file of `key`. The daemon stores a key at the path it cleans to (`wrapper.go`), so `a//b`
   * and `a/b` are one value; the name is percent-encoded, so no key names a path outside `dir`,
   * and a name too long for a file system is replaced by its hash.
   */
  private fileOf(key: string): string {
    const id = goPathClean(key).replace(/^\/+/, '');
    // An empty key, `.` or `/` is the daemon's storage folder of the plugin itself: no value.
    if (id === '' || id === '.')
      throw new Error(
        `storage key ${JSON.stringify(key)} names no value (it is the storage folder itself once cleaned as a path)`,
      );
    // encodeURIComponent leaves `.`, so a leading one is encoded too (no `.` or `..` names, and
    // none starts with the dot of a temporary file).
    const name = encodeURIComponent(id).replace(/^\./, '%2E').replaceAll('*', '%2A');
    // A name and its `.<name>.tmp` must fit the 255 bytes of a file name; `%%` starts no encoded name.
    if (name.length <= MAX_FILE_NAME) return path.join(this.dir, name);
    return path.join(this.dir, `%%${createHash('sha256').update(id).digest('hex')}`);
  }

  /** The sizes of the values in `dir`, summed once: later calls keep the sum up to date. */
  private stored(): number {
    if (this.total !== undefined) return this.total;
    let total = 0;
    if (existsSync(this.dir))
      for (const entry of readdirSync(this.dir, { withFileTypes: true }))
        if (entry.isFile() && !entry.name.startsWith('.')) total += statSync(path.join(this.dir, entry.name)).size;
    return (this.total = total);
  }

  /** The reply data of one storage request, or an Error whose message the plugin gets. */
  handle(request: Record<string, unknown>): { data: unknown } {
    if (!this.permission.enabled)
      throw new Error(
        `permission denied, you need to enable storage access in plugin manifest (${permissionFix(this.permission.size || DEFAULT_STORAGE_SIZE)})`,
      );
    const { opt, key, value } = request;
    if (typeof key !== 'string') throw new Error('storage request without a key');
    const failed = OPERATION_FAILED[String(opt)];
    if (failed === undefined)
      throw new Error(`unknown storage operation ${JSON.stringify(opt)} (get, set, del or exist)`);
    switch (opt) {
      case 'get': {
        // The daemon answers every failed `get` with one text, a refused key included.
        if (isTraversal(key)) throw new Error(LOAD_FAILED);
        const file = this.fileOf(key);
        if (!existsSync(file)) throw new Error(`${LOAD_FAILED} (no key ${JSON.stringify(key)} in ${this.dir})`);
        return { data: readFileSync(file).toString('hex') };
      }
      case 'set':
        return this.set(key, value);
      case 'del': {
        refuseTraversal(key, failed);
        const file = this.fileOf(key);
        // The daemon takes the value's size before deleting it, and fails when there is none.
        if (!existsSync(file)) throw new Error(`${failed}: no key ${JSON.stringify(key)} in ${this.dir}`);
        const total = this.stored();
        const size = statSync(file).size;
        rmSync(file, { force: true });
        this.total = total - size;
        return { data: 'ok' };
      }
      default:
        refuseTraversal(key, failed);
        return { data: existsSync(this.fileOf(key)) };
    }
  }

  private set(key: string, value: unknown): { data: unknown } {
    if (typeof value !== 'string' || !/^(?:[0-9a-f]{2})*$/i.test(value))
      throw new Error('decode data failed: the value is not hex');
    refuseTraversal(key, OPERATION_FAILED.set!);
    if (Buffer.byteLength(key) > MAX_STORAGE_KEY_BYTES)
      throw new Error('save data failed: key length must be less than 256 characters');
    const bytes = value.length / 2;
    if (bytes > MAX_STORAGE_VALUE_BYTES)
      throw new Error(`value larger than ${MAX_STORAGE_VALUE_BYTES / 1024 / 1024} MiB (local storage limit)`);
    const file = this.fileOf(key);
    // persistence.go Save: the new value's size less the one it replaces, against the manifest's
    // size and the daemon's own cap. (The daemon writes the value before it checks, and keeps it
    // though the call failed; here a refused value is not written.)
    const total = this.stored();
    const after = total + bytes - (existsSync(file) ? statSync(file).size : 0);
    const limit = Math.min(this.permission.size, DAEMON_MAX_STORAGE_BYTES);
    if (after > limit) {
      const fix =
        limit < this.permission.size
          ? `the daemon's default PERSISTENCE_STORAGE_MAX_SIZE caps a plugin at ${limit} bytes: delete keys`
          : `delete keys, or ${permissionFix(Math.max(after, STORAGE_RANGE.min))}`;
      throw new Error(
        `save data failed: allocated size is greater than max storage size (${after} bytes with this value, over ${limit}; ${total} bytes stored in ${this.dir}; ${fix})`,
      );
    }
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
    this.total = after;
    return { data: 'ok' };
  }
}

/** How the daemon begins the error of each operation (task.go, executeDifyInvocationStorageTask). */
const OPERATION_FAILED: Record<string, string> = {
  get: 'load data failed',
  set: 'save data failed',
  del: 'delete data failed',
  exist: 'exist data failed',
};
/**
 * persistence.go checkPathTraversal, on every operation: a key that still holds `..`, `//` or a
 * backslash once cleaned. (`path.Clean` leaves no `//`; `a/../b` cleans to `b` and is taken.)
 */
const isTraversal = (key: string) => /\.\.|\/\/|\\/.test(goPathClean(key));

function refuseTraversal(key: string, failed: string): void {
  if (isTraversal(key)) throw new Error(`${failed}: invalid key: path traversal attempt detected`);
}

/** The daemon's one answer to a `get` that fails, whatever the reason. */
const LOAD_FAILED = 'load data failed, please check if the key is correct or you have not set it';

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
