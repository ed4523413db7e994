import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { at, type CheckContext } from './context.js';
import { printable } from '../../diagnostics/excerpt.js';
import { closestPath } from '../../diagnostics/suggest.js';
import { isPythonModuleName, isValidUniqueIdentifier, uniqueIdentifier } from '../../project/identity.js';
import { get, isObject, PLUGIN_LISTS, type PluginList } from '../../project/model.js';
import { isPep440 } from '../../project/pep440.js';
import { resolveRef } from '../../project/references.js';

/** Names of the plugin kinds as the daemon's messages call them. */
const KIND_NAMES: Record<PluginList, string> = {
  tools: 'tools',
  models: 'models',
  endpoints: 'endpoints',
  agent_strategies: 'agent_strategies',
  datasources: 'datasources',
  triggers: 'triggers',
};

/**
 * At least one kind; only tools + endpoints may be combined (the daemon's ManifestValidate);
 * and one provider per kind, which the daemon silently assumes.
 */
export function pluginKinds({ project }: CheckContext): Diagnostic[] {
  const manifest = project.manifest;
  const plugins = get(manifest?.value, 'plugins');
  if (!manifest || !isObject(plugins)) return []; // the schema reports a missing `plugins`
  const present = PLUGIN_LISTS.filter((k) => Array.isArray(plugins[k]) && (plugins[k] as unknown[]).length > 0);
  const out: Diagnostic[] = [];
  if (present.length === 0) {
    out.push(
      at(
        'manifest/no-plugin-kind',
        manifest,
        ['plugins'],
        'the manifest declares no plugin: plugins has no tools, models, endpoints, agent_strategies, datasources or triggers',
        'list at least one provider file, e.g. plugins.tools: [provider/my_plugin.yaml]',
      ),
    );
  }
  const others = present.filter((k) => k !== 'tools' && k !== 'endpoints');
  if (others.length > 0 && present.length > 1) {
    const first = others[0]!;
    const rest = present.filter((k) => k !== first).map((k) => KIND_NAMES[k]);
    out.push(
      at(
        'manifest/kind-conflict',
        manifest,
        ['plugins', first],
        `${KIND_NAMES[first]} cannot be combined with ${rest.join(', ')}: only tools and endpoints may be declared together`,
        'split it into separate plugins, one per kind',
      ),
    );
  }
  for (const k of present) {
    const list = plugins[k] as unknown[];
    if (list.length > 1) {
      out.push(
        at(
          'manifest/multiple-providers',
          manifest,
          ['plugins', k, 1],
          `plugins.${k} lists ${list.length} providers; Dify uses only one provider per kind`,
          `keep one provider file and move everything into it`,
        ),
      );
    }
  }
  return out;
}

/**
 * The Python SDK parses `version` and `meta.minimum_dify_version` with PEP 440, which is
 * stricter than the daemon's pattern about what follows the `-` (e.g. `1.0.0-fix` fails).
 */
export function pep440Versions({ project }: CheckContext): Diagnostic[] {
  const manifest = project.manifest;
  if (!manifest) return [];
  const out: Diagnostic[] = [];
  for (const path of [['version'], ['meta', 'minimum_dify_version']]) {
    const v = get(manifest.value, ...path);
    if (typeof v === 'string' && !isPep440(v)) {
      out.push(
        at(
          'manifest/version-not-pep440',
          manifest,
          path,
          `${path.join('.')} "${v}" is not a PEP 440 version, so the Python SDK refuses the manifest`,
          'use numbers with an optional pre-release such as 1.2.0 or 1.2.0-beta1',
        ),
      );
    }
  }
  return out;
}

/**
 * The unique identifier the daemon builds at install. Field-level findings already explain a bad
 * author, name or version, so this speaks only when they are silent.
 */
export function identifier({ project, prior }: CheckContext): Diagnostic[] {
  const manifest = project.manifest;
  if (!manifest) return [];
  const [author, name, version] = ['author', 'name', 'version'].map((k) => get(manifest.value, k));
  if (
    typeof name !== 'string' ||
    typeof version !== 'string' ||
    (author !== undefined && author !== null && typeof author !== 'string')
  )
    return [];
  const id = uniqueIdentifier((author as string | null | undefined) ?? null, name, version, '0'.repeat(64));
  if (isValidUniqueIdentifier(id)) return [];
  const fieldFindings = prior.some(
    (d) => d.file === manifest.file.path && /^\/(author|name|version)$/.test(d.path) && d.severity === 'error',
  );
  if (fieldFindings) return [];
  return [
    at(
      'manifest/identifier-invalid',
      manifest,
      [],
      `the plugin identifier "${id.replace(/@0+$/, '')}@<checksum>" would be refused at install`,
      'author and name use a-z, 0-9, _ and -; version is like 1.2.3',
    ),
  ];
}

