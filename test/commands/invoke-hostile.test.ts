import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_OPEN_BLOBS, ToolMessageRenderer } from '../../src/cli/invoke/render.js';
import { UserError } from '../../src/diagnostics/user-error.js';
import { Invoker } from '../../src/pipelines/invoke.js';
import { cliEnv, isAlive, runCli } from '../helpers/cli.js';
import { pluginWith, tempDir } from '../helpers/plugin.js';
import { FAKE_PYTHON, provider, tool } from '../helpers/tool-plugin.js';

/**
 * `dify plugin invoke` when saving what the plugin sends goes wrong: the failure is the
 * invocation's, said in one line, never an exception out of the plugin's output reader.
 */

// The fake plugin's `rich` tool streams text, JSON, a link, a variable, a log and a PNG blob.
const RICH = { 'provider/hello_world.yaml': provider(['rich'], { credentials: false }), ...tool('rich') };

let plugin = '';
beforeAll(async () => {
  plugin = await pluginWith(RICH);
});

async function invoke(args: string[], work: string) {
  return runCli(['plugin', 'invoke', plugin, 'tool', 'hello_world/rich', '--python', FAKE_PYTHON, ...args], {
    cwd: work,
    env: { FAKE_HEARTBEAT_MS: '200', TMPDIR: work },
  });
}

describe('dify plugin invoke: saving blobs', () => {
  it('takes a link in the save folder, even one to nothing, for a file already there', async () => {
    const work = await tempDir();
    await mkdir(path.join(work, 'out'));
    await symlink(path.join(work, 'nowhere'), path.join(work, 'out', 'blob-1.png'));
    const r = await invoke(['--save-dir', 'out'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`saved ${path.join('out', 'blob-1-1.png')} (70 bytes)`);
    expect(lstatSync(path.join(work, 'out', 'blob-1.png')).isSymbolicLink()).toBe(true);
    expect(existsSync(path.join(work, 'nowhere'))).toBe(false);
  });

  it('refuses a save folder under a file in one line, before starting anything', async () => {
    const work = await tempDir();
    await writeFile(path.join(work, 'notes.txt'), 'x');
    const r = await invoke(['--save-dir', 'notes.txt/out'], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: --save-dir notes.txt/out cannot be a folder');
    expect(r.stderr).not.toContain('internal error');
  });
});

describe('dify plugin invoke: settings it does not use', () => {
  it('runs whatever the daemon address in .env says (only run connects to it)', async () => {
    const dir = await pluginWith({ ...RICH, '.env': 'REMOTE_INSTALL_URL=not a url:99999\n' });
    const work = await tempDir();
    const r = await runCli(
      ['plugin', 'invoke', dir, 'tool', 'hello_world/rich', '--python', FAKE_PYTHON, '--format', 'json'],
      {
        cwd: work,
        env: { FAKE_HEARTBEAT_MS: '200', TMPDIR: work },
      },
    );
    expect(r.stderr).not.toContain('REMOTE_INSTALL_URL');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"type":"text"');
  });
});

describe('dify plugin invoke: command lines that cannot be run', () => {
  it('says so in one line, starting nothing', async () => {
    const work = await tempDir();
    await writeFile(path.join(work, 'notes.txt'), 'x');
    await writeFile(path.join(work, 'p.yaml'), '!custom {}\n');
    const through = await runCli(['plugin', 'invoke', 'notes.txt/x', 'tool', 'a/b'], { cwd: work });
    expect(through.stderr).toMatch(/plugin\/not-found \S*notes\.txt\/x does not exist/);
    expect(through.stderr).not.toContain('internal error');
    expect(through.code).toBe(1);
    // The YAML library's warning would quote the file (it goes to process warnings, not io.stderr).
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const tagged = await invoke(['--params', 'p.yaml', '--format', 'json'], work);
      expect(tagged.code).toBe(0);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
    const many = await invoke(['--repeat', '5000', '--concurrency', '5000'], work);
    expect(many.stderr).toBe('error: --concurrency is at most 1000, got 5000\n');
    expect(many.code).toBe(2);
  });
});

describe('ToolMessageRenderer', () => {
  it('stops a plugin that begins blob after blob without ending any, before the file descriptors run out', async () => {
    const dir = await tempDir();
    const renderer = new ToolMessageRenderer(
      () => undefined,
      dir,
      (f) => f,
    );
    const chunk = (id: number) => ({
      type: 'blob_chunk',
      message: { id: `b${id}`, blob: 'AA==', end: false },
      meta: {},
    });
    for (let i = 0; i < MAX_OPEN_BLOBS; i++) renderer.message(chunk(i));
    expect(() => renderer.message(chunk(MAX_OPEN_BLOBS))).toThrow(UserError);
    renderer.finish(); // the open ones closed, as saved and incomplete
    expect(readdirSync(dir)).toHaveLength(MAX_OPEN_BLOBS);
  });
});

describe('Invoker', () => {
  it('ends an invocation whose message handler throws with that error, the plugin still stoppable', async () => {
    const work = await tempDir();
    const spy = path.join(work, 'spy.json');
    const invoker = new Invoker({
      python: FAKE_PYTHON,
      entrypoint: 'main',
      dir: plugin,
      env: cliEnv({ FAKE_HEARTBEAT_MS: '200', FAKE_SPY_FILE: spy }),
      storageDir: path.join(work, 'storage'),
      storage: { enabled: true, size: 1024 },
      startTimeoutMs: 10_000,
      stopGraceMs: 2000,
      onLog: () => undefined,
    });
    try {
      await invoker.start();
      const request = {
        type: 'tool',
        action: 'invoke_tool',
        request: { provider: 'hello_world', tool: 'rich', credentials: {}, tool_parameters: {} },
      };
      const failure = new Error('disk full');
      await expect(
        invoker.invoke(request, () => {
          throw failure;
        }),
      ).rejects.toBe(failure);
      // the plugin goes on answering
      let messages = 0;
      await expect(invoker.invoke(request, () => void messages++)).resolves.toEqual({ messages: 8 });
      expect(messages).toBe(8);
    } finally {
      await invoker.stop(2000);
    }
    const { pid } = JSON.parse(readFileSync(spy, 'utf8')) as { pid: number };
    expect(isAlive(pid)).toBe(false);
  });
});
