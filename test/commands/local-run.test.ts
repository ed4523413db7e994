import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_RUN_LIMITS, localRunCommand } from '../../src/cli/commands/local-run.js';
import { run } from '../../src/cli/main.js';
import { UserError } from '../../src/diagnostics/user-error.js';
import { isAlive, runCli } from '../helpers/cli.js';
import { localRunWorkspace, type LocalRunWorkspace } from '../helpers/local-run-workspace.js';
import { EXAMPLE, REPO, tempDir } from '../helpers/plugin.js';
import { type RunningCommand, startCommand, within } from './run-harness.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');

interface Message {
  invoke_id: string;
  type: string;
  response: Record<string, unknown>;
}

let pkg = '';
beforeAll(async () => {
  pkg = path.join(await tempDir(), 'hello.difypkg');
  expect((await runCli(['plugin', 'package', EXAMPLE, '-o', pkg])).code).toBe(0);
});

/** Asserts that the run ended cleanly: its temporary copy removed, its plugin gone. */
function expectCleanedUp(ws: LocalRunWorkspace) {
  expect(ws.leftovers()).toEqual([]);
  const plugin = ws.plugin();
  if (plugin) {
    expect(existsSync(plugin.cwd)).toBe(false);
    expect(isAlive(plugin.pid)).toBe(false); // stopped, and waited for, before the run ended
  }
}

interface LocalRun {
  command: RunningCommand;
  ws: LocalRunWorkspace;
  /** The JSON lines on stdout so far. */
  messages(): Message[];
  /** Resolves once `test` holds for the messages and the text on stdout. */
  until(test: (messages: Message[], text: string) => boolean): Promise<void>;
}

const runs: LocalRun[] = [];
// Every run is ended as a user ends it (Ctrl-C) and must leave nothing behind.
afterEach(async () => {
  for (const { command, ws } of runs.splice(0)) {
    command.signal('SIGINT');
    await within(command.ended, 10_000, 'the run to end after Ctrl-C');
    expectCleanedUp(ws);
  }
});

/** `dify plugin run <args>`, in-process, with the fake plugin process. */
async function start(args: string[], env: Record<string, string> = {}): Promise<LocalRun> {
  const ws = await localRunWorkspace();
  const command = startCommand((io) => run(['node', 'dify', 'plugin', 'run', ...args, '--python', FAKE_PYTHON], io), {
    env: { FAKE_HEARTBEAT_MS: '200', ...ws.env, ...env },
  });
  const messages = () => command.json<Message>();
  const local: LocalRun = {
    command,
    ws,
    messages,
    until: (test) => command.waitFor(() => test(messages(), command.stdout())),
  };
  runs.push(local);
  return local;
}

const ready = (m: Message[]) => m.some((x) => x.type === 'plugin_ready');

const request = (invokeId: string, tool = 'greet') =>
  JSON.stringify({
    invoke_id: invokeId,
    type: 'tool',
    action: 'invoke_tool',
    request: { provider: 'hello_world', tool, tool_parameters: { name: 'Ada' }, credentials: {} },
  }) + '\n';

/** A TCP client of a `-m tcp` run: its raw lines as they arrive. */
function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  socket.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    for (const check of [...waiters]) check();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  /** Resolves once a received line passes `test`. */
  const line = (test: (l: string) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => lines.some(test) && (waiters.delete(check), resolve());
      waiters.add(check);
      check();
    });
  return { socket, lines, closed, line };
}

