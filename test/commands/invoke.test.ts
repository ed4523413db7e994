import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { INVOKE_DEPS, invokeCommand } from '../../src/cli/commands/invoke.js';
import type { Io } from '../../src/cli/io.js';
import { PassThrough } from 'node:stream';
import { cliEnv, isAlive, runCli, testIo } from '../helpers/cli.js';
import { copyPlugin, EXAMPLE, pluginWith, REAL_FIXTURES, tempDir } from '../helpers/plugin.js';
import { FAKE_PYTHON, param, provider, tool } from '../helpers/tool-plugin.js';

const SECRET = 'sk-very-secret-4711';

const PROVIDER = provider(['greet', 'rich', 'storage', 'error', 'ask_llm', 'crash', 'stall']);

/** The example's manifest with `storage` enabled, 1024 bytes (the least the daemon's manifest check takes). */
const STORAGE_MANIFEST = readFileSync(path.join(EXAMPLE, 'manifest.yaml'), 'utf8').replace(
  'permission: {}',
  'permission:\n    storage: {enabled: true, size: 1024}',
);

let plugin = '';
beforeAll(async () => {
  plugin = await pluginWith({
    'manifest.yaml': STORAGE_MANIFEST,
    'provider/hello_world.yaml': PROVIDER,
    ...tool(
      'rich',
      param('name', 'string', 'required') +
        param('count', 'number') +
        param('loud', 'boolean') +
        param('mood', 'select', 'options: [{value: happy, label: {en_US: Happy}}, {value: sad, label: {en_US: Sad}}]'),
    ),
    ...tool('storage', param('key', 'string') + param('value', 'string') + param('delete', 'string')),
    ...tool('error', param('detail', 'string')),
    ...tool('ask_llm'),
    ...tool('crash'),
    ...tool('stall'),
  });
});

/** `dify plugin invoke <args>` in-process with the fake interpreter, run from a fresh directory. */
async function invoke(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const work = cwd ?? (await tempDir());
  const result = await runCli(['plugin', 'invoke', plugin, ...args, '--python', FAKE_PYTHON], {
    cwd: work,
    env: { FAKE_HEARTBEAT_MS: '200', TMPDIR: work, ...env },
  });
  return { ...result, cwd: work };
}

describe('dify plugin invoke tool', () => {
  it('sends the tool request and renders each kind of message, saving the image', async () => {
    const r = await invoke(
      ['tool', 'hello_world/rich', '--param', 'name=Ada', '--param', 'count=3', '--param', 'loud=true'],
      { DIFY_CREDENTIAL_API_KEY: SECRET },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // --param values converted to the declared types before sending; JSON pretty-printed
    expect(r.stdout).toBe(
      [
        'echo: {"name":"Ada","count":3,"loud":true}',
        '{',
        '  "credentials": {',
        '    "api_key": "****"',
        '  }',
        '}',
        'link: https://example.com/result',
        'variable answer = 42',
        'log [success] lookup',
        `saved ${path.join('invoke-output', 'blob-1.png')} (70 bytes)`,
        '',
      ].join('\n'),
    );
    const saved = /saved (\S+) \((\d+) bytes\)/.exec(r.stdout);
    expect(saved?.[1]).toBe(path.join('invoke-output', 'blob-1.png'));
    const png = readFileSync(path.join(r.cwd, saved![1]!));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBe(Number(saved![2]));
  });

  it('never overwrites a file in the save folder', async () => {
    const work = await tempDir();
    const first = await invoke(['tool', 'hello_world/rich', '--param', 'name=A', '--save-dir', 'out'], {}, work);
    const second = await invoke(['tool', 'hello_world/rich', '--param', 'name=A', '--save-dir', 'out'], {}, work);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(readdirSync(path.join(work, 'out')).sort()).toEqual(['blob-1-1.png', 'blob-1.png']);
  });

  it('--format json prints the raw messages, one JSON object per line', async () => {
    const r = await invoke(['tool', 'hello_world/greet', '--param', 'name=Ada', '--format', 'json']);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([{ type: 'text', message: { text: 'echo: {"name":"Ada"}' }, meta: null }]);
  });

  it('takes parameters from a YAML file, --param over it', async () => {
    const work = await tempDir();
    await writeFile(path.join(work, 'p.yaml'), 'name: Grace\ncount: 2\n');
    const r = await invoke(['tool', 'hello_world/rich', '--params', 'p.yaml', '--param', 'count=5'], {}, work);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('echo: {"name":"Grace","count":5}');
  });

  it('reads --params - from standard input', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: false });
    stdin.end('{"name": "Lin", "loud": false}');
    let stdout = '';
    const io: Io = {
      stdin,
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: () => true },
      env: cliEnv({ FAKE_HEARTBEAT_MS: '200' }),
      cwd: await tempDir(),
    };
    const code = await invokeCommand([plugin, 'tool', 'hello_world/rich'], { params: '-', python: FAKE_PYTHON }, io);
    expect(code).toBe(0);
    expect(stdout).toContain('echo: {"name":"Lin","loud":false}');
  });

  it('exits 1 with the plugin error', async () => {
    const r = await invoke(['tool', 'hello_world/error']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: the plugin failed: ValueError: boom');
  });
});

