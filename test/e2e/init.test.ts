import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allDeclarations, get } from '../../src/project/model.js';
import { DirectorySource } from '../../src/project/directory-source.js';
import { loadProject } from '../../src/project/load.js';
import { dify } from '../helpers/cli.js';
import { checkDir, REPO, tempDir } from '../helpers/plugin.js';

const CATEGORIES = ['tool', 'llm', 'text-embedding', 'rerank', 'tts', 'speech2text', 'moderation', 'extension', 'agent-strategy', 'datasource', 'trigger'];
const ALL_PERMISSIONS = ['--allow-endpoint', '--allow-tool', '--allow-model', '--allow-llm', '--allow-text-embedding', '--allow-rerank', '--allow-tts', '--allow-speech2text', '--allow-moderation', '--allow-node', '--allow-app', '--allow-storage'];
const MODEL_BASES: Record<string, string> = {
  llm: 'LargeLanguageModel',
  'text-embedding': 'TextEmbeddingModel',
  rerank: 'RerankModel',
  tts: 'TTSModel',
  speech2text: 'Speech2TextModel',
  moderation: 'ModerationModel',
};
const QUICK = ['plugin', 'init', '--quick', '--author', 'acme', '--description', 'A plugin made by the tests'];
const env = { SOURCE_DATE_EPOCH: '1767225600' }; // 2026-01-01T00:00:00Z

type PyReport = Record<string, { error?: string; classes?: { name: string; bases: string[] }[]; imports?: string[] }>;

/**
 * The base class the Python SDK requires in each source a declaration names
 * (dify-plugin-sdks `src/dify_plugin/core/plugin_registration.py`).
 */
async function requiredBases(dir: string, category: string): Promise<Map<string, string>> {
  const project = await loadProject(await DirectorySource.open(dir));
  const bases = new Map<string, string>();
  for (const decl of allDeclarations(project)) {
    const python = get(decl.value, 'extra', 'python');
    const base: Record<string, string | undefined> = {
      'tool-provider': 'ToolProvider',
      tool: 'Tool',
      'model-provider': 'ModelProvider',
      endpoint: 'Endpoint',
      'agent-strategy': 'AgentStrategy',
      'datasource-provider': 'DatasourceProvider',
      datasource: 'OnlineDocumentDatasource',
      'trigger-provider': 'Trigger',
      'trigger-event': 'Event',
    };
    const source = get(python, decl.kind === 'model-provider' ? 'provider_source' : 'source');
    if (typeof source === 'string' && base[decl.kind]) bases.set(source, base[decl.kind]!);
    for (const m of (get(python, 'model_sources') as string[] | undefined) ?? []) bases.set(m, MODEL_BASES[category]!);
  }
  return bases;
}

