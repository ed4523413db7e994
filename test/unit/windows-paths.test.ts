import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { flawedPlugin } from '../helpers/flawed-plugin.js';
import { EXAMPLE, tempDir } from '../helpers/plugin.js';
import { windowsHost } from '../helpers/windows-host.js';

// The CLI's own code runs with `path.win32` while `windowsHost.on` is set (test/helpers/windows-host.ts).
vi.mock('node:path', async (orig) => (await import('../helpers/windows-host.js')).windowsPath(orig));
vi.mock('node:fs', async (orig) => (await import('../helpers/windows-host.js')).windowsFs(orig));
vi.mock('node:fs/promises', async (orig) => (await import('../helpers/windows-host.js')).windowsFs(orig));
vi.mock('node:child_process', async (orig) => (await import('../helpers/windows-host.js')).windowsChildProcess(orig));

/** `C:\Users\me` on Windows, `<drive>/Users/me` on this machine. */
let home: string;
beforeAll(async () => {
  windowsHost.drive = await tempDir('dify-drive-');
  home = path.join(windowsHost.drive, 'Users', 'me');
  await mkdir(home, { recursive: true });
});

/** Runs the CLI as on Windows: `cwd` is a Windows path, and so is PATH (`;`-separated). */
async function onWindows(args: string[], cwd: string) {
  const env = { PATH: process.env.PATH!.replaceAll(path.delimiter, ';') };
  windowsHost.on = true;
  try {
    return await runCli(args, { cwd, env });
  } finally {
    windowsHost.on = false;
  }
}

