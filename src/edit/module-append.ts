import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeProject } from '../scaffold/create.js';
import { className, title } from '../scaffold/answers.js';
import { validate } from '../project/manifest-fields.js';
import { DIFY_PLUGIN_REQUIREMENT, schemaBase, type ScaffoldFile } from '../scaffold/files.js';
import { listPackageFiles, readPackageFile } from '../package-files.js';
import { render, type TemplateVars } from '../scaffold/render.js';
import { get, isObject, type PluginList } from '../project/model.js';
import { EditError } from './errors.js';
import type { OpenedPlugin } from './open.js';
import { appendToSequence } from '../project/yaml-edit.js';

export type ModuleKind = 'tools' | 'endpoints';

interface KindInfo {
  /** Template folders under templates/, later ones replacing files of earlier ones. */
  layers: string[];
  /** The provider file listed in `plugins.<kind>`. */
  entry: (name: string) => string;
  /** What a plugin holds one of, and what it lists. */
  provider: string;
  child: string;
}

const KINDS: Record<ModuleKind, KindInfo> = {
  // init's tool files, with a provider that uses the plugin's own icons (templates/module/).
  tools: {
    layers: ['tool', 'module/tools'],
    entry: (n) => `provider/${n}.yaml`,
    provider: 'tool provider',
    child: 'tools',
  },
  // init's extension files as they are: an endpoint group has no icon.
  endpoints: { layers: ['extension'], entry: (n) => `group/${n}.yaml`, provider: 'endpoint group', child: 'endpoints' },
};

/** How the other kinds are called in messages, and which of them exclude everything else. */
const OTHER_KINDS: Partial<Record<PluginList, string>> = {
  models: 'a model plugin',
  agent_strategies: 'an agent-strategy plugin',
  datasources: 'a datasource plugin',
  triggers: 'a trigger plugin',
};

export interface AppendOptions {
  /** Base name of the new files; the plugin's name by default. */
  name?: string;
  /** Overwrite files that exist. */
  force?: boolean;
  /** For the `$schema` line of the YAML files. */
  cliVersion: string;
}

export interface AppendPlan {
  kind: ModuleKind;
  name: string;
  /** The path added to `plugins.<kind>`. */
  entry: string;
  files: ScaffoldFile[];
  /** Files among `files` that exist and are replaced (only with `force`). */
  overwritten: string[];
  /** manifest.yaml as it will be written. */
  manifest: string;
}

/**
 * Works out `dify plugin module append tools|endpoints` without writing anything: the files of the
 * new module and the manifest with its entry. Refuses (EditError) where the Go CLI refuses — the
 * kind is already declared, or it is a model plugin — and also where the result could not be
 * installed (the daemon allows tools and endpoints together, and no other pair), and where files
 * exist and `force` is not given.
 */
