import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { changedLines } from '../helpers/changed-lines.js';
import type { Io } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { readPermissions } from '../../src/edit/permission.js';
import { YamlFile } from '../../src/project/yaml-file.js';
import { runCli } from '../helpers/cli.js';
import { checkDir, copyPlugin, EXAMPLE, pluginWith, REAL_FIXTURES } from '../helpers/plugin.js';
import { KEY, terminal, type Terminal } from '../helpers/terminal.js';

const real = (name: string) => path.join(REAL_FIXTURES, name);

/** Runs the CLI in-process, without a terminal. */
const dify = (...args: string[]) => runCli(args, { cwd: process.cwd() });

/** The lines of `after` are those of `before` with `inserted` lines added at one place, nothing else. */
function expectOnlyInserted(before: string, after: string, inserted: string[]): void {
  const changed = changedLines(before, after)!;
  expect(changed.lastBefore).toBe(changed.first - 1); // no line of `before` changed or went away
  expect(after.split('\n').slice(changed.first - 1, changed.lastAfter)).toEqual(inserted);
}

/** Errors block; template reminders are the only warnings a fresh module may leave. */
async function expectChecksClean(dir: string): Promise<void> {
  const result = await checkDir(dir);
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(result.diagnostics.filter((d) => d.severity === 'warning' && d.code !== 'template/text-left')).toEqual([]);
}

