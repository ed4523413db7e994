import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { serverlessRunCommand, SERVERLESS_RUN_LIMITS } from '../../src/cli/commands/serverless-run.js';
import { run } from '../../src/cli/main.js';
import { healthy } from '../../src/debug/serverless-run.js';
import { freePort } from '../../src/debug/serverless-health.js';
import { isAlive, runCli } from '../helpers/cli.js';
import { copyPlugin, EXAMPLE, REPO, tempDir } from '../helpers/plugin.js';
import { gone } from '../helpers/processes.js';
import { hasSdk } from '../helpers/python-sdk.js';
import { craftZip } from '../helpers/zip-craft.js';
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

  it.skipIf(!hasSdk)('serves the example plugin with the real SDK: /health and a tool invocation', async () => {
    const command = startCommand((io) =>
      run(['node', 'dify', 'plugin', 'run', '--serverless', '--python', 'python3', EXAMPLE], io),
    );
    await command.waitFor('✓ Serving at', 30_000);
    const url = servingUrl(command);
    expect(await (await fetch(`${url}/health`)).text()).toBe('OK');
    const data = {
      type: 'tool',
      action: 'invoke_tool',
      user_id: 'u-1',
      provider: 'hello_world',
      tool: 'greet',
      credentials: {},
      tool_parameters: { name: 'Ada' },
    };
    const answer = await fetch(`${url}/invoke?action=invoke_tool`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ event: 'request', session_id: 's-2', data }),
    });
    const messages = (await answer.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { session_id: string; data: { type: string } });
    expect(JSON.stringify(messages)).toContain('Hello, Ada!');
    expect(messages.at(-1)).toMatchObject({ session_id: 's-2', data: { type: 'end' } });
  });

  it('listens on --port', async () => {
    const port = await freePort('127.0.0.1');
    const command = serve([plugin, '--port', String(port)]);
    await command.waitFor('✓ Serving at');
    expect(servingUrl(command)).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });

  it('refuses a --port another process listens on, starting nothing', async () => {
    const other = http.createServer((_, res) => res.end('not the plugin'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const port = (other.address() as AddressInfo).port;
      const command = serve([plugin, '--port', String(port)]);
      const ended = await within(command.ended, 10_000, 'the command to refuse the port');
      expect(ended.code).toBe(1);
      expect(command.stderr()).toContain(`cannot listen on 127.0.0.1:${port}: another process uses that port`);
      expect(command.output()).not.toContain('Serving');
      expect(command.output()).not.toContain('fake serverless plugin');
    } finally {
      other.close();
    }
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
    expect(command.stderr()).toMatch(/^error: the plugin was killed by SIGKILL while serving$/m);
  });

  it('stops a plugin that never answers /health, after the time limit', async () => {
    const limits = { ...SERVERLESS_RUN_LIMITS, healthTimeoutMs: 1000, healthIntervalMs: 50, stopGraceMs: 1000 };
    const command = startCommand(
      (io) => serverlessRunCommand(plugin, { python: 'python3', host: '127.0.0.1' }, io, limits),
      { env: { PYTHONPATH: sdkStub, FAKE_HANG: '1' } },
    );
    const ended = await within(command.ended, 10_000, 'the run to fail');
    expect(ended.code).toBe(1);
    expect(ended.error?.message).toMatch(
      /did not answer http:\/\/127\.0\.0\.1:\d+\/health within 1 s, so it was stopped/,
    );
    // On a loaded machine it may be stopped before it said its pid; when it did, it is gone.
    const pid = /hanging \(pid (\d+)\)/.exec(command.output())?.[1];
    if (pid) expect(isAlive(Number(pid))).toBe(false);
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

/** A wheel pip installs offline: a package of one module and its dist-info, tagged py3-none-any. */
function wheel(name: string, version: string): Buffer {
  const info = `${name}-${version}.dist-info`;
  return craftZip([
    { name: `${name}/__init__.py`, data: 'VALUE = 42\n' },
    { name: `${info}/METADATA`, data: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n` },
    {
      name: `${info}/WHEEL`,
      data: 'Wheel-Version: 1.0\nGenerator: dify-plugin-cli tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
    },
    { name: `${info}/RECORD`, data: `${name}/__init__.py,,\n${info}/METADATA,,\n${info}/WHEEL,,\n${info}/RECORD,,\n` },
  ]);
}

// Whether pip can be imported (a tenth of the time of starting it for `pip --version`).
const hasPip =
  spawnSync('python3', ['-c', 'import importlib.util, sys; sys.exit(importlib.util.find_spec("pip") is None)'], {
    stdio: 'ignore',
  }).status === 0;

describe('plugin package --serverless', () => {
  let source = '';
  let wheels = '';
  /** The environment of every packing: no index (never the network), never uv unless a test says so. */
  const offline = { PIP_NO_INDEX: '1', UV_PATH: '/nonexistent/uv' };
  beforeAll(async () => {
    source = await copyPlugin(EXAMPLE);
    await copyFile(FAKE_SERVERLESS, path.join(source, 'main.py'));
    await writeFile(path.join(source, 'requirements.txt'), 'dify_plugin>=0.9.0,<0.11.0\ntinydep==1.0\n');
    await writeFile(path.join(source, '.env'), 'REMOTE_INSTALL_KEY=secret-key\n');
    wheels = await tempDir();
    await writeFile(path.join(wheels, 'tinydep-1.0-py3-none-any.whl'), wheel('tinydep', '1.0'));
    await writeFile(path.join(wheels, 'dify_plugin-0.9.1-py3-none-any.whl'), wheel('dify_plugin', '0.9.1'));
  });

  it.skipIf(!hasPip)(
    'writes a Lambda package: run.sh first and executable, the plugin, its dependencies; run.sh serves /health',
    async () => {
      const out = path.join(await tempDir(), 'fake.serverless.zip');
      const r = await runCli(['plugin', 'package', '--serverless', source, '--find-links', wheels, '-o', out], {
        env: offline,
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /✓ Packaged \S+fake\.serverless\.zip for AWS Lambda \(\d+ files, .+, Python 3\.12, x86_64\)/,
      );

      const names = execFileSync('unzip', ['-Z1', out], { encoding: 'utf8' }).trim().split('\n');
      expect(names[0]).toBe('run.sh');
      expect(names).toEqual(expect.arrayContaining(['main.py', 'manifest.yaml', 'requirements.txt']));
      expect(names).toEqual(expect.arrayContaining(['python/tinydep/__init__.py', 'python/dify_plugin/__init__.py']));
      expect(names).not.toContain('.env'); // secrets are never packed

      const tree = await tempDir();
      execFileSync('unzip', ['-q', out, '-d', tree]);
      expect(statSync(path.join(tree, 'run.sh')).mode & 0o777).toBe(0o755);
      expect(statSync(path.join(tree, 'main.py')).mode & 0o777).toBe(0o644);

      // As the Lambda Web Adapter starts it: PORT set, from any directory; /health is its readiness check.
      const port = await freePort('127.0.0.1');
      const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), FAKE_IMPORT: 'tinydep' };
      delete env.PYTHONPATH;
      const child = spawn('sh', [path.join(tree, 'run.sh')], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      try {
        const deadline = Date.now() + 10_000;
        while (!(await healthy({ host: '127.0.0.1', port })) && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await healthy({ host: '127.0.0.1', port })).toBe(true);
        expect(output).toContain(`imported tinydep from ${path.join(tree, 'python', 'tinydep')}`);
      } finally {
        child.kill('SIGKILL');
      }
    },
  );

  /** A stand-in for uv that records its arguments; FAKE_UV_FAIL makes it fail as uv does. */
  async function fakeUv(): Promise<{ path: string; args: () => string[] }> {
    const dir = await tempDir();
    const file = path.join(dir, 'uv');
    const argsFile = path.join(dir, 'args');
    await writeFile(
      file,
      `#!/bin/sh
printf '%s\\n' "$@" > '${argsFile}'
if [ -n "$FAKE_UV_FAIL" ]; then
  echo "Using Python 3.12 environment" >&2
  echo "  x No solution found when resolving dependencies:" >&2
  echo "  '-> Because tinydep was not found in the package registry, we can conclude that tinydep==1.0 cannot be used." >&2
  exit 1
fi
`,
      { mode: 0o755 },
    );
    return { path: file, args: () => readFileSync(argsFile, 'utf8').trim().split('\n') };
  }

  it('installs with uv when there is one, for the platform of --arch and --python-version', async () => {
    const uv = await fakeUv();
    const out = path.join(await tempDir(), 'x.serverless.zip');
    const r = await runCli(
      ['plugin', 'package', '--serverless', source, '--arch', 'arm64', '--python-version', '3.11', '-o', out],
      { env: { UV_PATH: uv.path } },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Python 3.11, arm64');
    const args = uv.args();
    expect(args.slice(0, 2)).toEqual(['pip', 'install']);
    expect(args.join(' ')).toContain(
      '--python-platform aarch64-manylinux2014 --python-version 3.11 --only-binary :all:',
    );
    expect(args.at(-2)).toBe('-r');
    // Without pip too: run.sh comes first and is executable once unpacked.
    expect(execFileSync('unzip', ['-Z1', out], { encoding: 'utf8' }).split('\n')[0]).toBe('run.sh');
    const tree = await tempDir();
    execFileSync('unzip', ['-q', out, '-d', tree]);
    expect(statSync(path.join(tree, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(readFileSync(path.join(tree, 'run.sh'), 'utf8')).toContain(`exec "\${PYTHON:-python3}" -m 'main'\n`);
  });

  it.skipIf(process.platform === 'win32')(
    'stops the installer and all it started on Ctrl-C, removes its work directory, writes nothing (exit 130)',
    async () => {
      const dir = await tempDir();
      const [uv, pids, tmp] = [path.join(dir, 'uv'), path.join(dir, 'pids'), path.join(dir, 'tmp')];
      await mkdir(tmp);
      // An installer that has started a process of its own (as pip's builds) and takes its time.
      await writeFile(uv, `#!/bin/sh\nsleep 20 &\necho "$$ $!" > '${pids}.part'\nmv '${pids}.part' '${pids}'\nwait\n`, {
        mode: 0o755,
      });
      const out = path.join(dir, 'x.serverless.zip');
      const command = startCommand(
        (io) => run(['node', 'dify', 'plugin', 'package', '--serverless', source, '-o', out], io),
        { env: { UV_PATH: uv, TMPDIR: tmp } },
      );
      const deadline = Date.now() + 10_000;
      while (!existsSync(pids) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const [shell, sleeper] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
      command.signal('SIGINT');
      expect((await within(command.ended, 5000, 'the command to end after Ctrl-C')).code).toBe(130);
      expect([await gone(shell!), await gone(sleeper!)]).toEqual([true, true]);
      expect(readdirSync(tmp)).toEqual([]);
      expect(existsSync(out)).toBe(false);
    },
  );

  it('takes the architecture and the Python version from the manifest', async () => {
    const plugin = await copyPlugin(source);
    const manifest = path.join(plugin, 'manifest.yaml');
    await writeFile(
      manifest,
      readFileSync(manifest, 'utf8').replace('    - amd64\n', '').replace('version: "3.12"', 'version: "3.13"'),
    );
    const uv = await fakeUv();
    const out = path.join(await tempDir(), 'x.serverless.zip');
    const r = await runCli(['plugin', 'package', '--serverless', plugin, '-o', out], { env: { UV_PATH: uv.path } });
    expect(r.code).toBe(0);
    expect(uv.args().join(' ')).toContain('--python-platform aarch64-manylinux2014 --python-version 3.13');
  });

  it('fails in one error with the installer’s last lines and a hint, writing nothing', async () => {
    const uv = await fakeUv();
    const out = path.join(await tempDir(), 'x.serverless.zip');
    const r = await runCli(['plugin', 'package', '--serverless', source, '-o', out], {
      env: { UV_PATH: uv.path, FAKE_UV_FAIL: '1' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: uv failed \(exit 1\) installing requirements\.txt for AWS Lambda \(Python 3\.12, x86_64\):\n {2}Using Python/m,
    );
    expect(r.stderr).toContain('tinydep==1.0 cannot be used');
    expect(r.stderr).toMatch(/^hint: Lambda needs a binary wheel of every dependency .*--find-links/m);
    expect(existsSync(out)).toBe(false);
  });

  it('writes a container build context with --serverless=container (not built here)', async () => {
    const out = path.join(await tempDir(), 'ctx');
    const r = await runCli(['plugin', 'package', `--serverless=container`, source, '-o', out], { env: offline });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('✓ Wrote the container build context');
    const dockerfile = readFileSync(path.join(out, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('FROM --platform=linux/amd64 python:3.12-slim\n');
    expect(dockerfile).toContain('COPY requirements.txt ./\nRUN pip install --no-cache-dir -r requirements.txt\n');
    expect(dockerfile).toMatch(
      /^ENV INSTALL_METHOD=serverless \\\n {4}SERVERLESS_HOST=0\.0\.0\.0 \\\n {4}SERVERLESS_PORT=8080/m,
    );
    expect(dockerfile).toContain('EXPOSE 8080\n');
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*http:\/\/127\.0\.0\.1:8080\/health/m);
    expect(dockerfile).toContain('CMD ["python", "-m", "main"]\n');
    expect(readFileSync(path.join(out, 'main.py'), 'utf8')).toBe(readFileSync(FAKE_SERVERLESS, 'utf8'));
    expect(existsSync(path.join(out, 'tools', 'greet.py'))).toBe(true);
    expect(existsSync(path.join(out, '.env'))).toBe(false);
    expect(readFileSync(path.join(out, '.dockerignore'), 'utf8')).toContain('.env\n');

    // An earlier context is replaced; any other directory is the user's.
    expect((await runCli(['plugin', 'package', '--serverless=container', source, '-o', out])).code).toBe(0);
    const mine = await tempDir();
    await writeFile(path.join(mine, 'notes.txt'), 'mine');
    for (const force of [[], ['--force']]) {
      const refused = await runCli(['plugin', 'package', '--serverless=container', source, '-o', mine, ...force]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('is not a build context written by this command; not replacing it');
    }
    expect(readFileSync(path.join(mine, 'notes.txt'), 'utf8')).toBe('mine');
    // An empty directory only with --force.
    const empty = await tempDir();
    expect((await runCli(['plugin', 'package', '--serverless=container', source, '-o', empty])).code).toBe(1);
    expect((await runCli(['plugin', 'package', '--serverless=container', source, '-o', empty, '--force'])).code).toBe(
      0,
    );
    expect(existsSync(path.join(empty, 'Dockerfile'))).toBe(true);
  });

  it('shows a docker build command that works for any directory name', async () => {
    const parent = await tempDir();
    const plugin = path.join(parent, "Bob's Plugin");
    await rename(await copyPlugin(source), plugin);
    const r = await runCli(['plugin', 'package', '--serverless=container', plugin], { cwd: parent });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`  docker build -t bob-s-plugin 'Bob'\\''s Plugin.serverless'   (`);
  });

  it('never replaces the plugin directory or one that holds it, even with --force (exit 2)', async () => {
    const plugin = await copyPlugin(source);
    for (const [out, says] of [
      [plugin, 'is the plugin directory'],
      [path.dirname(plugin), 'holds the plugin directory'],
    ] as const) {
      const r = await runCli(['plugin', 'package', '--serverless=container', plugin, '-o', out, '--force']);
      expect(r.stderr).toContain(says);
      expect(r.code).toBe(2);
      expect(existsSync(path.join(plugin, 'manifest.yaml'))).toBe(true);
    }
  });

  it('never packs an earlier deployment written into the plugin directory', async () => {
    const plugin = await copyPlugin(source);
    const name = path.basename(plugin);
    await writeFile(path.join(plugin, `${name}.serverless.zip`), 'an earlier Lambda package');
    for (let i = 0; i < 2; i++)
      expect((await runCli(['plugin', 'package', '--serverless=container', '.'], { cwd: plugin })).code).toBe(0);
    const context = path.join(plugin, `${name}.serverless`);
    expect(existsSync(path.join(context, 'main.py'))).toBe(true);
    expect(existsSync(path.join(context, `${name}.serverless`))).toBe(false);
    expect(existsSync(path.join(context, `${name}.serverless.zip`))).toBe(false);
    const listed = await runCli(['plugin', 'package', '--list', '.'], { cwd: plugin });
    expect(listed.stdout).not.toContain('.serverless');
  });

  it('keeps a file at the output that is not an earlier Lambda package, saying what it replaces', async () => {
    const out = path.join(await tempDir(), 'x.serverless.zip');
    await writeFile(out, 'notes');
    const r = await runCli(['plugin', 'package', '--serverless', source, '-o', out], { env: offline });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'exists and is not a Lambda package written by package --serverless (a .serverless.zip holding a plugin); not overwriting it',
    );
    expect(readFileSync(out, 'utf8')).toBe('notes');
  });

  it('refuses what it cannot do (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['--serverless', '--check', source], '--serverless does not go with --check'],
      [['--serverless', '--marketplace', source], '--serverless does not go with --marketplace'],
      [['--serverless', '--online', source], '--serverless does not go with --online'],
      [['--serverless=container', '--install-test', source], '--serverless does not go with --install-test'],
      [['--serverless', '--python', 'python3', source], '--serverless does not go with --python'],
      [
        ['--serverless=function', source],
        '--serverless="function" is not a target: use --serverless=lambda or --serverless=container',
      ],
      [['--serverless', '--arch', 'mips', source], '--arch "mips" is not x86_64 or arm64'],
      [['--serverless', '--python-version', '2.7', source], '--python-version "2.7" is not a Python 3 version'],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['plugin', 'package', ...args]);
      expect(r.stderr).toContain(message);
      expect(r.code).toBe(2);
    }
  });
});
