import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { serverlessRunCommand, SERVERLESS_RUN_LIMITS } from '../../src/cli/commands/serverless-run.js';
import { run } from '../../src/cli/main.js';
import { freePort } from '../../src/debug/serverless-run.js';
import { isAlive, runCli } from '../helpers/cli.js';
import { copyPlugin, EXAMPLE, REPO, tempDir } from '../helpers/plugin.js';
import { startCommand, within, type RunningCommand } from './run-harness.js';

/** The fake serverless plugin (a Python http.server) as the plugin's entrypoint module. */
export const FAKE_SERVERLESS = path.join(REPO, 'test', 'helpers', 'fake-serverless-plugin.py');

let plugin = '';
/** PYTHONPATH with a stand-in `dify_plugin` 0.9.1 (an empty package and its metadata), for the interpreter check. */
let sdkStub = '';
beforeAll(async () => {
  plugin = await copyPlugin(EXAMPLE);
  await copyFile(FAKE_SERVERLESS, path.join(plugin, 'main.py'));
  sdkStub = await tempDir();
  await mkdir(path.join(sdkStub, 'dify_plugin'));
  await writeFile(path.join(sdkStub, 'dify_plugin', '__init__.py'), '');
  await mkdir(path.join(sdkStub, 'dify_plugin-0.9.1.dist-info'));
  await writeFile(
    path.join(sdkStub, 'dify_plugin-0.9.1.dist-info', 'METADATA'),
    'Metadata-Version: 2.1\nName: dify_plugin\nVersion: 0.9.1\n',
  );
});

/** `dify plugin run --serverless <args>` in-process, with python3 and the SDK stand-in. */
function serve(args: string[], env: Record<string, string> = {}): RunningCommand {
  return startCommand(
    (io) => run(['node', 'dify', 'plugin', 'run', '--serverless', '--python', 'python3', ...args], io),
    { env: { PYTHONPATH: sdkStub, ...env } },
  );
}

function servingUrl(command: RunningCommand): string {
  const url = /✓ Serving at (http:\/\/\S+) \(POST \/invoke, GET \/health\)/.exec(command.stdout())?.[1];
  expect(url).toBeDefined();
  return url!;
}

function pluginPid(command: RunningCommand): number {
  return Number(/fake serverless plugin \w+ \(pid (\d+)\)/.exec(command.output())![1]);
}

describe('plugin run --serverless', () => {
  it('serves /health and /invoke, shows the plugin output, and stops the plugin on Ctrl-C (exit 0)', async () => {
    const command = serve([plugin]);
    await command.waitFor('✓ Serving at');
    const url = servingUrl(command);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The SDK's JSON log record, shown as a log line.
    expect(command.stdout()).toMatch(/^\[INFO\] fake serverless plugin started \(pid \d+\) on 127\.0\.0\.1:\d+$/m);
    expect(command.stdout()).toContain('Python  python3 (--python): Python 3.');

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('OK');

    // As the daemon calls it (dify-plugin-daemon internal/core/serverless_runtime/io.go).
    const invoked = await fetch(`${url}/invoke?action=invoke_tool`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ event: 'request', session_id: 's-1', data: { type: 'tool', action: 'invoke_tool' } }),
    });
    expect(invoked.status).toBe(200);
    const lines = (await invoked.text()).split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        event: 'session',
        session_id: 's-1',
        data: { type: 'stream', data: { echo: { type: 'tool', action: 'invoke_tool' } } },
      },
      { event: 'session', session_id: 's-1', data: { type: 'end', data: {} } },
    ]);
    // Its stderr (the request log of http.server) is passed on, to stderr.
    await command.waitFor('"POST /invoke?action=invoke_tool HTTP/1.1" 200');
    expect(command.stderr()).toContain('request: "GET /health HTTP/1.1" 200');

    const pid = pluginPid(command);
    command.signal('SIGINT');
    const ended = await within(command.ended, 10_000, 'the run to end after Ctrl-C');
    expect(ended).toEqual({ code: 0 });
    expect(isAlive(pid)).toBe(false);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('listens on --port', async () => {
    const port = await freePort('127.0.0.1');
    const command = serve([plugin, '--port', String(port)]);
    await command.waitFor('✓ Serving at');
    expect(servingUrl(command)).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });

  it('serves a .difypkg from a temporary copy, removed when it stops', async () => {
    const pkg = path.join(await tempDir(), 'fake.difypkg');
    expect((await runCli(['plugin', 'package', plugin, '-o', pkg])).code).toBe(0);
    const tmp = await tempDir();
    const command = serve([pkg], { TMPDIR: tmp });
    await command.waitFor('✓ Serving at');
    expect((await fetch(`${servingUrl(command)}/health`)).status).toBe(200);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(tmp)).toHaveLength(1);
    command.signal('SIGTERM');
    expect(await within(command.ended, 10_000, 'the run to end')).toEqual({ code: 0 });
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('fails with the plugin output when it exits before /health answers', async () => {
    const command = serve([plugin], { FAKE_CRASH: 'ImportError: no module named gevent' });
    const ended = await within(command.ended, 10_000, 'the run to fail');
    expect(ended.code).toBe(1);
    // One error line, the plugin's output below it, and the hint.
    expect(command.stderr()).toMatch(
      /^error: the plugin exited \(code 3\) before http:\/\/127\.0\.0\.1:\d+\/health answered\n {2}ImportError: no module named gevent\nhint: pass --python/m,
    );
    expect(command.stdout()).not.toContain('Serving');
  });

  it('fails when the plugin dies while serving', async () => {
    const command = serve([plugin]);
    await command.waitFor('✓ Serving at');
    process.kill(pluginPid(command), 'SIGKILL');
    const ended = await within(command.ended, 10_000, 'the run to fail');
    expect(ended.code).toBe(1);
    expect(command.stderr()).toMatch(/^error: the plugin exited \(code SIGKILL\) while serving$/m);
  });

  it('stops a plugin that never answers /health, after the time limit', async () => {
    const limits = { ...SERVERLESS_RUN_LIMITS, healthTimeoutMs: 600, healthIntervalMs: 50, stopGraceMs: 1000 };
    const command = startCommand(
      (io) => serverlessRunCommand(plugin, { python: 'python3', host: '127.0.0.1' }, io, limits),
      { env: { PYTHONPATH: sdkStub, FAKE_HANG: '1' } },
    );
    const ended = await within(command.ended, 10_000, 'the run to fail');
    expect(ended.code).toBe(1);
    expect(ended.error?.message).toMatch(
      /did not answer http:\/\/127\.0\.0\.1:\d+\/health within 0\.6 s, so it was stopped/,
    );
    expect(isAlive(pluginPid(command))).toBe(false);
  });

  it('checks the interpreter first: no dify_plugin, no start', async () => {
    const command = startCommand((io) =>
      run(['node', 'dify', 'plugin', 'run', '--serverless', '--python', 'python3', plugin], io),
    );
    const ended = await within(command.ended, 10_000, 'the run to fail');
    expect(ended.code).toBe(1);
    expect(command.stderr()).toContain('dify_plugin (the Dify plugin SDK) is not installed');
    expect(command.output()).not.toContain('fake serverless plugin');
  });

  it('refuses the flags of the other kinds of run (exit 2)', async () => {
    const r = await runCli(['plugin', 'run', '--serverless', '--dry-run', plugin]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--serverless does not go with --dry-run');
    const bad = await runCli(['plugin', 'run', '--serverless', '--port', '70000', plugin]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port "70000" is not a port number');
  });
});
