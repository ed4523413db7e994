import { readFile, stat } from 'node:fs/promises';
import type { Diagnostic } from '../check/diagnostic.js';
import type { PluginInfo, PluginResult } from '../check/plugin-check.js';
import { isObject } from '../project/model.js';
import { checkPackage, type PackageCheckOptions } from './embedded.js';
import { BundleError } from './errors.js';
import { BundleManifest, type BundleProfile, type DependencyEntry } from './manifest.js';
import {
  GITHUB_PATTERN_HINT,
  isValidVersion,
  MARKETPLACE_PATTERN_HINT,
  parseGithubPattern,
  parseMarketplacePattern,
  VERSION_HINT,
} from './patterns.js';
import type { Bundle } from './store.js';

export interface AppendResult {
  /** Index of the dependency (the existing one when it was already there). */
  index: number;
  dependency: DependencyEntry;
  /** True when an identical dependency was already in the bundle: nothing changed. */
  existing: boolean;
}

const PATTERN_KEY = { github: 'repo_pattern', marketplace: 'marketplace_pattern' } as const;

/** Appends a `github` or `marketplace` dependency after checking its pattern with the daemon's regex. */
export function appendPattern(bundle: Bundle, type: 'github' | 'marketplace', pattern: string): AppendResult {
  const valid = type === 'github' ? parseGithubPattern(pattern) : parseMarketplacePattern(pattern);
  if (!valid) {
    throw new BundleError(`invalid ${type === 'github' ? 'github repo' : 'marketplace'} pattern "${pattern}"`, type === 'github' ? GITHUB_PATTERN_HINT : MARKETPLACE_PATTERN_HINT);
  }
  return appendEntry(bundle, { type, value: { [PATTERN_KEY[type]]: pattern } });
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
    super(`${result.path} is not a valid plugin package (${errors} error${errors === 1 ? '' : 's'}); the bundle was not changed`, 'fix the plugin and package it again with `dify plugin package`');
    this.name = 'PackageRejectedError';
  }
}

/**
 * Embeds a `.difypkg`: it must check as a plugin without errors (as `plugin package --check`
 * does), and is stored byte for byte as `_assets/<checksum>`, as the Go CLI does. The same
 * package appended twice is stored once and listed once.
 */
export async function appendPackage(bundle: Bundle, packagePath: string, label: string, options: PackageCheckOptions): Promise<AppendPackageResult> {
  const info = await stat(packagePath).catch(() => null);
  if (!info) throw new BundleError(`${label} does not exist`);
  if (!info.isFile()) {
    throw new BundleError(`${label} is not a file: append package embeds a packaged plugin`, info.isDirectory() ? `package it first: dify plugin package ${label}` : undefined);
  }
  const result = await checkPackage(packagePath, label, options);
  if (!result.ok || !result.plugin?.checksum) throw new PackageRejectedError(result);
  const checksum = result.plugin.checksum;
  let assetAdded = false;
  if (!bundle.assets.has(checksum)) {
    bundle.putAsset(checksum, await readFile(packagePath));
    assetAdded = true;
  }
  const appended = appendEntry(bundle, { type: 'package', value: { path: checksum } });
  return { ...appended, plugin: result.plugin, assetAdded, warnings: result.diagnostics.filter((d) => d.severity !== 'error') };
}

function appendEntry(bundle: Bundle, dep: DependencyEntry): AppendResult {
  const manifest = BundleManifest.parse(bundle.manifest);
  const existing = manifest.dependencies().findIndex((d) => sameDependency(d, dep));
  if (existing >= 0) return { index: existing, dependency: dep, existing: true };
  const index = manifest.append(dep);
  bundle.manifest = manifest.toString();
  return { index, dependency: dep, existing: false };
}

function sameDependency(d: unknown, dep: DependencyEntry): boolean {
  if (!isObject(d) || d.type !== dep.type || !isObject(d.value)) return false;
  return Object.entries(dep.value).every(([k, v]) => (d.value as Record<string, unknown>)[k] === v);
}

