import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeDaemon, type FakeConnection, type FakeDaemonOptions } from '../helpers/fake-daemon.js';
import { tempDir } from '../helpers/plugin.js';

const HELPERS = path.resolve(import.meta.dirname, '..', 'helpers');
const FAKE_PYTHON = path.join(HELPERS, 'fake-python');

// ---------------------------------------------------------------------------------------------
// A raw TCP client standing in for the plugin side

class Client {
  readonly lines: string[] = [];
  private readonly chunks: Buffer[] = [];
  private parts: Buffer[] = [];
  private readonly watchers = new Set<() => void>();
  private readonly lineHandlers: ((line: string) => void)[] = [];
  closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('close', () => {
      this.closedFlag = true;
      this.notify();
    });
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl === -1) break;
        this.parts.push(chunk.subarray(start, nl));
        const line = Buffer.concat(this.parts).toString('utf8');
        this.parts = [];
        start = nl + 1;
        if (line !== '') {
          this.lines.push(line);
          for (const h of this.lineHandlers) h(line);
        }
      }
      if (start < chunk.length) this.parts.push(chunk.subarray(start));
      this.notify();
    });
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new Client(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Everything received so far, as text. */
  get received(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** Sends a message as the SDK does: JSON + "\n\n" (strings are sent as given). */
  send(...messages: unknown[]): void {
    for (const m of messages) this.socket.write(typeof m === 'string' ? m : `${JSON.stringify(m)}\n\n`);
  }

  /** Writes the bytes one by one, waiting for each write to be flushed. */
  async sendBytewise(text: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; i++) {
      await new Promise<void>((resolve, reject) =>
        this.socket.write(bytes.subarray(i, i + 1), (err) => (err ? reject(err) : resolve())),
      );
    }
  }

  onLine(handler: (line: string) => void): void {
    this.lineHandlers.push(handler);
  }

  waitUntil(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.watchers.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.watchers.delete(check);
        reject(
          new Error(`client: timed out waiting for ${what}; received ${JSON.stringify(this.received.slice(0, 500))}`),
        );
      }, timeoutMs);
      this.watchers.add(check);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private notify(): void {
    for (const w of [...this.watchers]) w();
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const ICON = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>\n');
const MANIFEST = {
  version: '0.0.1',
  type: 'plugin',
  author: 'demo',
  name: 'demo',
  label: { en_US: 'Demo — 日本語 🎉' },
  icon: 'icon.svg',
  icon_dark: null,
  resource: { memory: 268435456, permission: { tool: { enabled: true } } },
  plugins: { tools: ['provider/demo.yaml'] },
  meta: { version: '0.0.2', arch: ['amd64'], runner: { language: 'python', version: '3.12', entrypoint: 'main' } },
};
const TOOL = {
  identity: { author: 'demo', name: 'demo', icon: 'icon.svg', icon_dark: null, label: { en_US: 'Demo' } },
  credentials_schema: [],
  tools: [{ identity: { author: 'demo', name: 'echo', label: { en_US: 'Echo' } }, parameters: [] }],
  extra: { python: { source: 'provider/demo.py' } },
};

const handshake = (key = 'test-key') => ({ type: 'handshake', data: { key } });
const manifest = (extra: Record<string, unknown> = {}) => ({
  type: 'manifest_declaration',
  data: { ...MANIFEST, ...extra },
});
const declaration = (type: string, data: unknown) => ({ type, data });
const chunk = (filename: string, bytes: Buffer | string, end = true) => ({
  type: 'asset_chunk',
  data: { filename, data: typeof bytes === 'string' ? bytes : bytes.toString('base64'), end },
});
const iconChunks = (filename = 'icon.svg') => [
  chunk(filename, ICON.subarray(0, 10), false),
  chunk(filename, ICON.subarray(10), true),
];
const END = { type: 'end', data: {} };
const goodRegistration = (): unknown[] => [
  handshake(),
  manifest(),
  declaration('tool_declaration', [TOOL]),
  ...iconChunks(),
  END,
];

const daemons: FakeDaemon[] = [];
const clients: Client[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(daemons.splice(0).map((d) => d.close()));
});

async function startDaemon(options?: FakeDaemonOptions): Promise<FakeDaemon> {
  const daemon = await FakeDaemon.start(options);
  daemons.push(daemon);
  return daemon;
}

async function connect(daemon: FakeDaemon): Promise<Client> {
  const client = await Client.connect(daemon.port);
  clients.push(client);
  return client;
}

/** Connects, sends a good registration and returns both ends. */
async function registered(daemon: FakeDaemon): Promise<{ client: Client; conn: FakeConnection }> {
  const client = await connect(daemon);
  client.send(...goodRegistration());
  const conn = await daemon.nextRegistered();
  return { client, conn };
}

/** Makes the client answer every request like a trivial plugin: one stream message, then end. */
function answerRequests(
  client: Client,
  reply: (data: Record<string, unknown>) => unknown = (d) => ({ echo: d }),
): void {
  client.onLine((line) => {
    const msg = JSON.parse(line) as { event: string; session_id: string; data: Record<string, unknown> };
    if (msg.event !== 'request') return;
    const sid = msg.session_id;
    client.send(
      { event: 'session', session_id: sid, data: { type: 'stream', data: reply(msg.data) } },
      { event: 'session', session_id: sid, data: { type: 'end', data: {} } },
    );
  });
}

// ---------------------------------------------------------------------------------------------

