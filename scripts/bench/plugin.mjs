// The bench plugin for scripts/bench-relay.mjs: a minimal, fast stand-in for a Python SDK plugin.
// Plain Node ESM, no dependencies.
//
//   stdio mode (default; what `dify plugin run` starts through the --python launcher):
//     stdout: the manifest line, a heartbeat, then session messages
//     (docs/remote-debugging.md#stdio-mode);
//     stdin: daemon request lines, relayed by the CLI.
//   direct mode (`--direct host:port --key K`): opens the TCP connection itself, sends the
//     handshake and a minimal registration (docs/remote-debugging.md#registration), then speaks
//     the same lines over the socket: the baseline without the CLI in between.
//
// Requests (`data.tool`): `echo` answers one stream + one end at once; `stream` answers
// `tool_parameters.count` stream messages whose text payload is `tool_parameters.size` bytes
// (a 10-digit sequence number, then padding), then an end. Every message ends with "\n\n", as
// the SDK writes them. Output respects backpressure (waits for 'drain' when write() says so).
import net from 'node:net';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const direct = flag('--direct');

if (!direct && process.env.INSTALL_METHOD !== 'local') {
  process.stderr.write(
    `bench plugin: expected INSTALL_METHOD=local in stdio mode (got ${JSON.stringify(process.env.INSTALL_METHOD ?? null)})\n`,
  );
  process.exit(2);
}

const MANIFEST = {
  version: '0.0.1',
  type: 'plugin',
  author: 'bench',
  name: 'hello_world',
  label: { en_US: 'Bench' },
  created_at: '2026-01-01T00:00:00Z',
};
const HEARTBEAT = JSON.stringify({ event: 'heartbeat', session_id: null, data: {} });
const SEQ_DIGITS = 10;

/** Where output goes (stdout or the socket), with 'drain' handling. */
let out;
let outputQueue = Promise.resolve();

function writeRaw(data) {
  if (out.destroyed) return Promise.resolve();
  if (out.write(data)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

/** Serializes whole-message writes, so concurrent sessions never interleave inside a line. */
function send(data) {
  outputQueue = outputQueue.then(() => writeRaw(data));
  return outputQueue;
}

const line = (message) => `${JSON.stringify(message)}\n\n`;
const sessionLine = (sid, type, data) => line({ event: 'session', session_id: sid, data: { type, data } });

async function streamMessages(sid, count, size) {
  // Every stream line has the same shape, so a batch is a copy of a template with the sequence
  // numbers written in: the plugin should cost as little as possible next to the relay.
  const pad = 'x'.repeat(Math.max(0, size - SEQ_DIGITS));
  const head = `{"event":"session","session_id":${JSON.stringify(sid)},"data":{"type":"stream","data":{"type":"text","message":{"text":"`;
  const tail = `${pad}"},"meta":null}}}\n\n`;
  const one = Buffer.from(`${head}${'0'.repeat(SEQ_DIGITS)}${tail}`);
  const seqAt = Buffer.byteLength(head);
  const perBatch = Math.max(1, Math.floor(65_536 / one.length));
  const template = Buffer.concat(Array.from({ length: perBatch }, () => one));
  for (let i = 0; i < count;) {
    const n = Math.min(perBatch, count - i);
    const batch = Buffer.allocUnsafe(n * one.length);
    template.copy(batch, 0, 0, batch.length);
    for (let k = 0; k < n; k++, i++) batch.write(String(i).padStart(SEQ_DIGITS, '0'), k * one.length + seqAt, 'latin1');
    await send(batch);
  }
  await send(sessionLine(sid, 'end', {}));
}

function onRequest(message) {
  const sid = message.session_id;
  const data = message.data ?? {};
  const params = data.tool_parameters ?? {};
  switch (data.tool) {
    case 'echo':
      return send(
        sessionLine(sid, 'stream', { type: 'text', message: { text: 'pong' }, meta: null }) +
          sessionLine(sid, 'end', {}),
      );
    case 'stream':
      return streamMessages(sid, Number(params.count ?? 1000), Number(params.size ?? 1024));
    default:
      return send(
        sessionLine(sid, 'error', {
          error_type: 'ValueError',
          message: `bench plugin: unknown tool ${JSON.stringify(data.tool)}`,
          args: {},
        }) + sessionLine(sid, 'end', {}),
      );
  }
}

function onLine(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch (err) {
    void send(line({ event: 'error', session_id: null, data: { error: `failed to parse line: ${err.message}` } }));
    return;
  }
  if (message?.event === 'request' && typeof message.session_id === 'string') void onRequest(message);
}

/** Newline splitting over a byte stream; blank lines skipped. */
function readLines(stream) {
  let pieces = [];
  stream.on('data', (chunk) => {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      pieces.push(chunk.subarray(start, nl));
      const bytes = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
      pieces = [];
      start = nl + 1;
      const text = bytes.toString('utf8').trim();
      if (text !== '') onLine(text);
    }
    if (start < chunk.length) pieces.push(chunk.subarray(start));
  });
}

// Orphan check, as the SDK does in stdio mode (dify-plugin-sdks `src/dify_plugin/core/server/io_server.py`):
// never outlive the parent.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(255);
}, 200);
const heartbeats = () => setInterval(() => void send(`${HEARTBEAT}\n\n`), 10_000);

if (direct) {
  const m = /^(.*):(\d+)$/.exec(direct);
  if (!m) {
    process.stderr.write(`bench plugin: --direct wants host:port, got ${direct}\n`);
    process.exit(2);
  }
  const socket = net.connect({ host: m[1], port: Number(m[2]) });
  socket.setNoDelay(true);
  out = socket;
  socket.on('error', (err) => {
    process.stderr.write(`bench plugin: ${err.message}\n`);
    process.exit(1);
  });
  socket.on('close', () => process.exit(0));
  socket.on('connect', () => {
    const registration = [
      { type: 'handshake', data: { key: flag('--key') ?? '' } },
      { type: 'manifest_declaration', data: MANIFEST },
      { type: 'tool_declaration', data: [{ identity: { author: 'bench', name: 'hello_world' }, tools: [] }] },
      { type: 'end', data: {} },
    ];
    void send(registration.map(line).join('') + `${HEARTBEAT}\n\n`);
    heartbeats();
  });
  readLines(socket);
} else {
  out = process.stdout;
  process.stdout.on('error', () => undefined); // EPIPE once the CLI is gone: the orphan check ends us
  void send(line(MANIFEST) + `${HEARTBEAT}\n\n`);
  heartbeats();
  readLines(process.stdin);
  process.stdin.on('error', () => undefined);
}