describe('dify plugin invoke: the plugin process', () => {
  it('exits 1 with its last stderr lines when it dies mid-request', async () => {
    const r = await invoke(['tool', 'hello_world/crash']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('RuntimeError: fake plugin crashed on purpose');
    expect(r.stderr).toContain('error: the plugin failed: the plugin process exited (code 3)');
  });

  it('is stopped by Ctrl-C while a request runs (exit 130), leaving nothing behind', async () => {
    const work = await tempDir();
    const log = path.join(work, 'received');
    const spy = path.join(work, 'spy.json');
    const { io, signals } = testIo({
      cwd: work,
      env: { FAKE_HEARTBEAT_MS: '200', FAKE_STALL_MS: '60000', FAKE_LOG_FILE: log, FAKE_SPY_FILE: spy, TMPDIR: work },
    });
    const ended = invokeCommand([plugin, 'tool', 'hello_world/stall'], { python: FAKE_PYTHON }, io);
    // once the plugin has the request, Ctrl-C
    await vi.waitFor(() => expect(existsSync(log)).toBe(true), { timeout: 5000, interval: 20 });
    signals.emit('SIGINT');
    await expect(ended).resolves.toBe(130);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    const { pid } = JSON.parse(readFileSync(spy, 'utf8')) as { pid: number };
    expect(isAlive(pid)).toBe(false);
  });
});

describe('dify plugin invoke: parameters checked before anything starts', () => {
  const cases: [string, string[], string][] = [
    ['missing', ['tool', 'hello_world/rich'], 'invoke/missing-parameter'],
    ['unknown', ['tool', 'hello_world/rich', '--param', 'name=A', '--param', 'nmae=B'], 'invoke/unknown-parameter'],
    ['number', ['tool', 'hello_world/rich', '--param', 'name=A', '--param', 'count=three'], 'invoke/wrong-type'],
    ['boolean', ['tool', 'hello_world/rich', '--param', 'name=A', '--param', 'loud=maybe'], 'invoke/wrong-type'],
    ['select', ['tool', 'hello_world/rich', '--param', 'name=A', '--param', 'mood=angry'], 'invoke/not-an-option'],
    ['tool', ['tool', 'hello_world/gret'], 'invoke/unknown-tool'],
    ['provider', ['tool', 'nope/greet'], 'invoke/unknown-tool'],
  ];
  it.each(cases)('%s', async (_, args, code) => {
    const spy = path.join(await tempDir(), 'spy.json');
    const r = await invoke(args, { FAKE_SPY_FILE: spy });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(code);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stderr).toContain('nothing was started');
    expect(existsSync(spy)).toBe(false); // the plugin never ran
    expect(r.stdout).toBe('');
  });

  it('points at the declaration in the tool file', async () => {
    const r = await invoke(['tool', 'hello_world/rich', '--param', 'name=A', '--param', 'mood=angry']);
    expect(r.stderr).toMatch(/tools\/rich\.yaml:\d+:\d+/);
    expect(r.stderr).toContain('use one of happy, sad');
  });
});

