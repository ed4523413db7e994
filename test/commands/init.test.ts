import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import ignore from 'ignore';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEBUGPY_DEFAULT_PORT, DEBUGPY_HOST, VSCODE_ATTACH_NAME } from '../../src/debug/debugpy-defaults.js';
import { validate } from '../../src/generated/validators/invoke-case.js';
import type { Validate } from '../../src/check/validators.js';
import { allDeclarations, get } from '../../src/project/model.js';
import { DirectorySource } from '../../src/project/directory-source.js';
import { loadProject } from '../../src/project/load.js';
import { ACTION_REPOSITORY } from '../../src/scaffold/files.js';
import { VERSION } from '../../src/version.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { checkDir, REPO, tempDir } from '../helpers/plugin.js';

const CATEGORIES = [
  'tool',
  'llm',
  'text-embedding',
  'rerank',
  'tts',
  'speech2text',
  'moderation',
  'extension',
  'agent-strategy',
  'datasource',
  'trigger',
];
const ALL_PERMISSIONS = [
  '--allow-endpoint',
  '--allow-tool',
  '--allow-model',
  '--allow-llm',
  '--allow-text-embedding',
  '--allow-rerank',
  '--allow-tts',
  '--allow-speech2text',
  '--allow-moderation',
  '--allow-node',
  '--allow-app',
  '--allow-storage',
];
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

/** What Python makes of one generated project (test/helpers/pyclasses.py). */
interface PyProject {
  python: Record<string, { error?: string; classes?: { name: string; bases: string[] }[]; imports?: string[] }>;
  project: { name: string; description: string } | null;
}

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

const PERMISSION_SETS: [string, string[]][] = [
  ['no permissions', []],
  ['every permission', ALL_PERMISSIONS],
];
const CLASS_NAME_CASES = ['a__b', '-lead', 'trail_', '3d_tool'];
const ODD_NAMES = ['_', '--', '_x_'];
// A quote, a backslash, triple quotes and DEL: all must survive into YAML and TOML.
const ODD_DESCRIPTION = `Says "hi" \\ ''' back\x7f`;

interface Generated {
  cli: CliResult;
  dir: string;
}

/** Runs `args` (an init naming the plugin `name`) in a fresh directory. */
async function generate(name: string, args: string[]): Promise<Generated> {
  const cwd = await tempDir();
  return { cli: await runCli(args, { cwd, env }), dir: path.join(cwd, name) };
}

const byCategory = new Map<string, Generated>();
const byClassName = new Map<string, Generated>();
const byOddName = new Map<string, Generated>();
let python: Record<string, PyProject>;

// Every project whose Python is inspected is made first, so that one python3 run reads them all:
// starting Python per project cost more than the rest of these tests together.
beforeAll(async () => {
  await Promise.all([
    ...CATEGORIES.flatMap((category) =>
      PERMISSION_SETS.map(async ([label, permissions]) => {
        const name = `my_${category.replaceAll('-', '_')}`;
        byCategory.set(
          `${category} ${label}`,
          await generate(name, [...QUICK, '--name', name, '--category', category, ...permissions]),
        );
      }),
    ),
    ...CLASS_NAME_CASES.map(async (name) => byClassName.set(name, await generate(name, [...QUICK, '--name', name]))),
    ...ODD_NAMES.map(async (name) =>
      byOddName.set(
        name,
        await generate(name, [...QUICK.slice(0, -2), '--description', ODD_DESCRIPTION, `--name=${name}`]),
      ),
    ),
  ]);
  const dirs = [...byCategory.values(), ...byClassName.values(), ...byOddName.values()].map((g) => g.dir);
  const { stdout } = await promisify(execFile)(
    'python3',
    [path.join(REPO, 'test', 'helpers', 'pyclasses.py'), ...dirs],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  python = JSON.parse(stdout) as Record<string, PyProject>;
});

describe.each(CATEGORIES)('dify plugin init --quick --category %s', (category) => {
  it.each(PERMISSION_SETS)('with %s: checks clean and its Python is real', async (label, permissions) => {
    const { cli: r, dir } = byCategory.get(`${category} ${label}`)!;
    const name = `my_${category.replaceAll('-', '_')}`;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`✓ Created ${name}/ (${category} plugin`);

    const result = await checkDir(dir);
    expect(result.diagnostics.filter((d) => d.code !== 'template/text-left')).toEqual([]);
    expect(result.diagnostics.map((d) => d.file).sort()).toEqual(['PRIVACY.md', 'README.md']);

    const manifest = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8');
    expect(manifest.split('\n')[0]).toMatch(
      /^# yaml-language-server: \$schema=https:\/\/unpkg\.com\/dify-plugin-cli@[\d.]+\/schemas\/manifest\.schema\.json$/,
    );
    if (permissions.length) expect(manifest).toMatch(/storage:\n\s+enabled: true\n\s+size: 1048576/);

    const report = python[dir]!.python;
    for (const [file, info] of Object.entries(report)) expect(info.error, file).toBeUndefined();
    const bases = await requiredBases(dir, category);
    expect(bases.size).toBeGreaterThan(0);
    for (const [file, base] of bases) {
      const classes = report[file]?.classes ?? [];
      expect(
        classes.filter((c) => c.bases.includes(base)),
        `${file} must declare one ${base}`,
      ).toHaveLength(1);
    }
  });
});

