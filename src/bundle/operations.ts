import { isObject } from '../project/model.js';
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

/** The `value` key holding each remote dependency's pattern. */
export const PATTERN_KEY = { github: 'repo_pattern', marketplace: 'marketplace_pattern' } as const;

/** Appends a `github` or `marketplace` dependency after checking its pattern with the daemon's regex. */
export function appendPattern(bundle: Bundle, type: 'github' | 'marketplace', pattern: string): AppendResult {
  const valid = type === 'github' ? parseGithubPattern(pattern) : parseMarketplacePattern(pattern);
  if (!valid) {
    throw new BundleError(
      `invalid ${type === 'github' ? 'github repo' : 'marketplace'} pattern "${pattern}"`,
      type === 'github' ? GITHUB_PATTERN_HINT : MARKETPLACE_PATTERN_HINT,
    );
  }
  return appendDependency(bundle, { type, value: { [PATTERN_KEY[type]]: pattern } });
}

/** Appends a dependency unless an identical one is listed; the manifest keeps its comments. */
export function appendDependency(bundle: Bundle, dep: DependencyEntry): AppendResult {
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
  return {
    name: text(data.name),
    author: text(data.author),
    description: en(data.description),
    label: en(data.labels),
  };
}

/** Rewrites name, author, description and labels (`regenerate`). */
export function applyProfile(bundle: Bundle, profile: BundleProfile): void {
  const manifest = BundleManifest.parse(bundle.manifest);
  manifest.setProfile(profile);
  bundle.manifest = manifest.toString();
}
