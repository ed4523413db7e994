// A fake Dify plugin process behaving like the Python SDK in stdio mode
// (docs/remote-debugging.md#stdio-mode; events and backwards invocation as in the #events and
// #backwards-invocation sections of that page).
// Plain Node ESM, no dependencies. Started through ./fake-python, which passes on its own command
// line (`<python> -m <entrypoint>`) as this script's arguments; they change nothing here.
//
// Environment:
//   INSTALL_METHOD=local   required (else: message on stderr, exit 2)
//   FAKE_HEARTBEAT_MS      heartbeat period, default 10000 (the first one is sent at once)
//   FAKE_BIG_BYTES         text length of the `big` tool's message, default 5 MiB
//   FAKE_BURST             number of messages of the `burst` tool, default 10000
//   FAKE_BURST_PAD         characters of padding in each of them, default 1000
//   FAKE_LOG_FILE          append every received stdin line (one per line) to this file
//   FAKE_STALL_MS          how long the `stall` tool waits before exiting, default 500
//   FAKE_NO_ORPHAN_CHECK=1 never notice being orphaned (the SDK's check fails under a subreaper)
//   FAKE_IGNORE_SIGTERM=1  ignore SIGTERM (a plugin that does not stop when asked), logging that it did
//   FAKE_NEVER_READY=1     a plugin stuck before plugin.run() (a slow import): after the manifest
//                          line, two lines on stderr and no heartbeat, ever
//   FAKE_CRASH_AT_START=1  a plugin missing a module: a traceback on stderr, exit 1, right after start
//   FAKE_CRASH_AFTER_FIRST a file: the first start creates it and runs normally, every later start
//                          (a restart) finds it and crashes as FAKE_CRASH_AT_START does
//   FAKE_PRINT_FIRST       a line printed on stdout before anything else (a print() at import time),
//                          and on stderr too, with "(stderr)" after it
//   FAKE_GREET_AS_EXAMPLE=1 the `greet` tool answers as examples/hello-world's GreetTool does
//                          ("Hello, <name>!", "world" without one) instead of the echo
//   FAKE_SPY_FILE          write {"pid", "cwd", "argv", "gevent_support"} to this file (whole: through a rename),
//                          before its first line (after the stderr with FAKE_NEVER_READY), so a
//                          test knows where it runs and how the interpreter was started (argv:
//                          the interpreter as called, then its arguments; gevent_support: its
//                          GEVENT_SUPPORT, which debugpy reads)
//
// Tool behaviours (request `data.tool`): default echo, `backwards`, `crash`, `big`, `burst`, `error`,
// `stall` (stops reading stdin, then exits with code 4 after FAKE_STALL_MS), `hang` (never answers), `rich` (the echo, then
// a json message with the credentials it got, a link, a variable, a log and a PNG as SDK blob
// chunks), `storage` (sets, reads, checks and deletes tool_parameters.key through storage
// backwards calls, streaming each answer), `ask_llm` (an LLM backwards call; its error streamed).
// `invoke_llm` requests (`data.action`) stream the prompt back as three LLM result chunks;
// `invoke_endpoint` ones answer 200 with the raw HTTP request and the settings as the body, in two pieces.
// `agent_strategy` requests: a log, a text with the parameters and a json of them (`ask_model`, the
// strategy name: an LLM backwards call first, whose error fails the request as the SDK raises it).
// `datasource` requests, per action: crawl progress then the page of `datasource_parameters.url`;
// one workspace of pages; a page's content as variables; one bucket of files; a file as a whole
// blob (DatasourceMessage is no ToolInvokeMessage, so the SDK does not chunk it), named `file_name`.
// Requests missing a field the SDK's request model requires fail as pydantic would (ValidationError).
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

if (process.env.INSTALL_METHOD !== 'local') {
  process.stderr.write(
    `fake plugin: INSTALL_METHOD must be "local" for the stdio protocol (got ${JSON.stringify(process.env.INSTALL_METHOD ?? null)})\n`,
  );
  process.exit(2);
}