describe('dify plugin invoke: credentials', () => {
  it('takes them from DIFY_CREDENTIAL_<NAME> and masks them everywhere', async () => {
    for (const format of ['text', 'json']) {
      const r = await invoke(['tool', 'hello_world/rich', '--param', 'name=A', '--format', format], {
        DIFY_CREDENTIAL_API_KEY: SECRET,
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('api_key');
      expect(r.stdout).toContain('****');
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    }
  });

  it('takes them from the plugin .env, and warns about a required one missing', async () => {
    const missing = await invoke(['tool', 'hello_world/greet', '--param', 'name=A']);
    expect(missing.code).toBe(0);
    expect(missing.stderr).toContain(
      'warning: the provider requires the credential "api_key", which is not given (set DIFY_CREDENTIAL_API_KEY',
    );
    await writeFile(path.join(plugin, '.env'), `dify_credential_api_key=${SECRET}\n`);
    try {
      const r = await invoke(['tool', 'hello_world/rich', '--param', 'name=A']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('"api_key": "****"');
      expect(r.stdout).not.toContain(SECRET);
    } finally {
      await rm(path.join(plugin, '.env'));
    }
  });

  it('takes them from --credentials and masks them in errors too', async () => {
    const work = await tempDir();
    await writeFile(path.join(work, 'credentials.yaml'), `api_key: ${SECRET}\n`);
    const ok = await invoke(
      ['tool', 'hello_world/rich', '--param', 'name=A', '--credentials', 'credentials.yaml'],
      {},
      work,
    );
    expect(ok.stdout).toContain('"api_key": "****"');
    // a plugin that puts the secret in its error message
    const failed = await invoke(
      ['tool', 'hello_world/error', '--param', `detail=${SECRET}`, '--credentials', 'credentials.yaml'],
      {},
      work,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('error: the plugin failed: ValueError: boom: ****');
    expect(failed.stdout + failed.stderr).not.toContain(SECRET);
  });

  it('are never packed: credentials.yaml and .dify/ are left out by default', async () => {
    const dir = await pluginWith({ 'credentials.yaml': `api_key: ${SECRET}\n`, '.dify/storage/k': 'v' });
    const r = await runCli(['plugin', 'package', dir, '--list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ main\.py$/m); // the listing shows packed files so
    expect(r.stdout).not.toMatch(/ credentials\.yaml$/m);
    expect(r.stdout).not.toMatch(/ \.dify\//m);
  });
});

describe('dify plugin invoke: backwards invocations', () => {
  it('emulates storage in .dify/storage of the plugin directory', async () => {
    const set = await invoke(['tool', 'hello_world/storage', '--param', 'key=counter', '--param', 'value=7']);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('"set": "ok"');
    expect(set.stdout).toContain('"get": "7"');
    expect(set.stdout).toContain('"exist": true');
    expect(readFileSync(path.join(plugin, '.dify', 'storage', 'counter'), 'utf8')).toBe('7');
    // a second process reads what the first stored, then deletes it
    const again = await invoke(['tool', 'hello_world/storage', '--param', 'key=counter', '--param', 'delete=yes']);
    expect(again.stdout).toContain('"get": "7"');
    expect(again.stdout).toContain('"del": "ok"');
    expect(existsSync(path.join(plugin, '.dify', 'storage', 'counter'))).toBe(false);
  });

  it('refuses a key that climbs out as the daemon refuses it, storing nothing', async () => {
    const r = await invoke(['tool', 'hello_world/storage', '--param', 'key=../../escape', '--param', 'value=x']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"set": "error: save data failed: invalid key: path traversal attempt detected"');
    expect(r.stdout).toContain('"get": "error: load data failed, please check if the key is correct');
    expect(r.stdout).toContain('"exist": "error: exist data failed: invalid key: path traversal attempt detected"');
    expect(existsSync(path.join(plugin, 'escape'))).toBe(false);
    expect(readdirSync(path.join(plugin, '.dify', 'storage')).filter((f) => f.includes('escape'))).toEqual([]);
  });

  it('refuses storage to a plugin whose manifest does not enable it, naming the fix', async () => {
    const denied = await pluginWith({
      'provider/hello_world.yaml': provider(['storage']),
      ...tool('storage', param('key', 'string') + param('value', 'string')),
    });
    const r = await runCli(
      [
        'plugin',
        'invoke',
        denied,
        'tool',
        'hello_world/storage',
        '--param',
        'key=k',
        '--param',
        'value=v',
        '--python',
        FAKE_PYTHON,
      ],
      { cwd: await tempDir(), env: { FAKE_HEARTBEAT_MS: '200' } },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '"set": "error: permission denied, you need to enable storage access in plugin manifest (add resource.permission.storage: {enabled: true, size: 1048576} to manifest.yaml)"',
    );
    expect(existsSync(path.join(denied, '.dify'))).toBe(false);
  });

  it('counts what earlier runs stored against resource.permission.storage.size', async () => {
    const first = await invoke([
      'tool',
      'hello_world/storage',
      '--param',
      'key=big',
      '--param',
      'value=' + 'x'.repeat(1000),
    ]);
    expect(first.stdout).toContain('"set": "ok"');
    // a second process: 1000 bytes already stored, 100 more would pass the manifest's 1024
    const second = await invoke([
      'tool',
      'hello_world/storage',
      '--param',
      'key=more',
      '--param',
      'value=' + 'y'.repeat(100),
    ]);
    expect(second.stdout).toContain('"set": "error: save data failed: allocated size is greater than max storage size');
    expect(second.stdout).toContain('size: 1100}');
    const freed = await invoke(['tool', 'hello_world/storage', '--param', 'key=big', '--param', 'delete=yes']);
    expect(freed.stdout).toContain('"del": "ok"');
  });

  it('answers any other call with an error naming it instead of hanging', async () => {
    const r = await invoke(['tool', 'hello_world/ask_llm']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('llm failed: model invocation is not available without Dify');
  });
});

describe('dify plugin invoke model llm', () => {
  /** `model llm anthropic/claude-opus-4-8 --prompt "hi there"` of the real anthropic plugin, with the fake interpreter. */
  async function askAnthropic(work: string, env: Record<string, string>) {
    const dir = await copyPlugin(path.join(REAL_FIXTURES, 'anthropic'));
    return runCli(
      [
        'plugin',
        'invoke',
        dir,
        'model',
        'llm',
        'anthropic/claude-opus-4-8',
        '--prompt',
        'hi there',
        '--python',
        FAKE_PYTHON,
      ],
      { cwd: work, env: { FAKE_HEARTBEAT_MS: '200', TMPDIR: work, ...env } },
    );
  }

  it('prints the stream as it arrives, with the model credentials masked', async () => {
    const work = await tempDir();
    const r = await askAnthropic(work, {
      DIFY_CREDENTIAL_ANTHROPIC_API_KEY: SECRET,
      FAKE_LOG_FILE: path.join(work, 'log'),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('You said: hi there.\n');
    expect(r.stderr).toBe('tokens: 3 prompt, 5 completion\n');
    // the request as the daemon sends it, the credential under its declared name
    const sent = readFileSync(path.join(work, 'log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { data: Record<string, unknown> });
    expect(sent[0]!.data).toMatchObject({
      type: 'model',
      action: 'invoke_llm',
      provider: 'anthropic',
      model_type: 'llm',
      model: 'claude-opus-4-8',
      credentials: { anthropic_api_key: SECRET },
      prompt_messages: [{ role: 'user', content: 'hi there' }],
      stream: true,
    });
  });

  it('masks a credential that arrives split across two chunks, and needs no save folder', async () => {
    const work = await tempDir();
    await writeFile(path.join(work, 'invoke-output'), 'a file where tools would save blobs\n');
    // The fake streams "You said: ", the prompt, ".": the secret is in the first two.
    const r = await askAnthropic(work, { DIFY_CREDENTIAL_ANTHROPIC_API_KEY: 'said: hi' });
    expect(r.stdout).toBe('You **** there.\n');
    expect(r.code).toBe(0);
  });

  it('refuses a provider the plugin does not have', async () => {
    const r = await invoke(['model', 'llm', 'openai/gpt-4o', '--prompt', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the plugin has no model provider "openai"');
  });
});

describe('dify plugin invoke endpoint', () => {
  it('sends the raw HTTP request with the settings, and prints the response', async () => {
    const work = await tempDir();
    const init = ['plugin', 'init', '--quick', '--name', 'hook', '--author', 'acme', '--description', 'x'];
    expect((await runCli([...init, '--category', 'extension'], { cwd: work })).code).toBe(0);
    const r = await runCli(
      [
        'plugin',
        'invoke',
        'endpoint',
        'post',
        '/hook?x=1',
        '-H',
        'X-Test: yes',
        '--data',
        '{"a":1}',
        '--python',
        FAKE_PYTHON,
      ],
      {
        cwd: path.join(work, 'hook'),
        env: { FAKE_HEARTBEAT_MS: '200', FAKE_SDK_VERSION: '0.10.1', TMPDIR: work, DIFY_CREDENTIAL_API_KEY: SECRET },
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'HTTP 200',
        'Content-Type: text/plain',
        '',
        'POST /hook?x=1 HTTP/1.1',
        'Host: localhost',
        'X-Test: yes',
        'Content-Length: 7',
        '',
        '{"a":1}',
        'settings: {"api_key":"****"}',
        '',
      ].join('\n'),
    );
  });
});

describe('dify plugin invoke --repeat', () => {
  it('prints count, errors, percentiles and throughput as JSON', async () => {
    const r = await invoke([
      'tool',
      'hello_world/greet',
      '--param',
      'name=A',
      '--repeat',
      '6',
      '--concurrency',
      '3',
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(stats).sort()).toEqual([
      'concurrency',
      'count',
      'duration_ms',
      'errors',
      'latency_ms',
      'throughput_per_s',
    ]);
    expect(stats).toMatchObject({ count: 6, errors: 0, concurrency: 3 });
  });

  it('times each invocation with the injected clock', async () => {
    let t = 0;
    let stdout = '';
    const { io } = testIo({ cwd: await tempDir(), env: { FAKE_HEARTBEAT_MS: '200' }, stdout: (s) => (stdout += s) });
    // every reading of the clock advances it 10 ms: each invocation takes 10 ms, one at a time
    const code = await invokeCommand(
      [plugin, 'tool', 'hello_world/greet'],
      { param: ['name=A'], repeat: '4', concurrency: '1', python: FAKE_PYTHON },
      io,
      { ...INVOKE_DEPS, now: () => (t += 10) },
    );
    expect(code).toBe(0);
    expect(stdout).toContain('4 invocations, 0 errors (concurrency 1)');
    expect(stdout).toContain('latency ms: p50 10  p95 10  p99 10  max 10');
  });

  it('counts failed invocations and exits 1', async () => {
    const r = await invoke(['tool', 'hello_world/error', '--repeat', '3']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('3 invocations, 3 errors');
    expect(r.stderr).toContain('first error: boom');
  });
});
