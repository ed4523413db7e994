import { duplicateKeyFindings } from '../check/rules/duplicate-keys.js';
import { diagnostic, locateDiagnostics } from '../diagnostics/catalog.js';
import { isBlocking, sortDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.js';
import { validateDeclaration } from '../check/schema.js';
import { nameProblem } from '../project/entry-name.js';
import { isObject } from '../project/model.js';
import { MAX_YAML_BYTES, YamlFile } from '../project/yaml-file.js';
import { yamlProblemFindings } from '../project/yaml-findings.js';
import { MANIFEST, type Bundle } from './store.js';

export interface BundleSummary {
  name: string | null;
  author: string | null;
  version: string | null;
  /** Number of dependencies (0 when the list is missing or not a list). */
  dependencies: number;
}

/** The outcome of checking one bundle, shaped like a plugin's result in `package --check`. */
export interface BundleCheckResult {
  /** The path as the user gave it. */
  path: string;
  ok: boolean;
  bundle: BundleSummary | null;
  diagnostics: Diagnostic[];
}

/** An embedded package's findings, one line each: what stops it from installing, and what only looks wrong. */
export interface EmbeddedFindings {
  problems: string[];
  notes: string[];
}

/**
 * Checks an embedded package (`_assets/<path>`); given by the layer that can check plugins
 * (src/pipelines/bundle-packages.ts), the one `bundle analyze` uses.
 */
export type EmbeddedCheck = (path: string) => Promise<EmbeddedFindings>;

/**
 * Checks a bundle's manifest.yaml against schemas/bundle.schema.json (the daemon's Bundle and
 * Dependency rules, dependency patterns included), that every `package` dependency's file is
 * in `_assets/`, and, with `embedded`, that the file is a valid plugin package. Bad input becomes
 * diagnostics with `manifest.yaml:line:col`, never a throw.
 */
export async function checkBundle(
  bundle: Bundle,
  displayPath: string,
  strict = false,
  embedded?: EmbeddedCheck,
): Promise<BundleCheckResult> {
  const diagnostics: Diagnostic[] = [];
  const text = bundle.manifest;
  let value: unknown;
  if (Buffer.byteLength(text, 'utf8') > MAX_YAML_BYTES) {
    diagnostics.push(
      diagnostic(
        'file/too-large',
        { file: MANIFEST },
        `${MANIFEST} is over 1 MiB and is not read`,
        'a bundle manifest is normally well under 1 KiB per dependency',
      ),
    );
  } else {
    const file = new YamlFile(MANIFEST, text);
    diagnostics.push(...yamlProblemFindings(file));
    diagnostics.push(...(await duplicateKeyFindings(file, [{ kind: 'bundle', at: [] }])));
    value = file.value;
    if (file.parsed && (value === null || value === undefined)) {
      diagnostics.push(
        diagnostic(
          'file/empty',
          { file: MANIFEST, yaml: file, at: [] },
          `${MANIFEST} is empty`,
          'recreate it with `dify bundle init`',
        ),
      );
    } else if (file.parsed) {
      diagnostics.push(...(await validateDeclaration({ kind: 'bundle', file, at: [], value })));
      diagnostics.push(...(await packageFindings(bundle, file, value, embedded)), ...missingIcon(bundle, file, value));
    }
  }
  // Files the archive could hold only under a name its readers refuse (a `\` from Linux).
  for (const name of [...[...bundle.assets.keys()].map((n) => `_assets/${n}`), ...bundle.extras.keys()]) {
    const problem = nameProblem(name);
    if (problem)
      diagnostics.push(diagnostic('pack/unpackable-name', { file: name }, `${name} ${problem}`, 'rename it'));
  }
  await locateDiagnostics(diagnostics);
  const sorted = sortDiagnostics(diagnostics);
  return {
    path: displayPath,
    ok: !sorted.some((d) => isBlocking(d, strict)),
    bundle: summarizeBundle(value),
    diagnostics: sorted,
  };
}

/**
 * `package` dependencies whose `_assets/<path>` is not in the bundle, or (with `embedded`) is not
 * a plugin the daemon would install: either way the bundle cannot install it.
 */
async function packageFindings(
  bundle: Bundle,
  file: YamlFile,
  value: unknown,
  embedded: EmbeddedCheck | undefined,
): Promise<Diagnostic[]> {
  if (!isObject(value) || !Array.isArray(value.dependencies)) return [];
  const out: Diagnostic[] = [];
  for (const [i, dep] of (value.dependencies as unknown[]).entries()) {
    if (!isObject(dep) || dep.type !== 'package' || !isObject(dep.value)) continue;
    const p = dep.value.path;
    if (typeof p !== 'string' || p === '') continue;
    const at = ['dependencies', i, 'value', 'path'];
    if (!bundle.assets.has(p)) {
      out.push(
        diagnostic(
          'file/missing',
          { file: MANIFEST, yaml: file, at },
          `dependencies[${i}] is the package _assets/${p}, which is not in the bundle`,
          'append the package again with `dify bundle append package`, or remove this dependency with `dify bundle remove`',
        ),
      );
      continue;
    }
    const { problems, notes } = embedded ? await embedded(p) : { problems: [], notes: [] };
    const hint =
      'append a valid package with `dify bundle append package` and remove this one with `dify bundle remove`';
    for (const problem of problems)
      out.push(
        diagnostic(
          'bundle/package-invalid',
          { file: MANIFEST, yaml: file, at },
          `dependencies[${i}] is the package _assets/${p}, which cannot be installed: ${problem}`,
          hint,
        ),
      );
    for (const note of notes)
      out.push(
        diagnostic(
          'bundle/package-renamed',
          { file: MANIFEST, yaml: file, at },
          `dependencies[${i}] is the package _assets/${p}: ${note}`,
          'append the package again with `dify bundle append package` so that its name is its checksum',
        ),
      );
  }
  return out;
}

/** The icon is shown wherever the bundle is listed: a name with no file is a broken image. */
function missingIcon(bundle: Bundle, file: YamlFile, value: unknown): Diagnostic[] {
  const icon = isObject(value) ? value.icon : undefined;
  if (typeof icon !== 'string' || icon === '' || bundle.assets.has(icon)) return [];
  return [
    diagnostic(
      'bundle/icon-missing',
      { file: MANIFEST, yaml: file, at: ['icon'] },
      `icon "${icon}" is not in _assets/`,
      `add _assets/${icon}, or name a file that is there`,
    ),
  ];
}

function summarizeBundle(value: unknown): BundleSummary | null {
  if (!isObject(value)) return null;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    name: text(value.name),
    author: text(value.author),
    version: text(value.version),
    dependencies: Array.isArray(value.dependencies) ? value.dependencies.length : 0,
  };
}
