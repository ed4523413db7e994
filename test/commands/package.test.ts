import { existsSync, readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { copyPlugin, EXAMPLE, pluginWith, REAL_FIXTURES, tempDir } from '../helpers/plugin.js';
import { edit, exampleFile, lineOf } from '../helpers/text.js';
import { findPython } from '../../src/check/python-syntax.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';

/** Runs `body` with this process's local time in `tz` (Node applies an assignment to process.env.TZ at once). */
async function inTimezone<T>(tz: string, body: () => Promise<T>): Promise<T> {
  const before = process.env.TZ;
  process.env.TZ = tz;
  try {
    return await body();
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
}

describe('dify plugin package', () => {
  it('writes <directory>.difypkg in the current directory and names it in the last line', async () => {
    const cwd = await tempDir();
    const r = await runCli(['plugin', 'package', EXAMPLE], { cwd });
    expect(r.code).toBe(0);
    expect(await readdir(cwd)).toEqual(['hello-world.difypkg']);
    const last = r.stdout.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^✓ Packaged hello-world\.difypkg \(14 files, \d+\.\d KB\) checksum [0-9a-f]{64}$/);
    const sum = await runCli(['plugin', 'checksum', path.join(cwd, 'hello-world.difypkg')]);
    expect(last).toContain(sum.stdout.trim());
  });

  it('names the package after the directory when given "." and never packs it into itself', async () => {
    const dir = await copyPlugin(EXAMPLE);
    const first = await runCli(['plugin', 'package', '.'], { cwd: dir });
    expect(first.code).toBe(0);
    const second = await runCli(['plugin', 'package', '.', '--format', 'json'], { cwd: dir });
    const doc = JSON.parse(second.stdout) as { results: [{ output: string; files: number; size: number }] };
    expect(doc.results[0]).toMatchObject({ output: 'hello-world.difypkg', files: 14 });
    expect(readFileSync(path.join(dir, 'hello-world.difypkg')).length).toBe(doc.results[0].size);
  });

  it('-o chooses the file; the bytes do not depend on the timezone', async () => {
    const out = await tempDir();
    const runs: CliResult[] = [];
    const midnightUtcAt: number[] = [];
    // One after another: the timezone belongs to the whole process.
    for (const [i, tz] of ['UTC', 'Asia/Shanghai', 'America/Los_Angeles'].entries()) {
      runs.push(
        await inTimezone(tz, () => {
          midnightUtcAt.push(new Date(0).getHours());
          return runCli(
            ['plugin', 'package', path.join(REAL_FIXTURES, 'google'), '-o', path.join(out, `${i}.difypkg`)],
            { env: { TZ: tz } },
          );
        }),
      );
    }
    expect(midnightUtcAt).toEqual([0, 8, 16]); // the zones did apply
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    const bytes = [0, 1, 2].map((i) => readFileSync(path.join(out, `${i}.difypkg`)));
    expect(bytes[0]!.equals(bytes[1]!) && bytes[0]!.equals(bytes[2]!)).toBe(true);
    expect(runs[0]!.stderr).toMatch(/warning: .*uv was not found, so requirements\.txt was exported from uv\.lock/);
  });

  it('replaces an earlier package but keeps any other file unless --force', async () => {
    const out = await tempDir();
    const target = path.join(out, 'plugin.difypkg');
    await writeFile(target, 'my notes, not a package');
    const refused = await runCli(['plugin', 'package', EXAMPLE, '-o', target]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /exists and is not a Dify package or bundle \(a \.difypkg or \.difybndl\); not overwriting it/,
    );
    expect(readFileSync(target, 'utf8')).toBe('my notes, not a package');
    expect((await runCli(['plugin', 'package', EXAMPLE, '-o', target, '--force'])).code).toBe(0);
    expect((await runCli(['plugin', 'package', EXAMPLE, '-o', target])).code).toBe(0); // a package now
  });

  it('writes nothing when the plugin has errors', async () => {
    const dir = await pluginWith({
      'manifest.yaml': edit(exampleFile('manifest.yaml'), ['name: hello_world', 'name: Hello']),
    });
    const cwd = await tempDir();
    const r = await runCli(['plugin', 'package', dir], { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('manifest/name-pattern');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('stops over --max-size, naming what is large', async () => {
    const cwd = await tempDir();
    const r = await runCli(['plugin', 'package', path.join(REAL_FIXTURES, 'whatsapp-bot'), '--max-size', '1'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /error pack\/too-large the files to pack take 1\.\d MB uncompressed, over the 1\.0 MB limit\. Largest files: _assets\//,
    );
    // Never _assets/ (the icons and README images), tools/ (the declarations) or anything small.
    expect(r.stdout).toMatch(
      /hint: the largest files are ones the plugin needs \(its declarations, code and assets\): make them smaller, or raise the limit with --max-size <MB>/,
    );
    expect(existsSync(path.join(cwd, 'whatsapp-bot.difypkg'))).toBe(false);
  });

  it('--list shows the files with sizes; with --format json also what was excluded and why', async () => {
    const dir = await pluginWith({ '.env': 'REMOTE_INSTALL_KEY=secret', 'notes.log': 'x', '.difyignore': '*.log\n' });
    const text = await runCli(['plugin', 'package', '--list', dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ +\d+ B {2}manifest\.yaml$/m);
    expect(text.stdout).not.toMatch(/notes\.log|\.env$/m);
    const json = await runCli(['plugin', 'package', '--list', '--format', 'json', dir]);
    const doc = JSON.parse(json.stdout) as {
      results: [
        { list: { packed: { path: string }[]; excluded: { path: string; rule: string }[]; ignoreFile: string } },
      ];
    };
    const list = doc.results[0].list;
    expect(list.ignoreFile).toBe('.difyignore');
    expect(list.excluded).toEqual(
      expect.arrayContaining([
        { path: '.env', rule: 'default (.env)' },
        { path: 'notes.log', rule: '.difyignore:1 (*.log)' },
      ]),
    );
    expect(list.packed.map((f) => f.path)).toContain('manifest.yaml');
    expect(await readdir(path.dirname(dir))).toEqual(['hello-world']); // nothing written
  });

  it('says when the output directory does not exist', async () => {
    const r = await runCli(['plugin', 'package', EXAMPLE, '-o', 'missing/x.difypkg'], { cwd: await tempDir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot write \S+missing\/x\.difypkg: the directory \S+missing does not exist/);
    expect(r.stderr).not.toMatch(/\.tmp/);
  });

  it('asks for --check when given a package to pack; --list shows what it holds', async () => {
    const cwd = await tempDir();
    await runCli(['plugin', 'package', EXAMPLE, '-o', 'hello.difypkg'], { cwd });
    const r = await runCli(['plugin', 'package', 'hello.difypkg'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: hello\.difypkg is a package already: pass --check to validate it/);
    const listed = await runCli(['plugin', 'package', '--list', 'hello.difypkg'], { cwd });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^\s+[\d.]+ (B|KB) {2}manifest\.yaml$/m); // what the package holds
    expect(listed.stdout).toMatch(/total, \d+ files/);
  });

  it('--check validates an existing package', async () => {
    const cwd = await tempDir();
    await runCli(['plugin', 'package', path.join(REAL_FIXTURES, 'twilio_trigger')], { cwd });
    const r = await runCli([
      'plugin',
      'package',
      '--check',
      '--format',
      'json',
      path.join(cwd, 'twilio_trigger.difypkg'),
    ]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { results: [{ plugin: { name: string; category: string } }] };
    expect(doc.results[0].plugin).toMatchObject({ name: 'twilio_trigger', category: 'trigger' });
  });
});

describe('dify plugin package compiles the Python sources', () => {
  const python = findPython(process.env);
  const json = async (args: string[], env?: Record<string, string | undefined>) => {
    const r = await runCli(['plugin', 'package', '--format', 'json', ...args], env ? { env } : {});
    const doc = JSON.parse(r.stdout) as { results: { diagnostics: Diagnostic[] }[] };
    return { code: r.code, diagnostics: doc.results.flatMap((x) => x.diagnostics) };
  };
  const brokenGreet = edit(exampleFile('tools/greet.py'), [
    'def _invoke(self, tool_parameters: dict[str, Any])',
    'def _invoke(self, tool_parameters: dict[str, Any]',
  ]);
  const brokenLine = lineOf(brokenGreet, 'def _invoke');

  it.skipIf(!python)('a syntax error is an error at file:line:col; the example compiles clean', async () => {
    const clean = await json(['--check', EXAMPLE]);
    expect(clean).toEqual({ code: 0, diagnostics: [] });
    const dir = await pluginWith({
      'tools/greet.py': brokenGreet,
      // A runner no newer than the local Python, whose verdict then stands.
      'manifest.yaml': edit(exampleFile('manifest.yaml'), ['version: "3.12"', 'version: "3.0"']),
    });
    const r = await json(['--check', dir]);
    expect(r.code).toBe(1);
    // The class check says nothing about a file Python cannot read.
    expect(r.diagnostics.map((d) => [d.code, d.severity, d.file, d.line])).toEqual([
      ['python/syntax-error', 'error', 'tools/greet.py', brokenLine],
    ]);
    expect(r.diagnostics[0]!.column).toBeGreaterThan(0);
    expect(r.diagnostics[0]!.message).toMatch(/^SyntaxError: .*; the plugin stops at start-up/);
  });

  it.skipIf(!python)(
    'a Python older than the runner only notes it; a package is compiled from its entries',
    async () => {
      const dir = await pluginWith({
        'tools/greet.py': brokenGreet,
        'manifest.yaml': edit(exampleFile('manifest.yaml'), ['version: "3.12"', 'version: "3.99"']),
      });
      const cwd = await tempDir();
      const packed = await runCli(['plugin', 'package', dir, '-o', 'x.difypkg'], { cwd });
      expect(packed.code).toBe(0); // an info does not stop packing
      const r = await json(['--check', path.join(cwd, 'x.difypkg')]);
      expect(r.code).toBe(0);
      expect(r.diagnostics.map((d) => [d.code, d.severity, d.file, d.line])).toEqual([
        ['python/syntax-unconfirmed', 'info', 'tools/greet.py', brokenLine],
      ]);
      expect(r.diagnostics[0]!.message).toMatch(/the plugin runs on Python 3\.99, which may accept it\)$/);
    },
  );

  it('without a Python, one info says the check was skipped, for each plugin', async () => {
    const env = { PATH: await tempDir(), PYTHON_INTERPRETER_PATH: undefined };
    const r = await json(['--check', EXAMPLE, path.join(REAL_FIXTURES, 'google')], env);
    expect(r.code).toBe(0);
    expect(r.diagnostics.map((d) => [d.code, d.severity, d.file])).toEqual([
      ['python/syntax-check-skipped', 'info', null],
      ['python/syntax-check-skipped', 'info', null],
    ]);
    expect(r.diagnostics[0]!.message).toBe(
      'the Python sources were not compiled: no python3 or python was found on PATH',
    );
  });
});
