import { copyFile, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkBundle, type BundleCheckResult, type EmbeddedFindings } from '../bundle/check.js';
import { BundleError } from '../bundle/errors.js';
import { BundleManifest } from '../bundle/manifest.js';
import { appendDependency, PATTERN_KEY, type AppendResult } from '../bundle/operations.js';
import { parseGithubPattern, parseMarketplacePattern } from '../bundle/patterns.js';
import type { Bundle, BundleFile } from '../bundle/store.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { isObject } from '../project/model.js';
import { checkPlugin, type PluginInfo, type PluginResult } from './check-plugin.js';

/**
 * Bundle operations that look inside the plugin packages a bundle embeds: appending one (it is
 * checked as `plugin package --check` would) and analysing a bundle's dependencies.
 */

export interface PackageCheckOptions {
  /** Unpacked size limit in bytes. */
  maxBytes: number;
  env: NodeJS.ProcessEnv;
}

/**
 * Checks a plugin package as `dify plugin package --check` does, checksum included. A package
 * held in memory (one inside a .difybndl) is written to a temporary file first. One on disk under
 * another name (the checksum-named files of `_assets/`) is checked through a temporary link named
 * `.difypkg`, so that even a damaged one is read as a package rather than as a stray file.
 */
async function checkPackage(
  source: string | BundleFile,
  label: string,
  options: PackageCheckOptions,
): Promise<PluginResult> {
  const check = async (file: string) => {
    const result = await checkPlugin(file, {
      strict: false,
      maxBytes: options.maxBytes,
      env: options.env,
      checksum: true,
    });
    // Findings name the file checked; name it as the user knows it.
    for (const d of result.diagnostics) d.message = d.message.split(file).join(label);
    result.path = label;
    return result;
  };
  const diskPath = typeof source === 'string' ? source : source.diskPath;
  if (diskPath?.endsWith('.difypkg')) return check(diskPath);
  const dir = await mkdtemp(path.join(tmpdir(), 'dify-bundle-'));
  try {
    const file = path.join(dir, 'package.difypkg');
    if (diskPath !== undefined) {
      await symlink(path.resolve(diskPath), file).catch(() => copyFile(diskPath, file));
    } else {
      await writeFile(file, await (source as BundleFile).read());
    }
    return await check(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface AppendPackageResult extends AppendResult {
  /** The embedded plugin (identity, checksum). */
  plugin: PluginInfo;
  /** `_assets/<checksum>` was written (false: the same package was already stored). */
  assetAdded: boolean;
  /** Warnings about the package (errors refuse it). */
  warnings: Diagnostic[];
}

/** The package to embed is not a valid plugin; `result` holds the findings. */
export class PackageRejectedError extends BundleError {
  constructor(readonly result: PluginResult) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    super(
      `${result.path} is not a valid plugin package (${errors} error${errors === 1 ? '' : 's'}); the bundle was not changed`,
      'fix the plugin and package it again with `dify plugin package`',
    );
  }
}

/**
 * Embeds a `.difypkg`: it must check as a plugin without errors (as `plugin package --check`
 * does), and is stored byte for byte as `_assets/<checksum>`, as the Go CLI does. The same
 * package appended twice is stored once and listed once.
 */
export async function appendPackage(
  bundle: Bundle,
  packagePath: string,
  label: string,
  options: PackageCheckOptions,
): Promise<AppendPackageResult> {
  const info = await stat(packagePath).catch(() => null);
  if (!info) throw new BundleError(`${label} does not exist`);
  if (!info.isFile()) {
    throw new BundleError(
      `${label} is not a file: append package embeds a packaged plugin`,
      info.isDirectory() ? `package it first: dify plugin package ${label}` : undefined,
    );
  }
  const result = await checkPackage(packagePath, label, options);
  if (!result.ok || !result.plugin?.checksum) throw new PackageRejectedError(result);
  const checksum = result.plugin.checksum;
  let assetAdded = false;
  if (!bundle.assets.has(checksum)) {
    bundle.putAsset(checksum, await readFile(packagePath));
    assetAdded = true;
  }
  const appended = appendDependency(bundle, { type: 'package', value: { path: checksum } });
  return {
    ...appended,
    plugin: result.plugin,
    assetAdded,
    warnings: result.diagnostics.filter((d) => d.severity !== 'error'),
  };
}

/** The embedded plugin as `analyze` reports it. */
export interface EmbeddedIdentity {
  author: string | null;
  name: string | null;
  version: string | null;
  category: string | null;
  checksum: string | null;
  identifier: string | null;
}

/** One dependency with the fields the daemon derives from it (dify-plugin-daemon `pkg/entities/bundle_entities/dependency.go`). */
export interface AnalyzedDependency {
  index: number;
  type: string | null;
  pattern?: string;
  repo?: string;
  release?: string;
  asset?: string;
  organization?: string;
  plugin?: string;
  version?: string;
  path?: string;
  size?: number | null;
  identity?: EmbeddedIdentity | null;
  /** What would stop Dify from installing it; empty when fine. */
  problems: string[];
  /** Worth knowing, but Dify installs it. */
  notes: string[];
}

/** An embedded package as analyze and the bundle check see it. */
interface EmbeddedPackage {
  size: number;
  identity: EmbeddedIdentity | null;
  /** What stops it from installing: the package's errors. */
  problems: string[];
  /** What is odd but installs anyway: a checksum name that is not its checksum. */
  notes: string[];
}

/** The name `bundle append package` gives a package: its SHA-256 checksum. */
const CHECKSUM_NAME = /^[0-9a-f]{64}$/;

/** Checks `_assets/<name>` as `plugin package --check` would; null when the bundle has no such file. */
async function inspectEmbedded(
  bundle: Bundle,
  name: string,
  options: PackageCheckOptions,
): Promise<EmbeddedPackage | null> {
  const file = bundle.assets.get(name);
  if (!file) return null;
  const result = await checkPackage(file, `_assets/${name}`, options);
  const plugin = result.plugin;
  const problems = result.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => `${d.file ? `${d.file}: ` : ''}${d.message}`);
  // The daemon installs an embedded package whatever its name (dify-plugin-daemon
  // `internal/service/plugin_decoder.go` decodes and verifies it, never compares the checksum;
  // its own upload tests use names like `valid.difypkg`). Only a name that is a checksum, as
  // `bundle append package` writes, says which bytes were appended: another checksum means
  // the file was replaced or changed since.
  const notes =
    plugin?.checksum && CHECKSUM_NAME.test(name) && plugin.checksum !== name
      ? [`its checksum is ${plugin.checksum}, not its name: the file changed after it was appended`]
      : [];
  const identity = plugin && {
    author: plugin.author,
    name: plugin.name,
    version: plugin.version,
    category: plugin.category,
    checksum: plugin.checksum,
    identifier: plugin.identifier,
  };
  return { size: file.size, identity, problems, notes };
}

/**
 * `bundle package` (and --check): the manifest checks of src/bundle/check.ts, with each embedded
 * package checked as `bundle analyze` checks it (a package listed twice is checked once).
 */
export function checkBundleAndPackages(
  bundle: Bundle,
  displayPath: string,
  strict: boolean,
  options: PackageCheckOptions,
): Promise<BundleCheckResult> {
  const seen = new Map<string, Promise<EmbeddedFindings>>();
  return checkBundle(bundle, displayPath, strict, (name) => {
    if (!seen.has(name))
      seen.set(
        name,
        inspectEmbedded(bundle, name, options).then((e) => ({ problems: e?.problems ?? [], notes: e?.notes ?? [] })),
      );
    return seen.get(name)!;
  });
}

export interface BundleAnalysis {
  name: string | null;
  author: string | null;
  version: string | null;
  dependencies: AnalyzedDependency[];
}

/**
 * Every dependency with its parsed fields: repo/release/asset for github,
 * organization/plugin/version for marketplace, and for an embedded package its file, size and
 * the identity of the plugin inside (checked and hashed as `plugin package --check` would).
 */
export async function analyzeBundle(bundle: Bundle, options: PackageCheckOptions): Promise<BundleAnalysis> {
  const manifest = BundleManifest.parse(bundle.manifest);
  const data = manifest.data;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  const dependencies: AnalyzedDependency[] = [];
  for (const [index, dep] of manifest.dependencies().entries()) {
    const { problems, ...fields } = await analyzeOne(bundle, index, dep, options);
    dependencies.push({ ...fields, problems }); // problems last, after the fields they are about
  }
  return { name: text(data.name), author: text(data.author), version: text(data.version), dependencies };
}

async function analyzeOne(
  bundle: Bundle,
  index: number,
  dep: unknown,
  options: PackageCheckOptions,
): Promise<AnalyzedDependency> {
  const type = isObject(dep) && typeof dep.type === 'string' ? dep.type : null;
  const value = isObject(dep) && isObject(dep.value) ? dep.value : {};
  const out: AnalyzedDependency = { index, type, problems: [], notes: [] };
  if (type === 'github' || type === 'marketplace') {
    const pattern = value[PATTERN_KEY[type]];
    if (typeof pattern !== 'string') {
      out.problems.push(`value.${PATTERN_KEY[type]} is missing`);
      return out;
    }
    const parsed = type === 'github' ? parseGithubPattern(pattern) : parseMarketplacePattern(pattern);
    if (parsed) Object.assign(out, parsed);
    else {
      out.pattern = pattern;
      out.problems.push(`invalid ${type === 'github' ? 'github repo' : 'marketplace'} pattern`);
    }
    return out;
  }
  if (type === 'package') {
    const p = value.path;
    if (typeof p !== 'string' || p === '') {
      out.problems.push('value.path is missing');
      return out;
    }
    out.path = p;
    const embedded = await inspectEmbedded(bundle, p, options);
    if (!embedded) {
      out.size = null;
      out.identity = null;
      out.problems.push(`_assets/${p} is not in the bundle`);
      return out;
    }
    Object.assign(out, { size: embedded.size, identity: embedded.identity });
    out.problems.push(...embedded.problems);
    out.notes.push(...embedded.notes);
    return out;
  }
  out.problems.push(
    type === null ? 'not a {type, value} item' : `unknown type "${type}" (github, marketplace or package)`,
  );
  return out;
}
