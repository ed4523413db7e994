import { existsSync, mkdirSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  answerWithoutDify,
  DAEMON_MAX_STORAGE_BYTES,
  LocalStorage,
  MAX_STORAGE_KEY_BYTES,
  storagePermissionOf,
} from '../../src/debug/local-backwards.js';
import { percentile, repeatStats } from '../../src/pipelines/invoke-stats.js';
import { tempDir } from '../helpers/plugin.js';

const hex = (s: string) => Buffer.from(s).toString('hex');

/** The replies one backwards invocation gets. */
function answer(storage: LocalStorage, invoke: Record<string, unknown>) {
  const replies: { event: string; data: unknown; message?: string }[] = [];
  answerWithoutDify(storage)(invoke, (event, data, message) =>
    replies.push({ event, data, ...(message !== undefined ? { message } : {}) }),
  );
  return replies;
}

/** Storage as a manifest with `storage: {enabled: true, size}` gets it. */
const enabled = (dir: string, size = 1024 * 1024) => new LocalStorage(dir, { enabled: true, size });

/** One storage call's first reply. */
const caller = (storage: LocalStorage) => (request: Record<string, unknown>) =>
  answer(storage, { type: 'storage', request })[0];

describe('storage emulation', () => {
  it('answers get, set, del and exist in the daemon shapes', async () => {
    const storage = enabled(path.join(await tempDir(), '.dify', 'storage'));
    const call = (request: Record<string, unknown>) => answer(storage, { type: 'storage', request });
    expect(call({ opt: 'exist', key: 'a' })).toEqual([
      { event: 'response', data: { data: false } },
      { event: 'end', data: null },
    ]);
    expect(call({ opt: 'get', key: 'a' })[0]).toMatchObject({
      event: 'error',
      message: expect.stringMatching(/^load data failed, please check if the key is correct or you have not set it/),
    });
    expect(call({ opt: 'set', key: 'a', value: hex('héllo') })[0]).toEqual({ event: 'response', data: { data: 'ok' } });
    expect(call({ opt: 'get', key: 'a' })[0]).toEqual({ event: 'response', data: { data: hex('héllo') } });
    expect(call({ opt: 'exist', key: 'a' })[0]).toEqual({ event: 'response', data: { data: true } });
    expect(call({ opt: 'del', key: 'a' })[0]).toEqual({ event: 'response', data: { data: 'ok' } });
    expect(call({ opt: 'exist', key: 'a' })[0]).toEqual({ event: 'response', data: { data: false } });
  });

  it('refuses malformed requests, and keys that name no value', async () => {
    const dir = path.join(await tempDir(), 'storage');
    const call = caller(enabled(dir));
    expect(call({ opt: 'set', key: 'a', value: 'zz' })).toMatchObject({
      event: 'error',
      message: expect.stringMatching(/^decode data failed/),
    });
    expect(call({ opt: 'drop', key: 'a' })).toMatchObject({
      event: 'error',
      message: expect.stringMatching(/unknown storage operation/),
    });
    expect(call({ opt: 'get' })).toMatchObject({ event: 'error', message: expect.stringMatching(/without a key/) });
    for (const key of ['', '.', '/', './'])
      expect(call({ opt: 'set', key, value: '00' })).toMatchObject({
        event: 'error',
        message: expect.stringMatching(/names no value/),
      });
    for (const key of ['a/b', '*', '.hidden']) expect(call({ opt: 'set', key, value: '00' })?.event).toBe('response');
    expect(readdirSync(dir).sort()).toEqual(['%2A', '%2Ehidden', 'a%2Fb']);
  });
});

