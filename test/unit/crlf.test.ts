import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pythonNeedsOf } from '../../src/debug/python-needs.js';
import { resolveSettings } from '../../src/debug/settings.js';
import { ZipReader } from '../../src/project/zip-reader.js';
import { runCli } from '../helpers/cli.js';
import { flawedPlugin } from '../helpers/flawed-plugin.js';
import { REAL_FIXTURES, tempDir } from '../helpers/plugin.js';

/** Every text file below `dir` (one without a NUL byte) with CRLF line ends, as saved on Windows. */
async function toCrlf(dir: string): Promise<string[]> {
  const converted: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const data = await readFile(file);
    if (data.includes(0) || !data.includes(10)) continue;
    await writeFile(file, data.toString('utf8').replace(/\r?\n/g, '\r\n'));
    converted.push(path.relative(dir, file).split(path.sep).join('/'));
  }
  return converted.sort();
}

/** `package --check --format json` of a plugin, without what content decides (the checksum). */
async function findings(dir: string) {
  const { stdout } = await runCli(['plugin', 'package', '--check', 'plugin', '--format', 'json'], {
    cwd: path.dirname(dir),
  });
  const result = JSON.parse(stdout).results[0];
  return { ok: result.ok, identity: result.plugin?.identifier.replace(/@.*/, ''), diagnostics: result.diagnostics };
}

async function lfAndCrlf(make: (dir: string) => Promise<unknown>) {
  const lf = path.join(await tempDir(), 'plugin');
  const crlf = path.join(await tempDir(), 'plugin');
  await make(lf);
  await make(crlf);
  const converted = await toCrlf(crlf);
  return { lf, crlf, converted };
}

describe('files with CRLF line ends, as saved on Windows', () => {
  it('give the same findings, at the same lines and columns, with the same ignore decisions', async () => {
    const { lf, crlf, converted } = await lfAndCrlf(flawedPlugin);
    expect(converted).toEqual(
      expect.arrayContaining(['.difyignore', '.env', 'manifest.yaml', 'provider/hello_world.yaml', 'tools/greet.py']),
    );
    const want = await findings(lf);
    // One finding in each kind of file, at a line and a column.
    expect(
      want.diagnostics.filter((d: { line: number | null }) => d.line).map((d: { file: string }) => d.file),
    ).toEqual(
      expect.arrayContaining(['manifest.yaml', 'provider/hello_world.yaml', 'tools/greet.yaml', 'tools/greet.py']),
    );
    expect(await findings(crlf)).toEqual(want);
    for (const args of [
      ['plugin', 'package', '--check', 'plugin'],
      ['plugin', 'package', '--list', 'plugin'],
    ]) {
      const names = (text: string) => text.replace(/^ +[\d.]+ K?B {2}/gm, '');
      const [a, b] = [await runCli(args, { cwd: path.dirname(lf) }), await runCli(args, { cwd: path.dirname(crlf) })];
      expect(names(b.stdout)).toEqual(names(a.stdout));
    }
  });

  it('show YAML excerpts without the carriage return', async () => {
    const broken = async (dir: string) => {
      await flawedPlugin(dir);
      const file = path.join(dir, 'tools', 'greet.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace('  llm: Greets', '  llm: [Greets'));
    };
    const { lf, crlf } = await lfAndCrlf(broken);
    const check = (dir: string) => runCli(['plugin', 'package', '--check', 'plugin'], { cwd: path.dirname(dir) });
    const want = await check(lf);
    expect(want.stdout).toContain('plugin/tools/greet.yaml:12:1 error yaml/syntax');
    expect(want.stdout).toContain('      12 | parameters:\n         | ^\n');
    expect((await check(crlf)).stdout).toBe(want.stdout);
  });

  it('are packed as they are, and requirements.txt is generated from a CRLF uv.lock the same', async () => {
    const fixture = path.join(REAL_FIXTURES, 'whatsapp-bot'); // .difyignore, pyproject.toml, uv.lock
    const { lf, crlf, converted } = await lfAndCrlf((dir) => cp(fixture, dir, { recursive: true }));
    expect(converted).toEqual(expect.arrayContaining(['.difyignore', 'pyproject.toml', 'uv.lock', 'manifest.yaml']));
    expect(await findings(crlf)).toEqual(await findings(lf));
    const entries = async (dir: string) => {
      const out = path.join(path.dirname(dir), 'out.difypkg');
      const packed = await runCli(['plugin', 'package', 'plugin', '-o', out], { cwd: path.dirname(dir) });
      expect(packed.code).toBe(0);
      const zip = await ZipReader.open(out, 1e8);
      try {
        const map = new Map<string, Buffer>();
        for (const e of zip.files()) map.set(e.name, await zip.read(e));
        return { map, checksum: /checksum ([0-9a-f]{64})/.exec(packed.stdout)![1] };
      } finally {
        await zip.close();
      }
    };
    const [a, b] = [await entries(lf), await entries(crlf)];
    expect([...b.map.keys()]).toEqual([...a.map.keys()]);
    expect(b.map.get('requirements.txt')).toEqual(a.map.get('requirements.txt'));
    for (const [name, data] of b.map) {
      if (name === 'requirements.txt') continue; // generated, not on disk
      expect([name, data.equals(await readFile(path.join(crlf, name)))]).toEqual([name, true]);
    }
    expect(b.map.get('manifest.yaml')!.includes('\r\n')).toBe(true);
    // The checksum is over the bytes packed: the CRLF files make another one, the same `checksum` prints.
    expect(b.checksum).not.toBe(a.checksum);
    expect((await runCli(['plugin', 'checksum', crlf])).stdout.trim()).toBe(b.checksum);
  });

  it('.env, requirements.txt and pyproject.toml read the same for `plugin run`', async () => {
    const { lf, crlf } = await lfAndCrlf(async (dir) => {
      await flawedPlugin(dir);
      await writeFile(
        path.join(dir, '.env'),
        'INSTALL_METHOD=remote\nREMOTE_INSTALL_URL=debug.dify.ai:5003\nREMOTE_INSTALL_KEY="a-b c"\n# done\n',
      );
      await writeFile(path.join(dir, 'requirements.txt'), 'requests \\\n  >=2\ndify_plugin>=0.9.0,<0.11.0 # sdk\n');
      await writeFile(
        path.join(dir, 'pyproject.toml'),
        '[project]\nname = "x"\nrequires-python = ">=3.12"\ndependencies = [\n  "dify_plugin>=0.10,<0.11",\n]\n',
      );
    });
    const settings = (dir: string) => {
      const s = resolveSettings(dir, {}, {}, dir);
      return { host: s.host, port: s.port, key: s.key };
    };
    expect(settings(lf).key?.value).toBe('a-b c');
    expect(settings(crlf)).toEqual(settings(lf));
    const needs = pythonNeedsOf(lf, '3.12');
    expect(needs.sdk).toEqual({ specifiers: '>=0.10,<0.11', from: 'pyproject.toml' });
    expect(needs.sdkInRequirements).toBe('>=0.9.0,<0.11.0');
    expect(pythonNeedsOf(crlf, '3.12')).toEqual(needs);
  });
});