const intEnv = (name, fallback) => {
  const n = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
};
const HEARTBEAT_MS = intEnv('FAKE_HEARTBEAT_MS', 10_000);
const BIG_BYTES = intEnv('FAKE_BIG_BYTES', 5 * 1024 * 1024);
const BURST = intEnv('FAKE_BURST', 10_000);
const BURST_PAD = intEnv('FAKE_BURST_PAD', 1000);
const LOG_FILE = process.env.FAKE_LOG_FILE;
const STALL_MS = intEnv('FAKE_STALL_MS', 500);
const NEVER_READY = process.env.FAKE_NEVER_READY === '1';
const SPY_FILE = process.env.FAKE_SPY_FILE;

// ---------------------------------------------------------------------------------------------
// Output: every message is one JSON object + "\n\n", in a single write (the SDK uses two writes;
// docs/remote-debugging.md#stdio-mode advises one). Errors on stdout (EPIPE…) are swallowed like
// the SDK's heartbeat.

process.stdout.on('error', () => {});

/** Writes one message; resolves once the stream can take more (respects backpressure). */
function emit(message) {
  return emitRaw(`${JSON.stringify(message)}\n\n`);
}

function emitRaw(text) {
  if (process.stdout.destroyed) return Promise.resolve();
  const ok = process.stdout.write(text);
  if (ok) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      process.stdout.off('drain', done);
      process.stdout.off('close', done);
      resolve();
    };
    process.stdout.on('drain', done);
    process.stdout.on('close', done);
  });
}

