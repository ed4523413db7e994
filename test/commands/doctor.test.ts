import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { EXAMPLE, pluginWith, REPO, tempDir, type Overrides } from '../helpers/plugin.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');
const KEY = 'a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

interface Line {
  id: string;
  status: 'ok' | 'warning' | 'error';
  message: string;
  hint?: string;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A local stand-in for the daemon: accepts connections and counts the bytes it is sent. */
async function listening(): Promise<{ port: number; connections: () => number; received: () => number }> {
  let connections = 0;
  let received = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on('data', (d) => (received += d.length));
    socket.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    received: () => received,
  };
}

/** A port nothing listens on: one the system gave a server that is closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A PATH of one directory whose `python3` is the fake interpreter (it answers the probe from
 * FAKE_PYTHON_VERSION and FAKE_SDK_VERSION), so that no test depends on the machine's Python.
 */
async function fakeBin(extra: string[] = []): Promise<string> {
  const bin = await tempDir('dify-doctor-bin-');
  symlinkSync(FAKE_PYTHON, path.join(bin, 'python3'));
  for (const name of extra) {
    writeFileSync(path.join(bin, name), '#!/bin/sh\nexit 0\n');
    chmodSync(path.join(bin, name), 0o755);
  }
  return bin;
}

/** The example plugin with a .venv whose python is the fake interpreter, and `files` over it. */
async function plugin(files: Overrides = {}, venv = true): Promise<string> {
  const dir = await pluginWith(files);
  if (venv) {
    mkdirSync(path.join(dir, '.venv', 'bin'), { recursive: true });
    symlinkSync(FAKE_PYTHON, path.join(dir, '.venv', 'bin', 'python'));
  }
  return dir;
}

/** `dify plugin doctor` with none of the settings of the machine it runs on. */
async function doctor(dir: string, env: Record<string, string | undefined> = {}, extra: string[] = []) {
  const r = await runCli(['plugin', 'doctor', dir, ...extra], {
    env: {
      PATH: await fakeBin(),
      PYTHON_INTERPRETER_PATH: undefined,
      REMOTE_INSTALL_URL: undefined,
      REMOTE_INSTALL_KEY: undefined,
      REMOTE_INSTALL_HOST: undefined,
      REMOTE_INSTALL_PORT: undefined,
      DIFY_REMOTE_URL: undefined,
      DIFY_DEBUG_KEY: undefined,
      UV_PATH: undefined,
      FAKE_PYTHON_VERSION: undefined,
      FAKE_SDK_VERSION: undefined,
      ...env,
    },
  });
  const json = extra.includes('json') ? (JSON.parse(r.stdout) as { ok: boolean; checks: Line[] }) : undefined;
  return { ...r, json };
}

/** The JSON lines of a doctor run, by id. */
async function checksOf(dir: string, env: Record<string, string | undefined> = {}) {
  const r = await doctor(dir, env, ['--format', 'json']);
  const byId = new Map(r.json!.checks.map((c) => [c.id, c]));
  return { ...r, byId, get: (id: string) => byId.get(id) };
}

const dotenv = (lines: Record<string, string>) =>
  Object.entries(lines)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');

