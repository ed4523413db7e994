import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localRunCommand } from '../../src/cli/commands/local-run.js';
import { UserError } from '../../src/diagnostics/user-error.js';
import type { Io } from '../../src/cli/io.js';
import { dify, isAlive } from '../helpers/cli.js';
import { EXAMPLE, REPO, tempDir } from '../helpers/plugin.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');
const FAKE_PLUGIN = path.join(REPO, 'test', 'helpers', 'fake-plugin.mjs');

interface Message {
  invoke_id: string;
  type: string;
  response: Record<string, unknown>;
}

let pkg = '';
/**
 * Run by fake-python instead of fake-plugin.mjs: records the plugin's pid and working directory
 * (the CLI's temporary copy) in $SPY_FILE, then either behaves as fake-plugin.mjs or, with
 * SPY_NEVER_READY, writes to stderr and never sends a heartbeat.
 */
let spy = '';
beforeAll(async () => {
  const out = await tempDir();
  pkg = path.join(out, 'hello.difypkg');
  expect((await dify(['plugin', 'package', EXAMPLE, '-o', pkg])).code).toBe(0);
  spy = path.join(out, 'spy.mjs');
  writeFileSync(
    spy,
    `import { writeFileSync } from 'node:fs';
writeFileSync(process.env.SPY_FILE, JSON.stringify({ pid: process.pid, cwd: process.cwd() }));
if (process.env.SPY_NEVER_READY) {
  process.stdout.write('{"name":"stuck"}\\n');
  process.stderr.write('loading a big model...\\nstill loading\\n');
  const parent = process.ppid; // exit when orphaned, as the SDK does
  setInterval(() => process.ppid !== parent && process.exit(255), 200);
} else {
  await import(${JSON.stringify(FAKE_PLUGIN)});
}
`,
  );
});

/** Where one run's temporary directory (TMPDIR) and spy file live, so its leftovers are its own. */
async function workspace() {
  const work = await tempDir();
  const tmp = path.join(work, 'tmp');
  await mkdir(tmp);
  const spyFile = path.join(work, 'plugin.json');
  return {
    env: { TMPDIR: tmp, FAKE_PLUGIN_MJS: spy, SPY_FILE: spyFile },
    /** What the run left in its TMPDIR: nothing, once it has ended. */
    leftovers: () => readdirSync(tmp),
    /** The plugin process, once it has started. */
    plugin: () => (existsSync(spyFile) ? (JSON.parse(readFileSync(spyFile, 'utf8')) as { pid: number; cwd: string }) : undefined),
  };
}

/** Polls `test` every 20 ms; rejects after `ms`. */
async function until(test: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !test(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

/** `promise`, or a rejection after `ms` (a CLI that hangs fails the test quickly). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Asserts that the run ended cleanly: its temporary copy removed, its plugin gone. */
async function expectCleanedUp(ws: Awaited<ReturnType<typeof workspace>>) {
  expect(ws.leftovers()).toEqual([]);
  const plugin = ws.plugin();
  if (plugin) {
    expect(existsSync(plugin.cwd)).toBe(false);
    await until(() => !isAlive(plugin.pid), `plugin ${plugin.pid} to be gone`, 3_000);
  }
}

const runs: { child: ChildProcessWithoutNullStreams; ws: Awaited<ReturnType<typeof workspace>>; exited: Promise<number | null> }[] = [];
// Every run is ended as a user ends it (SIGINT), never SIGKILLed, and must leave nothing behind.
afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGINT');
      try {
        await within(run.exited, 10_000, 'the CLI to exit after SIGINT');
      } catch (err) {
        run.child.kill('SIGKILL');
        throw err;
      }
    }
    await expectCleanedUp(run.ws);
  }
});