/** Python's json.dumps with default settings: ", " and ": " separators, ensure_ascii. */
function pyDumps(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return pyFloat(value);
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return `[${value.map(pyDumps).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${pyString(k)}: ${pyDumps(v)}`)
    .join(', ')}}`;
}
function pyString(s) {
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
function pyFloat(n) {
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : n < 0 ? '-Infinity' : 'NaN';
  const s = String(n);
  return Number.isInteger(n) && !s.includes('e') ? `${s}.0` : s;
}

/** A log line as the SDK's DifyPluginLoggerFormatter writes it (dify-plugin-sdks `src/dify_plugin/config/logger_format.py`). */
function log(level, message) {
  const timestamp = (performance.timeOrigin + performance.now()) / 1000;
  return emitRaw(`${pyDumps({ event: 'log', data: { level, message, timestamp } })}\n\n`);
}

const session = (sessionId, type, data) => emit({ event: 'session', session_id: sessionId, data: { type, data } });
const stream = (sessionId, data) => session(sessionId, 'stream', data);
const end = (sessionId) => session(sessionId, 'end', {});
const textMessage = (text) => ({ type: 'text', message: { text }, meta: null });

// ---------------------------------------------------------------------------------------------
// Startup: manifest line, then heartbeats.

function readManifest() {
  // Only top-level scalars of a manifest.yaml in the cwd; no YAML library needed.
  const manifest = { name: 'fake' };
  let text;
  try {
    text = readFileSync('manifest.yaml', 'utf8');
  } catch {
    return manifest;
  }
  for (const line of text.split(/\r?\n/)) {
    const m = /^(version|type|author|name|icon|icon_dark):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m || m[2] === '' || m[2].startsWith('#')) continue;
    manifest[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return manifest;
}

// Orphan check (dify-plugin-sdks `src/dify_plugin/core/server/io_server.py`): exit like os._exit(-1)
// when the parent is gone. FAKE_NO_ORPHAN_CHECK=1 leaves it out, as when a subreaper adopts it.
const parentPid = process.ppid;
if (process.env.FAKE_NO_ORPHAN_CHECK !== '1') {
  setInterval(() => {
    const ppid = process.ppid;
    if (ppid === 1 || ppid !== parentPid) process.exit(255);
  }, 200);
}
// SIGTERM/SIGINT: Node's default action terminates the process, as for the SDK. The handler goes
// in before the first line: a parent that has seen any output can count on it. Its log line tells
// a test that the signal arrived and the process is still there.
if (process.env.FAKE_IGNORE_SIGTERM === '1') process.on('SIGTERM', () => void log('INFO', 'ignoring SIGTERM'));

function writeSpyFile() {
  if (!SPY_FILE) return;
  writeFileSync(
    `${SPY_FILE}.tmp`,
    JSON.stringify({
      pid: process.pid,
      cwd: process.cwd(),
      argv: process.argv.slice(2),
      gevent_support: process.env.GEVENT_SUPPORT ?? null,
    }),
  );
  renameSync(`${SPY_FILE}.tmp`, SPY_FILE);
}

if (process.env.FAKE_PRINT_FIRST) {
  process.stdout.write(`${process.env.FAKE_PRINT_FIRST}\n`);
  process.stderr.write(`${process.env.FAKE_PRINT_FIRST} (stderr)\n`);
}
const crashAfterFirst = process.env.FAKE_CRASH_AFTER_FIRST;
const restarted = crashAfterFirst !== undefined && existsSync(crashAfterFirst);
if (crashAfterFirst !== undefined && !restarted) writeFileSync(crashAfterFirst, 'started once');
if (process.env.FAKE_CRASH_AT_START === '1' || restarted) {
  process.stderr.write('Traceback (most recent call last):\n');
  process.stderr.write('  File "/fake/plugin/main.py", line 1, in <module>\n');
  process.stderr.write("ModuleNotFoundError: No module named 'requests'\n");
  process.exit(1);
}

if (NEVER_READY) {
  void emit(readManifest());
  process.stderr.write('loading a big model...\nstill loading\n');
  writeSpyFile(); // after the stderr: a test that sees the file can count on it
} else {
  writeSpyFile(); // before any line: a test that has seen one can count on the file
  void emit(readManifest());
  const heartbeat = () => emit({ event: 'heartbeat', session_id: null, data: {} });
  void heartbeat();
  if (HEARTBEAT_MS > 0) setInterval(heartbeat, HEARTBEAT_MS);
  // The pid lets a test tell a restarted process from the first one, and check that it is gone.
  void log('INFO', `fake plugin started (pid ${process.pid})`);
}

// ---------------------------------------------------------------------------------------------
// Input: newline-delimited JSON on stdin; partial reads buffered, blank lines skipped, EOF ignored.

const backwardsWaiters = new Map(); // backwards_request_id → (data) => void

let tail = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  let buf = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl === -1) break;
    const line = buf.subarray(start, nl).toString('utf8').trim();
    start = nl + 1;
    if (line !== '') onLine(line);
  }
  tail = start < buf.length ? Buffer.from(buf.subarray(start)) : Buffer.alloc(0);
});
process.stdin.on('end', () => {
  // The SDK does not handle EOF: keep running until killed or orphaned.
});
process.stdin.on('error', () => {});

function onLine(line) {
  if (LOG_FILE) {
    try {
      appendFileSync(LOG_FILE, `${line}\n`);
    } catch {
      // ignore
    }
  }
  let message;
  try {
    message = JSON.parse(line);
  } catch (err) {
    void emit({ event: 'error', session_id: null, data: { error: `failed to parse line: ${err.message}` } });
    return;
  }
  const valid =
    message !== null &&
    typeof message === 'object' &&
    typeof message.session_id === 'string' &&
    (message.event === 'request' || message.event === 'backwards_response') &&
    message.data !== null &&
    typeof message.data === 'object' &&
    !Array.isArray(message.data);
  if (!valid) {
    void emit({ event: 'error', session_id: null, data: { error: `invalid message: ${line.slice(0, 200)}` } });
    return;
  }
  if (message.event === 'backwards_response') {
    const waiter = backwardsWaiters.get(message.data.backwards_request_id);
    if (waiter) waiter(message.data);
    return;
  }
  handleRequest(message.session_id, message.data).catch((err) => {
    void session(message.session_id, 'error', {
      error_type: 'Exception',
      message: String(err?.message ?? err),
      args: {},
    }).then(() => end(message.session_id));
  });
}

// ---------------------------------------------------------------------------------------------
// Requests

async function handleRequest(sid, data) {
  const behaviour = typeof data.tool === 'string' ? data.tool : undefined;
  await log('INFO', `received request ${data.type}/${data.action}${behaviour ? ` tool=${behaviour}` : ''}`);

  if (typeof data.action === 'string' && data.action.startsWith('validate_')) {
    await stream(sid, { result: true });
    return end(sid);
  }

  if (data.action === 'invoke_llm') return llm(sid, data);
  if (data.action === 'invoke_endpoint') return endpoint(sid, data);
  if (data.type === 'agent_strategy') return agentStrategy(sid, data);
  if (data.type === 'datasource') return datasource(sid, data);

  switch (behaviour) {
    case 'rich':
      return rich(sid, data);
    case 'storage':
      return storage(sid, data);
    case 'ask_llm': {
      const reply = await callDify(sid, 'llm', { provider: 'openai', model: 'gpt-4o', prompt_messages: [] });
      await stream(sid, textMessage(reply.ok ? 'llm answered' : `llm failed: ${reply.message}`));
      return end(sid);
    }
    case 'backwards':
      return backwards(sid, data);
    case 'hang':
      return undefined; // never answers, never ends
    case 'crash':
      process.stderr.write('Traceback (most recent call last):\n');
      process.stderr.write('  File "/fake/plugin/tools/crash.py", line 1, in _invoke\n');
      process.stderr.write('RuntimeError: fake plugin crashed on purpose\n');
      process.exit(3);
      return undefined;
    case 'stall':
      // Stop reading: what the CLI writes next backs up in the pipe; then die with it unread.
      process.stdin.pause();
      setTimeout(() => process.exit(4), STALL_MS);
      return undefined;
    case 'big':
      await stream(sid, textMessage('x'.repeat(BIG_BYTES)));
      return end(sid);
    case 'burst': {
      const pad = 'b'.repeat(BURST_PAD);
      for (let i = 0; i < BURST; i++) await stream(sid, textMessage(`${i} ${pad}`));
      return end(sid);
    }
    case 'error': {
      // tool_parameters.detail, when given, ends the message (a plugin quoting its input)
      const detail = data.tool_parameters?.detail;
      const message = detail === undefined ? 'boom' : `boom: ${detail}`;
      await session(sid, 'error', { error_type: 'ValueError', message, args: {} });
      return end(sid);
    }
    default:
      if (behaviour === 'greet' && process.env.FAKE_GREET_AS_EXAMPLE === '1')
        await stream(sid, textMessage(`Hello, ${data.tool_parameters?.name || 'world'}!`));
      else await stream(sid, textMessage(`echo: ${JSON.stringify(data.tool_parameters ?? {})}`));
      return end(sid);
  }
}

/** Invokes a tool through Dify (docs/remote-debugging.md#backwards-invocation), then streams what came back. */
async function backwards(sid, data) {
  const id = randomBytes(16).toString('hex');
  const responses = [];
  const outcome = new Promise((resolve) => {
    backwardsWaiters.set(id, (reply) => {
      if (reply.event === 'response') {
        responses.push(reply.data);
        if (reply.data === null) resolve({ ok: true });
      } else if (reply.event === 'error') {
        resolve({ ok: false, message: reply.message });
      } else if (reply.event === 'end') {
        resolve({ ok: true });
      }
    });
  });
  await session(sid, 'invoke', {
    type: 'tool',
    backwards_request_id: id,
    request: {
      tool_type: 'builtin',
      provider: 'fake',
      tool_name: 'echo',
      credential_id: null,
      tool_parameters: data.tool_parameters ?? {},
    },
  });
  const result = await outcome;
  backwardsWaiters.delete(id);
  if (!result.ok) {
    await session(sid, 'error', { error_type: 'Exception', message: result.message, args: {} });
    return end(sid);
  }
  await stream(sid, { type: 'json', message: { json_object: { backwards_request_id: id, responses } }, meta: null });
  return end(sid);
}

/** A 1×1 PNG: the bytes of the `rich` tool's image. */
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

async function rich(sid, data) {
  await stream(sid, textMessage(`echo: ${JSON.stringify(data.tool_parameters ?? {})}`));
  await stream(sid, { type: 'json', message: { json_object: { credentials: data.credentials ?? {} } }, meta: null });
  await stream(sid, { type: 'link', message: { text: 'https://example.com/result' }, meta: null });
  await stream(sid, {
    type: 'variable',
    message: { variable_name: 'answer', variable_value: 42, stream: false },
    meta: null,
  });
  await stream(sid, {
    type: 'log',
    message: { id: 'l1', label: 'lookup', parent_id: null, error: null, status: 'success', data: {} },
    meta: null,
  });
  // As the SDK sends a blob (dify-plugin-sdks `src/dify_plugin/plugin.py`): chunks, then an end.
  const png = Buffer.from(PNG_BASE64, 'base64');
  const meta = { mime_type: 'image/png' };
  const chunk = (sequence, blob, endFlag) => ({
    type: 'blob_chunk',
    message: { id: 'blob1', sequence, total_length: png.length, blob: blob.toString('base64'), end: endFlag },
    meta,
  });
  await stream(sid, chunk(0, png.subarray(0, 20), false));
  await stream(sid, chunk(1, png.subarray(20), false));
  await stream(sid, chunk(2, Buffer.alloc(0), true));
  return end(sid);
}

/** One backwards call; resolves with its first response's data, or its error message. */
async function callDify(sid, type, request) {
  const id = randomBytes(16).toString('hex');
  const outcome = new Promise((resolve) => {
    backwardsWaiters.set(id, (reply) => {
      if (reply.event === 'response') resolve({ ok: true, data: reply.data });
      else if (reply.event === 'error') resolve({ ok: false, message: reply.message });
      else resolve({ ok: true, data: null });
    });
  });
  await session(sid, 'invoke', { type, backwards_request_id: id, request });
  const result = await outcome;
  backwardsWaiters.delete(id);
  return result;
}

/** Storage as dify-plugin-sdks `src/dify_plugin/invocations/storage.py` uses it (values in hex). */
async function storage(sid, data) {
  const params = data.tool_parameters ?? {};
  const key = String(params.key ?? 'k');
  const answers = [];
  if (params.value !== undefined) {
    const set = await callDify(sid, 'storage', {
      opt: 'set',
      key,
      value: Buffer.from(String(params.value)).toString('hex'),
    });
    answers.push(['set', set.ok ? set.data.data : `error: ${set.message}`]);
  }
  const got = await callDify(sid, 'storage', { opt: 'get', key });
  answers.push(['get', got.ok ? Buffer.from(got.data.data, 'hex').toString('utf8') : `error: ${got.message}`]);
  const exist = await callDify(sid, 'storage', { opt: 'exist', key });
  answers.push(['exist', exist.ok ? exist.data.data : `error: ${exist.message}`]);
  if (params.delete === 'yes') {
    const del = await callDify(sid, 'storage', { opt: 'del', key });
    answers.push(['del', del.ok ? del.data.data : `error: ${del.message}`]);
  }
  await stream(sid, { type: 'json', message: { json_object: Object.fromEntries(answers) }, meta: null });
  return end(sid);
}

/** An LLM stream: the prompt back in three chunks (dify-plugin-sdks `LLMResultChunk`), usage on the last. */
async function llm(sid, data) {
  const prompt = String(data.prompt_messages?.[0]?.content ?? '');
  const words = ['You said: ', prompt, '.'];
  for (let i = 0; i < words.length; i++) {
    await stream(sid, {
      model: data.model,
      prompt_messages: [],
      system_fingerprint: null,
      delta: {
        index: i,
        message: { role: 'assistant', content: words[i], name: null, tool_calls: [] },
        usage: i === words.length - 1 ? { prompt_tokens: 3, completion_tokens: 5 } : null,
        finish_reason: i === words.length - 1 ? 'stop' : null,
      },
    });
  }
  return end(sid);
}

/** An endpoint's response as the SDK streams it: status and headers, then the body in hex pieces. */
async function endpoint(sid, data) {
  const raw = Buffer.from(String(data.raw_http_request ?? ''), 'hex').toString('utf8');
  await stream(sid, { status: 200, headers: { 'Content-Type': 'text/plain' } });
  await stream(sid, { result: Buffer.from(raw.replaceAll('\r\n', '\n')).toString('hex') });
  await stream(sid, { result: Buffer.from(`\nsettings: ${JSON.stringify(data.settings ?? {})}`).toString('hex') });
  return end(sid);
}

/** Fails the request when `data` lacks one of `fields` (a pydantic ValidationError in the SDK); true if it did. */
async function refuseMissing(sid, data, fields) {
  const missing = fields.filter((f) => (f.split('.').reduce((v, k) => v?.[k], data) ?? null) === null);
  if (missing.length === 0) return false;
  await session(sid, 'error', {
    error_type: 'ValidationError',
    message: `${missing.length} validation error(s): ${missing.join(', ')} Field required`,
    args: {},
  });
  await end(sid);
  return true;
}

/** An agent strategy (dify-plugin-sdks AgentInvokeRequest): AgentInvokeMessage lines, tool-shaped. */
async function agentStrategy(sid, data) {
  if (await refuseMissing(sid, data, ['agent_strategy_provider', 'agent_strategy', 'agent_strategy_params'])) return;
  const params = data.agent_strategy_params;
  await stream(sid, {
    type: 'log',
    message: { id: 'r1', label: 'ROUND 1', parent_id: null, error: null, status: 'start', data: {} },
    meta: null,
  });
  if (data.agent_strategy === 'ask_model') {
    const reply = await callDify(sid, 'llm', {
      provider: params.model?.provider ?? '',
      model: params.model?.model ?? '',
      model_type: 'llm',
      prompt_messages: [{ role: 'user', content: String(params.query ?? '') }],
    });
    if (!reply.ok) {
      await session(sid, 'error', { error_type: 'InvokeError', message: reply.message, args: {} });
      return end(sid);
    }
  }
  await stream(sid, textMessage(`strategy ${data.agent_strategy_provider}/${data.agent_strategy}`));
  await stream(sid, { type: 'json', message: { json_object: params }, meta: null });
  return end(sid);
}

/** A datasource action (dify-plugin-sdks Datasource*Request), answered as the SDK's executor streams it. */
async function datasource(sid, data) {
  if (await refuseMissing(sid, data, ['provider', 'datasource', 'credentials'])) return;
  switch (data.action) {
    case 'invoke_website_datasource_get_crawl': {
      if (await refuseMissing(sid, data, ['datasource_parameters'])) return;
      const url = String(data.datasource_parameters.url ?? '');
      await stream(sid, { result: { status: 'processing', web_info_list: [], total: 1, completed: 0 } });
      const page = {
        source_url: url,
        content: `# ${url}`,
        title: 'Fake page',
        description: 'crawled by the fake plugin',
      };
      await stream(sid, { result: { status: 'completed', web_info_list: [page], total: 1, completed: 1 } });
      return end(sid);
    }
    case 'invoke_online_document_datasource_get_pages': {
      if (await refuseMissing(sid, data, ['datasource_parameters'])) return;
      const page = {
        page_id: 'p1',
        page_name: 'Home',
        page_icon: null,
        type: 'page',
        last_edited_time: '2026-01-01T00:00:00Z',
        parent_id: null,
      };
      await stream(sid, {
        result: [{ workspace_id: 'w1', workspace_name: 'Fake', workspace_icon: '', total: 1, pages: [page] }],
      });
      return end(sid);
    }
    case 'invoke_online_document_datasource_get_page_content': {
      if (await refuseMissing(sid, data, ['page.workspace_id', 'page.page_id', 'page.type'])) return;
      const variable = (name, value) => ({
        type: 'variable',
        message: { variable_name: name, variable_value: value, stream: false },
        meta: null,
      });
      await stream(sid, variable('content', `content of ${data.page.page_id}`));
      await stream(sid, variable('page_id', data.page.page_id));
      await stream(sid, variable('workspace_id', data.page.workspace_id));
      return end(sid);
    }
    case 'invoke_online_drive_browse_files': {
      if (await refuseMissing(sid, data, ['request.max_keys'])) return;
      const { bucket, prefix, max_keys: maxKeys } = data.request;
      const files = [{ id: `${prefix ?? ''}a.txt`, name: 'a.txt', size: 5, type: 'file' }].slice(0, maxKeys);
      await stream(sid, {
        result: [{ bucket: bucket ?? null, files, is_truncated: false, next_page_parameters: null }],
      });
      return end(sid);
    }
    case 'invoke_online_drive_download_file': {
      if (await refuseMissing(sid, data, ['request.id'])) return;
      const blob = Buffer.from(`contents of ${data.request.id}\n`).toString('base64');
      await stream(sid, {
        type: 'blob',
        message: { blob },
        meta: { file_name: data.request.id, mime_type: 'text/plain' },
      });
      return end(sid);
    }
    default:
      await session(sid, 'error', { error_type: 'ValueError', message: `unknown action ${data.action}`, args: {} });
      return end(sid);
  }
}