export function planAppend(root: string, opened: OpenedPlugin, kind: ModuleKind, options: AppendOptions): AppendPlan {
  const manifest = opened.manifest.value;
  const info = KINDS[kind];
  const lists = isObject(manifest.plugins) ? manifest.plugins : {};
  const declared = listed(lists[kind]);
  if (declared.length > 0) {
    throw new EditError(
      `you have already declared ${kind} in this plugin (${declared.join(', ')})`,
      `add to the ${info.provider} instead: list another ${info.child}/<name>.yaml under \`${info.child}:\` in ${declared[0]} (a plugin has one ${info.provider})`,
    );
  }
  for (const [list, what] of Object.entries(OTHER_KINDS) as [PluginList, string][]) {
    if (listed(lists[list]).length === 0) continue;
    throw new EditError(
      `${what} cannot declare ${kind}`,
      list === 'models'
        ? `a model plugin holds models only (Dify refuses any other kind beside them); make a separate plugin for the ${kind}: dify plugin init --category ${kind === 'tools' ? 'tool' : 'extension'}`
        : `only tools and endpoints can share a plugin (Dify refuses other pairs); make a separate plugin for the ${kind}: dify plugin init --category ${kind === 'tools' ? 'tool' : 'extension'}`,
    );
  }
  const language = get(manifest, 'meta', 'runner', 'language');
  if (language !== undefined && language !== 'python') {
    throw new EditError(
      `meta.runner.language is ${JSON.stringify(language)}: module templates exist for Python only`,
      'add the files by hand, then list the new file under plugins in manifest.yaml',
    );
  }

  const name = options.name ?? (typeof manifest.name === 'string' ? manifest.name : '');
  const nameOk = validate.name(name);
  if (nameOk !== true) {
    throw new EditError(
      `"${name}" cannot name the new files: ${nameOk}`,
      'choose the file name with --name, e.g. --name my_tools',
    );
  }

  const files = renderModule(info.layers, moduleVars(manifest, kind, name, options.cliVersion));
  const existing = files.map((f) => f.path).filter((p) => existsSync(path.join(root, ...p.split('/'))));
  if (existing.length > 0 && !options.force) {
    throw new EditError(
      `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; nothing was written`,
      `pass --force to overwrite ${existing.length === 1 ? 'it' : 'them'}, or --name <name> to create files of another name`,
    );
  }

  const entry = info.entry(name);
  // The bytes on disk (not the decoded text of the model, which drops a byte-order mark).
  const before = readFileSync(path.join(root, 'manifest.yaml'), 'utf8');
  const { text } = appendToSequence(before, 'manifest.yaml', ['plugins', kind], entry);
  return { kind, name, entry, files, overwritten: existing, manifest: text };
}

/** Writes a plan: the new files, then the manifest. A failure removes the files it created. */
export function applyAppend(root: string, plan: AppendPlan): void {
  writeProject(root, plan.files, true);
  try {
    writeFileSync(path.join(root, 'manifest.yaml'), plan.manifest);
  } catch (err) {
    for (const f of plan.files) {
      if (!plan.overwritten.includes(f.path)) rmSync(path.join(root, ...f.path.split('/')), { force: true });
    }
    throw err;
  }
}

function listed(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
}

/** The variables of init's templates, taken from the manifest, plus the plugin's icons. */
function moduleVars(
  manifest: Record<string, unknown>,
  kind: ModuleKind,
  name: string,
  cliVersion: string,
): TemplateVars {
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const i18n = (v: unknown) => (typeof v === 'string' ? v : text(get(v, 'en_US')));
  const author = text(manifest.author) || name;
  const description = i18n(manifest.description) || i18n(manifest.label) || title(name);
  const icon = text(manifest.icon) || 'icon.svg';
  const iconDark = text(manifest.icon_dark);
  return {
    name,
    author,
    description,
    description_quoted: JSON.stringify(description),
    class_name: className(name),
    title: title(name),
    version: text(manifest.version) || '0.0.1',
    repo: text(manifest.repo),
    category: kind === 'tools' ? 'tool' : 'extension',
    schema_base: schemaBase(cliVersion),
    cli_version: cliVersion,
    dify_plugin_requirement: DIFY_PLUGIN_REQUIREMENT,
    model_type: '',
    model_type_value: '',
    icon_yaml: JSON.stringify(icon),
    icon_dark_yaml: iconDark ? JSON.stringify(iconDark) : '',
  };
}

/** The files of the template layers (never their `_assets/`: the plugin has its icons). */
function renderModule(layers: string[], vars: TemplateVars): ScaffoldFile[] {
  const files = new Map<string, Buffer>();
  for (const layer of layers) {
    for (const rel of listPackageFiles(`templates/${layer}`)) {
      if (rel.startsWith('_assets/')) continue;
      const where = `${layer}/${rel}`;
      const source = readPackageFile(`templates/${where}`).toString('utf8');
      files.set(render(rel, vars, where), Buffer.from(render(source, vars, where)));
    }
  }
  return [...files].map(([p, data]) => ({ path: p, data }));
}