describe('storage emulation: what the daemon refuses', () => {
  it('refuses every storage call when the manifest does not enable storage, naming the fix', async () => {
    const dir = path.join(await tempDir(), 'storage');
    for (const permission of [
      { enabled: false, size: 0 },
      { enabled: false, size: 4096 },
    ])
      for (const request of [
        { opt: 'set', key: 'a', value: '00' },
        { opt: 'get', key: 'a' },
        { opt: 'exist', key: 'a' },
      ])
        expect(caller(new LocalStorage(dir, permission))(request)).toEqual({
          event: 'error',
          data: null,
          message: `permission denied, you need to enable storage access in plugin manifest (add resource.permission.storage: {enabled: true, size: ${permission.size || 1048576}} to manifest.yaml)`,
        });
    expect(existsSync(dir)).toBe(false);
  });

  it('reads the permission from the manifest', () => {
    const manifest = (storage: unknown) => ({ resource: { memory: 1, permission: { storage } } });
    expect(storagePermissionOf(manifest({ enabled: true, size: 2048 }))).toEqual({ enabled: true, size: 2048 });
    expect(storagePermissionOf(manifest({ enabled: 'yes', size: '2048' }))).toEqual({ enabled: false, size: 0 });
    expect(storagePermissionOf({ resource: { permission: {} } })).toEqual({ enabled: false, size: 0 });
    expect(storagePermissionOf(undefined)).toEqual({ enabled: false, size: 0 });
  });

  it('refuses keys holding .., // or a backslash once cleaned as Go cleans paths, with the daemon texts', async () => {
    const dir = path.join(await tempDir(), 'storage');
    const call = caller(enabled(dir));
    const traversal = 'invalid key: path traversal attempt detected';
    for (const key of ['..', '../x', 'a/../../x', 'a..b', 'a\\b']) {
      expect(call({ opt: 'set', key, value: '00' })).toMatchObject({ message: `save data failed: ${traversal}` });
      expect(call({ opt: 'exist', key })).toMatchObject({ message: `exist data failed: ${traversal}` });
      expect(call({ opt: 'del', key })).toMatchObject({ message: `delete data failed: ${traversal}` });
      expect(call({ opt: 'get', key })).toMatchObject({
        message: 'load data failed, please check if the key is correct or you have not set it',
      });
    }
    expect(existsSync(dir)).toBe(false);
    // path.Clean leaves no `//`, and `a/../b` is `b`: the daemon takes both, as one value with its clean form
    expect(call({ opt: 'set', key: 'x//y', value: hex('1') })?.event).toBe('response');
    expect(call({ opt: 'get', key: 'x/y' })).toEqual({ event: 'response', data: { data: hex('1') } });
    expect(call({ opt: 'set', key: 'a/../b', value: hex('2') })?.event).toBe('response');
    expect(call({ opt: 'get', key: 'b' })).toEqual({ event: 'response', data: { data: hex('2') } });
    expect(readdirSync(dir).sort()).toEqual(['b', 'x%2Fy']);
  });

  it('sets keys of up to 256 bytes, the daemon rule, even when too long for a file name', async () => {
    const dir = path.join(await tempDir(), 'storage');
    const call = caller(enabled(dir));
    // 256 bytes, 768 characters once percent-encoded: stored under its hash
    const longest = 'x' + 'é'.repeat(127) + 'x';
    expect(Buffer.byteLength(longest)).toBe(MAX_STORAGE_KEY_BYTES);
    expect(call({ opt: 'set', key: longest, value: hex('v') })?.event).toBe('response');
    expect(call({ opt: 'get', key: longest })).toEqual({ event: 'response', data: { data: hex('v') } });
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^%%[0-9a-f]{64}$/)]);
    expect(call({ opt: 'set', key: 'k'.repeat(MAX_STORAGE_KEY_BYTES + 1), value: '00' })).toMatchObject({
      event: 'error',
      message: 'save data failed: key length must be less than 256 characters',
    });
    // no length rule on the other operations, as in the daemon
    expect(call({ opt: 'exist', key: 'k'.repeat(1000) })).toEqual({ event: 'response', data: { data: false } });
  });

  it('counts the stored bytes against the manifest size: an overwrite counts its growth, a delete frees', async () => {
    const dir = path.join(await tempDir(), 'storage');
    const call = caller(enabled(dir, 1024));
    expect(call({ opt: 'set', key: 'a', value: '00'.repeat(1000) })?.event).toBe('response');
    // 1000 + 25 > 1024
    expect(call({ opt: 'set', key: 'b', value: '00'.repeat(25) })).toMatchObject({
      event: 'error',
      message: expect.stringMatching(
        /^save data failed: allocated size is greater than max storage size \(1025 bytes .* over 1024; 1000 bytes stored in .*delete keys, or add resource\.permission\.storage: \{enabled: true, size: 1025\} to manifest\.yaml\)$/,
      ),
    });
    expect(call({ opt: 'exist', key: 'b' })).toEqual({ event: 'response', data: { data: false } });
    // replacing a's 1000 bytes by 1024 adds 24: exactly the size
    expect(call({ opt: 'set', key: 'a', value: '00'.repeat(1024) })?.event).toBe('response');
    expect(call({ opt: 'set', key: 'b', value: '00' })?.event).toBe('error');
    expect(call({ opt: 'del', key: 'a' })?.event).toBe('response');
    expect(call({ opt: 'set', key: 'b', value: '00'.repeat(1024) })?.event).toBe('response');
  });

  it('counts what an earlier run left in the folder, once', async () => {
    const dir = path.join(await tempDir(), 'storage');
    expect(caller(enabled(dir, 1024))({ opt: 'set', key: 'old', value: '00'.repeat(1000) })?.event).toBe('response');
    writeFileSync(path.join(dir, '.left-over.tmp'), Buffer.alloc(5000)); // a temporary file is no value
    const later = caller(enabled(dir, 1024));
    expect(later({ opt: 'set', key: 'new', value: '00'.repeat(24) })?.event).toBe('response');
    expect(later({ opt: 'set', key: 'more', value: '00' })?.event).toBe('error');
  });

  it("caps a plugin at the daemon's default 100 MiB whatever the manifest says", async () => {
    const dir = path.join(await tempDir(), 'storage');
    mkdirSync(dir);
    // a sparse file stands for 100 MiB stored by earlier runs
    writeFileSync(path.join(dir, 'filled'), '');
    truncateSync(path.join(dir, 'filled'), DAEMON_MAX_STORAGE_BYTES);
    expect(caller(enabled(dir, 1024 ** 3))({ opt: 'set', key: 'k', value: '00' })).toMatchObject({
      event: 'error',
      message: expect.stringMatching(/PERSISTENCE_STORAGE_MAX_SIZE caps a plugin at 104857600 bytes: delete keys\)$/),
    });
  });

  it('refuses to delete a key never set, as the daemon fails to size it', async () => {
    const call = caller(enabled(path.join(await tempDir(), 'storage')));
    expect(call({ opt: 'del', key: 'nope' })).toMatchObject({
      event: 'error',
      message: expect.stringMatching(/^delete data failed: no key "nope"/),
    });
  });
});

describe('other backwards invocations', () => {
  it.each([
    ['llm', 'model invocation is not available without Dify'],
    ['text_embedding', 'model invocation is not available without Dify'],
    ['app', 'app invocation is not available without Dify'],
    ['upload_file', 'file upload is not available without Dify'],
    ['something_new', '"something_new" invocation is not available without Dify'],
  ])('%s: an error naming it', async (type, text) => {
    const replies = answer(enabled(await tempDir()), { type, request: {} });
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ event: 'error', data: null });
    expect(replies[0]!.message).toContain(text);
  });
});

describe('--repeat figures', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([50, 95, 99, 100].map((p) => percentile(values, p))).toEqual([50, 95, 99, 100]);
    expect(percentile([], 50)).toBe(0);
    expect(repeatStats([30, 10, 20], 1, 2, 40)).toEqual({
      count: 3,
      errors: 1,
      concurrency: 2,
      latency_ms: { p50: 20, p95: 30, p99: 30, max: 30 },
      duration_ms: 40,
      throughput_per_s: 75,
    });
  });
});