export async function privacyFile({ project, files }: CheckContext): Promise<Diagnostic[]> {
  const manifest = project.manifest;
  const privacy = get(manifest?.value, 'privacy');
  if (!manifest || typeof privacy !== 'string' || privacy === '') return [];
  const ref = resolveRef(privacy);
  if (ref.path && (await project.source.statPath(ref.path)) === 'file') return [];
  const close = ref.path === undefined ? undefined : closestPath(ref.path, paths(files));
  return [
    at(
      'manifest/privacy-missing',
      manifest,
      ['privacy'],
      `privacy names ${privacy}, which does not exist`,
      close ? `did you mean "${close}"?` : 'write the privacy policy there (e.g. PRIVACY.md), or remove the key',
    ),
  ];
}

/** The daemon starts the plugin with `python -m <entrypoint>` from the plugin root. */
export async function entrypoint({ project, files }: CheckContext): Promise<Diagnostic[]> {
  const manifest = project.manifest;
  const entry = get(manifest?.value, 'meta', 'runner', 'entrypoint');
  if (!manifest || typeof entry !== 'string') return [];
  if (!isPythonModuleName(entry))
    return [
      at(
        'manifest/entrypoint-invalid',
        manifest,
        ['meta', 'runner', 'entrypoint'],
        `meta.runner.entrypoint is "${printable(entry)}", which is not a Python module name`,
        'name the module to run with python -m, dotted identifiers such as main or app.main',
      ),
    ];
  const base = entry.split('.').join('/');
  for (const candidate of [`${base}.py`, `${base}/__init__.py`, `${base}/__main__.py`]) {
    if ((await project.source.statPath(candidate)) === 'file') return [];
  }
  const close = closestPath(
    `${base}.py`,
    paths(files).filter((p) => p.endsWith('.py')),
  );
  // `tools/main.py` is the module `tools.main`; a package's `__init__.py` or `__main__.py` is the package.
  const module = close?.replace(/(\/__init__|\/__main__)?\.py$/, '').replaceAll('/', '.');
  return [
    at(
      'reference/entrypoint-missing',
      manifest,
      ['meta', 'runner', 'entrypoint'],
      `meta.runner.entrypoint is "${entry}", but there is no ${base}.py`,
      module && module !== entry
        ? `did you mean entrypoint: ${module} (${close})?`
        : `create ${base}.py that starts the plugin, or fix the entrypoint`,
    ),
  ];
}

/**
 * The daemon's local runtime installs a Python plugin's dependencies from `pyproject.toml` (uv
 * sync) or `requirements.txt` (uv pip install), and fails the install when there is neither
 * (dify-plugin-daemon `internal/core/local_runtime/setup_python_environment.go`,
 * "failed to detect dependency file").
 */
export async function dependencyFile({ project }: CheckContext): Promise<Diagnostic[]> {
  const manifest = project.manifest;
  if (!manifest || get(manifest.value, 'meta', 'runner', 'language') !== 'python') return [];
  const found = await Promise.all(DEPENDENCY_FILES.map((f) => project.source.statPath(f)));
  if (found.includes('file')) return [];
  const excluded = DEPENDENCY_FILES.filter((_, i) => found[i] === 'excluded');
  return [
    at(
      'python/no-dependency-file',
      manifest,
      ['meta', 'runner', 'language'],
      excluded.length > 0
        ? `${excluded.join(' and ')} ${excluded.length > 1 ? 'are' : 'is'} excluded from the package, which then has no dependency file: Dify refuses to install it`
        : 'the plugin has neither requirements.txt nor pyproject.toml: Dify refuses to install it, as it has no dependency file to install from',
      excluded.length > 0
        ? `stop ignoring ${excluded[0]} (in .difyignore, or with a !${excluded[0]} line)`
        : 'add a requirements.txt that lists dify_plugin (`dify plugin init` writes one), or a pyproject.toml',
    ),
  ];
}

const DEPENDENCY_FILES = ['requirements.txt', 'pyproject.toml'];

function paths(files: CheckContext['files']): string[] {
  return files.map((f) => f.path);
}
