/**
 * A fake Dify plugin daemon: the server side of the remote-debugging TCP protocol, as described in
 * docs/remote-debugging.md (framing, registration, end of registration, events, requests,
 * backwards invocation, timers, error strings: each a section of that page).
 *
 * Everything is event-driven: no sleeps, and every timer is cleared when its connection closes.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';

// ---------------------------------------------------------------------------------------------
// Public types

export interface FakeDaemonOptions {
  /** Valid debug keys (default `['test-key']`). */
  keys?: string[];
  /** Default 10_000: close SILENTLY if no successful handshake by then (daemon `OnOpen`). */
  handshakeTimeoutMs?: number;
  /**
   * Default 60_000: after init, a ticker of this period closes the connection (silently) when the
   * last heartbeat is older than this window; no heartbeat at all counts as infinitely old, like
   * the daemon's zero `lastActiveAt`. Effective timeout: 1-2x.
   */
  heartbeatTimeoutMs?: number;
  /**
   * Return an error text to reject a declaration message. Called with the message type and its
   * raw `data` (for `*_declaration`, the whole array) after the "already registered" and shape
   * checks. Sent as `handshake failed, invalid plugin declaration: <text>` for the manifest and as
   * `<kinds> register failed, invalid <kinds> declaration: <text>` for the others.
   */
  rejectDeclaration?: (type: string, data: unknown) => string | undefined;
  /** Reply `server is busy now, please try again later` at `end`. */
  busy?: boolean;
  /**
   * Not the documented daemon (docs/remote-debugging.md#registration: there is no ordering guard)
   * but what newer daemon code does: any registration message before a successful handshake gets
   * `handshake failed, registration message before handshake`. Default false.
   */
  requireHandshakeFirst?: boolean;
  /**
   * How the daemon answers a backwards invocation (docs/remote-debugging.md#backwards-invocation). Default: one
   * `{event:"response", message:"stream", data:{echo: <request>}}`; an `end` always follows.
   */
  onBackwards?: (
    invoke: BackwardsInvoke,
    session: { sessionId: string; data: Record<string, unknown> },
  ) => BackwardsReply[];
  /**
   * After we close a connection (error reply, timeout) we half-close first so the client reads
   * everything we sent, then destroy the socket once the client closes too, or after this many ms
   * (default 2_000). The daemon itself closes at once.
   */
  lingerMs?: number;
  /**
   * Not the daemon (which answers at once) but a busy one: wait this long before sending an error
   * reply and closing. Lines arriving meanwhile are ignored, as after any error. Default 0.
   */
  replyDelayMs?: number;
}

/** The `data` of a session `invoke` message. */
export interface BackwardsInvoke {
  type: string;
  backwards_request_id: string;
  request: Record<string, unknown>;
}

export interface BackwardsReply {
  event: 'response' | 'error';
  message?: string;
  data?: unknown;
}

export interface SessionMessage {
  type: string;
  data: unknown;
}

export interface SessionResult {
  /** The session id this request was sent with. */
  sessionId: string;
  /** Session messages in order: stream, invoke, end, error (plus the synthetic error on close). */
  messages: SessionMessage[];
  /** True when the session ended with `end`. */
  ended: boolean;
  /** Set when the session ended with an error: the `error` data, or a daemon-made error object. */
  error?: unknown;
  /** The `data` of every `invoke` the plugin made in this session. */
  backwards: unknown[];
}

export interface PluginEvent {
  event: string;
  session_id: string | null;
  data: unknown;
}

export type CloseReason =
  | 'error' // we replied with an error text and closed
  | 'handshake-timeout'
  | 'heartbeat-timeout'
  | 'client' // the client closed or reset the connection
  | 'drop' // drop() / reset()
  | 'daemon-close'; // FakeDaemon.close()

/** The synthetic error every pending session receives when the connection closes (docs/remote-debugging.md#timers). */
export const CONNECTION_CLOSED_ERROR = Object.freeze({
  error_type: 'ConnectionClosedError',
  message: 'Connection closed unexpectedly',
  args: {},
});

const MAX_ASSETS_BYTES = 50 * 1024 * 1024;
const DEFAULT_WAIT_MS = 10_000;

/**
 * Registration `type` → how the daemon names it in its error strings (dify-plugin-daemon
 * `internal/core/debugging_runtime/runtime_intialization_handlers.go`).
 */