describe('fake daemon: registration', () => {
  it('accepts a good registration, records it, and serves a request round trip', async () => {
    const daemon = await startDaemon();
    expect(daemon.url).toBe(`127.0.0.1:${daemon.port}`);
    const client = await connect(daemon);
    client.send(
      handshake(),
      { type: 'something_new', data: 1 }, // unknown types are ignored
      manifest(),
      declaration('tool_declaration', [TOOL, { identity: { name: 'ignored' } }]),
      ...iconChunks(),
      END,
    );
    const conn = await daemon.nextRegistered();
    expect(daemon.connections).toEqual([conn]);
    expect(conn.initialized).toBe(true);
    expect(conn.registration.map((m) => m.type)).toEqual([
      'handshake',
      'something_new',
      'manifest_declaration',
      'tool_declaration',
      'asset_chunk',
      'asset_chunk',
      'end',
    ]);
    expect(conn.registration[2]!.data).toEqual(MANIFEST);
    expect(conn.declaration.tool).toEqual(TOOL); // only element [0] is used
    expect(conn.assets.get('icon.svg')).toEqual(ICON);
    expect(client.received).toBe(''); // no success acknowledgement

    answerRequests(client);
    const data = {
      user_id: 'u1',
      type: 'tool',
      action: 'invoke_tool',
      provider: 'demo',
      tool: 'echo',
      tool_parameters: { q: 'a<b' },
    };
    const result = await conn.request(data);
    expect(result).toEqual({
      sessionId: result.sessionId,
      messages: [
        { type: 'stream', data: { echo: data } },
        { type: 'end', data: {} },
      ],
      ended: true,
      backwards: [],
    });
    expect(result.sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // The request is one line, in the daemon's envelope (docs/remote-debugging.md#requests), data keys sorted like
    // a Go map, HTML chars escaped.
    expect(client.lines).toHaveLength(1);
    expect(client.received).toBe(
      `{"session_id":"${result.sessionId}","conversation_id":null,"message_id":null,"app_id":null,"endpoint_id":null,"context":null,"event":"request",` +
        `"data":{"action":"invoke_tool","provider":"demo","tool":"echo","tool_parameters":{"q":"a\\u003cb"},"type":"tool","user_id":"u1"}}\n`,
    );
    expect(conn.events.filter((e) => e.event === 'session')).toHaveLength(2);
  });

  it('treats an empty declaration array as transferred', async () => {
    const daemon = await startDaemon();
    const client = await connect(daemon);
    client.send(handshake(), manifest(), declaration('endpoint_declaration', []), ...iconChunks(), END);
    const conn = await daemon.nextRegistered();
    expect(conn.declaration.endpoint).toBeUndefined();
  });

  it('accepts registration messages before the handshake (no ordering guard) unless requireHandshakeFirst', async () => {
    const daemon = await startDaemon();
    const client = await connect(daemon);
    client.send(manifest(), declaration('tool_declaration', [TOOL]), ...iconChunks(), handshake(), END);
    await daemon.nextRegistered();

    const strict = await startDaemon({ requireHandshakeFirst: true });
    const c2 = await connect(strict);
    c2.send(manifest(), handshake());
    const closed = await strict.nextClosed();
    expect(closed.errorText).toBe('handshake failed, registration message before handshake');
  });

  it('drops provider declarations sent before the manifest, like the daemon', async () => {
    const daemon = await startDaemon();
    const client = await connect(daemon);
    // The tool icon is missing, but the tool declaration is overwritten by the manifest and never checked.
    client.send(
      handshake(),
      declaration('tool_declaration', [{ ...TOOL, identity: { ...TOOL.identity, icon: 'missing.svg' } }]),
      manifest(),
      ...iconChunks(),
      END,
    );
    const conn = await daemon.nextRegistered();
    expect(conn.declaration.tool).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

const again = (type: string): unknown[] => [handshake(), manifest(), declaration(type, []), declaration(type, [])];
const withIcons = (...decls: unknown[]): unknown[] => [handshake(), manifest(), ...decls, ...iconChunks(), END];
const withManifest = (extra: Record<string, unknown>, ...decls: unknown[]): unknown[] => [
  handshake(),
  manifest(extra),
  ...decls,
  ...iconChunks(),
  END,
];

const errorCases: [string, unknown[], string, FakeDaemonOptions?][] = [
  ['a line that is not JSON', ['hello\n'], 'handshake failed, invalid handshake message'],
  ['a JSON array', ['[1,2]\n'], 'handshake failed, invalid handshake message'],
  ['a message without data', [{ type: 'handshake' }], 'handshake failed, invalid handshake message'],
  ['a message without type', [{ data: { key: 'test-key' } }], 'handshake failed, invalid handshake message'],
  ['an empty type', [{ type: '', data: {} }], 'handshake failed, invalid handshake message'],
  [
    'a heartbeat before end',
    [handshake(), { event: 'heartbeat', session_id: null, data: {} }],
    'handshake failed, invalid handshake message',
  ],
  ['a handshake without key', [{ type: 'handshake', data: {} }], 'handshake failed, invalid handshake message'],
  ['a handshake with data null', [{ type: 'handshake', data: null }], 'handshake failed, invalid handshake message'],
  ['an invalid key', [handshake('nope')], 'handshake failed, invalid key'],
  ['a second handshake', [handshake(), handshake()], 'handshake already completed'],
  ['a second manifest', [handshake(), manifest(), manifest()], 'declaration already registered'],
  ['a second tool declaration', again('tool_declaration'), 'tools declaration already registered'],
  ['a second model declaration', again('model_declaration'), 'models declaration already registered'],
  ['a second endpoint declaration', again('endpoint_declaration'), 'endpoints declaration already registered'],
  [
    'a second agent strategy declaration',
    again('agent_strategy_declaration'),
    'agent strategy declaration already registered',
  ],
  ['a second datasource declaration', again('datasource_declaration'), 'datasource declaration already registered'],
  ['a second trigger declaration', again('trigger_declaration'), 'triggers declaration already registered'],
  [
    'a tool declaration that is not an array',
    [handshake(), manifest(), declaration('tool_declaration', TOOL)],
    'tools register failed, invalid tools declaration: json: cannot unmarshal object into Go value of type []plugin_entities.ToolProviderDeclaration',
  ],
  [
    'a datasource declaration element that is not an object',
    [handshake(), manifest(), declaration('datasource_declaration', ['x'])],
    'datasources register failed, invalid datasources declaration: json: cannot unmarshal string into Go value of type plugin_entities.DatasourceProviderDeclaration',
  ],
  [
    'a manifest that is not an object',
    [handshake(), { type: 'manifest_declaration', data: [] }],
    'handshake failed, invalid plugin declaration: json: cannot unmarshal array into Go value of type plugin_entities.PluginDeclaration',
  ],
  [
    'a manifest rejected by rejectDeclaration',
    [handshake(), manifest()],
    'handshake failed, invalid plugin declaration: no author',
    { rejectDeclaration: (type) => (type === 'manifest_declaration' ? 'no author' : undefined) },
  ],
  [
    'a model declaration rejected by rejectDeclaration',
    [handshake(), manifest(), declaration('model_declaration', [{ provider: 'x' }])],
    'models register failed, invalid models declaration: bad provider',
    {
      rejectDeclaration: (type, data) =>
        type === 'model_declaration' && Array.isArray(data) ? 'bad provider' : undefined,
    },
  ],
  [
    'an agent strategy declaration rejected by rejectDeclaration',
    [handshake(), manifest(), declaration('agent_strategy_declaration', [{}])],
    'agent strategies register failed, invalid agent strategies declaration: nope',
    { rejectDeclaration: (type) => (type === 'agent_strategy_declaration' ? 'nope' : undefined) },
  ],
  [
    'an asset chunk without filename',
    [handshake(), { type: 'asset_chunk', data: { data: 'AAAA', end: true } }],
    "transfer assets failed, error: Key: 'RemotePluginRegisterAssetChunk.Filename' Error:Field validation for 'Filename' failed on the 'required' tag",
  ],
  [
    'an asset chunk with a numeric filename',
    [handshake(), { type: 'asset_chunk', data: { filename: 1, data: 'AAAA' } }],
    'transfer assets failed, error: json: cannot unmarshal number into Go struct field RemotePluginRegisterAssetChunk.filename of type string',
  ],
  [
    'an asset chunk with bad base64 (no padding)',
    [handshake(), chunk('a.svg', 'abc')],
    'assets decode failed, error: illegal base64 data at input byte 0',
  ],
  [
    'an asset chunk with a bad base64 character',
    [handshake(), chunk('a.svg', 'ab!d')],
    'assets decode failed, error: illegal base64 data at input byte 2',
  ],
  ['end while busy', goodRegistration(), 'server is busy now, please try again later', { busy: true }],
  [
    'end without any declaration',
    [handshake(), manifest(), ...iconChunks(), END],
    'no registration transferred, cannot initialize',
  ],
  [
    'a missing manifest icon',
    [handshake(), manifest(), declaration('tool_declaration', [TOOL]), END],
    'assets remap failed, invalid assets data, cannot remap: file not found: icon.svg\nfailed to remap tool icon',
  ],
  [
    'a missing manifest dark icon',
    withManifest({ icon_dark: 'dark.svg' }, declaration('endpoint_declaration', [])),
    'assets remap failed, invalid assets data, cannot remap: file not found: dark.svg\nfailed to remap plugin dark icon',
  ],
  [
    'a missing tool dark icon',
    withIcons(
      declaration('tool_declaration', [{ ...TOOL, identity: { ...TOOL.identity, icon_dark: 'tool-dark.svg' } }]),
    ),
    'assets remap failed, invalid assets data, cannot remap: file not found: tool-dark.svg\nfailed to remap tool icon dark',
  ],
  [
    'a missing model icon for one locale',
    withIcons(
      declaration('model_declaration', [{ provider: 'm', icon_small: { en_US: 'icon.svg', zh_Hans: 'small-zh.svg' } }]),
    ),
    'assets remap failed, invalid assets data, cannot remap: file not found: small-zh.svg\nfailed to remap model icon small zh_Hans',
  ],
  [
    'a missing model large dark icon',
    withIcons(declaration('model_declaration', [{ provider: 'm', icon_large_dark: { en_US: 'ld.svg' } }])),
    'assets remap failed, invalid assets data, cannot remap: file not found: ld.svg\nfailed to remap model icon large dark en_US',
  ],
  [
    'a missing agent strategy icon',
    withIcons(declaration('agent_strategy_declaration', [{ identity: { icon: 'agent.svg' } }])),
    'assets remap failed, invalid assets data, cannot remap: file not found: agent.svg\nfailed to remap agent icon',
  ],
  [
    'a missing datasource entry icon',
    withIcons(
      declaration('datasource_declaration', [
        { identity: { icon: 'icon.svg' }, datasources: [{ identity: { name: 'page', icon: 'page.svg' } }] },
      ]),
    ),
    'assets remap failed, invalid assets data, cannot remap: file not found: page.svg\nfailed to remap datasource page icon',
  ],
  [
    'a missing trigger icon',
    withIcons(declaration('trigger_declaration', [{ identity: { icon: 'trigger.svg' } }])),
    'assets remap failed, invalid assets data, cannot remap: file not found: trigger.svg\nfailed to remap trigger icon',
  ],
];

describe('fake daemon: registration errors (plain text + "\\n", then close)', () => {
  it.each(errorCases)('%s', async (_name, messages, expected, options) => {
    const daemon = await startDaemon(options);
    const client = await connect(daemon);
    client.send(...messages);
    // Everything after the failure is ignored: no second reply, no registration.
    client.send(handshake(), handshake(), END);
    const closed = await daemon.nextClosed();
    await client.closed;
    expect(closed.errorText).toBe(expected);
    expect(closed.connection.closeReason).toBe('error');
    expect(closed.connection.initialized).toBe(false);
    expect(client.received).toBe(`${expected}\n`);
  });

  it('limits assets to 50 MiB, counting the base64 length of the incoming chunk', async () => {
    const daemon = await startDaemon();
    const client = await connect(daemon);
    const MiB = 1024 * 1024;
    // 27 MiB decoded so far; then a chunk of 23 MiB + 4 base64 chars (17.25 MiB decoded) is refused,
    // although the decoded total would stay under 50 MiB.
    client.send(handshake(), chunk('a.bin', 'A'.repeat(36 * MiB), false));
    client.send(chunk('a.bin', 'A'.repeat(23 * MiB + 4), true));
    const closed = await daemon.nextClosed(30_000);
    expect(closed.errorText).toBe('assets too large, at most 50MB');
    expect(closed.connection.assets.get('a.bin')?.length).toBe(27 * MiB);
  });
});

// ---------------------------------------------------------------------------------------------

describe('fake daemon: timers', () => {
  it('closes silently when no handshake succeeds in time, and keeps a handshaked connection', async () => {
    const daemon = await startDaemon({ handshakeTimeoutMs: 100 });
    const good = await connect(daemon);
    good.send(handshake());
    await daemon.connections[0]!.waitFor((c) => c.handshaked);
    const silent = await connect(daemon);
    silent.send(manifest()); // registration without handshake does not count
    const started = Date.now();
    const closed = await daemon.nextClosed();
    await silent.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expect(closed.connection).toBe(daemon.connections[1]);
    expect(closed.connection.closeReason).toBe('handshake-timeout');
    expect(closed.errorText).toBe('');
    expect(silent.received).toBe('');
    expect(good.closedFlag).toBe(false);
    expect(daemon.connections[0]!.isOpen).toBe(true);
  });

  it('closes an initialized connection that sends no heartbeat within the window', async () => {
    // A window 10 times the beat: a loaded machine (CI, parallel test files) must not miss one.
    const daemon = await startDaemon({ heartbeatTimeoutMs: 300 });
    const { client: beating, conn: beatingConn } = await registered(daemon);
    const heartbeat = { event: 'heartbeat', session_id: null, data: {} };
    beating.send(heartbeat);
    const ticker = setInterval(() => beating.send(heartbeat), 30);
    try {
      const { client: silent, conn: silentConn } = await registered(daemon);
      const started = Date.now();
      const closed = await daemon.nextClosed();
      await silent.closed;
      const elapsed = Date.now() - started;
      expect(closed.connection).toBe(silentConn);
      expect(closed.connection.closeReason).toBe('heartbeat-timeout');
      expect(closed.errorText).toBe('');
      expect(silent.received).toBe('');
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(3000);
      expect(beatingConn.isOpen).toBe(true);
      expect(beatingConn.heartbeats).toBeGreaterThan(0);
    } finally {
      clearInterval(ticker);
    }
    const closed = await daemon.nextClosed();
    expect(closed.connection).toBe(beatingConn);
    expect(closed.connection.closeReason).toBe('heartbeat-timeout');
  });
});

// ---------------------------------------------------------------------------------------------

describe('fake daemon: framing and events', () => {
  it('reassembles 1-byte chunks, multi-byte characters split across chunks, and skips empty lines', async () => {
    const daemon = await startDaemon();
    const client = await connect(daemon);
    const text = goodRegistration()
      .map((m) => JSON.stringify(m))
      .join('\n\n\n');
    await client.sendBytewise(`\n${text}\n`);
    const conn = await daemon.nextRegistered();
    expect(conn.registration[1]!.data).toEqual(MANIFEST); // contains 日本語 and 🎉 (4-byte UTF-8)

    const pending = conn.request({ type: 'tool', action: 'invoke_tool' });
    await client.waitUntil(() => client.lines.length === 1, 'the request');
    const sid = (JSON.parse(client.lines[0]!) as { session_id: string }).session_id;
    await client.sendBytewise(
      `${JSON.stringify({ event: 'session', session_id: sid, data: { type: 'stream', data: { text: 'ü€😀' } } })}\n\n` +
        `${JSON.stringify({ event: 'session', session_id: sid, data: { type: 'end', data: {} } })}\n`,
    );
    const result = await pending;
    expect(result.messages).toEqual([
      { type: 'stream', data: { text: 'ü€😀' } },
      { type: 'end', data: {} },
    ]);
  });

  it('handles a 5 MB line', async () => {
    const daemon = await startDaemon();
    const { client, conn } = await registered(daemon);
    const big = 'é'.repeat(2.5 * 1024 * 1024); // 5 MiB of UTF-8
    answerRequests(client, () => ({ type: 'text', message: { text: big }, meta: null }));
    const result = await conn.request({ type: 'tool', action: 'invoke_tool' });
    expect(result.ended).toBe(true);
    const text = (result.messages[0]!.data as { message: { text: string } }).message.text;
    expect(text.length).toBe(big.length);
    expect(text === big).toBe(true);
  });

  it('records events, ignores logs and unparsable lines without closing', async () => {
    const daemon = await startDaemon();
    const { client, conn } = await registered(daemon);
    client.send(
      { event: 'heartbeat', session_id: null, data: {} },
      'this is not json\n',
      { event: 'log', data: { level: 'INFO', message: 'hi', timestamp: 1.5 } },
      { event: 'error', session_id: null, data: { error: 'oops' } },
      { event: 'session', session_id: 'unknown-session', data: { type: 'stream', data: {} } },
      { event: 'heartbeat', session_id: null, data: {} },
    );
    await conn.waitFor((c) => c.heartbeats === 2);
    expect(conn.unparsed).toEqual(['this is not json']);
    expect(conn.events.map((e) => e.event)).toEqual(['heartbeat', 'log', 'error', 'session', 'heartbeat']);
    expect(conn.events[1]).toEqual({
      event: 'log',
      session_id: null,
      data: { level: 'INFO', message: 'hi', timestamp: 1.5 },
    });
    expect(conn.isOpen).toBe(true);
    answerRequests(client);
    expect((await conn.request({ type: 'tool', action: 'invoke_tool' })).ended).toBe(true);
  });

  it('ends a request with the session error, or with an unknown message type', async () => {
    const daemon = await startDaemon();
    const { client, conn } = await registered(daemon);
    client.onLine((line) => {
      const { session_id: sid, data } = JSON.parse(line) as { session_id: string; data: { tool: string } };
      const type = data.tool === 'error' ? 'error' : 'weird';
      client.send(
        {
          event: 'session',
          session_id: sid,
          data: { type, data: { error_type: 'ValueError', message: 'boom', args: {} } },
        },
        { event: 'session', session_id: sid, data: { type: 'end', data: {} } },
      );
    });
    const failed = await conn.request({ type: 'tool', action: 'invoke_tool', tool: 'error' });
    expect(failed.ended).toBe(false);
    expect(failed.error).toEqual({ error_type: 'ValueError', message: 'boom', args: {} });
    expect(failed.messages.map((m) => m.type)).toEqual(['error']);
    const weird = await conn.request({ type: 'tool', action: 'invoke_tool', tool: 'weird' });
    expect(weird.error).toEqual({
      error_type: 'unknown_stream_message_type',
      message: 'unknown stream message type: weird',
    });
  });

  it('resolves pending requests with the ConnectionClosedError when the connection closes', async () => {
    const daemon = await startDaemon();
    const { client, conn } = await registered(daemon);
    const pending = conn.request({ type: 'tool', action: 'invoke_tool' });
    await client.waitUntil(() => client.lines.length === 1, 'the request');
    client.close();
    const result = await pending;
    const error = { error_type: 'ConnectionClosedError', message: 'Connection closed unexpectedly', args: {} };
    expect(result).toMatchObject({ ended: false, error, messages: [{ type: 'error', data: error }] });
    const closed = await daemon.nextClosed();
    expect(closed.connection.closeReason).toBe('client');
    // Requests on a closed connection resolve the same way at once.
    expect((await conn.request({ type: 'tool' })).error).toEqual(error);
  });

  it('drop() closes the socket abruptly and writeRaw() writes bytes as given', async () => {
    const daemon = await startDaemon();
    const { client, conn } = await registered(daemon);
    conn.writeRaw('{"partial":');
    conn.writeRaw(Buffer.from('true}\n'));
    await client.waitUntil(() => client.lines.length === 1, 'the raw line');
    expect(client.lines).toEqual(['{"partial":true}']);
    conn.drop();
    await client.closed;
    expect((await daemon.nextClosed()).connection.closeReason).toBe('drop');
  });
});

// ---------------------------------------------------------------------------------------------

describe('fake daemon: backwards invocation', () => {
  it('answers a session invoke with backwards_response response + end on the same session', async () => {
    const daemon = await startDaemon();
    const { client, conn } = await registered(daemon);
    const invoke = {
      type: 'tool',
      backwards_request_id: '0123456789abcdef0123456789abcdef',
      request: { tool_type: 'builtin', provider: 'time', tool_name: 'now', tool_parameters: { tz: 'UTC' } },
    };
    const got: unknown[] = [];
    client.onLine((line) => {
      const msg = JSON.parse(line) as { event: string; session_id: string; data: { event?: string } };
      if (msg.event === 'request') {
        client.send({ event: 'session', session_id: msg.session_id, data: { type: 'invoke', data: invoke } });
      } else if (msg.event === 'backwards_response') {
        got.push(msg.data);
        if (msg.data.event === 'end') {
          client.send(
            { event: 'session', session_id: msg.session_id, data: { type: 'stream', data: { got } } },
            { event: 'session', session_id: msg.session_id, data: { type: 'end', data: {} } },
          );
        }
      }
    });
    const result = await conn.request({ type: 'tool', action: 'invoke_tool', tool: 'backwards' }, 10_000, {
      app_id: 'app-1',
      context: { b: 1, a: 2 },
    });
    expect(result.ended).toBe(true);
    expect(result.backwards).toEqual([invoke]);
    expect(result.messages.map((m) => m.type)).toEqual(['invoke', 'stream', 'end']);
    const response = {
      backwards_request_id: invoke.backwards_request_id,
      data: { echo: invoke.request },
      event: 'response',
      message: 'stream',
    };
    const end = { backwards_request_id: invoke.backwards_request_id, data: null, event: 'end', message: '' };
    expect(got).toEqual([response, end]);
    expect(client.lines[1]).toBe(
      `{"session_id":"${result.sessionId}","conversation_id":null,"message_id":null,"app_id":"app-1","endpoint_id":null,"context":{"a":2,"b":1},` +
        `"event":"backwards_response","data":{"backwards_request_id":"${invoke.backwards_request_id}","data":{"echo":` +
        `{"provider":"time","tool_name":"now","tool_parameters":{"tz":"UTC"},"tool_type":"builtin"}},"event":"response","message":"stream"}}`,
    );
  });

  it('refuses invocations from a model session and reports malformed invocations', async () => {
    const daemon = await startDaemon();
    const { client, conn } = await registered(daemon);
    const replies: { event?: string; message?: string }[] = [];
    client.onLine((line) => {
      const msg = JSON.parse(line) as {
        event: string;
        session_id: string;
        data: { tool?: string; event?: string; message?: string };
      };
      if (msg.event === 'backwards_response') {
        replies.push(msg.data);
        if (msg.data.event === 'end')
          client.send({ event: 'session', session_id: msg.session_id, data: { type: 'end', data: {} } });
        return;
      }
      const data =
        msg.data.tool === 'malformed'
          ? { type: 'tool', request: {} }
          : { type: 'llm', backwards_request_id: 'x', request: {} };
      client.send({ event: 'session', session_id: msg.session_id, data: { type: 'invoke', data } });
    });
    const model = await conn.request({ type: 'model', action: 'invoke_llm' });
    expect(model.ended).toBe(true);
    expect(replies.map((r) => [r.event, r.message])).toEqual([
      ['error', 'you can not invoke dify from model'],
      ['end', ''],
    ]);
    const malformed = await conn.request({ type: 'tool', action: 'invoke_tool', tool: 'malformed' });
    expect(malformed.error).toEqual({
      error_type: 'invoke_dify_error',
      message: 'invoke dify failed: invoke request missing request_id: {"request":{},"type":"tool"}',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The fake plugin process

interface Plugin {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  lines: string[];
  events: { event?: string; session_id?: string | null; data?: any }[];
  waitFor: (predicate: () => boolean, what: string, timeoutMs?: number) => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  send: (message: unknown) => void;
}

function spawnPlugin(env: Record<string, string | undefined> = {}, cwd?: string): Plugin {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, INSTALL_METHOD: 'local', ...env }))
    if (v !== undefined) fullEnv[k] = v;
  const child = spawn(FAKE_PYTHON, ['-m', 'main'], { env: fullEnv, cwd: cwd ?? HELPERS });
  children.push(child);
  const out: Buffer[] = [];
  let err = '';
  const lines: string[] = [];
  const events: Plugin['events'] = [];
  const watchers = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...watchers]) w();
  };
  let tail = '';
  child.stdout.on('data', (d: Buffer) => {
    out.push(d);
    const text = tail + d.toString('latin1'); // split on bytes; decode whole lines below
    const parts = text.split('\n');
    tail = parts.pop() ?? '';
    for (const p of parts) {
      if (p === '') continue;
      const line = Buffer.from(p, 'latin1').toString('utf8');
      lines.push(line);
      try {
        events.push(JSON.parse(line) as Plugin['events'][number]);
      } catch {
        events.push({});
      }
    }
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    notify();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      notify();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => err,
    lines,
    events,
    exited,
    send: (m) => child.stdin.write(typeof m === 'string' ? m : `${JSON.stringify(m)}\n`),
    waitFor(predicate, what, timeoutMs = 10_000) {
      if (predicate()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!predicate()) return;
          clearTimeout(timer);
          watchers.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(
            new Error(
              `fake plugin: timed out waiting for ${what}; stdout ${JSON.stringify(lines.slice(0, 20))} stderr ${err}`,
            ),
          );
        }, timeoutMs);
        watchers.add(check);
      });
    },
  };
}

const request = (sid: string, data: Record<string, unknown>) => ({
  session_id: sid,
  conversation_id: null,
  message_id: null,
  app_id: null,
  endpoint_id: null,
  context: null,
  event: 'request',
  data: { user_id: 'u', type: 'tool', action: 'invoke_tool', provider: 'fake', ...data },
});
const sessionOf = (p: Plugin, sid: string) =>
  p.events.filter((e) => e.event === 'session' && e.session_id === sid).map((e) => e.data);
const ended = (p: Plugin, sid: string) => () => sessionOf(p, sid).some((d: { type: string }) => d.type === 'end');

describe('fake plugin process (stdio mode)', () => {
  it('is an executable launcher', () => {
    expect(statSync(FAKE_PYTHON).mode & 0o111).not.toBe(0);
    expect(readFileSync(FAKE_PYTHON, 'utf8').startsWith('#!/bin/sh\n')).toBe(true);
  });

  it('refuses to run without INSTALL_METHOD=local', async () => {
    const p = spawnPlugin({ INSTALL_METHOD: undefined });
    expect(await p.exited).toEqual({ code: 2, signal: null });
    expect(p.stderr()).toContain('INSTALL_METHOD');
    expect(p.stdout()).toBe('');
  });

  it('writes the manifest first, then heartbeats and SDK-style logs, each as JSON + "\\n\\n"', async () => {
    const dir = await tempDir();
    await writeFile(
      path.join(dir, 'manifest.yaml'),
      'version: 0.0.3\ntype: plugin\nauthor: "me"\nname: my_plugin\nlabel:\n  en_US: X\n',
    );
    const p = spawnPlugin({ FAKE_HEARTBEAT_MS: '50' }, dir);
    await p.waitFor(() => p.events.filter((e) => e.event === 'heartbeat').length >= 3, 'three heartbeats');
    expect(JSON.parse(p.lines[0]!)).toEqual({ version: '0.0.3', type: 'plugin', author: 'me', name: 'my_plugin' });
    expect(p.lines[1]).toBe('{"event":"heartbeat","session_id":null,"data":{}}');
    const started = String.raw`^\{"event": "log", "data": \{"level": "INFO", "message": "fake plugin started \(pid ${p.child.pid}\)", "timestamp": \d+\.\d+\}\}$`;
    expect(p.lines[2]).toMatch(new RegExp(started));
    expect(p.stdout()).toMatch(/^([^\n]+\n\n)+$/);
  });

  it('answers requests: echo, error, big, burst; ignores blank lines and stdin EOF; logs what it received', async () => {
    const dir = await tempDir();
    const logFile = path.join(dir, 'stdin.log');
    const p = spawnPlugin({
      FAKE_HEARTBEAT_MS: '100',
      FAKE_LOG_FILE: logFile,
      FAKE_BURST: '3000',
      FAKE_BIG_BYTES: String(5 * 1024 * 1024),
    });
    await p.waitFor(() => p.lines.length >= 1, 'the manifest');

    // A request split across writes, with blank lines around it.
    const line = JSON.stringify(request('s-echo', { tool: 'echo', tool_parameters: { q: 'hé' } }));
    p.send(`\n  \n${line.slice(0, 10)}`);
    p.send(`${line.slice(10)}\r\n\n`);
    await p.waitFor(ended(p, 's-echo'), 'the echo end');
    expect(sessionOf(p, 's-echo')).toEqual([
      { type: 'stream', data: { type: 'text', message: { text: 'echo: {"q":"hé"}' }, meta: null } },
      { type: 'end', data: {} },
    ]);
    expect(p.lines).toContain(
      `{"event":"session","session_id":"s-echo","data":{"type":"stream","data":{"type":"text","message":{"text":"echo: {\\"q\\":\\"hé\\"}"},"meta":null}}}`,
    );
    expect(
      p.events.some((e) => e.event === 'log' && e.data?.message?.includes('received request tool/invoke_tool')),
    ).toBe(true);

    p.send(request('s-err', { tool: 'error' }));
    p.send(request('s-big', { tool: 'big' }));
    p.send(request('s-burst', { tool: 'burst' }));
    await p.waitFor(() => ended(p, 's-err')() && ended(p, 's-big')() && ended(p, 's-burst')(), 'three ends', 30_000);
    expect(sessionOf(p, 's-err')).toEqual([
      { type: 'error', data: { error_type: 'ValueError', message: 'boom', args: {} } },
      { type: 'end', data: {} },
    ]);
    const big = sessionOf(p, 's-big');
    expect(big).toHaveLength(2);
    expect(big[0].data.message.text.length).toBe(5 * 1024 * 1024);
    const burst = sessionOf(p, 's-burst');
    expect(burst).toHaveLength(3001);
    expect(
      burst.slice(0, -1).every((d: any, i: number) => d.type === 'stream' && d.data.message.text.startsWith(`${i} `)),
    ).toBe(true);
    expect(burst.at(-1)).toEqual({ type: 'end', data: {} });
    expect(p.stdout()).toMatch(/^([^\n]+\n\n)+$/);

    // stdin EOF is ignored: heartbeats keep coming.
    p.child.stdin.end();
    const beats = p.events.filter((e) => e.event === 'heartbeat').length;
    await p.waitFor(() => p.events.filter((e) => e.event === 'heartbeat').length >= beats + 2, 'heartbeats after EOF');
    expect(p.child.exitCode).toBeNull();

    const logged = readFileSync(logFile, 'utf8').trimEnd().split('\n');
    expect(logged).toHaveLength(4);
    expect(JSON.parse(logged[0]!)).toEqual(JSON.parse(line));

    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('answers a malformed line with an error event', async () => {
    const p = spawnPlugin();
    p.send('not json\n');
    await p.waitFor(() => p.events.some((e) => e.event === 'error'), 'an error event');
    expect(p.events.find((e) => e.event === 'error')).toMatchObject({
      session_id: null,
      data: { error: expect.any(String) },
    });
  });

  it('makes a backwards invocation and streams the response', async () => {
    const p = spawnPlugin();
    p.send(request('s-bw', { tool: 'backwards', tool_parameters: { x: 1 } }));
    await p.waitFor(() => sessionOf(p, 's-bw').length === 1, 'the invoke');
    const invoke = sessionOf(p, 's-bw')[0];
    expect(invoke.type).toBe('invoke');
    expect(invoke.data.type).toBe('tool');
    expect(invoke.data.backwards_request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(invoke.data.request.tool_parameters).toEqual({ x: 1 });
    const id = invoke.data.backwards_request_id as string;
    const reply = (data: Record<string, unknown>) => ({
      ...request('s-bw', {}),
      event: 'backwards_response',
      data: { backwards_request_id: id, ...data },
    });
    p.send(reply({ event: 'response', message: 'stream', data: { ok: 1 } }));
    p.send(reply({ event: 'end', message: '', data: null }));
    await p.waitFor(ended(p, 's-bw'), 'the end');
    expect(sessionOf(p, 's-bw').slice(1)).toEqual([
      {
        type: 'stream',
        data: {
          type: 'json',
          message: { json_object: { backwards_request_id: id, responses: [{ ok: 1 }] } },
          meta: null,
        },
      },
      { type: 'end', data: {} },
    ]);
  });

  it('crashes with exit code 3 and a traceback on stderr for the crash tool', async () => {
    const p = spawnPlugin();
    p.send(request('s-crash', { tool: 'crash' }));
    expect(await p.exited).toEqual({ code: 3, signal: null });
    expect(p.stderr()).toContain('Traceback (most recent call last):');
    expect(p.stderr()).toContain('RuntimeError');
    expect(ended(p, 's-crash')()).toBe(false);
  });

  it('exits by itself when its parent dies', async () => {
    const dir = await tempDir();
    const out = path.join(dir, 'orphan.out');
    // The parent starts the plugin in the background, waits until it has written something, then exits.
    const parent = spawn(
      'sh',
      [
        '-c',
        '"$0" -m main >"$1" 2>&1 </dev/null & echo $!; while [ ! -s "$1" ]; do sleep 0.05; done',
        FAKE_PYTHON,
        out,
      ],
      { env: { ...process.env, INSTALL_METHOD: 'local' }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let pidText = '';
    parent.stdout.setEncoding('utf8').on('data', (d: string) => (pidText += d));
    const code = await new Promise<number | null>((resolve) => parent.on('exit', resolve));
    expect(code).toBe(0);
    const pid = Number.parseInt(pidText.trim(), 10);
    expect(pid).toBeGreaterThan(1);
    expect(readFileSync(out, 'utf8')).toContain('{"name":"fake"}');
    // Nothing tells this process when one it did not start is gone: look until it is.
    const exitedByItself = await vi
      .waitUntil(() => !alive(pid), { timeout: 5_000, interval: 50 })
      .then(
        () => true,
        () => false,
      );
    if (!exitedByItself) process.kill(pid, 'SIGKILL');
    expect(exitedByItself).toBe(true);
  });
});

/** Whether a pid is a live (non-zombie) process. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    const state = readFileSync(stat, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

describe('fake daemon + fake plugin, relayed like `dify plugin run` will', () => {
  it('serves requests end to end through a minimal relay', async () => {
    const daemon = await startDaemon();
    const client = await connect(daemon);
    client.send(...goodRegistration());
    const conn = await daemon.nextRegistered();
    const p = spawnPlugin({ FAKE_HEARTBEAT_MS: '50' });
    // plugin → daemon: drop the manifest line and log lines; daemon → plugin: every line.
    let relayed = 0;
    const forward = (): void => {
      for (; relayed < p.lines.length; relayed++) {
        const line = p.lines[relayed]!;
        if (relayed === 0 || p.events[relayed]?.event === 'log') continue;
        client.socket.write(`${line}\n\n`);
      }
    };
    p.child.stdout.on('data', () => forward());
    forward();
    client.onLine((line) => p.child.stdin.write(`${line}\n`));

    await conn.waitFor((c) => c.heartbeats >= 2, 10_000, 'relayed heartbeats');
    const echo = await conn.request({ type: 'tool', action: 'invoke_tool', tool: 'echo', tool_parameters: { a: 1 } });
    expect(echo.messages).toEqual([
      { type: 'stream', data: { type: 'text', message: { text: 'echo: {"a":1}' }, meta: null } },
      { type: 'end', data: {} },
    ]);
    const bw = await conn.request({
      type: 'tool',
      action: 'invoke_tool',
      tool: 'backwards',
      tool_parameters: { b: 2 },
    });
    expect(bw.ended).toBe(true);
    expect(bw.backwards).toHaveLength(1);
    expect(bw.messages.map((m) => m.type)).toEqual(['invoke', 'stream', 'end']);
    const streamed = bw.messages[1]!.data as { message: { json_object: { responses: unknown[] } } };
    expect(streamed.message.json_object.responses).toEqual([
      { echo: (bw.backwards[0] as { request: unknown }).request },
    ]);
    const err = await conn.request({ type: 'tool', action: 'invoke_tool', tool: 'error' });
    expect(err.error).toEqual({ error_type: 'ValueError', message: 'boom', args: {} });
    expect(conn.events.some((e) => e.event === 'log')).toBe(false);

    const crash = conn.request({ type: 'tool', action: 'invoke_tool', tool: 'crash' });
    await p.exited;
    client.close(); // the relay gives up when its plugin dies
    expect((await crash).error).toEqual({
      error_type: 'ConnectionClosedError',
      message: 'Connection closed unexpectedly',
      args: {},
    });
  });
});
