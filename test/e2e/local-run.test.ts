import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dify } from '../helpers/cli.js';
import { EXAMPLE, REPO, tempDir } from '../helpers/plugin.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');

interface Message {
  invoke_id: string;
  type: string;
  response: Record<string, unknown>;
}

let pkg = '';
beforeAll(async () => {
  const out = await tempDir();
  pkg = path.join(out, 'hello.difypkg');
  expect((await dify(['plugin', 'package', EXAMPLE, '-o', pkg])).code).toBe(0);
});

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Starts a local run and collects its stdout JSON lines. */
function start(args: string[]) {
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 'dify.js'), 'plugin', 'run', ...args, '--python', FAKE_PYTHON], {
    env: { ...process.env, NO_COLOR: '1', FAKE_HEARTBEAT_MS: '200' },
  });
  children.push(child);
  const messages: Message[] = [];
  let text = '';
  let buffer = '';
  const waiters: { test: (m: Message[], t: string) => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) if (w.test(messages, text)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
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
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got:\n${text}`)), 15_000);
      waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, messages, text: () => text, until, exited };
}

const request = (invokeId: string, tool = 'greet') =>
  JSON.stringify({ invoke_id: invokeId, type: 'tool', action: 'invoke_tool', request: { provider: 'hello_world', tool, tool_parameters: { name: 'Ada' }, credentials: {} } }) + '\n';

describe('dify plugin run <file.difypkg> (local run)', () => {
  it('speaks the invoke_id protocol on stdin/stdout and removes its temporary copy', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('plugin-run-'));
    const run = start([pkg, '-r', 'json']);
    await run.until((m) => m.some((x) => x.type === 'plugin_ready'), 'plugin_ready');
    expect(run.messages.find((x) => x.type === 'plugin_ready')).toEqual({ invoke_id: '', type: 'plugin_ready', response: { info: 'plugin loaded' } });
    run.child.stdin.write(request('a1'));
    run.child.stdin.write('{"invoke_id":"bad"}\n');
    await run.until((m) => m.some((x) => x.invoke_id === 'a1' && x.type === 'plugin_invoke_end'), 'the end of a1');
    const a1 = run.messages.filter((x) => x.invoke_id === 'a1').map((x) => x.type);
    expect(a1).toEqual(['plugin_response', 'plugin_invoke_end']);
    expect(JSON.stringify(run.messages.find((x) => x.invoke_id === 'a1')!.response)).toContain('Ada');
    expect(run.messages).toContainEqual({ invoke_id: 'bad', type: 'error', response: { error: 'action and type are required' } });
    expect(run.messages.filter((x) => x.type === 'info' && x.response.info === 'received request')).toHaveLength(2);
    run.child.stdin.end(); // end of input: finish and exit
    expect(await run.exited).toBe(0);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('plugin-run-'))).toEqual(before);
  });

  it('answers backwards invocations with a labelled mock', async () => {
    const run = start([pkg, '-r', 'json']);
    await run.until((m) => m.some((x) => x.type === 'plugin_ready'), 'plugin_ready');
    run.child.stdin.write(request('b1', 'backwards'));
    await run.until((m) => m.some((x) => x.invoke_id === 'b1' && x.type === 'plugin_invoke_end'), 'the end of b1');
    expect(JSON.stringify(run.messages.filter((x) => x.invoke_id === 'b1'))).toContain('there is no Dify here, so this mock echoes the request');
  });

  it('serves TCP clients on 127.0.0.1, each with its own plugin_ready; Ctrl-C exits 0', async () => {
    const run = start([pkg, '-m', 'tcp', '--port', '0']);
    await run.until((_, t) => /plugin is running on 127\.0\.0\.1:\d+/.test(t), 'the address');
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(run.text())![1]);
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
    expect(await run.exited).toBe(0);
  });

  it('text responses read as [type] invoke_id response', async () => {
    const run = start([pkg]);
    await run.until((_, t) => t.includes('[plugin_ready]'), 'plugin_ready');
    run.child.stdin.write(request('c1'));
    await run.until((_, t) => t.includes('[plugin_invoke_end] c1'), 'the end');
    expect(run.text()).toMatch(/^\[info\] \{"info":"loading plugin"\}$/m);
    expect(run.text()).toMatch(/^\[plugin_response\] c1 \{.*Ada/m);
  });

  it('exits 1 with the plugin\'s stderr when it cannot start', async () => {
    const dir = await tempDir();
    const r = await dify(['plugin', 'run', pkg, '--python', path.join(dir, 'no-such-python')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot start the plugin: spawn .*no-such-python ENOENT/m);
  });
});
