// What only a real process shows: bin/dify.js as installed, its exit status, stdout and stderr as
// separate pipes, signals, terminals, and the launcher itself (Node version check, V8 code cache).
// Everything else about the commands is tested in-process, in test/commands/.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, watch } from 'node:fs';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { dify, startDify, type CliResult } from '../helpers/cli.js';
import { copyPlugin, EXAMPLE, pluginWith, REAL_FIXTURES, REPO, tempDir } from '../helpers/plugin.js';

const BIN = path.join(REPO, 'bin', 'dify.js');
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** Collects what a child prints and how it ends; the child is killed if the test ends first. */
function finished(child: ChildProcess): Promise<CliResult> {
  onTestFinished(() => void child.kill());
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A JavaScript stack trace, as Node prints an uncaught error. */
const STACK = /^\s+at .+(\(.+:\d+:\d+\)|:\d+:\d+)$/m;

describe('exit status and streams', () => {
  it('0, 2 and 1 as a process; output on stdout, one-line errors on stderr', async () => {
    const [ok, usage, failed] = await Promise.all([dify(['--version']), dify(['plugin', 'package', '--chek', 'x']), dify(['plugin', 'checksum', path.join(REPO, 'nowhere')])]);
    expect(ok).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(usage.stderr).toMatch(/^error: unknown option '--chek'\n/);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^error: cannot compute the checksum/);
    expect(failed.stderr).not.toMatch(STACK);
  });

  it('bad input gives diagnostics, never a stack trace or a Node warning; a pipe gets no colour', async () => {
    const dir = await pluginWith({ 'manifest.yaml': Buffer.from([0, 159, 146, 150, 255]), 'provider/hello_world.yaml': '[' });
    const r = await dify(['plugin', 'package', '--check', dir, path.join(dir, 'nowhere')], { env: { NO_COLOR: undefined } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('file/invalid-utf8');
    expect(r.stdout).toContain('plugin/not-found');
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(r.stdout).not.toMatch(STACK);
    expect(r.stderr).toBe('');
  });

  it('colours a pipe when FORCE_COLOR asks for it', async () => {
    const r = await dify(['plugin', 'package', '--check', EXAMPLE], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(r.stdout).toMatch(/\x1b\[32m✓ no problems/);
  });

  it('is quiet when the reader of its output goes away early (`| head`)', async () => {
    const child = spawn(process.execPath, [BIN, 'plugin', 'package', '--list', EXAMPLE], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = finished(child);
    child.stdout!.destroy(); // gone before the first line: every write of the CLI fails with EPIPE
    const r = await result;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('signals and terminals', () => {
  it('Ctrl-C while packing leaves no partial file', async () => {
    const cwd = await tempDir();
    const plugin = await copyPlugin(EXAMPLE);
    // Enough incompressible bytes that packing is still going when the signal comes.
    for (let i = 0; i < 8; i++) await writeFile(path.join(plugin, '_assets', `photo_${i}.png`), randomBytes(4 * 1024 * 1024));
    const watcher = watch(cwd);
    const cli = startDify(['plugin', 'package', plugin, '-o', 'big.difypkg'], { cwd });
    const sawPartial = await new Promise<boolean>((resolve) => {
      watcher.on('change', (_event, file) => {
        if (String(file).endsWith('.tmp')) resolve(true);
      });
      void cli.exited.then(() => resolve(false));
    });
    watcher.close();
    if (sawPartial) cli.child.kill('SIGINT');
    const code = await cli.exited;
    expect(sawPartial).toBe(true);
    expect(code).not.toBe(0);
    expect(await readdir(cwd)).toEqual([]);
  });

  // The 15 s limit is the assertion: a CLI reading the open pipe would never end.
  it('does not wait for input when there is no terminal, even with stdin left open', { timeout: 15_000 }, async () => {
    const dir = await copyPlugin(EXAMPLE);
    const child = spawn(process.execPath, [BIN, 'plugin', 'permission', dir], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'], // stdin is a pipe nobody writes to or closes
    });
    const r = await finished(child);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hint: pass the permissions to grant as flags');
  });

  /** `script` (util-linux) runs the CLI on a real pseudo-terminal. */
  const hasScript = spawnSync('script', ['--version']).status === 0;

  it.skipIf(!hasScript)('init prompts on a terminal, and Ctrl-C at the first question leaves nothing behind', async () => {
    const cwd = await tempDir();
    const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} plugin init`, '/dev/null'], {
      cwd,
      env: { ...process.env, TERM: 'xterm', CI: undefined },
    });
    let screen = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      screen += d;
      if (!sent && screen.includes('Plugin name')) {
        sent = true;
        child.stdin.write('\u0003');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(screen).toContain('Plugin name');
    expect(screen).toContain('cancelled: nothing was written');
    expect(code).toBe(1);
    expect(await readdir(cwd)).toEqual([]);
  });
});

describe('the built CLI', () => {
  it('runs uv when it is installed', async () => {
    const cwd = await tempDir();
    const uv = path.join(cwd, 'uv');
    await writeFile(uv, '#!/bin/sh\necho "pydantic==2.0.0"\n', { mode: 0o755 });
    const plugin = path.join(REAL_FIXTURES, 'self_refine_agent');
    const r = await dify(['plugin', 'package', plugin, '-o', 'out.difypkg'], { cwd, env: { UV_PATH: uv } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const unzip = spawnSync('unzip', ['-p', path.join(cwd, 'out.difypkg'), 'requirements.txt'], { encoding: 'utf8' });
    expect(unzip.stdout).toBe('pydantic==2.0.0\n');
  });

  it('says plainly that it needs Node.js 20.15', async () => {
    // Node 20.14 as far as the launcher can tell.
    const older = 'data:text/javascript,Object.defineProperty(process, "versions", { value: { ...process.versions, node: "20.14.0" } }); Object.defineProperty(process, "version", { value: "v20.14.0" });';
    const r = await finished(spawn(process.execPath, ['--import', older, BIN, '--version'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: dify-plugin-cli needs Node.js 20.15 or newer; this is v20.14.0\n');
  });

  it('stores V8 code beside the bundle, reuses it, and replaces a cache it cannot use', async () => {
    // A copy of the installed layout, so that the shared dist/ is left alone.
    const root = await tempDir();
    await Promise.all(['bin', 'dist'].map((d) => mkdir(path.join(root, d))));
    await Promise.all(['bin/dify.js', 'dist/dify.cjs', 'package.json'].map((f) => copyFile(path.join(REPO, f), path.join(root, f))));
    const cache = path.join(root, 'dist', 'dify.cjs.cache');
    const version = async () => {
      const r = await finished(spawn(process.execPath, [path.join(root, 'bin', 'dify.js'), '--version'], { stdio: ['ignore', 'pipe', 'pipe'] }));
      expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    };

    await version();
    const written = statSync(cache);
    expect(written.size).toBeGreaterThan(0);
    await version();
    expect(statSync(cache).ino).toBe(written.ino); // accepted, so not written again

    await writeFile(cache, 'not V8 code');
    await version();
    expect(statSync(cache).size).toBeGreaterThan(written.size / 2); // rejected, then rebuilt
  });
});