interface DeclarationKind {
  key: DeclKey;
  already: string;
  invalid: string;
  goType: string;
}
const DECLARATIONS = new Map<string, DeclarationKind>(
  Object.entries({
    tool_declaration: { key: 'tool', already: 'tools', invalid: 'tools', goType: 'ToolProviderDeclaration' },
    model_declaration: { key: 'model', already: 'models', invalid: 'models', goType: 'ModelProviderDeclaration' },
    endpoint_declaration: {
      key: 'endpoint',
      already: 'endpoints',
      invalid: 'endpoints',
      goType: 'EndpointProviderDeclaration',
    },
    agent_strategy_declaration: {
      key: 'agent_strategy',
      already: 'agent strategy',
      invalid: 'agent strategies',
      goType: 'AgentStrategyProviderDeclaration',
    },
    datasource_declaration: {
      key: 'datasource',
      already: 'datasource',
      invalid: 'datasources',
      goType: 'DatasourceProviderDeclaration',
    },
    trigger_declaration: {
      key: 'trigger',
      already: 'triggers',
      invalid: 'triggers',
      goType: 'TriggerProviderDeclaration',
    },
  } satisfies Record<string, DeclarationKind>),
);
type DeclKey = 'tool' | 'model' | 'endpoint' | 'agent_strategy' | 'datasource' | 'trigger';

// ---------------------------------------------------------------------------------------------
// Small helpers

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The JSON kind name Go's encoding/json uses in `cannot unmarshal <kind> into ...`. */
function goKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'object';
  }
}

/** go-playground/validator's message for a failed `required` tag. */
function requiredError(struct: string, field: string): string {
  return `Key: '${struct}.${field}' Error:Field validation for '${field}' failed on the 'required' tag`;
}

/**
 * Serializes like Go's json.Marshal of the daemon's map-typed payloads: map keys sorted,
 * `<`, `>`, `&`, U+2028 and U+2029 escaped. (Only used for values the daemon holds as maps.)
 */
function goMarshal(value: unknown): string {
  return goEscape(JSON.stringify(sortKeys(value)));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) {
    const out: Json = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
    return out;
  }
  return v;
}

function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Go's base64.StdEncoding.DecodeString acceptance (padding required, `\r`/`\n` skipped).
 * Returns the offset of Go's CorruptInputError, or undefined when the input is valid.
 */
function goBase64ErrorOffset(src: string): number | undefined {
  if (src.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(src)) return undefined; // fast path
  const alphabet = /[A-Za-z0-9+/]/;
  const isNl = (c: string | undefined): boolean => c === '\n' || c === '\r';
  let si = 0;
  for (;;) {
    let j = 0;
    let done = false;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return undefined;
        return si - j; // incomplete quantum with a padded encoding
      }
      const ch = src[si++]!;
      if (alphabet.test(ch)) continue;
      if (isNl(ch)) {
        j--;
        continue;
      }
      if (ch !== '=') return si - 1;
      // padding
      if (j === 0 || j === 1) return si - 1;
      if (j === 2) {
        while (si < src.length && isNl(src[si])) si++;
        if (si === src.length) return src.length;
        if (src[si] !== '=') return si - 1;
        si++;
      }
      while (si < src.length && isNl(src[si])) si++;
      if (si < src.length) return si;
      done = true;
      break;
    }
    if (done) return undefined;
  }
}

/** Splits a byte stream on `\n`, keeping the incomplete tail; empty lines are skipped (docs/remote-debugging.md#framing). */
class LineSplitter {
  private parts: Buffer[] = [];

  push(chunk: Buffer, onLine: (line: Buffer) => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      let line: Buffer;
      if (this.parts.length > 0) {
        this.parts.push(chunk.subarray(start, nl));
        line = Buffer.concat(this.parts);
        this.parts = [];
      } else {
        line = chunk.subarray(start, nl);
      }
      start = nl + 1;
      if (line.length > 0) onLine(line);
    }
    if (start < chunk.length) this.parts.push(chunk.subarray(start));
  }
}

/** A FIFO of items with waiters, for nextRegistered/nextClosed. */
class HandOut<T> {
  private items: T[] = [];
  private waiters: { resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];

