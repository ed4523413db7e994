import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerWithoutDify, LocalStorage, MAX_STORAGE_KEY_BYTES } from '../../src/debug/local-backwards.js';
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

describe('storage emulation', () => {
  it('answers get, set, del and exist in the daemon shapes', async () => {
    const storage = new LocalStorage(path.join(await tempDir(), '.dify', 'storage'));
    const call = (request: Record<string, unknown>) => answer(storage, { type: 'storage', request });
    expect(call({ opt: 'exist', key: 'a' })).toEqual([
      { event: 'response', data: { data: false } },
      { event: 'end', data: null },
    ]);
    expect(call({ opt: 'get', key: 'a' })[0]).toMatchObject({
      event: 'error',
      message: expect.stringMatching(/never set/),
    });
    expect(call({ opt: 'set', key: 'a', value: hex('héllo') })[0]).toEqual({ event: 'response', data: { data: 'ok' } });
    expect(call({ opt: 'get', key: 'a' })[0]).toEqual({ event: 'response', data: { data: hex('héllo') } });
    expect(call({ opt: 'exist', key: 'a' })[0]).toEqual({ event: 'response', data: { data: true } });
    expect(call({ opt: 'del', key: 'a' })[0]).toEqual({ event: 'response', data: { data: 'ok' } });
    expect(call({ opt: 'exist', key: 'a' })[0]).toEqual({ event: 'response', data: { data: false } });
  });

  it('refuses what the daemon refuses, and keys that cannot be file names', async () => {
    const dir = path.join(await tempDir(), 'storage');
    const storage = new LocalStorage(dir);
    const call = (request: Record<string, unknown>) => answer(storage, { type: 'storage', request })[0];
    expect(call({ opt: 'set', key: 'a', value: 'zz' })).toMatchObject({
      event: 'error',
      message: expect.stringMatching(/not hex/),
    });
    expect(call({ opt: 'set', key: 'x'.repeat(MAX_STORAGE_KEY_BYTES + 1), value: '00' })).toMatchObject({
      event: 'error',
      message: expect.stringMatching(/longer than/),
    });
    expect(call({ opt: 'drop', key: 'a' })).toMatchObject({
      event: 'error',
      message: expect.stringMatching(/unknown storage operation/),
    });
    expect(call({ opt: 'get' })).toMatchObject({ event: 'error', message: expect.stringMatching(/without a key/) });
    for (const key of ['..', '.', '../x', 'a/b', '*'])
      expect(call({ opt: 'set', key, value: '00' })?.event).toBe('response');
    expect(readdirSync(dir).sort()).toEqual(['%2A', '%2E', '%2E.', '%2E.%2Fx', 'a%2Fb']);
    expect(existsSync(path.join(dir, '..', 'x'))).toBe(false);
  });
});

describe('storage emulation: keys that look like file names', () => {
  it('setting a key leaves the key named after its temporary file alone', async () => {
    const dir = path.join(await tempDir(), 'storage');
    const storage = new LocalStorage(dir);
    const call = (request: Record<string, unknown>) => answer(storage, { type: 'storage', request })[0];
    expect(call({ opt: 'set', key: 'a.tmp', value: hex('kept') })?.event).toBe('response');
    expect(call({ opt: 'set', key: 'a', value: hex('new') })?.event).toBe('response');
    expect(call({ opt: 'get', key: 'a.tmp' })).toEqual({ event: 'response', data: { data: hex('kept') } });
    expect(call({ opt: 'get', key: 'a' })).toEqual({ event: 'response', data: { data: hex('new') } });
    expect(readdirSync(dir).sort()).toEqual(['a', 'a.tmp']);
  });

  it('refuses a key whose encoded file name would be too long, saying so', async () => {
    const storage = new LocalStorage(path.join(await tempDir(), 'storage'));
    // 100 bytes, 300 characters once percent-encoded
    const reply = answer(storage, { type: 'storage', request: { opt: 'set', key: '/'.repeat(100), value: '00' } })[0];
    expect(reply?.event).toBe('error');
    expect(reply?.message).toMatch(/^storage key too long: 300 characters/);
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
    const replies = answer(new LocalStorage(await tempDir()), { type, request: {} });
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