describe('dify plugin doctor', () => {
  it('says ok on every line of a healthy set-up, connects to the daemon without sending a byte, and exits 0', async () => {
    const daemon = await listening();
    const dir = await plugin({
      '.env': dotenv({ REMOTE_INSTALL_URL: `127.0.0.1:${daemon.port}`, REMOTE_INSTALL_KEY: KEY }),
    });
    const r = await doctor(dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('everything looks right');
    for (const label of ['CLI', 'Node.js', 'plugin', 'Python', 'runner', 'dify_plugin', '.venv', '.env']) {
      expect(lines.find((l) => new RegExp(`^ok +${label.replace('.', '\\.')} `).test(l))).toBeDefined();
    }
    expect(r.stdout).toMatch(/^ok +daemon address +127\.0\.0\.1:\d+ \(REMOTE_INSTALL_URL in \.env\)$/m);
    expect(r.stdout).toMatch(/^ok +debug key +a1b2•+5d \(REMOTE_INSTALL_KEY in \.env\)$/m);
    expect(r.stdout).toMatch(/^ok +daemon +127\.0\.0\.1:\d+ accepts connections$/m);
    expect(r.stdout).toMatch(
      /^ok +dify_plugin +dify_plugin 0\.9\.1; the plugin requires dify_plugin>=0\.9\.0,<0\.11\.0/m,
    );
    expect(r.stdout).toMatch(/^ok +\.venv +\.venv is the interpreter's/m);
    expect(r.stdout).toMatch(
      /^ok +packaging +\.venv\/ and \.env are never packed \(default \(\.venv\/\), default \(\.env\)\); ignore file: \.difyignore$/m,
    );
    expect(r.stdout).not.toContain('warning');
    expect(r.stdout).not.toContain(KEY.slice(4, -2));
    // the columns line up: every message starts in the same column
    const column = lines[0]!.indexOf('dify-plugin-cli');
    for (const l of lines.filter((l) => /^(ok|warning|error) /.test(l))) expect(l.slice(column - 2, column)).toBe('  ');
    expect(daemon.connections()).toBe(1);
    expect(daemon.received()).toBe(0);
  });

  it('prints {ok, checks: [{id, status, message, hint?}]} with --format json, the key masked there too', async () => {
    const daemon = await listening();
    const dir = await plugin({
      '.env': dotenv({ REMOTE_INSTALL_URL: `127.0.0.1:${daemon.port}`, REMOTE_INSTALL_KEY: KEY }),
    });
    const r = await doctor(dir, { FAKE_SDK_VERSION: 'none' }, ['--format', 'json']);
    expect(r.code).toBe(1);
    expect(Object.keys(r.json!)).toEqual(['ok', 'checks']);
    expect(r.json!.ok).toBe(false);
    expect(r.json!.checks.map((c) => c.id)).toEqual([
      'cli',
      'node',
      'plugin',
      'python',
      'runner',
      'sdk',
      'venv',
      'env',
      'url',
      'key',
      'daemon',
      'uv',
      'ignore',
    ]);
    for (const c of r.json!.checks) {
      expect(['ok', 'warning', 'error']).toContain(c.status);
      expect(typeof c.message).toBe('string');
      expect(Object.keys(c).every((k) => ['id', 'status', 'message', 'hint'].includes(k))).toBe(true);
    }
    expect(r.json!.checks.find((c) => c.id === 'sdk')).toMatchObject({
      status: 'error',
      hint: "install the plugin's requirements for it: `.venv/bin/python -m pip install -r requirements.txt`",
    });
    expect(r.stdout).not.toContain(KEY);
  });

  it('reports a Python that requires-python refuses, and a runner version it is not', async () => {
    const dir = await plugin({ 'pyproject.toml': '[project]\nname = "x"\nrequires-python = ">=3.12"\n' });
    const r = await checksOf(dir, { FAKE_PYTHON_VERSION: '3.11.2' });
    expect(r.code).toBe(1);
    expect(r.get('python')).toMatchObject({
      status: 'error',
      message: expect.stringMatching(
        /\/\.venv\/bin\/python \(the plugin's \.venv\) is Python 3\.11\.2 .*; the plugin requires Python >=3\.12 \(requires-python in pyproject\.toml\)$/,
      ),
      hint: expect.stringContaining("create the plugin's .venv again with Python 3.12"),
    });
    expect(r.get('runner')).toMatchObject({ status: 'warning', message: expect.stringContaining('"3.12"') });
  });

  it('reports dify_plugin missing, or of a version the requirement refuses', async () => {
    const dir = await plugin();
    const missing = await checksOf(dir, { FAKE_SDK_VERSION: 'none' });
    expect(missing.get('sdk')).toMatchObject({
      status: 'error',
      message:
        'dify_plugin is not installed for Python 3.12.4; the plugin requires dify_plugin>=0.9.0,<0.11.0 (requirements.txt)',
    });
    const old = await checksOf(dir, { FAKE_SDK_VERSION: '0.8.0' });
    expect(old.code).toBe(1);
    expect(old.get('sdk')).toMatchObject({
      status: 'error',
      message: 'dify_plugin 0.8.0 is installed; the plugin requires dify_plugin>=0.9.0,<0.11.0 (requirements.txt)',
    });
  });

  it('warns when there is no .venv, with the command that creates it', async () => {
    const dir = await plugin({}, false);
    const r = await checksOf(dir);
    expect(r.get('venv')).toEqual({
      id: 'venv',
      status: 'warning',
      message: 'no .venv: `run` would use python3 from PATH',
      hint: "create the plugin's virtual environment: `python3.12 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt`",
    });
    expect(r.get('python')).toMatchObject({
      status: 'ok',
      message: expect.stringMatching(/^python3 \(default\) is Python 3\.12\.4/),
    });
  });

  it('warns about a .venv without an interpreter, which is not used', async () => {
    const dir = await plugin({ '.venv/pyvenv.cfg': 'home = /nowhere\n' }, false);
    const r = await checksOf(dir);
    expect(r.get('venv')).toMatchObject({
      status: 'warning',
      message: expect.stringMatching(/^\.venv has no Python interpreter/),
      hint: expect.stringContaining('python3.12 -m venv .venv'),
    });
    expect(r.get('python')!.message).toMatch(/^python3 \(default\)/);
  });

  it('says which interpreter is used instead of the .venv', async () => {
    const dir = await plugin({ '.env': dotenv({ PYTHON_INTERPRETER_PATH: '/usr/bin/python3-other' }) });
    const r = await checksOf(dir);
    expect(r.get('venv')).toMatchObject({
      status: 'warning',
      message:
        '.venv is not used: PYTHON_INTERPRETER_PATH (PYTHON_INTERPRETER_PATH in .env) chooses /usr/bin/python3-other',
    });
    expect(r.get('python')).toMatchObject({ status: 'error', message: expect.stringContaining('was not found') });
  });

  it('reports a missing .env, a missing key and the placeholder key of .env.example', async () => {
    const none = await checksOf(await plugin());
    expect(none.get('env')).toMatchObject({
      status: 'warning',
      hint: expect.stringMatching(/^copy \.env\.example to \.env/),
    });
    expect(none.get('key')).toMatchObject({ status: 'error', message: 'no debug key is set (REMOTE_INSTALL_KEY)' });
    expect(none.get('url')).toMatchObject({ status: 'warning', message: expect.stringContaining('localhost:5003') });

    const placeholder = await checksOf(
      await plugin({ '.env': dotenv({ REMOTE_INSTALL_KEY: '********-****-****-****-************' }) }),
    );
    expect(placeholder.code).toBe(1);
    expect(placeholder.get('key')).toMatchObject({
      status: 'error',
      message: 'REMOTE_INSTALL_KEY (REMOTE_INSTALL_KEY in .env) is still the placeholder of .env.example',
    });
  });

  it('points out the lines of .env that are not NAME=value, which dotenv skips without a word', async () => {
    const dir = await plugin({
      '.env': `# remote debugging\nREMOTE_INSTALL_URL: localhost:5003\nNOTE="two\nlines"\nREMOTE_INSTALL_KEY ${KEY}\n`,
    });
    const r = await checksOf(dir);
    expect(r.get('env')).toMatchObject({
      status: 'warning',
      message: '.env has a line that is not NAME=value, and ignored: line 5',
    });
    // `NAME: value` is an assignment too; the line skipped is named by its number, as it holds the key
    expect(r.get('url')).toMatchObject({ status: 'ok', message: 'localhost:5003 (REMOTE_INSTALL_URL in .env)' });
    expect(r.get('key')!.status).toBe('error');
    expect(r.stdout).not.toContain(KEY.slice(4, -2));
  });

  it('reads a .env that is a link, as run does, and reports one that is a directory', async () => {
    const daemon = await listening();
    const elsewhere = path.join(await tempDir(), 'debug.env');
    writeFileSync(elsewhere, dotenv({ REMOTE_INSTALL_URL: `127.0.0.1:${daemon.port}`, REMOTE_INSTALL_KEY: KEY }));
    const linked = await plugin();
    symlinkSync(elsewhere, path.join(linked, '.env'));
    const r = await checksOf(linked);
    expect(r.get('env')).toMatchObject({ status: 'ok', message: '.env found' });
    expect(r.code).toBe(0);

    const directory = await plugin({ '.env/x': '' });
    const bad = await checksOf(directory);
    expect(bad.code).toBe(1);
    expect(bad.get('env')).toMatchObject({ status: 'error', message: '.env is not a regular file' });
  });

  it('reports an address that is not host:port, and then tries no connection', async () => {
    const dir = await plugin({
      '.env': dotenv({ REMOTE_INSTALL_URL: 'https://your-dify-instance.com', REMOTE_INSTALL_KEY: KEY }),
    });
    const r = await checksOf(dir);
    expect(r.code).toBe(1);
    expect(r.get('url')).toMatchObject({
      status: 'error',
      message: expect.stringContaining('REMOTE_INSTALL_URL is "https://your-dify-instance.com"; write it as host:port'),
    });
    expect(r.get('daemon')).toBeUndefined();
  });

  it('points out the older and the CLI-only variable names', async () => {
    const daemon = await listening();
    const old = await checksOf(
      await plugin({
        '.env': dotenv({
          REMOTE_INSTALL_HOST: '127.0.0.1',
          REMOTE_INSTALL_PORT: String(daemon.port),
          REMOTE_INSTALL_KEY: KEY,
        }),
      }),
    );
    expect(old.get('url')).toMatchObject({
      status: 'warning',
      message: `127.0.0.1:${daemon.port} from the older settings REMOTE_INSTALL_HOST (REMOTE_INSTALL_HOST in .env) and REMOTE_INSTALL_PORT (REMOTE_INSTALL_PORT in .env)`,
      hint: `replace them with one REMOTE_INSTALL_URL=127.0.0.1:${daemon.port}, as the current .env.example has it`,
    });
    expect(old.get('daemon')!.status).toBe('ok');
    expect(old.code).toBe(0);

    const aliases = await checksOf(
      await plugin({ '.env': dotenv({ DIFY_REMOTE_URL: `127.0.0.1:${daemon.port}`, DIFY_DEBUG_KEY: KEY }) }),
    );
    expect(aliases.get('url')).toMatchObject({ status: 'warning', hint: 'rename it REMOTE_INSTALL_URL' });
    expect(aliases.get('key')).toMatchObject({ status: 'warning', hint: 'rename it REMOTE_INSTALL_KEY' });
    expect(aliases.stdout).not.toContain(KEY);
  });

  it('reports a daemon address where nothing listens', async () => {
    const port = await closedPort();
    const dir = await plugin({ '.env': dotenv({ REMOTE_INSTALL_URL: `127.0.0.1:${port}`, REMOTE_INSTALL_KEY: KEY }) });
    const r = await doctor(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^error +daemon +127\\.0\\.0\\.1:${port}: nothing accepts connections there \\(connection refused\\)$`,
        'm',
      ),
    );
    expect(r.stdout).toMatch(/^ +hint: start Dify, or correct REMOTE_INSTALL_URL/m);
    expect(r.stdout).toMatch(/^1 error, 0 warnings$/m);
    expect(r.stdout).not.toContain(KEY);
  });

  it('shows the control characters of a .env value instead of sending them to the terminal', async () => {
    const dir = await plugin({ '.env': 'REMOTE_INSTALL_URL="\x1b[2Jlocalhost"\n' });
    const r = await doctor(dir);
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout).toContain('\\u{1b}[2Jlocalhost');
  });

  it('warns when a .gitignore would let git commit .env, and finds uv on PATH', async () => {
    const dir = await plugin({
      '.difyignore': null,
      '.gitignore': '.venv/\n',
      '.env': dotenv({ REMOTE_INSTALL_KEY: KEY }),
    });
    const r = await doctor(dir, { PATH: await fakeBin(['uv']) }, ['--format', 'json']);
    const byId = new Map(r.json!.checks.map((c) => [c.id, c]));
    expect(byId.get('gitignore')).toMatchObject({ status: 'warning', hint: 'add a line `.env` to .gitignore' });
    expect(byId.get('ignore')!.message).toContain('ignore file: .gitignore');
    expect(byId.get('uv')).toMatchObject({ status: 'ok', message: expect.stringMatching(/^uv found \(.*\/uv\)$/) });
  });

  it('warns about a missing uv only for a plugin that declares its dependencies in pyproject.toml', async () => {
    const dir = await plugin({
      'requirements.txt': null,
      'pyproject.toml': '[project]\nname = "x"\nrequires-python = ">=3.12"\ndependencies = ["dify_plugin>=0.9.0"]\n',
    });
    const r = await checksOf(dir);
    expect(r.get('uv')).toMatchObject({ status: 'warning', hint: expect.stringContaining('install uv') });
    expect(r.get('sdk')).toMatchObject({
      status: 'ok',
      message: 'dify_plugin 0.9.1; the plugin requires dify_plugin>=0.9.0 (pyproject.toml)',
    });
  });

  it('outside a plugin directory, reports the environment and that no plugin was found', async () => {
    const empty = await tempDir();
    const r = await runCli(['plugin', 'doctor'], {
      cwd: empty,
      env: { PATH: await fakeBin(), PYTHON_INTERPRETER_PATH: undefined, UV_PATH: undefined },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^warning +plugin +no plugin found in .* \(no manifest\.yaml\); only the environment is checked$/m,
    );
    expect(r.stdout).toMatch(/^ok +Python +python3 \(default\) is Python 3\.12\.4/m);
    expect(r.stdout).toMatch(/^ok +uv +uv is not found on PATH/m);
    expect(r.stdout).not.toMatch(/debug key|daemon|dify_plugin/);
  });

  it('exits 1 for a directory that does not exist', async () => {
    const r = await doctor(path.join(EXAMPLE, 'nowhere'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^error +plugin +.*nowhere does not exist$/m);
    // the interpreter is still found, from the current directory
    expect(r.stdout).toMatch(/^ok +Python +python3 \(default\) is Python 3\.12\.4/m);
  });
});