export interface RemoveResult {
  index: number;
  /** The removed item as it was in the manifest. */
  dependency: unknown;
  /** `_assets/<name>` deleted with it (a package no other dependency uses). */
  deletedAsset?: string;
  /** The package file kept because other dependencies (these indexes, after removal) use it. */
  keptAsset?: { name: string; usedBy: number[] };
}

/**
 * Removes the dependency at `index` (0-based). A package dependency's file goes too unless
 * another dependency (or the icon) still uses it; the Go CLI left it on disk in directory
 * bundles, so it came back on the next load.
 */
export function removeDependency(bundle: Bundle, index: number): RemoveResult {
  const manifest = BundleManifest.parse(bundle.manifest);
  const dependency = manifest.remove(index);
  bundle.manifest = manifest.toString();
  const result: RemoveResult = { index, dependency };
  const asset = packagePath(dependency);
  if (asset === undefined) return result;
  const usedBy = manifest
    .dependencies()
    .map((d, i) => (packagePath(d) === asset ? i : -1))
    .filter((i) => i >= 0);
  if (usedBy.length > 0 || manifest.data.icon === asset) {
    if (bundle.assets.has(asset)) result.keptAsset = { name: asset, usedBy };
  } else if (bundle.deleteAsset(asset)) {
    result.deletedAsset = asset;
  }
  return result;
}

function packagePath(dep: unknown): string | undefined {
  if (!isObject(dep) || dep.type !== 'package' || !isObject(dep.value)) return undefined;
  return typeof dep.value.path === 'string' && dep.value.path !== '' ? dep.value.path : undefined;
}

/** Sets `version` after checking it with the daemon's version regex; returns the old value. */
export function bumpVersion(bundle: Bundle, version: string): { from: unknown; to: string } {
  if (!isValidVersion(version)) throw new BundleError(`invalid version "${version}"`, VERSION_HINT);
  const manifest = BundleManifest.parse(bundle.manifest);
  const from = manifest.setVersion(version);
  bundle.manifest = manifest.toString();
  return { from, to: version };
}

/** The profile as the manifest has it now (empty strings for what is missing). */
export function currentProfile(bundle: Bundle): BundleProfile {
  const data = BundleManifest.parse(bundle.manifest).data;
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const en = (v: unknown) => (isObject(v) ? text(v.en_US) : '');
  return { name: text(data.name), author: text(data.author), description: en(data.description), label: en(data.labels) };
}

/** Rewrites name, author, description and labels (`regenerate`). */
export function applyProfile(bundle: Bundle, profile: BundleProfile): void {
  const manifest = BundleManifest.parse(bundle.manifest);
  manifest.setProfile(profile);
  bundle.manifest = manifest.toString();
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

/** One dependency with the fields the daemon derives from it (daemon.md §3.9). */
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

async function analyzeOne(bundle: Bundle, index: number, dep: unknown, options: PackageCheckOptions): Promise<AnalyzedDependency> {
  const type = isObject(dep) && typeof dep.type === 'string' ? dep.type : null;
  const value = isObject(dep) && isObject(dep.value) ? dep.value : {};
  const out: AnalyzedDependency = { index, type, problems: [] };
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
    const file = bundle.assets.get(p);
    if (!file) {
      out.size = null;
      out.identity = null;
      out.problems.push(`_assets/${p} is not in the bundle`);
      return out;
    }
    out.size = file.size;
    const result = await checkPackage(file, `_assets/${p}`, options);
    const plugin = result.plugin;
    out.identity = plugin && {
      author: plugin.author,
      name: plugin.name,
      version: plugin.version,
      category: plugin.category,
      checksum: plugin.checksum,
      identifier: plugin.identifier,
    };
    for (const d of result.diagnostics) if (d.severity === 'error') out.problems.push(`${d.file ? `${d.file}: ` : ''}${d.message}`);
    if (plugin?.checksum && plugin.checksum !== p) out.problems.push(`its checksum is ${plugin.checksum}, not its name: the file changed after it was appended`);
    return out;
  }
  out.problems.push(type === null ? 'not a {type, value} item' : `unknown type "${type}" (github, marketplace or package)`);
  return out;
}
