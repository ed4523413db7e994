// The bench daemon for scripts/bench-relay.mjs: just enough of the Dify plugin daemon's
// remote-debugging server (docs/remote-debugging.md) to drive `dify plugin run`.
// Plain Node ESM, no dependencies; it runs inside the benchmark process.
//
// Registration (docs/remote-debugging.md#registration): lines `{"type","data"}`: handshake (key
// checked), manifest_declaration, *_declaration, asset_chunk, end. Nothing is sent on success; a
// failure gets the daemon's plain text reply and a close. After `end` the connection sends
// requests (#requests of that page) and reads the plugin's events (#events). Stream lines are
// checked without JSON.parse when they have the bench plugin's exact layout (a fixed prefix, a
// sequence number, a fixed length) so that the daemon is never the bottleneck; any other line is
// parsed in full. Every surprise is recorded in `problems`.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const SEQ_DIGITS = 10;
/** Stream lines parsed in full anyway, one in this many, as a spot check of the fast path. */
const SAMPLE_EVERY = 4096;

export async function startDaemon({ key }) {
  const server = net.createServer({ noDelay: true });
  const connections = new Set();
  const registered = [];
  const waiters = [];
  server.on('connection', (socket) => {
    const c = new Connection(socket, key, (conn) => {
      const w = waiters.shift();
      if (w) w(conn);
      else registered.push(conn);
    });
    connections.add(c);
    socket.on('close', () => connections.delete(c));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: server.address().port,
    /** The next connection that completes its registration. */
    nextRegistered() {
      const ready = registered.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiters.push(resolve));
    },
    close() {
      for (const c of connections) c.socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

class Connection {
  constructor(socket, key, onRegistered) {
    this.socket = socket;
    this.key = key;
    this.onRegistered = onRegistered;
    this.initialized = false;
    this.handshake = false;
    this.declarations = 0;
    this.sessions = new Map();
    this.heartbeats = 0;
    this.problems = [];
    this.closed = false;
    /** The session of the `stream` request in flight, for the fast path. */
    this.streaming = undefined;
    let pieces = [];
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      let start = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
        pieces.push(chunk.subarray(start, nl));
        const line = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
        pieces = [];
        start = nl + 1;
        if (line.length > 0 && !(line.length === 1 && line[0] === 0x0d)) this.receive(line);
      }
      if (start < chunk.length) pieces.push(chunk.subarray(start));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const s of this.sessions.values()) s.fail(new Error('the connection closed before the session ended'));
      this.sessions.clear();
    });
  }

  /** Sends a request (docs/remote-debugging.md#requests) for the bench plugin's `tool`; resolves with what came back. */
  request(tool, toolParameters = {}) {
    if (this.closed) return Promise.reject(new Error('the connection is closed'));
    const sessionId = randomUUID();
    const envelope = {
      session_id: sessionId,
      conversation_id: null,
      message_id: null,
      app_id: null,
      endpoint_id: null,
      context: null,
      event: 'request',
      data: {
        user_id: 'u',
        type: 'tool',
        action: 'invoke_tool',
        provider: 'hello_world',
        tool,
        tool_parameters: toolParameters,
        credentials: {},
      },
    };
    return new Promise((resolve, reject) => {
      const session = { id: sessionId, streams: 0, errors: [], sentAt: 0, resolve, fail: reject };
      if (tool === 'stream') {
        const size = Number(toolParameters.size ?? 1024);
        const head = `{"event":"session","session_id":${JSON.stringify(sessionId)},"data":{"type":"stream","data":{"type":"text","message":{"text":"`;
        session.prefix = Buffer.from(head);
        session.lineLength = Buffer.byteLength(head) + size + Buffer.byteLength(`"},"meta":null}}}`);
        session.size = size;
        this.streaming = session;
      }
      this.sessions.set(sessionId, session);
      session.sentAt = performance.now();
      this.socket.write(`${JSON.stringify(envelope)}\n`);
    });
  }

  /** One request → response round trip (an `echo`): milliseconds from sending to the `end`. */
  async roundTrip() {
    const r = await this.request('echo');
    if (r.streams !== 1) throw new Error(`echo: expected 1 stream message, got ${r.streams}`);
    return r.ms;
  }

  /** Asks for `count` stream messages of `size` payload bytes; resolves at the `end`. */
  async stream(count, size) {
    const r = await this.request('stream', { count, size });
    if (r.streams !== count) throw new Error(`stream: expected ${count} messages, got ${r.streams}`);
    return r;
  }

  receive(line) {
    if (!this.initialized) {
      this.register(line);
      return;
    }
    const s = this.streaming;
    let counted = false;
    if (
      s !== undefined &&
      line.length === s.lineLength &&
      line.compare(s.prefix, 0, s.prefix.length, 0, s.prefix.length) === 0
    ) {
      // Fast path: a bench stream line of the session in flight. Check its sequence number.
      let seq = 0;
      for (let i = s.prefix.length, e = i + SEQ_DIGITS; i < e; i++) seq = seq * 10 + (line[i] - 48);
      if (seq !== s.streams) this.problem(`stream ${s.id}: message ${seq} arrived as number ${s.streams}`);
      s.streams++;
      if (s.streams % SAMPLE_EVERY !== 1) return;
      counted = true;
    }
    let message;
    try {
      message = JSON.parse(line.toString('utf8'));
    } catch {
      this.problem(`not JSON: ${line.toString('utf8').slice(0, 120)}`);
      return;
    }
    this.event(message, counted);
  }

  /** `counted`: a stream line the fast path has already counted (a spot check). */
  event(message, counted) {
    switch (message?.event) {
      case 'heartbeat':
        this.heartbeats++;
        return;
      case 'session':
        break;
      case 'log':
        this.problem(`a log event reached the daemon: ${JSON.stringify(message).slice(0, 120)}`);
        return;
      case 'error':
        this.problem(`plugin error: ${JSON.stringify(message.data).slice(0, 200)}`);
        return;
      default:
        this.problem(`unexpected event: ${JSON.stringify(message).slice(0, 120)}`);
        return;
    }
    const session = this.sessions.get(message.session_id);
    if (!session) {
      this.problem(`message for an unknown session ${message.session_id}`);
      return;
    }
    const type = message.data?.type;
    if (type === 'stream') {
      if (session === this.streaming) {
        const text = message.data?.data?.message?.text;
        if (typeof text !== 'string' || text.length !== session.size)
          this.problem(`stream ${session.id}: payload of ${text?.length} bytes, expected ${session.size}`);
        if (counted) return;
        const seq = Number(text?.slice(0, SEQ_DIGITS));
        if (seq !== session.streams)
          this.problem(`stream ${session.id}: message ${seq} arrived as number ${session.streams}`);
      }
      session.streams++;
    } else if (type === 'error') {
      session.errors.push(message.data?.data);
      this.problem(`session ${session.id} error: ${JSON.stringify(message.data?.data).slice(0, 200)}`);
    } else if (type === 'end') {
      const ms = performance.now() - session.sentAt;
      this.sessions.delete(session.id);
      if (this.streaming === session) this.streaming = undefined;
      session.resolve({ ms, streams: session.streams, errors: session.errors });
    } else {
      this.problem(`session ${session.id}: unexpected message type ${type}`);
    }
  }

  /** Registration phase (docs/remote-debugging.md#registration, #error-strings): plain-text replies on failure, silence on success. */
  register(line) {
    let m;
    try {
      m = JSON.parse(line.toString('utf8'));
    } catch {
      m = undefined;
    }
    if (!m || typeof m.type !== 'string' || !('data' in m))
      return this.reject('handshake failed, invalid handshake message');
    switch (m.type) {
      case 'handshake':
        if (this.handshake) return this.reject('handshake already completed');
        if (m.data?.key !== this.key) return this.reject('handshake failed, invalid key');
        this.handshake = true;
        return undefined;
      case 'end':
        if (!this.handshake) return this.reject('handshake failed, invalid key');
        if (this.declarations === 0) return this.reject('no registration transferred, cannot initialize');
        this.initialized = true;
        this.onRegistered(this);
        return undefined;
      default:
        if (m.type.endsWith('_declaration') && m.type !== 'manifest_declaration') this.declarations++;
        return undefined; // manifest, declarations, asset chunks: accepted as they come
    }
  }

  reject(reply) {
    this.problem(`registration refused: ${reply}`);
    this.socket.end(`${reply}\n`);
  }

  problem(text) {
    if (this.problems.length < 20) this.problems.push(text);
  }
}
