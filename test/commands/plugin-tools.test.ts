import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { copyPlugin, EXAMPLE, pluginWith, REAL_FIXTURES, tempDir } from '../helpers/plugin.js';

const real = (name: string) => path.join(REAL_FIXTURES, name);

/** The example packed once for the file: the tests only read it. */
let examplePackage: string;

beforeAll(async () => {
  examplePackage = path.join(await tempDir(), 'hello_world.difypkg');
  const r = await runCli(['plugin', 'package', EXAMPLE, '-o', examplePackage]);
  expect(r.code).toBe(0);
});

describe('dify plugin module list', () => {
  it('lists a directory, and a .difypkg the same way', async () => {
    const dir = await runCli(['plugin', 'module', 'list', EXAMPLE]);
    expect(dir.code).toBe(0);
    expect(dir.stdout).toContain('========== greet ==========');
    const pkg = await runCli(['plugin', 'module', 'list', examplePackage]);
    expect(pkg.code).toBe(0);
    expect(pkg.stdout).toBe(dir.stdout);
  });

  it('--format json prints one JSON document', async () => {
    const r = await runCli(['plugin', 'module', 'list', real('openai_compatible'), '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).endpoints).toEqual([
      {
        file: 'endpoints/openai_compatible.yaml',
        group: 'group/openai_compatible.yaml',
        method: 'POST',
        path: '/chat/completions',
        hidden: false,
        settings: ['api_key', 'app_id', 'memory_mode'],
      },
    ]);
  });

  it('exits 1 for a path that is no plugin', async () => {
    const r = await runCli(['plugin', 'module', 'list', await tempDir()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: no manifest\.yaml in /);
  });
});

describe('dify plugin module append', () => {
  it('adds tools to an endpoint plugin, which then checks clean; a second time is refused', async () => {
    const dir = await copyPlugin(real('openai_compatible'));
    const first = await runCli(['plugin', 'module', 'append', 'tools', dir]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('✓ Added the tool provider provider/oaicompat_dify_app.yaml');
    const check = await runCli(['plugin', 'package', '--check', dir, '--format', 'json']);
    expect(check.code).toBe(0);
    const diagnostics = JSON.parse(check.stdout).results[0].diagnostics as { severity: string; code: string }[];
    expect(diagnostics.filter((d) => d.severity !== 'info' && d.code !== 'template/text-left')).toEqual([]);
    const again = await runCli(['plugin', 'module', 'append', 'tools', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('error: you have already declared tools in this plugin');
    expect(again.stderr).toContain('hint: ');
  });

  it('adds endpoints to a tool plugin; a model plugin is refused', async () => {
    const dir = await copyPlugin(EXAMPLE);
    const r = await runCli(['plugin', 'module', 'append', 'endpoints', dir]);
    expect(r.code).toBe(0);
    expect((await runCli(['plugin', 'package', '--check', dir])).code).toBe(0);
    const model = await runCli(['plugin', 'module', 'append', 'endpoints', real('anthropic')]);
    expect(model.code).toBe(1);
    expect(model.stderr).toContain('error: a model plugin cannot declare endpoints');
  });
});

describe('dify plugin readme list', () => {
  it('prints the sorted table, for a directory and a .difypkg', async () => {
    const dir = await pluginWith({
      'readme/README_zh_Hans.md': '# 你好\n',
      'readme/README_ja_JP.md': '# こんにちは\n',
    });
    const r = await runCli(['plugin', 'readme', 'list', dir]);
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .split('\n')
        .slice(2, 5)
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['en_US', 'ja_JP', 'zh_Hans']);
    const pkg = await runCli(['plugin', 'readme', 'list', examplePackage, '--format', 'json']);
    expect(pkg.code).toBe(0);
    expect(JSON.parse(pkg.stdout)).toEqual({ readmes: [{ code: 'en_US', language: 'English', file: 'README.md' }] });
  });

  it('exits 1 without README.md', async () => {
    const r = await runCli(['plugin', 'readme', 'list', await pluginWith({ 'README.md': null })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: en_US readme not found');
  });
});

describe('dify plugin permission', () => {
  it('adds the permissions given as flags, and changes nothing else', async () => {
    const dir = await copyPlugin(EXAMPLE);
    const before = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    const r = await runCli(['plugin', 'permission', dir, '--allow-tool', '--allow-storage']);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(dir, 'manifest.yaml'), 'utf8')).toBe(
      before.replace(
        '  permission: {}\n',
        '  permission:\n    tool:\n      enabled: true\n    storage:\n      enabled: true\n      size: 1048576\n',
      ),
    );
  });

  it('--allow-* keeps the permissions already granted; --no-allow-* and --reset remove', async () => {
    const dir = await copyPlugin(EXAMPLE);
    const granted = async (...flags: string[]) => {
      const r = await runCli(['plugin', 'permission', dir, ...flags]);
      expect(r.code).toBe(0);
      return r.stdout.split('\n').find((l) => l.startsWith('  now:') || l.startsWith('No change'));
    };
    expect(await granted('--allow-tool')).toBe('  now:    tool');
    expect(await granted('--allow-storage')).toBe('  now:    tool, storage (1048576 bytes)');
    expect(await granted('--allow-llm')).toBe('  now:    tool, model (llm), storage (1048576 bytes)');
    expect(await granted('--no-allow-tool')).toBe('  now:    model (llm), storage (1048576 bytes)');
    expect(await granted('--reset', '--allow-app')).toBe('  now:    app');
    expect(await granted('--reset')).toBe('  now:    none');
  });

  it('refuses a .difypkg with exit 1', async () => {
    const r = await runCli(['plugin', 'permission', examplePackage, '--allow-tool']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('edits a plugin directory');
  });

  it('does not wait for input when there is no terminal, even with stdin left open', async () => {
    // runCli's stdin is a stream that is neither a terminal nor ever ended.
    const r = await runCli(['plugin', 'permission', await copyPlugin(EXAMPLE)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hint: pass the permissions to grant as flags');
  });
});
