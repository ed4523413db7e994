/**
 * The daemon's bundle dependency patterns (dify-plugin-daemon
 * `pkg/entities/bundle_entities/dependency.go`), the same regexes schemas/bundle.schema.json uses,
 * and the fields the daemon derives from them.
 */

/** `VERSION_PATTERN` of the daemon (dify-plugin-daemon `pkg/entities/manifest_entities/version.go`), unanchored. */
const VERSION = String.raw`\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?`;

/** A version spec: exact or `~`/`^` range, `1.x.x` wildcards, or `1.0.0-2.0.0`. */
const VERSION_SPEC = String.raw`([~^]?${VERSION}|(\d{1,4}|[xX])(\.(\d{1,4}|[xX])){2}|${VERSION}-${VERSION})`;

/** `PluginDeclarationVersionRegex`: what `bump -t` and the manifest's `version` accept. */
export const VERSION_REGEX = new RegExp(`^${VERSION}$`);

/** `owner/repo:<version spec>/<asset>`, e.g. `langgenius/openai:0.0.1/openai.difypkg`. */
export const GITHUB_PATTERN_REGEX = new RegExp(String.raw`^[a-z0-9_-]{1,64}/[a-z0-9_-]{1,128}:${VERSION_SPEC}/[^/]+$`);

/** `organization/plugin:<version spec>`, e.g. `langgenius/openai:^0.0.1`. */
export const MARKETPLACE_PATTERN_REGEX = new RegExp(String.raw`^[a-z0-9_-]{1,64}/[a-z0-9_-]{1,128}:${VERSION_SPEC}$`);

export interface GithubDependency {
  pattern: string;
  /** `https://github.com/<owner>/<repo>` */
  repo: string;
  /** The version spec between `:` and the last `/`. */
  release: string;
  /** The file name of the release asset. */
  asset: string;
}

export interface MarketplaceDependency {
  pattern: string;
  organization: string;
  plugin: string;
  version: string;
}

export function isValidVersion(version: string): boolean {
  return VERSION_REGEX.test(version);
}

/** The fields of a GitHub pattern, or null when it does not match the daemon's regex. */
export function parseGithubPattern(pattern: string): GithubDependency | null {
  if (!GITHUB_PATTERN_REGEX.test(pattern)) return null;
  const colon = pattern.indexOf(':');
  const slash = pattern.lastIndexOf('/');
  return {
    pattern,
    repo: `https://github.com/${pattern.slice(0, colon)}`,
    release: pattern.slice(colon + 1, slash),
    asset: pattern.slice(slash + 1),
  };
}

/** The fields of a Marketplace pattern, or null when it does not match the daemon's regex. */
export function parseMarketplacePattern(pattern: string): MarketplaceDependency | null {
  if (!MARKETPLACE_PATTERN_REGEX.test(pattern)) return null;
  const colon = pattern.indexOf(':');
  const [organization = '', plugin = ''] = pattern.slice(0, colon).split('/');
  return { pattern, organization, plugin, version: pattern.slice(colon + 1) };
}

export const GITHUB_PATTERN_HINT =
  'write owner/repo:version/asset, e.g. langgenius/openai:0.0.1/openai.difypkg (version: 1.0.0, ^1.0.0, ~1.0.0, 1.x.x or 1.0.0-2.0.0)';
export const MARKETPLACE_PATTERN_HINT =
  'write organization/plugin:version, e.g. langgenius/openai:0.0.1 (version: 1.0.0, ^1.0.0, ~1.0.0, 1.x.x or 1.0.0-2.0.0)';
export const VERSION_HINT = 'use three numbers of at most 4 digits with an optional -suffix, e.g. 0.0.2 or 1.0.0-beta';