describe('dify plugin run <file.difypkg> (local run)', () => {
  it('speaks the invoke_id protocol on stdin/stdout and removes its temporary copy', async () => {
    const local = await start([pkg, '-r', 'json']);
    await local.until(ready);
    expect(local.messages().find((x) => x.type === 'plugin_ready')).toEqual({
      invoke_id: '',
      type: 'plugin_ready',
      response: { info: 'plugin loaded' },
    });
    expect(local.ws.leftovers()).toHaveLength(1); // the copy it runs from
    local.command.stdin.write(request('a1'));
    local.command.stdin.write('{"invoke_id":"bad"}\n');
    await local.until((m) => m.some((x) => x.invoke_id === 'a1' && x.type === 'plugin_invoke_end'));
    const messages = local.messages();
    const a1 = messages.filter((x) => x.invoke_id === 'a1').map((x) => x.type);
    expect(a1).toEqual(['plugin_response', 'plugin_invoke_end']);
    expect(JSON.stringify(messages.find((x) => x.invoke_id === 'a1')!.response)).toContain('Ada');
    expect(messages).toContainEqual({
      invoke_id: 'bad',
      type: 'error',
      response: { error: 'action and type are required' },
    });
    expect(messages.filter((x) => x.type === 'info' && x.response.info === 'received request')).toHaveLength(2);
    local.command.stdin.end(); // end of input: finish and exit
    expect((await within(local.command.ended, 10_000, 'the end of input')).code).toBe(0);
    expectCleanedUp(local.ws);
  });

  it("escapes the controls JSON leaves raw (C1, DEL, bidi) in the plugin's answers, in both -r formats", async () => {
    const hostile = '\x1b]0;pwned\x07\x9b2J\x7f\u202e';
    for (const format of ['json', 'text']) {
      const local = await start([pkg, '-r', format]);
      await local.until((_, text) => text.includes('plugin_ready'));
      local.command.stdin.write(
        JSON.stringify({
          invoke_id: `${hostile}h1`,
          type: 'tool',
          action: 'invoke_tool',
          request: { provider: 'hello_world', tool: 'greet', tool_parameters: { name: hostile }, credentials: {} },
        }) + '\n',
      );
      await local.until((_, text) => text.includes('plugin_invoke_end'));
      expect(local.command.output()).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
      if (format === 'json') {
        const answer = local.messages().find((x) => x.type === 'plugin_response')!;
        expect(answer.invoke_id).toBe(`${hostile}h1`);
        const text = (answer.response as { message: { text: string } }).message.text;
        expect(JSON.parse(text.replace(/^echo: /, ''))).toEqual({ name: hostile }); // decoded back
      } else {
        expect(local.command.stdout()).toContain('[plugin_response] \\u{1b}]0;pwned\\u{7}\\u{9b}2J');
      }
    }
  });

  it('stops reading at a request line over 15 MiB, says so, and exits 0 as at the end of input', async () => {
    const local = await start([pkg, '-r', 'json']);
    await local.until(ready);
    local.command.stdin.write(Buffer.alloc(16 * 1024 * 1024, 'x')); // no newline: memory would only grow
    await local.until((m) => m.some((x) => x.type === 'error'));
    expect(local.messages()).toContainEqual({
      invoke_id: '',
      type: 'error',
      response: { error: 'request line longer than 15 MiB; no more input is read' },
    });
    expect((await within(local.command.ended, 10_000, 'the end after the long line')).code).toBe(0);
    expectCleanedUp(local.ws);
  });

  it('answers backwards invocations with a labelled mock', async () => {
    const local = await start([pkg, '-r', 'json']);
    await local.until(ready);
    local.command.stdin.write(request('b1', 'backwards'));
    await local.until((m) => m.some((x) => x.invoke_id === 'b1' && x.type === 'plugin_invoke_end'));
    expect(JSON.stringify(local.messages().filter((x) => x.invoke_id === 'b1'))).toContain(
      'there is no Dify here, so this mock echoes the request',
    );
    local.command.stdin.end();
    expect((await within(local.command.ended, 10_000, 'the end of input')).code).toBe(0);
  });

  it('Ctrl-C with stdin still open stops the plugin, removes the copy and exits 0', async () => {
    const local = await start([pkg, '-r', 'json']);
    await local.until(ready);
    expect(local.ws.plugin()).toBeDefined();
    local.command.signal('SIGINT'); // stdin is left open, as a terminal or a harness leaves it
    expect((await within(local.command.ended, 10_000, 'the end after Ctrl-C')).code).toBe(0);
    expectCleanedUp(local.ws);
  });

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    '%s during start-up stops the plugin, removes the copy and exits 0',
    async (signal) => {
      const local = await start([pkg, '-r', 'json'], { FAKE_NEVER_READY: '1' });
      await vi.waitUntil(() => local.ws.plugin() !== undefined, { timeout: 10_000 });
      expect(local.messages().some((x) => x.type === 'plugin_ready')).toBe(false);
      local.command.signal(signal);
      expect((await within(local.command.ended, 10_000, `the end after ${signal}`)).code).toBe(0);
      expectCleanedUp(local.ws);
    },
  );

  it('gives up on a plugin that never becomes ready, with its stderr', async () => {
    const ws = await localRunWorkspace();
    const limits = { ...LOCAL_RUN_LIMITS, startTimeoutMs: 500, stopGraceMs: 2_000, restartDelayMs: 1_000 };
    // The start-up limit runs out when the test says: once the plugin has written its stderr.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const command = startCommand((io) => localRunCommand(pkg, { python: FAKE_PYTHON }, io, limits), {
        env: { ...ws.env, FAKE_NEVER_READY: '1' },
      });
      await vi.waitUntil(() => ws.plugin() !== undefined, { timeout: 10_000 });
      vi.advanceTimersByTime(limits.startTimeoutMs);
      const { code, error } = await command.ended;
      expect(error).toBeInstanceOf(UserError);
      expect(code).toBe(1);
      expect(error?.message).toBe(
        'the plugin was not ready after 0.5 s (no heartbeat from it), so it was stopped\n  loading a big model...\n  still loading',
      );
      expect(command.output()).toContain('loading plugin');
      expectCleanedUp(ws);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives up on a plugin that crashes again as soon as it is restarted, with its traceback (exit 1)', async () => {
    const ws = await localRunWorkspace();
    const marker = path.join(await tempDir(), 'started');
    const limits = { ...LOCAL_RUN_LIMITS, restartDelayMs: 10, crashLoopRunMs: 60_000, crashLoopCount: 3 };
    const command = startCommand((io) => localRunCommand(pkg, { python: FAKE_PYTHON }, io, limits), {
      env: { FAKE_HEARTBEAT_MS: '200', ...ws.env, FAKE_CRASH_AFTER_FIRST: marker },
    });
    await command.waitFor(() => command.stdout().includes('plugin_ready'));
    command.stdin.write(request('c1', 'crash')); // its first exit; every restart then crashes at start
    const { code, error } = await within(command.ended, 10_000, 'giving up');
    expect(code).toBe(1);
    expect(error?.message).toMatch(
      /^the plugin process exited with code 1 within 60 s of starting, 3 times in a row, so it is not restarted again; its last output:\n {4}Traceback/,
    );
    expect(error?.message).toContain("ModuleNotFoundError: No module named 'requests'");
    expect(error?.hint).toMatch(/a module is missing/);
    expect(error?.hint).not.toContain('--watch');
    expectCleanedUp(ws);
  });

  it('serves TCP clients on 127.0.0.1, each with its own plugin_ready; Ctrl-C exits 0', async () => {
    const local = await start([pkg, '-m', 'tcp', '-r', 'json', '--port', '0']);
    await local.until((m) => m.some((x) => typeof x.response.port === 'number'));
    const running = local.messages().find((x) => typeof x.response.port === 'number')!;
    const port = running.response.port as number;
    // as the Go CLI logs it: the address in the text, and as fields
    expect(running).toEqual({
      invoke_id: '',
      type: 'info',
      response: { info: `plugin is running on 127.0.0.1:${port}`, host: '127.0.0.1', port },
    });
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
          if (got.some((m) => m.invoke_id === 't1' && m.type === 'plugin_invoke_end')) {
            socket.end();
            resolve(got);
          }
        });
        socket.on('error', reject);
      });
    const [one, two] = await Promise.all([talk(), talk()]);
    for (const got of [one!, two!]) {
      expect(got.filter((m) => m.type === 'plugin_ready')).toHaveLength(1);
      expect(got.filter((m) => m.invoke_id === 't1').map((m) => m.type)).toEqual([
        'plugin_response',
        'plugin_invoke_end',
      ]);
    }
    local.command.signal('SIGINT');
    expect((await within(local.command.ended, 10_000, 'the end after Ctrl-C')).code).toBe(0);
    expectCleanedUp(local.ws);
  });

  it('-m tcp answers clients in the -r text format, and Ctrl-C exits 0 while one is connected', async () => {
    const local = await start([pkg, '-m', 'tcp', '--port', '0']);
    await local.until((_, t) => /plugin is running on 127\.0\.0\.1:\d+/.test(t));
    expect(local.command.stdout()).toMatch(
      /^\[info\] \{"info":"plugin is running on 127\.0\.0\.1:(\d+)","host":"127\.0\.0\.1","port":\1\}$/m,
    );
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(local.command.stdout())![1]);
    const client = connect(port);
    await client.line(() => true);
    client.socket.write(request('c1'));
    await client.line((l) => l.startsWith('[plugin_invoke_end] c1'));
    expect(client.lines[0]).toBe('[plugin_ready] {"info":"plugin loaded"}');
    expect(client.lines).toContainEqual(expect.stringMatching(/^\[plugin_response\] c1 \{.*Ada/));
    local.command.signal('SIGINT'); // the client stays connected
    expect((await within(local.command.ended, 10_000, 'the end after Ctrl-C with a client connected')).code).toBe(0);
    await within(client.closed, 2_000, 'the client to be dropped');
    expectCleanedUp(local.ws);
  });

  it('text responses read as [type] invoke_id response', async () => {
    const local = await start([pkg]);
    await local.until((_, t) => t.includes('[plugin_ready]'));
    local.command.stdin.write(request('c1'));
    await local.until((_, t) => t.includes('[plugin_invoke_end] c1'));
    expect(local.command.stdout()).toMatch(/^\[info\] \{"info":"loading plugin"\}$/m);
    expect(local.command.stdout()).toMatch(/^\[plugin_response\] c1 \{.*Ada/m);
    local.command.stdin.end();
    expect((await within(local.command.ended, 10_000, 'the end of input')).code).toBe(0);
  });

  it("exits 1 with the plugin's stderr when it cannot start", async () => {
    const dir = await tempDir();
    const ws = await localRunWorkspace();
    const r = await runCli(['plugin', 'run', pkg, '--python', path.join(dir, 'no-such-python')], { env: ws.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot start the plugin: spawn .*no-such-python ENOENT/m);
    expectCleanedUp(ws);
  });

  it.each([
    [['--port', '99999'], /^error: --port "99999" is not a port number/],
    [['--port', '80a'], /^error: --port "80a" is not a port number/],
    [['--host', 'not a host'], /^error: --host "not a host" is not an IP address or a host name/],
  ])('rejects bad listening flags %j up front (exit 2), starting nothing', async (flags, message) => {
    const local = await start([pkg, '-m', 'tcp', ...flags]);
    expect((await within(local.command.ended, 10_000, 'the end')).code).toBe(2);
    expect(local.command.stderr()).toMatch(message);
    expect(local.command.stderr().trim().split('\n')).toHaveLength(1);
    expect(local.ws.plugin()).toBeUndefined();
    expect(local.command.stdout()).toBe(''); // not even "loading plugin"
  });

  it('exits 1 with one line when the port is taken, stopping the plugin', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const local = await start([pkg, '-m', 'tcp', '--port', String(port)]);
      expect((await within(local.command.ended, 15_000, 'the end')).code).toBe(1);
      expect(local.command.stderr()).toMatch(
        new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use$`, 'm'),
      );
      expect(local.command.stderr()).not.toMatch(/^\s+at /m); // no stack trace
      expect(local.ws.plugin()).toBeDefined(); // it had started: it must have been stopped
      expectCleanedUp(local.ws);
    } finally {
      taken.close();
    }
  });
});
