import { stringify } from 'yaml';
import {
  MIN_DIFY_FOR_CATEGORY,
  MODEL_CATEGORIES,
  className,
  distributionName,
  title,
  type Answers,
  type Category,
} from './answers.js';
import type { Permission } from '../project/permissions.js';
import { render, type TemplateVars } from './render.js';
import { listPackageFiles, readPackageFile } from '../package-files.js';

/** The Python SDK range new plugins depend on (0.10.x is current: dify-plugin-sdks `pyproject.toml`). */
export const DIFY_PLUGIN_REQUIREMENT = 'dify_plugin>=0.10.1,<0.11.0';

/** Files copied without rendering. */
const BINARY = /\.(png|jpe?g|gif|ico|webp)$/i;

export interface ScaffoldFile {
  path: string;
  data: Buffer;
}

export interface ScaffoldContext {
  /** When the plugin is created (manifest `created_at`). */
  now: Date;
  cliVersion: string;
}

/** Where each kind's provider file goes, as listed under `plugins:` in the manifest. */
const PLUGIN_LIST: Record<Exclude<Category, 'bundle'>, { list: string; file: (name: string) => string }> = {
  tool: { list: 'tools', file: (n) => `provider/${n}.yaml` },
  llm: { list: 'models', file: (n) => `provider/${n}.yaml` },
  'text-embedding': { list: 'models', file: (n) => `provider/${n}.yaml` },
  rerank: { list: 'models', file: (n) => `provider/${n}.yaml` },
  tts: { list: 'models', file: (n) => `provider/${n}.yaml` },
  speech2text: { list: 'models', file: (n) => `provider/${n}.yaml` },
  moderation: { list: 'models', file: (n) => `provider/${n}.yaml` },
  extension: { list: 'endpoints', file: (n) => `group/${n}.yaml` },
  'agent-strategy': { list: 'agent_strategies', file: (n) => `provider/${n}.yaml` },
  datasource: { list: 'datasources', file: (n) => `provider/${n}.yaml` },
  trigger: { list: 'triggers', file: (n) => `provider/${n}.yaml` },
};

/** Every file of a new project, in the order written. */
export function scaffoldFiles(answers: Answers, ctx: ScaffoldContext): ScaffoldFile[] {
  const vars = templateVars(answers, ctx);
  const layers =
    answers.category === 'bundle'
      ? ['bundle']
      : ['common', ...(MODEL_CATEGORIES[answers.category] ? ['model-provider'] : []), answers.category];
  const files = new Map<string, Buffer>();
  for (const layer of layers) {
    for (const rel of listPackageFiles(`templates/${layer}`)) {
      const target = render(dotted(rel), vars, `${layer}/${rel}`);
      if (isUnwantedReadme(target, answers)) continue;
      const source = readPackageFile(`templates/${layer}/${rel}`);
      files.set(
        target,
        BINARY.test(rel) ? source : Buffer.from(render(source.toString('utf8'), vars, `${layer}/${rel}`)),
      );
    }
  }
  if (answers.category !== 'bundle') files.set('manifest.yaml', Buffer.from(manifestYaml(answers, ctx)));
  return [...files].map(([p, data]) => ({ path: p, data }));
}

function templateVars(a: Answers, ctx: ScaffoldContext): TemplateVars {
  const model = MODEL_CATEGORIES[a.category];
  return {
    name: a.name,
    author: a.author,
    description: a.description,
    description_quoted: quoted(a.description),
    distribution_name: distributionName(a.name),
    class_name: className(a.name),
    title: title(a.name),
    version: '0.0.1',
    repo: a.repo,
    category: a.category,
    schema_base: schemaBase(ctx.cliVersion),
    cli_version: ctx.cliVersion,
    action_ref: actionRef(ctx.cliVersion),
    dify_plugin_requirement: DIFY_PLUGIN_REQUIREMENT,
    model_type: model?.key ?? '',
    model_type_value: model?.value ?? '',
  };
}