  put(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(item);
    } else {
      this.items.push(item);
    }
  }

  take(timeoutMs: number, what: string): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`fake daemon: timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  cancelAll(reason: string): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(reason));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// FakeDaemon

export class FakeDaemon {
  readonly port: number;
  readonly url: string;
  readonly connections: FakeConnection[] = [];
  private readonly registered = new HandOut<FakeConnection>();
  private readonly closedQueue = new HandOut<{ connection: FakeConnection; errorText: string }>();
  private closing = false;
  private closingPromise: Promise<void> | undefined;

  private constructor(
    private readonly server: net.Server,
    readonly options: Required<
      Pick<FakeDaemonOptions, 'keys' | 'handshakeTimeoutMs' | 'heartbeatTimeoutMs' | 'busy' | 'lingerMs'>
    > &
      FakeDaemonOptions,
  ) {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('fake daemon: unexpected server address');
    this.port = address.port;
    this.url = `127.0.0.1:${this.port}`;
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(options: FakeDaemonOptions = {}): Promise<FakeDaemon> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FakeDaemon(server, {
      ...options,
      keys: options.keys ?? ['test-key'],
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 60_000,
      busy: options.busy ?? false,
      lingerMs: options.lingerMs ?? 2_000,
    });
  }

  /** Resolves with the next connection that completes `end` successfully (or the oldest one that already did and was not handed out yet). */
  nextRegistered(timeoutMs = DEFAULT_WAIT_MS): Promise<FakeConnection> {
    return this.registered.take(timeoutMs, 'a registered connection');
  }

  /** Resolves with the next connection that gets closed (by us or the client), with the plain-text error lines we sent, if any. */
  nextClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<{ connection: FakeConnection; errorText: string }> {
    return this.closedQueue.take(timeoutMs, 'a closed connection');
  }

  /** Stops listening, destroys every connection (pending requests get the ConnectionClosedError) and rejects pending waits. */
  close(): Promise<void> {
    this.closingPromise ??= this.shutdown();
    return this.closingPromise;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.destroyFromDaemon();
    await Promise.all(this.connections.map((c) => c.closed));
    await serverClosed;
    this.registered.cancelAll('fake daemon closed');
    this.closedQueue.cancelAll('fake daemon closed');
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const connection = new FakeConnection(socket, this.options, {
      onRegistered: (c) => this.registered.put(c),
      onClosed: (c) => this.closedQueue.put({ connection: c, errorText: c.errorText }),
    });
    this.connections.push(connection);
  }
}

// ---------------------------------------------------------------------------------------------
// FakeConnection

interface PendingRequest {
  result: SessionResult;
  data: Record<string, unknown>;
  envelope: RequestEnvelope;
  resolve: (r: SessionResult) => void;
  timer: NodeJS.Timeout;
}

/** The optional parts of the request envelope (docs/remote-debugging.md#requests); all default to null. */
export interface RequestEnvelope {
  conversation_id?: string | null;
  message_id?: string | null;
  app_id?: string | null;
  endpoint_id?: string | null;
  context?: Record<string, unknown> | null;
}

interface Hooks {
  onRegistered: (c: FakeConnection) => void;
  onClosed: (c: FakeConnection) => void;
}

type Options = FakeDaemon['options'];

export class FakeConnection {
  /** Every parsed registration-phase message, in order (handshake included, rejected ones too). */
  readonly registration: { type: string; data: unknown }[] = [];
  /** Every event line after init, parsed (`log` and unknown events included). */
  readonly events: PluginEvent[] = [];
  /** Lines that did not parse (registration phase or after init), as text. */
  readonly unparsed: string[] = [];
  /** Lines written to the client: requests and backwards responses, as sent (without `\n`). */
  readonly sent: string[] = [];
  heartbeats = 0;
  initialized = false;
  handshaked = false;
  /** The plain-text error lines we sent (joined with `\n`, no trailing newline), or ''. */
  errorText = '';
  closeReason: CloseReason | undefined;
  /** The socket error the connection saw, if any (ECONNRESET…). */
  socketError: Error | undefined;
  readonly closed: Promise<void>;

  /** The registered configuration, like the daemon's `runtime.Config`: the manifest replaces it all. */
  readonly declaration: { manifest?: unknown } & Partial<Record<DeclKey, unknown>> = {};

  private readonly splitter = new LineSplitter();
  private readonly transferred = new Set<DeclKey>();
  private manifestRegistered = false;
  private readonly assetChunks = new Map<string, Buffer[]>();
  private assetsBytes = 0;
  private failed = false;
  private closing = false;
  private isClosed = false;
  private lastHeartbeatAt = 0; // like Go's zero time: "never"
  private handshakeTimer: NodeJS.Timeout | undefined;
  private heartbeatTicker: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private replyTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly watchers = new Set<() => void>();
  private resolveClosed!: () => void;

  constructor(
    private readonly socket: net.Socket,
    private readonly options: Options,
    private readonly hooks: Hooks,
  ) {
    this.closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      // The client half-closed. The daemon treats a read EOF as a close.
      if (!this.closing) this.beginClose('client', undefined);
      else socket.destroy();
    });
    socket.on('error', (err) => {
      this.socketError = err;
    });
    socket.on('close', () => this.onSocketClose());
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = undefined;
      if (!this.handshaked) this.beginClose('handshake-timeout', undefined);
    }, options.handshakeTimeoutMs);
  }

  /** Decoded asset bytes per filename, as the daemon accumulated them. */
  get assets(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [name, chunks] of this.assetChunks) out.set(name, Buffer.concat(chunks));
    return out;
  }

  /** Whether the connection is open: not closed and not being closed by us or the client. */
  get isOpen(): boolean {
    return !this.isClosed && !this.closing;
  }

  /** Session ids of requests still waiting for `end`/`error`. */
  get pendingSessions(): string[] {
    return [...this.pending.keys()];
  }

  /**
   * Sends a request line (docs/remote-debugging.md#requests) and collects the session's messages
   * until `end` or `error` (or the connection closes, which yields the synthetic
   * ConnectionClosedError). Rejects only on timeout or when the connection is not initialized yet.
   */
  request(
    data: Record<string, unknown>,
    timeoutMs = DEFAULT_WAIT_MS,
    envelope: RequestEnvelope = {},
  ): Promise<SessionResult> {
    const sessionId = randomUUID();
    const result: SessionResult = { sessionId, messages: [], ended: false, backwards: [] };
    if (this.isClosed || this.closing) {
      result.messages.push({ type: 'error', data: { ...CONNECTION_CLOSED_ERROR, args: {} } });
      result.error = { ...CONNECTION_CLOSED_ERROR, args: {} };
      return Promise.resolve(result);
    }
    if (!this.initialized)
      return Promise.reject(new Error('fake daemon: request on a connection that is not initialized'));
    return new Promise<SessionResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(sessionId);
        reject(
          new Error(
            `fake daemon: request ${sessionId} got no end/error within ${timeoutMs} ms; messages so far: ${JSON.stringify(result.messages).slice(0, 2000)}`,
          ),
        );
      }, timeoutMs);
      this.pending.set(sessionId, { result, data, envelope, resolve, timer });
      this.writeLine(this.envelope(sessionId, envelope, 'request', data));
    });
  }

  /** Writes raw bytes to the client (for framing tests). */
  writeRaw(bytes: string | Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Stops reading from the client, so its writes back up (back-pressure tests). */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Destroys the socket abruptly (FIN without an error text). */
  drop(): void {
    this.closeReason ??= 'drop';
    this.socket.destroy();
  }

  /** Destroys the socket with a TCP RST (the client sees ECONNRESET). */
  reset(): void {
    this.closeReason ??= 'drop';
    this.socket.resetAndDestroy();
  }

  /** Resolves once `predicate(this)` holds; checked after every line and state change. */
  waitFor(predicate: (c: FakeConnection) => boolean, timeoutMs = DEFAULT_WAIT_MS, what = 'a condition'): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        this.watchers.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.watchers.delete(check);
        reject(new Error(`fake daemon: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.watchers.add(check);
    });
  }

  /** Used by FakeDaemon.close(). */
  destroyFromDaemon(): void {
    this.closeReason ??= 'daemon-close';
    this.socket.destroy();
  }

  // -------------------------------------------------------------------------------------------
  // Inbound

  private onData(chunk: Buffer): void {
    if (this.closing || this.isClosed) return; // everything after our close is ignored
    this.splitter.push(chunk, (line) => this.onLine(line));
  }

  private onLine(line: Buffer): void {
    if (this.failed || this.closing || this.isClosed) return;
    const text = line.toString('utf8');
    if (!this.initialized) this.onRegistrationLine(text);
    else this.onEventLine(text);
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.watchers]) w();
  }

  // -------------------------------------------------------------------------------------------
  // Registration phase (docs/remote-debugging.md#registration)

  private onRegistrationLine(text: string): void {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      this.unparsed.push(text);
      return this.fail('handshake failed, invalid handshake message');
    }
    if (!isObject(payload) || typeof payload.type !== 'string' || payload.type === '' || !('data' in payload)) {
      this.unparsed.push(text);
      return this.fail('handshake failed, invalid handshake message');
    }
    const type = payload.type;
    const data = payload.data;
    this.registration.push({ type, data });

    if (this.options.requireHandshakeFirst && !this.handshaked && type !== 'handshake') {
      return this.fail('handshake failed, registration message before handshake');
    }

    switch (type) {
      case 'handshake':
        return this.onHandshake(data);
      case 'asset_chunk':
        return this.onAssetChunk(data);
      case 'end':
        return this.onEnd();
      case 'manifest_declaration':
        return this.onManifest(data);
      default: {
        const decl = DECLARATIONS.get(type);
        if (decl) return this.onDeclaration(type, decl, data);
        // unknown types are silently ignored
      }
    }
  }

  private onHandshake(data: unknown): void {
    if (this.handshaked) return this.fail('handshake already completed');
    if (!isObject(data) || typeof data.key !== 'string' || data.key === '') {
      return this.fail('handshake failed, invalid handshake message');
    }
    if (!this.options.keys.includes(data.key)) return this.fail('handshake failed, invalid key');
    this.handshaked = true;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  private onManifest(data: unknown): void {
    if (this.manifestRegistered) return this.fail('declaration already registered');
    if (!isObject(data)) {
      const err =
        data === null
          ? requiredError('PluginDeclaration', 'PluginDeclarationWithoutAdvancedFields.Version')
          : `json: cannot unmarshal ${goKind(data)} into Go value of type plugin_entities.PluginDeclaration`;
      return this.fail(`handshake failed, invalid plugin declaration: ${err}`);
    }
    const rejected = this.options.rejectDeclaration?.('manifest_declaration', data);
    if (rejected !== undefined) return this.fail(`handshake failed, invalid plugin declaration: ${rejected}`);
    // The daemon replaces its whole config with the manifest: provider declarations sent before it are lost.
    for (const k of Object.keys(this.declaration)) delete this.declaration[k as keyof typeof this.declaration];
    this.declaration.manifest = data;
    this.manifestRegistered = true;
  }

  private onDeclaration(type: string, decl: DeclarationKind, data: unknown): void {
    if (this.transferred.has(decl.key)) return this.fail(`${decl.already} declaration already registered`);
    const invalid = (err: string): void =>
      this.fail(`${decl.invalid} register failed, invalid ${decl.invalid} declaration: ${err}`);
    // Go unmarshals into a slice: null is an empty slice; anything else but an array of objects fails.
    let items: unknown[];
    if (data === null) items = [];
    else if (Array.isArray(data)) items = data;
    else
      return invalid(`json: cannot unmarshal ${goKind(data)} into Go value of type []plugin_entities.${decl.goType}`);
    for (const item of items) {
      if (item !== null && !isObject(item)) {
        return invalid(`json: cannot unmarshal ${goKind(item)} into Go value of type plugin_entities.${decl.goType}`);
      }
      if (item === null) return invalid(requiredError(decl.goType, 'Identity'));
    }
    const rejected = this.options.rejectDeclaration?.(type, data);
    if (rejected !== undefined) return invalid(rejected);
    this.transferred.add(decl.key);
    if (items.length > 0) this.declaration[decl.key] = items[0]; // only element [0] is used
  }

  private onAssetChunk(data: unknown): void {
    const struct = 'RemotePluginRegisterAssetChunk';
    if (!isObject(data)) {
      if (data === null) {
        return this.fail(
          `transfer assets failed, error: ${requiredError(struct, 'Filename')}\n${requiredError(struct, 'Data')}`,
        );
      }
      return this.fail(
        `transfer assets failed, error: json: cannot unmarshal ${goKind(data)} into Go value of type plugin_entities.${struct}`,
      );
    }
    const fields: [string, string][] = [
      ['filename', 'string'],
      ['data', 'string'],
      ['end', 'bool'],
    ];
    for (const [field, goType] of fields) {
      const v = data[field];
      if (v === undefined || v === null) continue;
      if (goKind(v) !== goType) {
        return this.fail(
          `transfer assets failed, error: json: cannot unmarshal ${goKind(v)} into Go struct field ${struct}.${field} of type ${goType}`,
        );
      }
    }
    const filename = typeof data.filename === 'string' ? data.filename : '';
    const b64 = typeof data.data === 'string' ? data.data : '';
    const missing = [
      filename === '' ? requiredError(struct, 'Filename') : '',
      b64 === '' ? requiredError(struct, 'Data') : '',
    ].filter(Boolean);
    if (missing.length > 0) return this.fail(`transfer assets failed, error: ${missing.join('\n')}`);

    let chunks = this.assetChunks.get(filename);
    if (!chunks) {
      chunks = [];
      this.assetChunks.set(filename, chunks);
    }
    // The daemon compares the decoded total plus the *base64 length* of this chunk, a quirk of
    // dify-plugin-daemon `internal/core/debugging_runtime/runtime_intialization_handlers.go`.
    if (this.assetsBytes + Buffer.byteLength(b64) > MAX_ASSETS_BYTES)
      return this.fail('assets too large, at most 50MB');
    const bad = goBase64ErrorOffset(b64);
    if (bad !== undefined) return this.fail(`assets decode failed, error: illegal base64 data at input byte ${bad}`);
    const bytes = Buffer.from(/[\r\n]/.test(b64) ? b64.replace(/[\r\n]/g, '') : b64, 'base64');
    chunks.push(bytes);
    this.assetsBytes += bytes.length;
  }

  private onEnd(): void {
    if (this.options.busy) return this.fail('server is busy now, please try again later');
    if (this.transferred.size === 0) return this.fail('no registration transferred, cannot initialize');
    const remapError = this.remapAssets();
    if (remapError !== undefined)
      return this.fail(`assets remap failed, invalid assets data, cannot remap: ${remapError}`);
    this.initialized = true;
    this.startHeartbeatMonitor();
    this.hooks.onRegistered(this);
  }

  /** The daemon's RemapAssets (media_transport/assets.go): every referenced icon must be a transferred asset. */
  private remapAssets(): string | undefined {
    const assets = this.assetChunks;
    const check = (name: unknown, what: string): string | undefined => {
      if (typeof name !== 'string' || name === '') return undefined;
      if (assets.has(name)) return undefined;
      return `file not found: ${name}\nfailed to remap ${what}`;
    };
    const identity = (decl: unknown): Json => (isObject(decl) && isObject(decl.identity) ? decl.identity : {});
    const d = this.declaration;

    if (isObject(d.model)) {
      const fields: [string, string][] = [
        ['icon_small', 'model icon small'],
        ['icon_large', 'model icon large'],
        ['icon_small_dark', 'model icon small dark'],
        ['icon_large_dark', 'model icon large dark'],
      ];
      for (const [field, what] of fields) {
        const i18n = d.model[field];
        if (!isObject(i18n)) continue;
        for (const locale of ['en_US', 'zh_Hans', 'ja_JP', 'pt_BR']) {
          const err = check(i18n[locale], `${what} ${locale}`);
          if (err) return err;
        }
      }
    }
    const pairs: [unknown, string][] = [];
    if (d.tool !== undefined)
      pairs.push([identity(d.tool).icon, 'tool icon'], [identity(d.tool).icon_dark, 'tool icon dark']);
    if (d.agent_strategy !== undefined) {
      pairs.push(
        [identity(d.agent_strategy).icon, 'agent icon'],
        [identity(d.agent_strategy).icon_dark, 'agent icon dark'],
      );
    }
    if (d.datasource !== undefined) {
      pairs.push(
        [identity(d.datasource).icon, 'datasource icon'],
        [identity(d.datasource).icon_dark, 'datasource icon dark'],
      );
      const entries = isObject(d.datasource) && Array.isArray(d.datasource.datasources) ? d.datasource.datasources : [];
      for (const entry of entries) {
        const id = identity(entry);
        pairs.push([id.icon, `datasource ${typeof id.name === 'string' ? id.name : ''} icon`]);
      }
    }
    if (d.trigger !== undefined)
      pairs.push([identity(d.trigger).icon, 'trigger icon'], [identity(d.trigger).icon_dark, 'trigger icon dark']);
    const manifest = isObject(d.manifest) ? d.manifest : {};
    pairs.push([manifest.icon, 'plugin icon'], [manifest.icon_dark, 'plugin dark icon']);
    for (const [name, what] of pairs) {
      const err = check(name, what);
      if (err) return err;
    }
    return undefined;
  }

  private startHeartbeatMonitor(): void {
    const period = this.options.heartbeatTimeoutMs;
    this.heartbeatTicker = setInterval(() => {
      if (Date.now() - this.lastHeartbeatAt > period) this.beginClose('heartbeat-timeout', undefined);
    }, period);
  }

  // -------------------------------------------------------------------------------------------
  // After init (docs/remote-debugging.md#events)

  private onEventLine(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.unparsed.push(text);
      return;
    }
    // Go unmarshals into {session_id string, event string, data RawMessage}.
    if (
      !isObject(parsed) ||
      (parsed.session_id !== undefined && parsed.session_id !== null && typeof parsed.session_id !== 'string') ||
      (parsed.event !== undefined && parsed.event !== null && typeof parsed.event !== 'string')
    ) {
      this.unparsed.push(text);
      return;
    }
    const event: PluginEvent = {
      event: typeof parsed.event === 'string' ? parsed.event : '',
      session_id: typeof parsed.session_id === 'string' ? parsed.session_id : null,
      data: parsed.data,
    };
    this.events.push(event);
    switch (event.event) {
      case 'heartbeat':
        this.heartbeats++;
        this.lastHeartbeatAt = Date.now();
        break;
      case 'session':
        this.onSessionMessage(event.session_id ?? '', event.data);
        break;
      default:
      // log: ignored for remote debugging; error: logged by the daemon; others: ignored
    }
  }

  private onSessionMessage(sessionId: string, data: unknown): void {
    const pending = this.pending.get(sessionId);
    if (!pending) return; // unknown sessions are dropped
    if (!isObject(data) || typeof data.type !== 'string' || data.type === '' || !('data' in data)) return; // logged and dropped
    const message: SessionMessage = { type: data.type, data: data.data };
    const { result } = pending;
    switch (message.type) {
      case 'stream':
        result.messages.push(message);
        return;
      case 'end':
        result.messages.push(message);
        result.ended = true;
        return this.finish(sessionId);
      case 'error': {
        const e = message.data;
        const args = isObject(e) ? e.args : undefined;
        const valid =
          isObject(e) &&
          (e.message === undefined || e.message === null || typeof e.message === 'string') &&
          (e.error_type === undefined || e.error_type === null || typeof e.error_type === 'string') &&
          (args === undefined || args === null || (isObject(args) && Object.keys(args).length <= 10));
        result.messages.push(message);
        if (!valid) return; // the daemon cannot parse it and keeps waiting
        result.error = e;
        return this.finish(sessionId);
      }
      case 'invoke':
        result.messages.push(message);
        return this.onInvoke(pending, message.data);
      default:
        result.messages.push(message);
        result.error = {
          error_type: 'unknown_stream_message_type',
          message: `unknown stream message type: ${message.type}`,
        };
        return this.finish(sessionId);
    }
  }

  private onInvoke(pending: PendingRequest, data: unknown): void {
    const { result } = pending;
    const sessionId = result.sessionId;
    if (!isObject(data)) {
      result.error = {
        error_type: 'invoke_dify_error',
        message: `invoke dify failed: ${data === null ? 'invoke request is empty' : `unmarshal invoke request failed: json: cannot unmarshal ${goKind(data)} into Go value of type map[string]interface {}`}`,
      };
      return this.finish(sessionId);
    }
    const missing =
      typeof data.type !== 'string'
        ? 'type'
        : typeof data.backwards_request_id !== 'string'
          ? 'request_id'
          : !isObject(data.request)
            ? 'request'
            : undefined;
    if (missing !== undefined) {
      result.error = {
        error_type: 'invoke_dify_error',
        message: `invoke dify failed: invoke request missing ${missing}: ${goMarshal(data)}`,
      };
      return this.finish(sessionId);
    }
    const invoke: BackwardsInvoke = {
      type: data.type as string,
      backwards_request_id: data.backwards_request_id as string,
      request: data.request as Record<string, unknown>,
    };
    result.backwards.push(data);
    const id = invoke.backwards_request_id;
    let replies: BackwardsReply[];
    if (pending.data.type === 'model') {
      replies = [{ event: 'error', message: 'you can not invoke dify from model' }];
    } else if (this.options.onBackwards) {
      replies = this.options.onBackwards(invoke, { sessionId, data: pending.data });
    } else {
      replies = [{ event: 'response', message: 'stream', data: { echo: invoke.request } }];
    }
    for (const reply of replies) {
      this.writeLine(
        this.envelope(sessionId, pending.envelope, 'backwards_response', {
          backwards_request_id: id,
          event: reply.event,
          message: reply.message ?? '',
          data: reply.data === undefined ? (reply.event === 'error' ? null : {}) : reply.data,
        }),
      );
    }
    this.writeLine(
      this.envelope(sessionId, pending.envelope, 'backwards_response', {
        backwards_request_id: id,
        event: 'end',
        message: '',
        data: null,
      }),
    );
  }

  private finish(sessionId: string): void {
    const pending = this.pending.get(sessionId);
    if (!pending) return;
    this.pending.delete(sessionId);
    clearTimeout(pending.timer);
    pending.resolve(pending.result);
  }

  // -------------------------------------------------------------------------------------------
  // Outbound

  private envelope(sessionId: string, env: RequestEnvelope, event: string, data: unknown): string {
    // Struct fields in the daemon's order (pluginInStreamMessage); data is a Go map (sorted keys).
    const head = JSON.stringify({
      session_id: sessionId,
      conversation_id: env.conversation_id ?? null,
      message_id: env.message_id ?? null,
      app_id: env.app_id ?? null,
      endpoint_id: env.endpoint_id ?? null,
      context: env.context === undefined || env.context === null ? null : sortKeys(env.context),
      event,
    });
    return `${goEscape(head.slice(0, -1))},"data":${goMarshal(data)}}`;
  }

  private writeLine(line: string): void {
    this.sent.push(line);
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(`${line}\n`);
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  /** Replies with a plain-text error line and closes; everything after is ignored. */
  private fail(text: string): void {
    if (this.failed) return;
    this.failed = true;
    this.errorText = this.errorText ? `${this.errorText}\n${text}` : text;
    const delay = this.options.replyDelayMs ?? 0;
    if (delay > 0) this.replyTimer = setTimeout(() => this.beginClose('error', `${text}\n`), delay);
    else this.beginClose('error', `${text}\n`);
  }

  private beginClose(reason: CloseReason, payload: string | undefined): void {
    if (this.closing || this.isClosed) return;
    this.closing = true;
    this.closeReason ??= reason;
    this.clearTimers();
    this.failPending();
    const socket = this.socket;
    if (socket.destroyed) return;
    // Half-close after flushing what we wrote, keep reading (and ignoring) so the kernel does not
    // answer unread client bytes with a RST that could eat our error text; destroy once the client
    // closes too, or after lingerMs.
    socket.on('finish', () => {
      if (socket.destroyed) return;
      if (socket.readableEnded) socket.destroy();
      else this.lingerTimer = setTimeout(() => socket.destroy(), this.options.lingerMs);
    });
    if (payload === undefined) socket.end();
    else socket.end(payload);
    this.notify();
  }

  private failPending(): void {
    for (const [sessionId, pending] of this.pending) {
      const error = { ...CONNECTION_CLOSED_ERROR, args: {} };
      pending.result.messages.push({ type: 'error', data: error });
      pending.result.error = error;
      this.finish(sessionId);
    }
  }

  private clearTimers(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.heartbeatTicker) clearInterval(this.heartbeatTicker);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.replyTimer) clearTimeout(this.replyTimer);
    this.handshakeTimer = this.heartbeatTicker = this.lingerTimer = this.replyTimer = undefined;
  }

  private onSocketClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closing = true;
    this.closeReason ??= 'client';
    this.clearTimers();
    this.failPending();
    this.notify();
    this.hooks.onClosed(this);
    this.resolveClosed();
  }
}