describe('dify plugin module list', () => {
  it('tool plugin: one block per tool with its parameters', async () => {
    const r = await dify('plugin', 'module', 'list', real('google'));
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('langgenius/google 0.1.6 (tool plugin)');
    expect(r.stdout).toContain(
      '\n========== google_search ==========\nkind:            tool (provider google, tools/google_search.yaml)\nlabel:           GoogleSearch\n',
    );
    expect(r.stdout).toContain('========== google_image_search ==========');
    expect(r.stdout).toContain('\n  - query: string, required, form llm\n      used for searching\n');
    expect(r.stdout).toContain('  - as_agent_tool: boolean, optional, form form, default false\n');
    // The Go CLI prints It&#39;s (html/template).
    expect(r.stdout).toContain("It's a two-letter language code.");
    expect(r.stdout).not.toContain('&#39;');
  });

  it('model plugin: the provider, then each model with type, features and context size', async () => {
    const r = await dify('plugin', 'module', 'list', real('anthropic'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '========== anthropic (model provider) ==========\nkind:          model provider (provider/anthropic.yaml)\nlabel:         Anthropic\nmodel types:   llm\nconfiguration: predefined-model, customizable-model\n',
    );
    expect(r.stdout).toContain(
      [
        '========== claude-opus-4-5-20251101 ==========',
        'kind:         llm model (provider anthropic, models/llm/claude-opus-4-5-20251101.yaml)',
        'features:     agent-thought, vision, tool-call, stream-tool-call, document',
        'mode:         chat',
        'context size: 200000',
      ].join('\n'),
    );
    expect(r.stdout).toMatch(
      /parameters: {3}thinking \(boolean\), thinking_budget \(int\), temperature \(template temperature\)/,
    );
  });

  it('endpoint plugin: method and path of each endpoint', async () => {
    const r = await dify('plugin', 'module', 'list', real('openai_compatible'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'langgenius/oaicompat_dify_app 0.0.15 (extension plugin)',
        '',
        '========== Endpoints ==========',
        'group:    group/openai_compatible.yaml',
        'settings: api_key, app_id, memory_mode',
        '  POST  /chat/completions  endpoints/openai_compatible.yaml',
        '',
      ].join('\n'),
    );
  });

  it('agent strategy, datasource and trigger plugins', async () => {
    const agent = await dify('plugin', 'module', 'list', real('self_refine_agent'));
    expect(agent.code).toBe(0);
    expect(agent.stdout).toContain(
      '========== self_refine ==========\nkind:        agent strategy (provider self_refine, strategies/self_refine.yaml)',
    );
    expect(agent.stdout).toContain('  - model: model-selector, required, scope tool-call&llm\n'); // & as written
    expect(agent.stdout).toContain('  - maximum_iterations: number, required, default 5\n');

    const datasource = await dify('plugin', 'module', 'list', real('github'));
    expect(datasource.code).toBe(0);
    expect(datasource.stdout).toContain(
      '========== github ==========\nkind:        datasource (provider github_datasource, online_document, datasources/github.yaml)\nlabel:       GitHub Repository\n',
    );

    const trigger = await dify('plugin', 'module', 'list', real('twilio_trigger'));
    expect(trigger.code).toBe(0);
    for (const event of ['sms_received', 'call_received', 'whatsapp_received'])
      expect(trigger.stdout).toContain(
        `========== ${event} ==========\nkind:        trigger event (provider twilio_trigger`,
      );
    expect(trigger.stdout).toContain(
      '  - body_regex: string, optional\n      Filter messages matching this regex pattern\n',
    );
  });

  it('prints <, &, and quotes exactly as written', async () => {
    const tool = readFileSync(path.join(EXAMPLE, 'tools', 'greet.yaml'), 'utf8');
    const weird = `Use <b>bold</b> & "double" or 'single' quotes`;
    const dir = await pluginWith({ 'tools/greet.yaml': tool.replace(/llm: .*/, `llm: ${JSON.stringify(weird)}`) });
    const r = await dify('plugin', 'module', 'list', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`llm description: ${weird}\n`);
    const json = await dify('plugin', 'module', 'list', dir, '--format', 'json');
    expect(JSON.parse(json.stdout).tools[0].llm_description).toBe(weird);
  });

  it('--format json: one document with every kind', async () => {
    const r = await dify('plugin', 'module', 'list', real('google'), '--format', 'json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual([
      'plugin',
      'tools',
      'model_providers',
      'models',
      'endpoints',
      'agent_strategies',
      'datasources',
      'triggers',
      'problems',
    ]);
    expect(doc.plugin).toEqual({ author: 'langgenius', name: 'google', version: '0.1.6', category: 'tool' });
    expect(doc.tools.map((t: { name: string }) => t.name)).toEqual(['google_search', 'google_image_search']);
    expect(doc.tools[0].parameters[0]).toEqual({
      name: 'query',
      type: 'string',
      required: true,
      form: 'llm',
      description: 'used for searching',
    });
    const models = JSON.parse((await dify('plugin', 'module', 'list', real('anthropic'), '--format', 'json')).stdout);
    expect(models.models.find((m: { model: string }) => m.model === 'claude-opus-4-5-20251101')).toMatchObject({
      type: 'llm',
      context_size: 200000,
      mode: 'chat',
    });
  });

  it('lists what it can of a plugin with a missing file, and exits 1', async () => {
    const dir = await pluginWith({ 'tools/greet.yaml': null });
    const r = await dify('plugin', 'module', 'list', dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('(tool plugin)');
    expect(r.stderr).toMatch(/error: provider\/hello_world\.yaml:\d+:\d+: tools\/greet\.yaml does not exist/);
  });

  it('refuses a path that is not a plugin', async () => {
    const r = await dify('plugin', 'module', 'list', path.join(REAL_FIXTURES, 'nope'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('does not exist');
  });
});

describe('dify plugin module append', () => {
  it('adds tools to an endpoint plugin: files from the templates, one manifest entry, checks clean', async () => {
    const dir = await copyPlugin(real('openai_compatible'));
    const before = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    const r = await dify('plugin', 'module', 'append', 'tools', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('✓ Added the tool provider provider/oaicompat_dify_app.yaml');
    const after = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    // Quoted like the entries already there, indented like them, and nothing else touched
    // (not even the trailing space after `storage:`).
    expectOnlyInserted(before, after, ['  tools:', '    - "provider/oaicompat_dify_app.yaml"']);
    expect(after).toContain('    storage: \n');
    const provider = readFileSync(path.join(dir, 'provider', 'oaicompat_dify_app.yaml'), 'utf8');
    expect(provider.split('\n')[0]).toMatch(
      /^# yaml-language-server: \$schema=https:\/\/unpkg\.com\/dify-plugin-cli@[^/]+\/schemas\/tool-provider\.schema\.json$/,
    );
    expect(provider).toContain('  icon: "icon.svg"\n'); // the plugin's own icon
    expect(provider).toContain('    en_US: "Convert your Dify app\'s API to OpenAI compatible API"\n');
    expect(readFileSync(path.join(dir, 'provider', 'oaicompat_dify_app.py'), 'utf8')).toContain(
      'class OaicompatDifyAppProvider(ToolProvider):',
    );
    expect(readFileSync(path.join(dir, 'tools', 'oaicompat_dify_app.py'), 'utf8')).toContain(
      'class OaicompatDifyAppTool(Tool):',
    );
    expect(readFileSync(path.join(dir, 'tools', 'oaicompat_dify_app.yaml'), 'utf8')).toMatch(
      /^# yaml-language-server: \$schema=.*\/tool\.schema\.json\n/,
    );
    await expectChecksClean(dir);
    const list = await dify('plugin', 'module', 'list', dir);
    expect(list.stdout).toContain('========== oaicompat_dify_app ==========');
    expect(list.stdout).toContain('  POST  /chat/completions');
  });

  it('adds endpoints to a tool plugin, with --name', async () => {
    const dir = await copyPlugin(real('google'));
    const before = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    const r = await dify('plugin', 'module', 'append', 'endpoints', dir, '--name', 'serp_hooks');
    expect(r.code).toBe(0);
    const after = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    expectOnlyInserted(before, after, ['  endpoints:', '    - "group/serp_hooks.yaml"']);
    for (const f of ['group/serp_hooks.yaml', 'endpoints/serp_hooks.yaml', 'endpoints/serp_hooks.py'])
      expect(existsSync(path.join(dir, f))).toBe(true);
    expect(readFileSync(path.join(dir, 'endpoints', 'serp_hooks.py'), 'utf8')).toContain(
      'class SerpHooksEndpoint(Endpoint):',
    );
    expect(readFileSync(path.join(dir, 'group', 'serp_hooks.yaml'), 'utf8')).toMatch(
      /^# yaml-language-server: \$schema=.*\/endpoint-group\.schema\.json\n/,
    );
    expect(existsSync(path.join(dir, '_assets', 'icon-dark.svg'))).toBe(false); // no template icons copied
    await expectChecksClean(dir);
    const list = await dify('plugin', 'module', 'list', dir);
    expect(list.stdout).toContain('  GET  /hello  endpoints/serp_hooks.yaml');
  });

  it('keeps comments, key order and quoting of a hand-written manifest', async () => {
    const manifest = [
      '# A hand-written manifest',
      "version: '0.0.1'   # single-quoted",
      'type: "plugin"',
      'author: dify-plugin-cli',
      'name: hello_world',
      'label: {en_US: \'Hello World\', zh_Hans: "你好，世界"}',
      'description:',
      '  en_US: >-',
      '    A tiny tool plugin that greets',
      '    whoever you name.',
      'icon: icon.svg',
      'resource:',
      '  memory: 268435456',
      'plugins:',
      '  # the only provider, for now',
      "  tools: ['provider/hello_world.yaml']   # flow style",
      '# meta follows',
      'meta:',
      '  version: "0.0.1"',
      '  arch: [amd64, arm64]',
      '  runner: {language: python, version: "3.12", entrypoint: main}',
      'created_at: 2026-11-25T00:00:00Z',
      'privacy: PRIVACY.md',
      '',
    ].join('\n');
    const dir = await pluginWith({ 'manifest.yaml': manifest });
    expect((await dify('plugin', 'module', 'append', 'endpoints', dir)).code).toBe(0);
    const after = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    // No block list to copy the indentation from: `- x` two spaces in, as init writes it;
    // single-quoted like the entry in the flow list beside it.
    expectOnlyInserted(manifest, after, ['  endpoints:', "    - 'group/hello_world.yaml'"]);
    await expectChecksClean(dir);
  });

  it('refuses what the Go CLI refuses, and what Dify would refuse to install, with exit 1 and a hint', async () => {
    const tools = await dify('plugin', 'module', 'append', 'tools', real('google'));
    expect(tools.code).toBe(1);
    expect(tools.stderr).toContain(
      'error: you have already declared tools in this plugin (provider/google.yaml)\nhint: ',
    );
    const endpoints = await dify('plugin', 'module', 'append', 'endpoints', real('openai_compatible'));
    expect(endpoints.code).toBe(1);
    expect(endpoints.stderr).toContain('you have already declared endpoints in this plugin');
    const model = await dify('plugin', 'module', 'append', 'tools', real('anthropic'));
    expect(model.code).toBe(1);
    expect(model.stderr).toContain(
      'error: a model plugin cannot declare tools\nhint: a model plugin holds models only',
    );
    const modelEndpoints = await dify('plugin', 'module', 'append', 'endpoints', real('anthropic'));
    expect(modelEndpoints.stderr).toContain('a model plugin cannot declare endpoints');
    for (const [fixture, what] of [
      ['self_refine_agent', 'an agent-strategy plugin'],
      ['github', 'a datasource plugin'],
      ['twilio_trigger', 'a trigger plugin'],
    ]) {
      const r = await dify('plugin', 'module', 'append', 'endpoints', real(fixture!));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${what} cannot declare endpoints`);
    }
  });

  it('never overwrites a file without --force, and writes nothing when it refuses', async () => {
    const dir = await copyPlugin(real('openai_compatible'));
    const mine = path.join(dir, 'tools', 'oaicompat_dify_app.py');
    mkdirSync(path.dirname(mine), { recursive: true });
    writeFileSync(mine, '# mine\n');
    const before = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    const refused = await dify('plugin', 'module', 'append', 'tools', dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'error: tools/oaicompat_dify_app.py already exists; nothing was written\nhint: pass --force',
    );
    expect(readFileSync(mine, 'utf8')).toBe('# mine\n');
    expect(readFileSync(path.join(dir, 'manifest.yaml'), 'utf8')).toBe(before);
    expect(existsSync(path.join(dir, 'provider', 'oaicompat_dify_app.yaml'))).toBe(false);

    const forced = await dify('plugin', 'module', 'append', 'tools', dir, '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('overwritten: tools/oaicompat_dify_app.py');
    expect(readFileSync(mine, 'utf8')).toContain('class OaicompatDifyAppTool(Tool):');
  });

  it('refuses a .difypkg and a bad --name', async () => {
    const bad = await dify('plugin', 'module', 'append', 'tools', real('openai_compatible'), '--name', 'Bad Name');
    expect(bad.code).toBe(2);
    const dir = await copyPlugin(real('openai_compatible'));
    writeFileSync(path.join(dir, 'x.difypkg'), 'not really');
    const pkg = await dify('plugin', 'module', 'append', 'tools', path.join(dir, 'x.difypkg'));
    expect(pkg.code).toBe(1);
    expect(pkg.stderr).toContain('is a package: dify plugin module append tools edits a plugin directory');
  });
});

describe('dify plugin readme list', () => {
  it('sorts en_US first, then by code, with the language names, aligned for wide characters', async () => {
    const dir = await pluginWith({
      'readme/README_zh_Hans.md': '# 你好\n',
      'readme/README_pt_BR.md': '# Olá\n',
      'readme/README_ja_JP.md': '# こんにちは\n',
      'readme/README_de_DE.md': '# Hallo\n',
      'readme/README_fr.md': 'not a language code the daemon accepts\n',
      'readme/nested/README_es_ES.md': 'nested: ignored\n',
    });
    const r = await dify('plugin', 'readme', 'list', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'language-code  language   available',
        '-------------  ---------  ---------',
        'en_US          English    ✅',
        'de_DE          unknown    ✅',
        'ja_JP          日本語     ✅',
        'pt_BR          Português  ✅',
        'zh_Hans        简体中文   ✅',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await dify('plugin', 'readme', 'list', dir, '--format', 'json')).stdout);
    expect(json.readmes[0]).toEqual({ code: 'en_US', language: 'English', file: 'README.md' });
    expect(json.readmes.map((x: { code: string }) => x.code)).toEqual(['en_US', 'de_DE', 'ja_JP', 'pt_BR', 'zh_Hans']);
  });

  it('requires README.md, as the daemon does', async () => {
    const dir = await pluginWith({ 'README.md': null, 'readme/README_zh_Hans.md': '# 你好\n' });
    const r = await dify('plugin', 'readme', 'list', dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^error: en_US readme not found: .* has no README\.md\nhint: README\.md is the English README/,
    );
  });
});

async function interactive(
  args: string[],
  drive: (t: Terminal) => Promise<void>,
): Promise<{ code: number; screen: string; stderr: string }> {
  const t = terminal();
  let stderr = '';
  const io: Io = {
    stdin: t.input,
    stdout: t.output,
    stderr: { write: (s: string) => (stderr += s) },
    env: { NO_COLOR: '1' },
    cwd: process.cwd(),
  };
  const running = run(['node', 'dify', ...args], io);
  await drive(t);
  const code = await running;
  return { code, screen: t.plain(), stderr };
}

/** A manifest with comments, odd quoting and flow style around the permission block. */
const HAND_WRITTEN = [
  '# yaml-language-server: $schema=https://example.com/manifest.schema.json',
  "version: '0.0.1'   # single-quoted",
  'type: "plugin"',
  'author: dify-plugin-cli',
  'name: hello_world',
  'label: {en_US: \'Hello World\', zh_Hans: "你好，世界"}',
  'description:',
  '  en_US: >-',
  '    A tiny tool plugin that greets',
  '    whoever you name.',
  'icon: icon.svg',
  'resource:',
  '  # bytes',
  '  memory: 268435456',
  '  permission:   # what it may call',
  '    tool:',
  '      enabled: true',
  '    storage: {enabled: true, size: 2048}',
  '  # end of resource',
  'plugins:',
  "  tools: ['provider/hello_world.yaml']",
  'meta:',
  '  version: "0.0.1"',
  '  arch: [amd64, arm64]',
  '  runner:',
  "    language: 'python'",
  '    version: "3.12"',
  '    entrypoint: main',
  '  minimum_dify_version: ~',
  'created_at: 2026-11-25T00:00:00Z',
  'privacy: "PRIVACY.md"',
  'tags: [utilities]',
  '',
].join('\n');

/** HAND_WRITTEN with its permission block (lines 15-18) replaced. */
function withPermission(lines: string[]): string {
  const all = HAND_WRITTEN.split('\n');
  return [...all.slice(0, 14), ...lines, ...all.slice(18)].join('\n');
}

describe('dify plugin permission', () => {
  it('edits on a terminal: pre-checked from the manifest, asks the storage size, rewrites only the block', async () => {
    const dir = await pluginWith({ 'manifest.yaml': HAND_WRITTEN });
    const r = await interactive(['plugin', 'permission', dir], async (t) => {
      // tool and storage are checked; check LLMs (third), uncheck tool (first).
      await t.answer('What may the plugin call back into Dify?', KEY.space, KEY.down, KEY.down, KEY.space, KEY.enter);
      await t.answer('Storage size in bytes', '4096', KEY.enter);
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The first frame: pre-checked from the manifest (◉/◯, or (*)/( ) where Unicode is not shown).
    const on = '(?:◉|\\(\\*\\))';
    const off = '(?:◯|\\( \\))';
    expect(r.screen).toMatch(new RegExp(`(?:❯|>)${on} Call tools\\n ${off} Call models\\n ${off}   LLMs\\n`));
    expect(r.screen).toMatch(new RegExp(` ${off} Call Dify apps\\n ${on} Keep data in persistent storage\\n`));
    expect(r.screen).toContain('(2048)'); // the current size is the default
    expect(r.screen).toContain('✓ Updated resource.permission');
    const after = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    expect(after).toBe(
      withPermission([
        '  permission:   # what it may call',
        '    model:',
        '      enabled: true',
        '      llm: true',
        '    storage:',
        '      enabled: true',
        '      size: 4096',
      ]),
    );
    await expectChecksClean(dir);
  });

  it('refuses a storage size out of range, and Ctrl-C changes nothing', async () => {
    const dir = await pluginWith({ 'manifest.yaml': HAND_WRITTEN });
    const r = await interactive(['plugin', 'permission', dir], async (t) => {
      await t.answer('What may the plugin call back into Dify?', KEY.enter);
      await t.answer('Storage size in bytes', '10', KEY.enter);
      await t.answer('use a whole number of bytes from 1024 to 1073741824', KEY.ctrlC);
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cancelled: manifest.yaml was not changed');
    expect(readFileSync(path.join(dir, 'manifest.yaml'), 'utf8')).toBe(HAND_WRITTEN);
  });

  it('unchanged answers write nothing', async () => {
    const dir = await pluginWith({ 'manifest.yaml': HAND_WRITTEN });
    const r = await interactive(['plugin', 'permission', dir], async (t) => {
      await t.answer('What may the plugin call back into Dify?', KEY.enter);
      await t.answer('Storage size in bytes', KEY.enter);
    });
    expect(r.code).toBe(0);
    expect(r.screen).toContain('No change');
    expect(readFileSync(path.join(dir, 'manifest.yaml'), 'utf8')).toBe(HAND_WRITTEN);
  });

  it('without a terminal: --allow-* adds to the permissions, --no-allow-* takes one away, the rest stays', async () => {
    const dir = await pluginWith({ 'manifest.yaml': HAND_WRITTEN });
    const manifest = () => readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    const r = await dify('plugin', 'permission', dir, '--allow-endpoint', '--allow-rerank');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '  before: tool, storage (2048 bytes)\n  now:    tool, model (rerank), endpoint, storage (2048 bytes)\n',
    );
    expect(manifest()).toBe(
      withPermission([
        '  permission:   # what it may call',
        '    tool:',
        '      enabled: true',
        '    model:',
        '      enabled: true',
        '      rerank: true',
        '    endpoint:',
        '      enabled: true',
        '    storage:',
        '      enabled: true',
        '      size: 2048',
      ]),
    );

    const removed = await dify('plugin', 'permission', dir, '--no-allow-tool', '--no-allow-storage', '--allow-app');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('  now:    model (rerank), endpoint, app\n');
    expect(readPermissions(new YamlFile('manifest.yaml', manifest()).value).permissions).toEqual([
      'model',
      'model.rerank',
      'endpoint',
      'app',
    ]);

    // Revoking models takes every model type with it; a grant after that starts the block again.
    const models = await dify('plugin', 'permission', dir, '--no-allow-model', '--allow-llm');
    expect(models.stdout).toContain('  now:    model (llm), endpoint, app\n');

    const again = await dify('plugin', 'permission', dir, '--allow-app');
    expect(again.stdout).toBe(
      `No change: ${dir} already grants model (llm), endpoint, app; manifest.yaml was not written\n`,
    );

    const reset = await dify('plugin', 'permission', dir, '--reset', '--allow-tool');
    expect(reset.stdout).toContain('  before: model (llm), endpoint, app\n  now:    tool\n');

    const none = await dify('plugin', 'permission', dir, '--none');
    expect(none.code).toBe(0);
    expect(manifest()).toBe(withPermission(['  permission: {}   # what it may call']));
    await expectChecksClean(dir);
  });

  it('keeps the storage size unless --storage-size changes it; refuses bad flag values with exit 2', async () => {
    const dir = await pluginWith({ 'manifest.yaml': HAND_WRITTEN });
    const manifest = () => readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    expect((await dify('plugin', 'permission', dir, '--allow-tool', '--allow-storage', '--allow-node')).code).toBe(0);
    expect(manifest()).toContain('    storage:\n      enabled: true\n      size: 2048\n');
    // Storage is granted already, so the size alone can change.
    expect((await dify('plugin', 'permission', dir, '--storage-size', '4096')).code).toBe(0);
    expect(manifest()).toContain('    storage:\n      enabled: true\n      size: 4096\n');
    const before = manifest();
    for (const bad of [
      ['--allow-storage', '--storage-size', '10'],
      ['--no-allow-storage', '--storage-size', '4096'],
      ['--reset', '--storage-size', '4096'],
      ['--none', '--allow-tool'],
      ['--none', '--reset'],
    ]) {
      const r = await dify('plugin', 'permission', dir, ...bad);
      expect(r.code).toBe(2);
    }
    expect(manifest()).toBe(before);
  });

  it('fixes a storage size Dify refuses, even for disabled storage', async () => {
    const dir = await pluginWith({
      'manifest.yaml': withPermission(['  permission:', '    storage: {enabled: false, size: 0}']),
    });
    expect((await checkDir(dir)).ok).toBe(false);
    const r = await dify('plugin', 'permission', dir, '--none');
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(dir, 'manifest.yaml'), 'utf8')).toBe(withPermission(['  permission: {}']));
    await expectChecksClean(dir);
  });

  it('without a terminal and without flags: exit 2 with a hint, nothing written', async () => {
    const dir = await pluginWith({ 'manifest.yaml': HAND_WRITTEN });
    const r = await dify('plugin', 'permission', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'error: dify plugin permission asks on a terminal, and there is none: nothing was changed\nhint: pass the permissions to grant as flags',
    );
    expect(readFileSync(path.join(dir, 'manifest.yaml'), 'utf8')).toBe(HAND_WRITTEN);
  });

  it('refuses a .difypkg (exit 1)', async () => {
    const dir = await copyPlugin(EXAMPLE);
    writeFileSync(path.join(dir, 'p.difypkg'), 'x');
    const r = await dify('plugin', 'permission', path.join(dir, 'p.difypkg'), '--allow-tool');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is a package: dify plugin permission edits a plugin directory\nhint: ');
  });
});