/**
 * A double-quoted string that is valid both as YAML and as a TOML basic string: JSON's escapes
 * are common to the three, and DEL, which JSON leaves alone, is not printable in either.
 */
function quoted(text: string): string {
  return JSON.stringify(text).replace(/\x7f/g, '\\u007F');
}

/** Our published JSON Schemas, pinned to this CLI's version so editors see the rules it applies. */
export function schemaBase(cliVersion: string): string {
  return `https://unpkg.com/dify-plugin-cli@${cliVersion}/schemas`;
}

/**
 * The GitHub repository of this CLI, whose action (action.yml at its root) the workflow `init`
 * writes uses. A placeholder until the repository is published: set it before the first release
 * (docs/development.md, Releasing).
 */
export const ACTION_REPOSITORY = 'dify-plugin-cli/dify-plugin-cli';

/**
 * `owner/name@v<major>`: the action's major-version tag, as GitHub's own actions are used
 * (`actions/checkout@v4`), so that a generated workflow gets the fixes of its major version.
 */
export function actionRef(cliVersion: string): string {
  return `${ACTION_REPOSITORY}@v${cliVersion.split('.')[0]}`;
}

/**
 * npm leaves every file named `.gitignore` out of a published package (npm-packlist), so an
 * installed CLI would create projects without one and `.env` would be committed: the template is
 * stored as `gitignore` and gets its dot when written.
 */
function dotted(rel: string): string {
  return rel.replace(/(^|\/)gitignore$/, '$1.gitignore');
}

/** Translated READMEs are written only for the languages the author chose. */
function isUnwantedReadme(target: string, a: Answers): boolean {
  const lang = /^readme\/README_(.+)\.md$/.exec(target)?.[1];
  return lang !== undefined && !(a.readmeLanguages as string[]).includes(lang);
}

/**
 * The manifest, written from the answers rather than from a template so that permissions and
 * optional fields are exactly what was chosen; the first line points editors at our schema.
 */
function manifestYaml(a: Answers, ctx: ScaffoldContext): string {
  const kind = PLUGIN_LIST[a.category as Exclude<Category, 'bundle'>];
  const minDify = a.minDifyVersion || MIN_DIFY_FOR_CATEGORY[a.category] || null;
  const manifest: Record<string, unknown> = {
    version: '0.0.1',
    type: 'plugin',
    author: a.author,
    name: a.name,
    label: { en_US: title(a.name) },
    description: { en_US: a.description },
    icon: 'icon.svg',
    icon_dark: 'icon-dark.svg',
    resource: { memory: 268435456, permission: permissionBlock(a.permissions, a.storageSize) },
    plugins: { [kind.list]: [kind.file(a.name)] },
    meta: {
      version: '0.0.1',
      arch: ['amd64', 'arm64'],
      runner: { language: 'python', version: '3.12', entrypoint: 'main' },
      minimum_dify_version: minDify,
    },
    created_at: ctx.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    privacy: 'PRIVACY.md',
    ...(a.repo ? { repo: a.repo } : {}),
  };
  return `# yaml-language-server: $schema=${schemaBase(ctx.cliVersion)}/manifest.schema.json\n${stringify(manifest, { lineWidth: 0 })}`;
}

function permissionBlock(chosen: readonly Permission[], storageSize: number): Record<string, unknown> {
  const has = (p: Permission) => chosen.includes(p);
  const block: Record<string, unknown> = {};
  if (has('tool')) block.tool = { enabled: true };
  const modelTypes = chosen.filter((p) => p.startsWith('model.')).map((p) => p.slice('model.'.length));
  if (has('model') || modelTypes.length > 0) {
    block.model = { enabled: true, ...Object.fromEntries(modelTypes.map((t) => [t, true])) };
  }
  for (const p of ['node', 'endpoint', 'app'] as const) if (has(p)) block[p] = { enabled: true };
  if (has('storage')) block.storage = { enabled: true, size: storageSize };
  return block;
}