/** schemas/invoke-case.schema.json, compiled by the build as the other schemas are. */
const validateInvokeCase = validate as Validate;

/** Whether `python3` here can import `module`. */
function pythonHas(module: string): boolean {
  try {
    execFileSync('python3', ['-c', `import ${module}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('init writes a debugger configuration and unit tests', () => {
  it.each(CATEGORIES)(
    "%s: .vscode/launch.json attaches to run --debugpy's default port, is committed, not packed",
    async (category) => {
      const { dir } = byCategory.get(`${category} no permissions`)!;
      const launch = JSON.parse(readFileSync(path.join(dir, '.vscode', 'launch.json'), 'utf8')) as {
        configurations: Record<string, unknown>[];
      };
      expect(launch.configurations).toEqual([
        {
          name: VSCODE_ATTACH_NAME,
          type: 'debugpy',
          request: 'attach',
          connect: { host: DEBUGPY_HOST, port: DEBUGPY_DEFAULT_PORT },
          pathMappings: [{ localRoot: '${workspaceFolder}', remoteRoot: '.' }],
        },
      ]);
      const gitignore = ignore().add(readFileSync(path.join(dir, '.gitignore'), 'utf8'));
      expect(gitignore.ignores('.vscode/launch.json')).toBe(false);
      expect(gitignore.ignores('.vscode/settings.json')).toBe(true);
      const packed = (await checkDir(dir)).source!.selection.files.map((f) => f.path);
      expect(packed.length).toBeGreaterThan(0);
      expect(packed.filter((f) => f.startsWith('.vscode/'))).toEqual([]);
      // Unit tests only for a tool, whose class can be called without Dify; packed, as the
      // official plugins' CI runs them from the unpacked package.
      const tests = category === 'tool' ? ['tests/my_tool.invoke.yaml', 'tests/test_my_tool.py'] : [];
      expect(packed.filter((f) => f.startsWith('tests/')).sort()).toEqual(tests);
    },
  );

  it("a tool's invoke case is valid and names the generated tool", () => {
    for (const { dir } of [byCategory.get('tool no permissions')!, byClassName.get('-lead')!]) {
      const name = path.basename(dir);
      const text = readFileSync(path.join(dir, 'tests', `${name}.invoke.yaml`), 'utf8');
      const doc = parse(text) as { invoke: { tool: string } };
      expect(validateInvokeCase(doc), JSON.stringify(validateInvokeCase.errors)).toBe(true);
      const provider = parse(readFileSync(path.join(dir, 'provider', `${name}.yaml`), 'utf8')) as {
        identity: { name: string };
      };
      const tool = parse(readFileSync(path.join(dir, 'tools', `${name}.yaml`), 'utf8')) as {
        identity: { name: string };
      };
      expect(doc.invoke.tool).toBe(`${provider.identity.name}/${tool.identity.name}`);
      // Not any document passes: the schema is strict.
      expect(validateInvokeCase({ ...doc, expect: { exit: 0, text_contain: 'x' } })).toBe(false);
      expect(validateInvokeCase({ invoke: { tool: 'no-slash' } })).toBe(false);
    }
  });

  it("a tool's unit test compiles, whatever the plugin's name", () => {
    for (const { dir } of [byCategory.get('tool no permissions')!, ...byClassName.values(), ...byOddName.values()]) {
      const file = `tests/test_${path.basename(dir)}.py`;
      expect(python[dir]!.python[file], `${dir}/${file}`).toEqual(expect.objectContaining({ classes: [] }));
    }
  });

  it.skipIf(!pythonHas('pytest'))(
    "a tool's unit test runs with pytest: skipped without the SDK, passing with its tool API",
    async () => {
      const pytest = (dir: string, sdk?: string) =>
        promisify(execFile)('python3', ['-m', 'pytest', '-q', '-rs', '-p', 'no:cacheprovider', 'tests'], {
          cwd: dir,
          encoding: 'utf8',
          env: {
            ...process.env,
            PYTEST_DISABLE_PLUGIN_AUTOLOAD: '1',
            PYTHONDONTWRITEBYTECODE: '1',
            PYTHONPATH: sdk ?? '',
          },
        }).catch((err: { stdout: string; stderr: string }) => err);
      // The SDK needs Python 3.12; where it cannot be imported, the tool API as the SDK has it
      // (test/helpers/stub-sdk) stands in.
      const sdk = pythonHas('dify_plugin') ? undefined : path.join(REPO, 'test', 'helpers', 'stub-sdk');
      const dirs = [byCategory.get('tool no permissions')!.dir, byClassName.get('-lead')!.dir];
      const [skipped, ...passed] = await Promise.all([
        ...(sdk ? [pytest(dirs[0]!)] : []),
        ...dirs.map((dir) => pytest(dir, sdk)),
      ]);
      if (sdk)
        expect(skipped!.stdout).toMatch(
          /SKIPPED \[1\] .*the Dify plugin SDK is not installed: pip install -r requirements\.txt\n.*1 skipped/s,
        );
      for (const run of sdk ? passed : [skipped, ...passed]) expect(run!.stdout).toMatch(/^2 passed/m);
    },
  );
});

describe('every generated YAML points editors at its schema', () => {
  it('in the projects of every category', () => {
    const yamls = [...byCategory.values()].flatMap(({ dir }) =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => path.join(dir, f)),
    );
    expect(yamls.length).toBeGreaterThan(8);
    for (const file of yamls)
      expect(readFileSync(file, 'utf8'), file).toMatch(
        /^# yaml-language-server: \$schema=https:\/\/unpkg\.com\/dify-plugin-cli@[\d.]+\/schemas\/[a-z-]+\.schema\.json\n/,
      );
  });
});

describe('init options', () => {
  it('writes --repo, the translated READMEs asked for, and a workflow that uses this CLI', async () => {
    const cwd = await tempDir();
    const r = await runCli(
      [...QUICK, '--name', 'demo', '--repo', 'https://github.com/acme/demo', '--readme-languages', 'zh_Hans,ja_JP'],
      { cwd, env },
    );
    expect(r.code).toBe(0);
    const dir = path.join(cwd, 'demo');
    expect(readFileSync(path.join(dir, 'manifest.yaml'), 'utf8')).toContain('repo: https://github.com/acme/demo');
    expect(readdirSync(path.join(dir, 'readme')).sort()).toEqual(['README_ja_JP.md', 'README_zh_Hans.md']);
    const workflow = readFileSync(path.join(dir, '.github', 'workflows', 'plugin-publish.yml'), 'utf8');
    // The check and the package come from this CLI's action, of this CLI's major version.
    const major = VERSION.split('.')[0];
    expect(workflow).toContain(`uses: ${ACTION_REPOSITORY}@v${major}\n        with:\n          package: true\n`);
    expect(workflow).toMatch(/REPORT: \$\{\{ steps\.dify\.outputs\.report \}\}/);
    expect(workflow).toMatch(/PACKAGE: \$\{\{ steps\.dify\.outputs\.packages \}\}/);
    expect(workflow).not.toMatch(/dify-plugin-linux-amd64|wget|curl -L|npx/);
    for (const f of ['.env.example', '.difyignore', 'GUIDE.md', 'requirements.txt', 'pyproject.toml'])
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    expect(readFileSync(path.join(dir, '.env.example'), 'utf8')).toMatch(/REMOTE_INSTALL_URL=/);
    expect(readFileSync(path.join(dir, 'GUIDE.md'), 'utf8')).toMatch(/dify plugin run/);
    expect(readFileSync(path.join(dir, 'requirements.txt'), 'utf8')).toMatch(/^dify_plugin>=0\.10/m);
  });

  it('takes --storage-size in bytes, as the Go CLI does, or in MB with the unit', async () => {
    const cwd = await tempDir();
    for (const [name, size] of [
      ['bytes', '2097152'],
      ['mb', '5MB'],
    ]) {
      expect(
        (await runCli([...QUICK, '--name', name!, '--allow-storage', '--storage-size', size!], { cwd, env })).code,
      ).toBe(0);
    }
    expect(readFileSync(path.join(cwd, 'bytes', 'manifest.yaml'), 'utf8')).toMatch(/\bsize: 2097152\n/);
    expect(readFileSync(path.join(cwd, 'mb', 'manifest.yaml'), 'utf8')).toMatch(/\bsize: 5242880\n/);
  });

  it('makes a valid bundle with --type bundle and with dify bundle init', async () => {
    const cwd = await tempDir();
    expect(
      (
        await runCli(
          [
            'plugin',
            'init',
            '--quick',
            '--type',
            'bundle',
            '--name',
            'b1',
            '--author',
            'acme',
            '--description',
            'Bundle',
          ],
          { cwd, env },
        )
      ).code,
    ).toBe(0);
    expect(
      (
        await runCli(['bundle', 'init', '--quick', '--name', 'b2', '--author', 'acme', '--description', 'Bundle'], {
          cwd,
          env,
        })
      ).code,
    ).toBe(0);
    for (const b of ['b1', 'b2']) {
      const manifest = readFileSync(path.join(cwd, b, 'manifest.yaml'), 'utf8');
      expect(manifest).toMatch(/^# yaml-language-server: \$schema=.*\/bundle\.schema\.json\n/);
      expect(manifest).toMatch(/type: bundle/);
      expect(existsSync(path.join(cwd, b, '_assets', 'icon.svg'))).toBe(true);
    }
  });

  it('names class names safely whatever the plugin name', () => {
    for (const [name, { cli }] of byClassName) expect(cli.code, name).toBe(0);
    const names = [...byClassName.values()]
      .flatMap(({ dir }) => Object.values(python[dir]!.python))
      .flatMap((r) => r.classes ?? [])
      .map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining(['ABProvider', 'LeadProvider', 'TrailProvider', 'Plugin3dToolProvider']),
    );
  });

  it.each(ODD_NAMES)('makes a plugin named %s that checks clean and has a valid pyproject.toml', async (name) => {
    const { cli, dir } = byOddName.get(name)!;
    expect(cli.code).toBe(0);
    const check = await checkDir(dir);
    expect(check.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const project = python[dir]!.project!;
    expect(project.description).toBe(ODD_DESCRIPTION);
    expect(project.name).toMatch(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/);
  });
});

describe('init refuses and fails safely', () => {
  it('exits 2 naming the flags that are missing, without waiting for input', async () => {
    const r = await runCli(['plugin', 'init', '--name', 'x'], { cwd: await tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: missing --author, --description: they are required with --quick or without a terminal/,
    );
  });

  it.each([
    [['--name', 'Bad Name'], /--name "Bad Name": use 1-128 lowercase/],
    [['--category', 'widget'], /unknown plugin type "widget"/],
    [['--language', 'go'], /only python is supported/],
    [['--min-dify-version', '1.x'], /use a version like 1\.9\.0/],
    [['--allow-storage', '--storage-size', '10'], /--storage-size "10": use a whole number of bytes from 1024/],
    [['--allow-storage', '--storage-size', '0MB'], /--storage-size "0MB": .* or of MB from 1 to 1024 written as 5MB/],
    [['--allow-storage', '--storage-size', '1e6'], /--storage-size "1e6": use a whole number of bytes/],
    [['--repo', 'github.com/acme'], /use a full URL/],
  ])('exits 2 for %j', async (flags, message) => {
    const r = await runCli([...QUICK, '--name', 'x', ...flags], { cwd: await tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('refuses flags that do not apply to a bundle, and --type and --category that disagree', async () => {
    const cwd = await tempDir();
    const bundle = [
      'plugin',
      'init',
      '--quick',
      '--type',
      'bundle',
      '--name',
      'b',
      '--author',
      'acme',
      '--description',
      'Bundle',
    ];
    const ignored = await runCli([...bundle, '--repo', 'https://github.com/acme/b', '--allow-tool'], { cwd });
    expect(ignored.code).toBe(2);
    expect(ignored.stderr).toMatch(/^error: --repo, --allow-\* do not apply to a bundle/);
    const clash = await runCli([...QUICK, '--name', 'x', '--type', 'bundle', '--category', 'tool'], { cwd });
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/--type "bundle" and --category "tool" disagree/);
    const missing = await runCli(['bundle', 'init', '--name', 'b'], { cwd });
    expect(missing.stderr).toMatch(/e\.g\. dify bundle init --quick --name my_bundle/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('says when the target is a file, even with --force', async () => {
    const cwd = await tempDir();
    await writeFile(path.join(cwd, 'taken'), 'mine');
    const r = await runCli([...QUICK, '--name', 'taken', '--force'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/taken already exists and is a file, not a directory/);
    expect(readFileSync(path.join(cwd, 'taken'), 'utf8')).toBe('mine');
  });

  it('refuses a non-empty directory unless --force', async () => {
    const cwd = await tempDir();
    await mkdir(path.join(cwd, 'mine'));
    await writeFile(path.join(cwd, 'mine', 'notes.txt'), 'keep me');
    const refused = await runCli([...QUICK, '--name', 'mine'], { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already exists and is not empty/);
    expect(readdirSync(path.join(cwd, 'mine'))).toEqual(['notes.txt']);
    expect((await runCli([...QUICK, '--name', 'mine', '--force'], { cwd })).code).toBe(0);
    expect(readFileSync(path.join(cwd, 'mine', 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('on failure removes only what it created', async () => {
    const cwd = await tempDir();
    const dir = path.join(cwd, 'half');
    await mkdir(dir);
    await writeFile(path.join(dir, 'notes.txt'), 'keep me');
    await writeFile(path.join(dir, 'tools'), 'a file where a directory must go');
    const r = await runCli([...QUICK, '--name', 'half', '--force'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot create/);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'tools']);
  });
});