describe('on Windows, paths with \\ and drive letters', () => {
  it('give the same package bytes however they are spelt, and -o takes them', async () => {
    await flawedPlugin(path.join(home, 'hello'));
    // Fixed for packing: this test is about the bytes.
    await writeFile(path.join(home, 'hello', 'manifest.yaml'), await readFile(path.join(EXAMPLE, 'manifest.yaml')));
    await writeFile(
      path.join(home, 'hello', 'provider', 'hello_world.yaml'),
      await readFile(path.join(EXAMPLE, 'provider', 'hello_world.yaml')),
    );
    await writeFile(
      path.join(home, 'hello', 'tools', 'greet.yaml'),
      await readFile(path.join(EXAMPLE, 'tools', 'greet.yaml')),
    );
    await mkdir(path.join(home, 'hello', 'dist'));

    // The output file inside the plugin is left out of the package, whatever was there before.
    const asOutput = async (run: () => Promise<{ code: number | null; stdout: string }>) => {
      await writeFile(path.join(home, 'hello', 'dist', 'release.zip'), 'not a package');
      expect((await run()).code).toBe(0);
      return readFile(path.join(home, 'hello', 'dist', 'release.zip'));
    };
    expect(
      await asOutput(() =>
        onWindows(['plugin', 'package', 'hello', '-o', 'hello\\dist\\release.zip', '--force'], 'C:\\Users\\me'),
      ),
    ).toEqual(
      await asOutput(() =>
        runCli(['plugin', 'package', 'hello', '-o', 'hello/dist/release.zip', '--force'], { cwd: home }),
      ),
    );
    await rm(path.join(home, 'hello', 'dist'), { recursive: true });

    const posix = await runCli(['plugin', 'package', 'hello', '-o', 'posix.difypkg'], { cwd: home });
    const want = await readFile(path.join(home, 'posix.difypkg'));
    const checksum = /checksum ([0-9a-f]{64})/.exec(posix.stdout)![1]!;
    const spellings: [args: string[], cwd: string, written: string][] = [
      [['.\\hello', '-o', 'w1.difypkg'], 'C:\\Users\\me', 'w1.difypkg'],
      [['hello\\', '-o', 'C:\\Users\\me\\w2.difypkg'], 'C:\\Users\\me', 'w2.difypkg'],
      [['C:\\Users\\me\\hello'], 'C:\\Users\\me', 'hello.difypkg'],
      [['C:/Users/me/hello', '-o', 'C:/Users/me/w3.difypkg'], 'C:\\Windows', 'w3.difypkg'],
      [['c:\\Users\\me\\hello', '-o', 'me\\w4.difypkg'], 'C:\\Users', 'w4.difypkg'],
      [['.', '-o', '..\\w5.difypkg'], 'C:\\Users\\me\\hello', 'w5.difypkg'],
      [['..', '-o', '..\\..\\w6.difypkg'], 'C:\\Users\\me\\hello\\tools', 'w6.difypkg'],
    ];
    for (const [args, cwd, written] of spellings) {
      const win = await onWindows(['plugin', 'package', ...args], cwd);
      expect([args, win.code, win.stderr]).toEqual([args, 0, '']);
      expect(win.stdout).toContain(`checksum ${checksum}`);
      expect(await readFile(path.join(home, written))).toEqual(want);
    }
    // What remote debugging registers (declarations, icons, the .env settings) is the same too.
    await writeFile(path.join(home, 'hello', '.env'), 'REMOTE_INSTALL_URL=localhost:5003\nREMOTE_INSTALL_KEY=k\n');
    const dryRun = ['plugin', 'run', 'hello', '--dry-run', '--format', 'json'];
    const registration = await runCli(dryRun, { cwd: home });
    expect(registration.code).toBe(0);
    expect(await onWindows(dryRun, 'C:\\Users\\me')).toEqual(registration);

    // The output path is shown as Windows shows paths.
    expect((await onWindows(['plugin', 'package', 'hello', '-o', 'out\\w7.difypkg'], 'C:\\Users\\me')).stderr).toBe(
      'error: cannot write C:\\Users\\me\\out\\w7.difypkg: the directory C:\\Users\\me\\out does not exist\n' +
        'hint: create it first, or pass another -o path\n',
    );
  });

  it('give the same findings, file lists, ignore decisions and checksum', async () => {
    await flawedPlugin(path.join(home, 'flawed'));
    for (const args of [
      ['plugin', 'package', '--check', 'flawed', '--format', 'json'],
      ['plugin', 'package', '--check', 'flawed', '--format', 'github'],
      ['plugin', 'package', '--list', 'flawed'],
      ['plugin', 'checksum', 'flawed'],
      ['plugin', 'module', 'list', 'flawed'],
    ]) {
      const posix = await runCli(args, { cwd: home });
      expect(await onWindows(args, 'C:\\Users\\me')).toEqual(posix);
    }
    // What the ignore rules decided (a failing check lists nothing, so the directory is listed via
    // the checksum's file set): every rule kind, the same way.
    const list = await runCli(['plugin', 'package', '--list', 'flawed'], { cwd: home });
    for (const kept of ['keep.log', 'sub/anchored.txt', 'a/deep/y.txt']) expect(list.stdout).toMatch(` ${kept}\n`);
    for (const left of ['secret.txt', ' anchored.txt', 'other.log', 'build/', 'deep/x.tmp', 'deep/z.tmp', '.env\n'])
      expect(list.stdout).not.toContain(left);
  });

  it('name files in findings with / after the plugin path as typed', async () => {
    await flawedPlugin(path.join(home, 'typed'));
    const text = await onWindows(['plugin', 'package', '--check', 'C:\\Users\\me\\typed'], 'C:\\');
    expect(text.stdout).toContain('C:/Users/me/typed/manifest.yaml:1:10 error manifest/version-not-pep440');
    expect(text.stdout).toContain('C:/Users/me/typed/tools/greet.py:11:15');
    // On a share: the leading \\ stays.
    await flawedPlugin(path.join(windowsHost.drive, 'UNC', 'server', 'share', 'typed'));
    const share = await onWindows(['plugin', 'package', '--check', '\\\\server\\share\\typed'], 'C:\\');
    expect(share.stdout).toContain('//server/share/typed/manifest.yaml:1:10 error manifest/version-not-pep440');
    const relative = await onWindows(['plugin', 'package', '--check', 'me\\typed', '--format', 'github'], 'C:\\Users');
    expect(relative.stdout).toContain(
      '::error file=me/typed/provider/hello_world.yaml,line=15,col=5,title=file/missing',
    );
    const json = JSON.parse(
      (await onWindows(['plugin', 'package', '--check', 'typed', '--format', 'json'], 'C:\\Users\\me')).stdout,
    );
    const files = new Set(json.results[0].diagnostics.map((d: { file: string }) => d.file));
    expect([...files].sort()).toEqual([
      '.env',
      'manifest.yaml',
      'provider/hello_world.yaml',
      'tools/greet.py',
      'tools/greet.yaml',
    ]);
  });
});