describe.each(CATEGORIES)('dify plugin init --quick --category %s', (category) => {
  it.each([
    ['no permissions', []],
    ['every permission', ALL_PERMISSIONS],
  ])('with %s: checks clean and its Python is real', async (_label, permissions) => {
    const cwd = await tempDir();
    const name = `my_${category.replaceAll('-', '_')}`;
    const r = await dify([...QUICK, '--name', name, '--category', category, ...permissions], { cwd, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`✓ Created ${name}/ (${category} plugin`);
    const dir = path.join(cwd, name);

    const result = await checkDir(dir);
    expect(result.diagnostics.filter((d) => d.code !== 'template/text-left')).toEqual([]);
    expect(result.diagnostics.map((d) => d.file).sort()).toEqual(['PRIVACY.md', 'README.md']);

    const manifest = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    expect(manifest.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=https:\/\/unpkg\.com\/dify-plugin-cli@[\d.]+\/schemas\/manifest\.schema\.json$/);
    if (permissions.length) expect(manifest).toMatch(/storage:\n\s+enabled: true\n\s+size: 1048576/);

    const report = JSON.parse(execFileSync('python3', [path.join(REPO, 'test', 'helpers', 'pyclasses.py'), dir], { encoding: 'utf8' })) as PyReport;
    for (const [file, info] of Object.entries(report)) expect(info.error, file).toBeUndefined();
    const bases = await requiredBases(dir, category);
    expect(bases.size).toBeGreaterThan(0);
    for (const [file, base] of bases) {
      const classes = report[file]?.classes ?? [];
      expect(classes.filter((c) => c.bases.includes(base)), `${file} must declare one ${base}`).toHaveLength(1);
    }
  });
});

describe('every generated YAML points editors at its schema', () => {
  it('tool, extension and trigger files', async () => {
    const cwd = await tempDir();
    for (const category of ['tool', 'extension', 'trigger']) {
      await dify([...QUICK, '--name', `p_${category}`, '--category', category], { cwd, env });
    }
    const yamls = execFileSync('find', [cwd, '-name', '*.yaml'], { encoding: 'utf8' }).trim().split('\n');
    expect(yamls.length).toBeGreaterThan(8);
    for (const file of yamls) expect(readFileSync(file, 'utf8')).toMatch(/^# yaml-language-server: \$schema=https:\/\/unpkg\.com\/dify-plugin-cli@[\d.]+\/schemas\/[a-z-]+\.schema\.json\n/);
  });
});

describe('init options', () => {
  it('writes --repo, the translated READMEs asked for, and a workflow that uses this CLI', async () => {
    const cwd = await tempDir();
    const r = await dify([...QUICK, '--name', 'demo', '--repo', 'https://github.com/acme/demo', '--readme-languages', 'zh_Hans,ja_JP'], { cwd, env });
    expect(r.code).toBe(0);
    const dir = path.join(cwd, 'demo');
    expect(readFileSync(path.join(dir, 'manifest.yaml'), 'utf8')).toContain('repo: https://github.com/acme/demo');
    expect(readdirSync(path.join(dir, 'readme')).sort()).toEqual(['README_ja_JP.md', 'README_zh_Hans.md']);
    const workflow = readFileSync(path.join(dir, '.github', 'workflows', 'plugin-publish.yml'), 'utf8');
    expect(workflow).toMatch(/DIFY_PLUGIN_CLI: dify-plugin-cli@[\d.]+\n/);
    expect(workflow).toMatch(/npx --yes "\$DIFY_PLUGIN_CLI" plugin package \. -o/);
    expect(workflow).not.toMatch(/dify-plugin-linux-amd64|wget|curl -L/);
    expect(workflow).toMatch(/set -o pipefail[^\n]*\n\s+npx --yes "\$DIFY_PLUGIN_CLI" plugin package --check --format json \. \| tee/);
    for (const f of ['.env.example', '.difyignore', 'GUIDE.md', 'requirements.txt', 'pyproject.toml']) expect(existsSync(path.join(dir, f)), f).toBe(true);
    expect(readFileSync(path.join(dir, '.env.example'), 'utf8')).toMatch(/REMOTE_INSTALL_URL=/);
    expect(readFileSync(path.join(dir, 'GUIDE.md'), 'utf8')).toMatch(/dify plugin run/);
    expect(readFileSync(path.join(dir, 'requirements.txt'), 'utf8')).toMatch(/^dify_plugin>=0\.10/m);
  });

  it('makes a valid bundle with --type bundle and with dify bundle init', async () => {
    const cwd = await tempDir();
    expect((await dify(['plugin', 'init', '--quick', '--type', 'bundle', '--name', 'b1', '--author', 'acme', '--description', 'Bundle'], { cwd, env })).code).toBe(0);
    expect((await dify(['bundle', 'init', '--quick', '--name', 'b2', '--author', 'acme', '--description', 'Bundle'], { cwd, env })).code).toBe(0);
    for (const b of ['b1', 'b2']) {
      const manifest = readFileSync(path.join(cwd, b, 'manifest.yaml'), 'utf8');
      expect(manifest).toMatch(/^# yaml-language-server: \$schema=.*\/bundle\.schema\.json\n/);
      expect(manifest).toMatch(/type: bundle/);
      expect(existsSync(path.join(cwd, b, '_assets', 'icon.svg'))).toBe(true);
    }
  });

  it('names class names safely whatever the plugin name', async () => {
    const cwd = await tempDir();
    for (const name of ['a__b', '-lead', 'trail_', '3d_tool']) {
      const r = await dify([...QUICK, '--name', name], { cwd, env });
      expect(r.code, name).toBe(0);
    }
    const report = JSON.parse(execFileSync('python3', [path.join(REPO, 'test', 'helpers', 'pyclasses.py'), cwd], { encoding: 'utf8' })) as PyReport;
    const names = Object.values(report).flatMap((r) => r.classes ?? []).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['ABProvider', 'LeadProvider', 'TrailProvider', 'Plugin3dToolProvider']));
  });

  it.each(['_', '--', '_x_'])('makes a plugin named %s that checks clean and has a valid pyproject.toml', async (name) => {
    const cwd = await tempDir();
    // A quote, a backslash, triple quotes and DEL: all must survive into YAML and TOML.
    const description = `Says "hi" \\ ''' back\x7f`;
    expect((await dify([...QUICK.slice(0, -2), '--description', description, `--name=${name}`], { cwd, env })).code).toBe(0);
    const dir = path.join(cwd, name);
    const check = await checkDir(dir);
    expect(check.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const pyproject = execFileSync('python3', ['-c', 'import sys, tomllib, json; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))["project"]))', path.join(dir, 'pyproject.toml')], { encoding: 'utf8' });
    const project = JSON.parse(pyproject) as { name: string; description: string };
    expect(project.description).toBe(description);
    expect(project.name).toMatch(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/);
  });
});

describe('init refuses and fails safely', () => {
  it('exits 2 naming the flags that are missing, without waiting for input', async () => {
    const r = await dify(['plugin', 'init', '--name', 'x'], { cwd: await tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: missing --author, --description: they are required with --quick or without a terminal/);
  });

  it.each([
    [['--name', 'Bad Name'], /--name "Bad Name": use 1-128 lowercase/],
    [['--category', 'widget'], /unknown plugin type "widget"/],
    [['--language', 'go'], /only python is supported/],
    [['--min-dify-version', '1.x'], /use a version like 1\.9\.0/],
    [['--allow-storage', '--storage-size', '10'], /--storage-size "10": use a whole number of bytes from 1024/],
    [['--repo', 'github.com/acme'], /use a full URL/],
  ])('exits 2 for %j', async (flags, message) => {
    const r = await dify([...QUICK, '--name', 'x', ...flags], { cwd: await tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('refuses flags that do not apply to a bundle, and --type and --category that disagree', async () => {
    const cwd = await tempDir();
    const bundle = ['plugin', 'init', '--quick', '--type', 'bundle', '--name', 'b', '--author', 'acme', '--description', 'Bundle'];
    const ignored = await dify([...bundle, '--repo', 'https://github.com/acme/b', '--allow-tool'], { cwd });
    expect(ignored.code).toBe(2);
    expect(ignored.stderr).toMatch(/^error: --repo, --allow-\* do not apply to a bundle/);
    const clash = await dify([...QUICK, '--name', 'x', '--type', 'bundle', '--category', 'tool'], { cwd });
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/--type "bundle" and --category "tool" disagree/);
    const missing = await dify(['bundle', 'init', '--name', 'b'], { cwd });
    expect(missing.stderr).toMatch(/e\.g\. dify bundle init --quick --name my_bundle/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('says when the target is a file, even with --force', async () => {
    const cwd = await tempDir();
    await writeFile(path.join(cwd, 'taken'), 'mine');
    const r = await dify([...QUICK, '--name', 'taken', '--force'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/taken already exists and is a file, not a directory/);
    expect(readFileSync(path.join(cwd, 'taken'), 'utf8')).toBe('mine');
  });

  it('refuses a non-empty directory unless --force', async () => {
    const cwd = await tempDir();
    await mkdir(path.join(cwd, 'mine'));
    await writeFile(path.join(cwd, 'mine', 'notes.txt'), 'keep me');
    const refused = await dify([...QUICK, '--name', 'mine'], { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already exists and is not empty/);
    expect(readdirSync(path.join(cwd, 'mine'))).toEqual(['notes.txt']);
    expect((await dify([...QUICK, '--name', 'mine', '--force'], { cwd })).code).toBe(0);
    expect(readFileSync(path.join(cwd, 'mine', 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('on failure removes only what it created', async () => {
    const cwd = await tempDir();
    const dir = path.join(cwd, 'half');
    await mkdir(dir);
    await writeFile(path.join(dir, 'notes.txt'), 'keep me');
    await writeFile(path.join(dir, 'tools'), 'a file where a directory must go');
    const r = await dify([...QUICK, '--name', 'half', '--force'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot create/);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'tools']);
  });
});

/** `script` (util-linux) runs the CLI on a real pseudo-terminal. */
const hasScript = spawnSync('script', ['--version']).status === 0;

describe('init on a real terminal', () => {
  it.skipIf(!hasScript)('prompts, and Ctrl-C at the first question leaves nothing behind', async () => {
    const cwd = await tempDir();
    const child = spawn('script', ['-qfec', `${process.execPath} ${path.join(REPO, 'bin', 'dify.js')} plugin init`, '/dev/null'], {
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
    expect(readdirSync(cwd)).toEqual([]);
  });
});