/** Starts a local run and collects its stdout JSON lines. */
async function start(args: string[], env: Record<string, string> = {}) {
  const ws = await workspace();
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [path.join(REPO, 'bin', 'dify.js'), 'plugin', 'run', ...args, '--python', FAKE_PYTHON],
    { env: { ...process.env, NO_COLOR: '1', FAKE_HEARTBEAT_MS: '200', ...ws.env, ...env } },
  );
  const messages: Message[] = [];
  let text = '';
  let stderr = '';
  let buffer = '';
  const waiters: { test: (m: Message[], t: string) => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) if (w.test(messages, text)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    text += d;
    buffer += d;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const l of lines) {
      try {
        messages.push(JSON.parse(l) as Message);
      } catch {
        // text mode lines
      }
    }
    check();
  });
  const until = (test: (m: Message[], t: string) => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      if (test(messages, text)) return resolve();
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got:\n${text}${stderr}`)), 15_000);
      waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const run = { child, ws, messages, text: () => text, stderr: () => stderr, until, exited };
  runs.push(run);
  return run;
}

const request = (invokeId: string, tool = 'greet') =>
  JSON.stringify({ invoke_id: invokeId, type: 'tool', action: 'invoke_tool', request: { provider: 'hello_world', tool, tool_parameters: { name: 'Ada' }, credentials: {} } }) + '\n';

/** A TCP client of a `-m tcp` run: its raw lines as they arrive. */
function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const lines: string[] = [];
  let buf = '';
  socket.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, lines, closed };
}

describe('dify plugin run <file.difypkg> (local run)', () => {
  it('speaks the invoke_id protocol on stdin/stdout and removes its temporary copy', async () => {
    const run = await start([pkg, '-r', 'json']);
    await run.until((m) => m.some((x) => x.type === 'plugin_ready'), 'plugin_ready');
    expect(run.messages.find((x) => x.type === 'plugin_ready')).toEqual({ invoke_id: '', type: 'plugin_ready', response: { info: 'plugin loaded' } });
    expect(run.ws.leftovers()).toHaveLength(1); // the copy it runs from
    run.child.stdin.write(request('a1'));
    run.child.stdin.write('{"invoke_id":"bad"}\n');
    await run.until((m) => m.some((x) => x.invoke_id === 'a1' && x.type === 'plugin_invoke_end'), 'the end of a1');
    const a1 = run.messages.filter((x) => x.invoke_id === 'a1').map((x) => x.type);
    expect(a1).toEqual(['plugin_response', 'plugin_invoke_end']);
    expect(JSON.stringify(run.messages.find((x) => x.invoke_id === 'a1')!.response)).toContain('Ada');
    expect(run.messages).toContainEqual({ invoke_id: 'bad', type: 'error', response: { error: 'action and type are required' } });
    expect(run.messages.filter((x) => x.type === 'info' && x.response.info === 'received request')).toHaveLength(2);
    run.child.stdin.end(); // end of input: finish and exit
    expect(await within(run.exited, 10_000, 'exit at the end of input')).toBe(0);
    await expectCleanedUp(run.ws);
  });

  it('stops reading at a request line over 15 MiB, says so, and exits 0 as at the end of input', async () => {
    const run = await start([pkg, '-r', 'json']);
    await run.until((m) => m.some((x) => x.type === 'plugin_ready'), 'plugin_ready');
    run.child.stdin.on('error', () => undefined); // the CLI stops reading: the rest meets a closed pipe
    run.child.stdin.write(Buffer.alloc(16 * 1024 * 1024, 'x')); // no newline: memory would only grow
    await run.until((m) => m.some((x) => x.type === 'error'), 'the error');
    expect(run.messages).toContainEqual({ invoke_id: '', type: 'error', response: { error: 'request line longer than 15 MiB; no more input is read' } });
    expect(await within(run.exited, 10_000, 'exit after the long line')).toBe(0);
    await expectCleanedUp(run.ws);
  });

  it('answers backwards invocations with a labelled mock', async () => {
    const run = await start([pkg, '-r', 'json']);
    await run.until((m) => m.some((x) => x.type === 'plugin_ready'), 'plugin_ready');
    run.child.stdin.write(request('b1', 'backwards'));
    await run.until((m) => m.some((x) => x.invoke_id === 'b1' && x.type === 'plugin_invoke_end'), 'the end of b1');
    expect(JSON.stringify(run.messages.filter((x) => x.invoke_id === 'b1'))).toContain('there is no Dify here, so this mock echoes the request');
    run.child.stdin.end();
    expect(await within(run.exited, 10_000, 'exit at the end of input')).toBe(0);
  });

  it('Ctrl-C with stdin still open stops the plugin, removes the copy and exits 0', async () => {
    const run = await start([pkg, '-r', 'json']);
    await run.until((m) => m.some((x) => x.type === 'plugin_ready'), 'plugin_ready');
    expect(run.ws.plugin()).toBeDefined();
    run.child.kill('SIGINT'); // stdin is left open, as a terminal or a harness leaves it
    expect(await within(run.exited, 10_000, 'exit after SIGINT')).toBe(0);
    await expectCleanedUp(run.ws);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s during start-up stops the plugin, removes the copy and exits 0', async (signal) => {
    const run = await start([pkg, '-r', 'json'], { SPY_NEVER_READY: '1' });
    await until(() => run.ws.plugin() !== undefined, 'the plugin to start');
    expect(run.messages.some((x) => x.type === 'plugin_ready')).toBe(false);
    run.child.kill(signal);
    expect(await within(run.exited, 10_000, `exit after ${signal}`)).toBe(0);
    await expectCleanedUp(run.ws);
  });

  it('gives up on a plugin that never becomes ready, with its stderr', async () => {
    const ws = await workspace();
    let out = '';
    const io: Io = {
      stdin: new PassThrough(),
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (out += s) },
      env: { ...process.env, ...ws.env, SPY_NEVER_READY: '1' },
      cwd: REPO,
    };
    const limits = { startTimeoutMs: 500, stopGraceMs: 2_000, restartDelayMs: 1_000 };
    const err = await within(localRunCommand(pkg, { python: FAKE_PYTHON }, io, limits).catch((e: unknown) => e), 10_000, 'giving up');
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(1);
    expect((err as UserError).message).toBe('the plugin was not ready after 0.5 s (no heartbeat from it), so it was stopped\n  loading a big model...\n  still loading');
    expect(out).toContain('loading plugin');
    // the temporary copy is in this process's tmpdir here: the plugin's cwd says which it was
    await expectCleanedUp({ ...ws, leftovers: () => [] });
  });

  it('serves TCP clients on 127.0.0.1, each with its own plugin_ready; Ctrl-C exits 0', async () => {
    const run = await start([pkg, '-m', 'tcp', '-r', 'json', '--port', '0']);
    await run.until((m) => m.some((x) => typeof x.response.port === 'number'), 'the address');
    const running = run.messages.find((x) => typeof x.response.port === 'number')!;
    const port = running.response.port as number;
    // as the Go CLI logs it: the address in the text, and as fields
    expect(running).toEqual({ invoke_id: '', type: 'info', response: { info: `plugin is running on 127.0.0.1:${port}`, host: '127.0.0.1', port } });
    const talk = () =>
      new Promise<Message[]>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        const got: Message[] = [];
        let buf = '';
        let sent = false;
        socket.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          const lines = buf.split('\n');
          buf = lines.pop()!;
          for (const l of lines) got.push(JSON.parse(l) as Message);
          if (!sent && got.some((m) => m.type === 'plugin_ready')) {
            sent = true;
            socket.write(request('t1'));
          }
          if (got.some((m) => m.invoke_id === 't1' && m.type === 'plugin_invoke_end')) (socket.end(), resolve(got));
        });
        socket.on('error', reject);
      });
    const [one, two] = await Promise.all([talk(), talk()]);
    for (const got of [one!, two!]) {
      expect(got.filter((m) => m.type === 'plugin_ready')).toHaveLength(1);
      expect(got.filter((m) => m.invoke_id === 't1').map((m) => m.type)).toEqual(['plugin_response', 'plugin_invoke_end']);
    }
    run.child.kill('SIGINT');
    expect(await within(run.exited, 10_000, 'exit after SIGINT')).toBe(0);
    await expectCleanedUp(run.ws);
  });

  it('-m tcp answers clients in the -r text format, and Ctrl-C exits 0 while one is connected', async () => {
    const run = await start([pkg, '-m', 'tcp', '--port', '0']);
    await run.until((_, t) => /plugin is running on 127\.0\.0\.1:\d+/.test(t), 'the address');
    expect(run.text()).toMatch(/^\[info\] \{"info":"plugin is running on 127\.0\.0\.1:(\d+)","host":"127\.0\.0\.1","port":\1\}$/m);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(run.text())![1]);
    const client = connect(port);
    await until(() => client.lines.length > 0, 'plugin_ready');
    client.socket.write(request('c1'));
    await until(() => client.lines.some((l) => l.startsWith('[plugin_invoke_end] c1')), 'the end of c1');
    expect(client.lines[0]).toBe('[plugin_ready] {"info":"plugin loaded"}');
    expect(client.lines).toContainEqual(expect.stringMatching(/^\[plugin_response\] c1 \{.*Ada/));
    run.child.kill('SIGINT'); // the client stays connected
    expect(await within(run.exited, 10_000, 'exit after SIGINT with a client connected')).toBe(0);
    await within(client.closed, 2_000, 'the client to be dropped');
    await expectCleanedUp(run.ws);
  });

  it('text responses read as [type] invoke_id response', async () => {
    const run = await start([pkg]);
    await run.until((_, t) => t.includes('[plugin_ready]'), 'plugin_ready');
    run.child.stdin.write(request('c1'));
    await run.until((_, t) => t.includes('[plugin_invoke_end] c1'), 'the end');
    expect(run.text()).toMatch(/^\[info\] \{"info":"loading plugin"\}$/m);
    expect(run.text()).toMatch(/^\[plugin_response\] c1 \{.*Ada/m);
    run.child.stdin.end();
    expect(await within(run.exited, 10_000, 'exit at the end of input')).toBe(0);
  });

  it('exits 1 with the plugin\'s stderr when it cannot start', async () => {
    const dir = await tempDir();
    const ws = await workspace();
    const r = await dify(['plugin', 'run', pkg, '--python', path.join(dir, 'no-such-python')], { env: ws.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot start the plugin: spawn .*no-such-python ENOENT/m);
    await expectCleanedUp(ws);
  });

  it.each([
    [['--port', '99999'], /^error: --port "99999" is not a port number/],
    [['--port', '80a'], /^error: --port "80a" is not a port number/],
    [['--host', 'not a host'], /^error: --host "not a host" is not an IP address or a host name/],
  ])('rejects bad listening flags %j up front (exit 2), starting nothing', async (flags, message) => {
    const run = await start([pkg, '-m', 'tcp', ...flags]);
    expect(await within(run.exited, 10_000, 'exit')).toBe(2);
    expect(run.stderr()).toMatch(message);
    expect(run.stderr().trim().split('\n')).toHaveLength(1);
    expect(run.ws.plugin()).toBeUndefined();
    expect(run.text()).toBe(''); // not even "loading plugin"
  });

  it('exits 1 with one line when the port is taken, stopping the plugin', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const run = await start([pkg, '-m', 'tcp', '--port', String(port)]);
      expect(await within(run.exited, 15_000, 'exit')).toBe(1);
      expect(run.stderr()).toMatch(new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use$`, 'm'));
      expect(run.stderr()).not.toMatch(/^\s+at /m); // no stack trace
      expect(run.ws.plugin()).toBeDefined(); // it had started: it must have been stopped
      await expectCleanedUp(run.ws);
    } finally {
      taken.close();
    }
  });
});
