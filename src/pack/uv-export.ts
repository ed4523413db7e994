/**
 * Native replacement for
 *
 *   uv export --frozen --format requirements.txt --no-group dev --no-emit-project \
 *             --no-hashes --no-header --no-annotate
 *
 * used when packaging a Python plugin that ships `pyproject.toml` + `uv.lock` but no
 * `requirements.txt` and `uv` is not installed.
 *
 * What uv does (and what this module reproduces):
 *
 * - Roots: only the project itself (the lock package named like `[project].name`). Its
 *   `dependencies` are followed, plus the dependency groups uv enables by default
 *   (`[tool.uv] default-groups`, `["dev"]` when unset) minus `dev` (`--no-group dev`).
 *   No extras of the project are enabled.
 * - A dependency `{ name = "x", extra = ["y"] }` additionally pulls `optional-dependencies.y`
 *   of `x`. Like uv, the extra's dependencies hang off the `x` node itself, so they are
 *   reachable under whatever condition `x` is.
 * - Each package's marker is the OR over all paths from the root of the AND of the edge
 *   markers along the path. Edge markers are taken verbatim from the lock, where uv already
 *   stored them simplified against the lock's `requires-python`; uv does not re-apply
 *   `requires-python` on export, so neither do we.
 * - The project itself is not emitted (`--no-emit-project`), virtual packages never are, and
 *   packages whose marker is unsatisfiable are dropped.
 * - Lines are sorted editables first, then local paths, then by (name, version, source);
 *   markers are printed the way uv prints them (see the marker algebra below).
 */
import { parse as parseToml } from 'smol-toml';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

export interface ExportedRequirement {
  name: string;
  version: string;
  marker: string | null;
  /**
   * Set only for packages that do not come from a package index (editable or local path,
   * git, direct URL): the text uv writes in place of `name==version`, e.g. `-e ./packages/util`.
   */
  direct?: string;
}

export interface UvExportResult {
  requirements: ExportedRequirement[];
  /** The requirements.txt content: one `\n`-terminated line per requirement. */
  text: string;
}

/** A lock (or pyproject) this module cannot understand; the message is one line. */
export class UvLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UvLockError';
  }
}

export function exportRequirementsFromUvLock(uvLockText: string, pyprojectText: string): UvExportResult {
  const project = readPyproject(pyprojectText);
  const lock = readLock(uvLockText);
  const root = findProjectPackage(lock, project.name);
  const groups = enabledGroups(project, root);

  const graph = buildGraph(lock, root, groups);
  if (lock.hasConflicts) resolveConflictMarkers(graph, lock, root, groups);
  const reach = reachability(graph);

  const rows: { pkg: LockPackage; marker: Marker }[] = [];
  for (const pkg of graph.nodes) {
    // --no-emit-project removes every package carrying the project's name.
    if (pkg.name === root.name) continue;
    const marker = reach.get(pkg.index) ?? Marker.TRUE;
    if (marker.isFalse()) continue;
    // Virtual packages (non-installable workspace members) are never written.
    if (pkg.source.kind === 'virtual') continue;
    rows.push({ pkg, marker });
  }
  rows.sort((a, b) => comparePackagesForOutput(a.pkg, b.pkg));

  const requirements = rows.map(({ pkg, marker }) => toRequirement(pkg, marker));
  const text = requirements.map((r) => `${requirementLine(r)}\n`).join('');
  return { requirements, text };
}

// ---------------------------------------------------------------------------------------------
// pyproject.toml
// ---------------------------------------------------------------------------------------------

interface ProjectInfo {
  name: string;
  /** `[tool.uv] default-groups`, normalized; `'all'` for every group. */
  defaultGroups: string[] | 'all';
  /** Groups named in `[dependency-groups]` (and `dev` for legacy `tool.uv.dev-dependencies`). */
  declaredGroups: string[];
}

function readPyproject(text: string): ProjectInfo {
  const doc = parseTomlOrThrow(text, 'pyproject.toml');
  const project = asTable(doc['project']);
  const name = project?.['name'];
  if (typeof name !== 'string' || name.trim() === '') {
    throw new UvLockError('pyproject.toml has no [project] name, so there is no project to export');
  }
  const uv = asTable(asTable(doc['tool'])?.['uv']);
  const declared = Object.keys(asTable(doc['dependency-groups']) ?? {}).map(normalizeName);
  if (uv?.['dev-dependencies'] !== undefined) declared.push('dev');

  let defaultGroups: string[] | 'all' = ['dev'];
  const configured = uv?.['default-groups'];
  if (configured === 'all') defaultGroups = 'all';
  else if (Array.isArray(configured)) {
    defaultGroups = configured.filter((g): g is string => typeof g === 'string').map(normalizeName);
  } else if (configured !== undefined) {
    throw new UvLockError('pyproject.toml: [tool.uv] default-groups must be a list of group names or "all"');
  }
  return { name: normalizeName(name), defaultGroups, declaredGroups: declared };
}

/** The dependency groups of the project that `--no-group dev` leaves enabled. */
function enabledGroups(project: ProjectInfo, root: LockPackage): Set<string> {
  const defaults =
    project.defaultGroups === 'all' ? [...project.declaredGroups, ...root.groups.keys()] : project.defaultGroups;
  return new Set(defaults.filter((g) => g !== 'dev'));
}

// ---------------------------------------------------------------------------------------------
// uv.lock
// ---------------------------------------------------------------------------------------------

type SourceKind = 'registry' | 'virtual' | 'editable' | 'directory' | 'path' | 'git' | 'url';
const SOURCE_KINDS: readonly SourceKind[] = ['registry', 'virtual', 'editable', 'directory', 'path', 'git', 'url'];

interface LockSource {
  kind: SourceKind;
  value: string;
  subdirectory?: string;
}

interface LockDependency {
  name: string;
  version?: string;
  source?: LockSource;
  marker: Marker;
  extras: string[];
}

interface LockPackage {
  index: number;
  name: string;
  version: string | undefined;
  source: LockSource;
  dependencies: LockDependency[];
  optional: Map<string, LockDependency[]>;
  groups: Map<string, LockDependency[]>;
}

interface Lock {
  packages: LockPackage[];
  byName: Map<string, LockPackage[]>;
  /** `conflicts` declared: markers may then carry encoded extra/group conditions. */
  hasConflicts: boolean;
}

function readLock(text: string): Lock {
  const doc = parseTomlOrThrow(withoutDistributions(text), 'uv.lock');
  if (doc['version'] !== 1) {
    throw new UvLockError(`uv.lock: unsupported lock version ${JSON.stringify(doc['version'] ?? null)} (expected 1)`);
  }
  const rawPackages = doc['package'] ?? [];
  if (!Array.isArray(rawPackages)) throw new UvLockError('uv.lock: `package` is not an array of tables');

  const packages = rawPackages.map((raw, index) => readPackage(raw, index));
  const byName = new Map<string, LockPackage[]>();
  for (const pkg of packages) {
    const list = byName.get(pkg.name);
    if (list) list.push(pkg);
    else byName.set(pkg.name, [pkg]);
  }
  const conflicts = doc['conflicts'];
  return { packages, byName, hasConflicts: Array.isArray(conflicts) && conflicts.length > 0 };
}

function readPackage(raw: unknown, index: number): LockPackage {
  const table = asTable(raw);
  const rawName = table?.['name'];
  if (!table || typeof rawName !== 'string') throw new UvLockError(`uv.lock: package #${index + 1} has no name`);
  const name = normalizeName(rawName);
  const where = `uv.lock: package ${name}`;
  const version = table['version'];
  if (version !== undefined && typeof version !== 'string') throw new UvLockError(`${where}: version is not a string`);
  const source = readSource(table['source'], `${where}: source`);
  if (!source) throw new UvLockError(`${where} has no source`);

  return {
    index,
    name,
    version,
    source,
    dependencies: readDependencyList(table['dependencies'], `${where}: dependencies`),
    optional: readDependencyTable(table['optional-dependencies'], `${where}: optional-dependencies`),
    groups: readDependencyTable(table['dev-dependencies'], `${where}: dev-dependencies`),
  };
}

function readSource(raw: unknown, where: string): LockSource | undefined {
  if (raw === undefined) return undefined;
  const table = asTable(raw);
  const kind = SOURCE_KINDS.find((k) => typeof table?.[k] === 'string');
  if (!table || !kind) throw new UvLockError(`${where} is not one of ${SOURCE_KINDS.join(', ')}`);
  const source: LockSource = { kind, value: table[kind] as string };
  if (typeof table['subdirectory'] === 'string') source.subdirectory = table['subdirectory'];
  return source;
}

function readDependencyTable(raw: unknown, where: string): Map<string, LockDependency[]> {
  const result = new Map<string, LockDependency[]>();
  if (raw === undefined) return result;
  const table = asTable(raw);
  if (!table) throw new UvLockError(`${where} is not a table`);
  for (const [key, value] of Object.entries(table)) {
    result.set(normalizeName(key), readDependencyList(value, `${where}.${key}`));
  }
  return result;
}

function readDependencyList(raw: unknown, where: string): LockDependency[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new UvLockError(`${where} is not an array`);
  return raw.map((entry, i) => readDependency(entry, `${where}[${i}]`));
}

function readDependency(raw: unknown, where: string): LockDependency {
  const table = asTable(raw);
  const name = table?.['name'];
  if (!table || typeof name !== 'string') throw new UvLockError(`${where} has no name`);
  const dep: LockDependency = { name: normalizeName(name), marker: Marker.TRUE, extras: [] };
  if (typeof table['version'] === 'string') dep.version = table['version'];
  const source = readSource(table['source'], `${where}: source`);
  if (source) dep.source = source;
  const marker = table['marker'];
  if (marker !== undefined) {
    if (typeof marker !== 'string') throw new UvLockError(`${where}: marker is not a string`);
    try {
      dep.marker = Marker.parse(marker);
    } catch (err) {
      throw new UvLockError(`${where} (${dep.name}): ${(err as Error).message}`);
    }
  }
  const extras = table['extra'];
  if (extras !== undefined) {
    if (!Array.isArray(extras) || !extras.every((e) => typeof e === 'string')) {
      throw new UvLockError(`${where} (${dep.name}): extra is not a list of names`);
    }
    dep.extras = extras.map(normalizeName);
  }
  return dep;
}

function findProjectPackage(lock: Lock, projectName: string): LockPackage {
  const candidates = lock.byName.get(projectName) ?? [];
  // The project is the package whose source is the directory holding the lock.
  const atRoot = candidates.filter(
    (p) => (p.source.kind === 'virtual' || p.source.kind === 'editable') && isCurrentDirectory(p.source.value),
  );
  const found = atRoot[0] ?? (candidates.length === 1 ? candidates[0] : undefined);
  if (!found) {
    throw new UvLockError(
      `uv.lock has no package for the project "${projectName}" of pyproject.toml; run \`uv lock\` to refresh it`,
    );
  }
  return found;
}

function isCurrentDirectory(path: string): boolean {
  return path === '.' || path === './' || path === '';
}

/** The lock package a dependency entry points at: by name, then version and source when given. */
function resolveDependency(lock: Lock, dep: LockDependency, from: LockPackage): LockPackage {
  let candidates = lock.byName.get(dep.name) ?? [];
  if (candidates.length === 0) {
    throw new UvLockError(`uv.lock: ${from.name} depends on ${dep.name}, which has no [[package]] entry`);
  }
  if (dep.version !== undefined) candidates = candidates.filter((p) => p.version !== undefined && sameVersion(p.version, dep.version!));
  if (dep.source) candidates = candidates.filter((p) => sameSource(p.source, dep.source!));
  const [only, ...more] = candidates;
  if (!only || more.length > 0) {
    const wanted = [dep.name, dep.version].filter(Boolean).join(' ');
    throw new UvLockError(
      `uv.lock: ${from.name} depends on ${wanted}, which matches ${candidates.length} [[package]] entries`,
    );
  }
  return only;
}

function sameSource(a: LockSource, b: LockSource): boolean {
  return a.kind === b.kind && a.value === b.value && (a.subdirectory ?? '') === (b.subdirectory ?? '');
}

function sameVersion(a: string, b: string): boolean {
  return a === b || comparePep440(a, b) === 0;
}

// ---------------------------------------------------------------------------------------------
// Dependency graph and marker reachability
// ---------------------------------------------------------------------------------------------

/** The synthetic root node; package nodes use their lock index. */
const ROOT = -1;

interface Edge {
  from: number;
  to: number;
  marker: Marker;
}

interface Graph {
  /** Every package reached, in discovery order. */
  nodes: LockPackage[];
  edges: Edge[];
  /** `index|extra` (or `index|` for the base package) of everything followed. */
  activated: Set<string>;
}

/**
 * Follows the project's dependencies breadth-first, as uv does: the root points at the project
 * (unconditionally) and at the enabled groups' dependencies; every (package, extra) pair reached
 * contributes the edges of its `dependencies` or `optional-dependencies.<extra>` table.
 */
function buildGraph(lock: Lock, project: LockPackage, groups: Set<string>): Graph {
  const graph: Graph = { nodes: [], edges: [], activated: new Set() };
  const inGraph = new Set<number>();
  const queue: { pkg: LockPackage; extra: string | null }[] = [];
  const addNode = (pkg: LockPackage): void => {
    if (!inGraph.has(pkg.index)) {
      inGraph.add(pkg.index);
      graph.nodes.push(pkg);
    }
  };
  const follow = (from: LockPackage | null, dep: LockDependency): void => {
    const target = resolveDependency(lock, dep, from ?? project);
    addNode(target);
    graph.edges.push({ from: from ? from.index : ROOT, to: target.index, marker: dep.marker });
    for (const extra of [null, ...dep.extras]) {
      const key = `${target.index}|${extra ?? ''}`;
      if (!graph.activated.has(key)) {
        graph.activated.add(key);
        queue.push({ pkg: target, extra });
      }
    }
  };

  addNode(project);
  graph.edges.push({ from: ROOT, to: project.index, marker: Marker.TRUE });
  queue.push({ pkg: project, extra: null });
  // Group dependencies hang off the root: uv can install them without the project itself.
  for (const [group, deps] of project.groups) {
    if (groups.has(group)) for (const dep of deps) follow(null, dep);
  }

  for (let item = queue.shift(); item; item = queue.shift()) {
    const deps = item.extra === null ? item.pkg.dependencies : (item.pkg.optional.get(item.extra) ?? []);
    for (const dep of deps) follow(item.pkg, dep);
  }
  return graph;
}

/**
 * The marker under which each node is needed: the OR over all root paths of the AND of the edge
 * markers. A node is revisited only when its marker grows, which also ends cycles.
 */
function reachability(graph: Graph): Map<number, Marker> {
  const outgoing = new Map<number, Edge[]>();
  for (const edge of graph.edges) {
    const list = outgoing.get(edge.from);
    if (list) list.push(edge);
    else outgoing.set(edge.from, [edge]);
  }
  const reach = new Map<number, Marker>([[ROOT, Marker.TRUE]]);
  const stack = [ROOT];
  for (let parent = stack.pop(); parent !== undefined; parent = stack.pop()) {
    const parentMarker = reach.get(parent) ?? Marker.FALSE;
    for (const edge of outgoing.get(parent) ?? []) {
      const viaParent = edge.marker.and(parentMarker);
      const existing = reach.get(edge.to);
      const merged = existing ? viaParent.or(existing) : viaParent;
      if (!existing || !merged.equals(existing)) {
        reach.set(edge.to, merged);
        stack.push(edge.to);
      }
    }
  }
  return reach;
}

/**
 * With `conflicts` declared, uv encodes "extra x of package p is enabled" into markers as
 * `extra == 'extra-<len>-<p>-<x>'` (and `group-…` for dependency groups). Those conditions are
 * decided here: a project group is on when enabled, another package's extra is on when the
 * traversal requested it anywhere.
 *
 * Approximation: uv tracks these per path (conflict_marker_reachability); deciding them globally
 * is exact for the usual case (one enabled side of each conflict) but may keep a package whose
 * conditions only hold on different paths.
 */
function resolveConflictMarkers(graph: Graph, lock: Lock, project: LockPackage, groups: Set<string>): void {
  const enabled = (encoded: string): boolean | undefined => {
    const item = decodeConflictItem(encoded);
    if (!item) return undefined;
    if (item.kind === 'group') return item.pkg === project.name && groups.has(item.name);
    return (lock.byName.get(item.pkg) ?? []).some((p) => graph.activated.has(`${p.index}|${item.name}`));
  };
  for (const edge of graph.edges) edge.marker = edge.marker.assumeExtras(enabled);
}

function decodeConflictItem(encoded: string): { kind: 'extra' | 'group'; pkg: string; name: string } | undefined {
  const match = /^(extra|group)-(\d+)-(.*)$/.exec(encoded);
  if (!match) return undefined;
  const rest = match[3] ?? '';
  const length = Number(match[2]);
  if (rest.length <= length + 1 || rest[length] !== '-') return undefined;
  return { kind: match[1] as 'extra' | 'group', pkg: rest.slice(0, length), name: rest.slice(length + 1) };
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

function toRequirement(pkg: LockPackage, marker: Marker): ExportedRequirement {
  const requirement: ExportedRequirement = { name: pkg.name, version: pkg.version ?? '', marker: marker.contents() };
  const direct = directReference(pkg);
  if (direct !== undefined) requirement.direct = direct;
  return requirement;
}

function requirementLine(r: ExportedRequirement): string {
  const head = r.direct ?? `${r.name}==${r.version}`;
  return r.marker === null ? head : `${head} ; ${r.marker}`;
}

/** What uv writes instead of `name==version` for packages not from an index. */
function directReference(pkg: LockPackage): string | undefined {
  const { kind, value, subdirectory } = pkg.source;
  const fragment = subdirectory ? `#subdirectory=${subdirectory}` : '';
  switch (kind) {
    case 'registry':
    case 'virtual':
      return undefined;
    case 'editable':
      return `-e ${localPath(value)}`;
    case 'directory':
    case 'path':
      return localPath(value);
    case 'url':
      return `${pkg.name} @ ${value}${fragment}`;
    case 'git':
      return `${pkg.name} @ ${gitReference(value)}`;
  }
}

/** A lock git source `https://host/repo?rev=x&subdirectory=y#<commit>` as a pinned PEP 508 URL. */
function gitReference(source: string): string {
  const hash = source.indexOf('#');
  const commit = hash >= 0 ? source.slice(hash + 1) : '';
  const withoutCommit = hash >= 0 ? source.slice(0, hash) : source;
  const query = withoutCommit.indexOf('?');
  const repository = query >= 0 ? withoutCommit.slice(0, query) : withoutCommit;
  const params = new URLSearchParams(query >= 0 ? withoutCommit.slice(query + 1) : '');
  const ref = commit || params.get('rev') || params.get('tag') || params.get('branch') || '';
  const subdirectory = params.get('subdirectory');
  return `git+${repository}${ref ? `@${ref}` : ''}${subdirectory ? `#subdirectory=${subdirectory}` : ''}`;
}

/** Relative paths are anchored at the current directory (`./pkg`), absolute ones become file URLs. */
function localPath(path: string): string {
  if (path.startsWith('/')) return `file://${path}`;
  if (/^[A-Za-z]:[\\/]/.test(path)) return `file:///${path.replace(/\\/g, '/')}`;
  if (path === '' || path === '.') return '.';
  if (path === '..' || path.startsWith('./') || path.startsWith('../')) return path;
  return `./${path}`;
}

/** uv's order: editables (by path), then local paths (by path), then packages by name, version, source. */
function comparePackagesForOutput(a: LockPackage, b: LockPackage): number {
  const rank = (p: LockPackage): number =>
    p.source.kind === 'editable' ? 0 : p.source.kind === 'directory' || p.source.kind === 'path' ? 1 : 2;
  const byRank = rank(a) - rank(b);
  if (byRank !== 0) return byRank;
  if (rank(a) < 2) return compareStrings(a.source.value, b.source.value);
  return (
    compareStrings(a.name, b.name) ||
    comparePep440(a.version ?? '', b.version ?? '') ||
    compareStrings(`${a.source.kind}:${a.source.value}`, `${b.source.kind}:${b.source.value}`)
  );
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

type TomlTable = Record<string, unknown>;

/**
 * uv writes each package's `wheels = [...]` list and `sdist = {...}` on lines of their own. They
 * are most of a lock's bytes and the export never reads them, so they are cut before parsing
 * (several times faster). A lock laid out any other way is parsed whole.
 */
function withoutDistributions(text: string): string {
  const lines = text.split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('sdist = {') && line.trimEnd().endsWith('}')) continue;
    if (line.startsWith('wheels = [')) {
      if (line.trimEnd().endsWith(']')) continue;
      let end = i + 1;
      while (end < lines.length && lines[end]!.trimEnd() !== ']') end++;
      if (end === lines.length) return text;
      i = end;
      continue;
    }
    kept.push(line);
  }
  return kept.join('\n');
}

function parseTomlOrThrow(text: string, file: string): TomlTable {
  try {
    return parseToml(text) as TomlTable;
  } catch (err) {
    const first = String((err as Error).message ?? err).split('\n')[0];
    throw new UvLockError(`${file} is not valid TOML: ${first}`);
  }
}

function asTable(value: unknown): TomlTable | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as TomlTable) : undefined;
}

/** PEP 503 normalization, which uv applies to package, extra and group names. */
function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/[-_.]+/g, '-');
}

/** Byte-wise (code unit) order, as Rust compares strings. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// PEP 440 version order (for several locked versions of one package)
// ---------------------------------------------------------------------------------------------

interface Pep440Version {
  epoch: number;
  release: number[];
  pre: [number, number] | null;
  post: number | null;
  dev: number | null;
  local: (number | string)[] | null;
}

const PEP440_VERSION =
  /^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d+)?)?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?(?:[-_.]?(dev)[-_.]?(\d+)?)?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i;

function parsePep440(text: string): Pep440Version | null {
  const m = PEP440_VERSION.exec(text);
  if (!m) return null;
  const preKind = m[3]?.toLowerCase();
  const preRank = preKind === undefined ? -1 : preKind.startsWith('a') ? 0 : preKind === 'b' || preKind === 'beta' ? 1 : 2;
  const postNumber = m[5] ?? (m[6] !== undefined ? (m[7] ?? '0') : undefined);
  return {
    epoch: Number(m[1] ?? 0),
    release: (m[2] ?? '0').split('.').map(Number),
    pre: preRank >= 0 ? [preRank, Number(m[4] ?? 0)] : null,
    post: postNumber !== undefined ? Number(postNumber) : null,
    dev: m[8] !== undefined ? Number(m[9] ?? 0) : null,
    local: m[10] ? m[10].toLowerCase().split(/[-_.]/).map((s) => (/^\d+$/.test(s) ? Number(s) : s)) : null,
  };
}

/** PEP 440 ordering; strings that are not versions fall back to plain string order. */
export function comparePep440(a: string, b: string): number {
  const va = parsePep440(a);
  const vb = parsePep440(b);
  if (!va || !vb) return compareStrings(a, b);
  return (
    va.epoch - vb.epoch ||
    compareRelease(va.release, vb.release) ||
    compareTuple(preKey(va), preKey(vb)) ||
    (va.post ?? -1) - (vb.post ?? -1) ||
    (va.dev ?? Infinity) - (vb.dev ?? Infinity) ||
    compareLocal(va.local, vb.local)
  );
}

/** A bare dev release sorts before any pre-release of the same version; a final after them. */
function preKey(v: Pep440Version): [number, number] {
  if (v.pre) return v.pre;
  return v.post === null && v.dev !== null ? [-1, 0] : [3, 0];
}

function compareTuple(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

function compareLocal(a: (number | string)[] | null, b: (number | string)[] | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x !== typeof y) return typeof x === 'number' ? 1 : -1;
    const c = typeof x === 'number' ? x - (y as number) : compareStrings(x, y as string);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Release segments compared with implied trailing zeros (3.12 == 3.12.0). */
function compareRelease(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = (a[i] ?? 0) - (b[i] ?? 0);
    if (c !== 0) return c;
  }
  return 0;
}

// =============================================================================================
// Marker algebra
// =============================================================================================
//
// Markers are kept as reduced, ordered decision diagrams (as uv does): each inner node tests one
// variable and has one child per value range (string and version variables) or per truth value
// (`in`, `contains` and `extra` tests). Identical nodes are shared, so two markers are equivalent
// exactly when they are the same node, contradictions collapse to FALSE and tautologies to TRUE.
//
// Printing walks every path to TRUE (giving a DNF), drops literals made redundant by a
// complementary clause and clauses absorbed by a smaller one, and orders literals and clauses by
// marker kind — the same steps, in the same order, as uv's `to_dnf`, so the text matches uv's.
// That DNF clean-up is, like uv's, not a complete minimization; the output always denotes exactly
// the environments of the diagram.

type StringKey =
  | 'os_name'
  | 'sys_platform'
  | 'platform_system'
  | 'platform_machine'
  | 'platform_python_implementation'
  | 'platform_release'
  | 'platform_version'
  | 'implementation_name';
type VersionKey = 'implementation_version' | 'python_full_version';

/** Decision order of string variables. os_name/sys_platform/platform_system come first because
 * known-incompatible pairs among them are detected at the top of a diagram. */
const STRING_KEY_ORDER: readonly StringKey[] = [
  'os_name',
  'sys_platform',
  'platform_system',
  'platform_machine',
  'platform_python_implementation',
  'platform_release',
  'platform_version',
  'implementation_name',
];
const VERSION_KEY_ORDER: readonly VersionKey[] = ['implementation_version', 'python_full_version'];

/** Marker names (including PEP 345 spellings) → canonical variable. */
const STRING_KEYS: Readonly<Record<string, StringKey>> = {
  os_name: 'os_name',
  'os.name': 'os_name',
  sys_platform: 'sys_platform',
  'sys.platform': 'sys_platform',
  platform_system: 'platform_system',
  platform_machine: 'platform_machine',
  'platform.machine': 'platform_machine',
  platform_python_implementation: 'platform_python_implementation',
  'platform.python_implementation': 'platform_python_implementation',
  python_implementation: 'platform_python_implementation',
  platform_release: 'platform_release',
  platform_version: 'platform_version',
  'platform.version': 'platform_version',
  implementation_name: 'implementation_name',
};

/** `platform_system` values that always equal a `sys_platform` value are rewritten to it. */
const PLATFORM_SYSTEM_TO_SYS_PLATFORM: Readonly<Record<string, string>> = {
  Windows: 'win32',
  Darwin: 'darwin',
  Linux: 'linux',
  AIX: 'aix',
  Emscripten: 'emscripten',
  Android: 'android',
};

/** Printing order of literals within a clause (uv sorts by marker kind, then marker name). */
const PRINT_RANK: Readonly<Record<StringKey | VersionKey | 'extra', number>> = {
  implementation_version: 1,
  python_full_version: 2,
  implementation_name: 100,
  os_name: 101,
  platform_machine: 103,
  platform_python_implementation: 105,
  platform_release: 108,
  platform_system: 109,
  platform_version: 110,
  sys_platform: 112,
  extra: 400,
};

type Variable =
  | { kind: 'string'; key: StringKey }
  | { kind: 'version'; key: VersionKey }
  | { kind: 'in' | 'contains'; key: StringKey; value: string }
  | { kind: 'extra'; name: string };

const VARIABLE_KIND_ORDER = { string: 0, version: 1, in: 2, contains: 3, extra: 4 } as const;

function compareVariables(a: Variable, b: Variable): number {
  const byKind = VARIABLE_KIND_ORDER[a.kind] - VARIABLE_KIND_ORDER[b.kind];
  if (byKind !== 0) return byKind;
  if (a.kind === 'extra' || b.kind === 'extra') return compareStrings(variableName(a), variableName(b));
  if (a.kind === 'version' || b.kind === 'version') {
    return VERSION_KEY_ORDER.indexOf(a.key as VersionKey) - VERSION_KEY_ORDER.indexOf(b.key as VersionKey);
  }
  const byKey = STRING_KEY_ORDER.indexOf(a.key) - STRING_KEY_ORDER.indexOf(b.key);
  if (byKey !== 0 || a.kind === 'string' || b.kind === 'string') return byKey;
  return compareStrings(a.value, b.value);
}

function variableName(v: Variable): string {
  switch (v.kind) {
    case 'extra':
      return v.name;
    case 'in':
    case 'contains':
      return `${v.kind}:${v.key}:${v.value}`;
    default:
      return `${v.kind}:${v.key}`;
  }
}

/** True for the variables that take part in known-incompatible pairs (see `exclusions`). */
function isConflictingVariable(v: Variable): boolean {
  return v.kind === 'string' && (v.key === 'os_name' || v.key === 'sys_platform' || v.key === 'platform_system');
}

// ---- Value ranges ---------------------------------------------------------------------------
// String variables range over strings (code unit order), version variables over release tuples
// (compared with implied trailing zeros). A decision node splits the whole line into segments.

type Value = string | readonly number[];
type Bound = { kind: 'unbounded' } | { kind: 'included' | 'excluded'; value: Value };
interface Segment {
  lower: Bound;
  upper: Bound;
}

const UNBOUNDED: Bound = { kind: 'unbounded' };

function compareValues(a: Value, b: Value): number {
  if (typeof a === 'string' || typeof b === 'string') return compareStrings(String(a), String(b));
  return compareRelease(a, b);
}

function valueId(v: Value): string {
  return typeof v === 'string' ? JSON.stringify(v) : trimRelease(v).join('.');
}

function included(value: Value): Bound {
  return { kind: 'included', value };
}
function excluded(value: Value): Bound {
  return { kind: 'excluded', value };
}

/** Orders lower bounds: unbounded first; at one value, an included bound starts earlier. */
function compareLower(a: Bound, b: Bound): number {
  if (a.kind === 'unbounded' || b.kind === 'unbounded') return a.kind === b.kind ? 0 : a.kind === 'unbounded' ? -1 : 1;
  const c = compareValues(a.value, b.value);
  if (c !== 0 || a.kind === b.kind) return c;
  return a.kind === 'included' ? -1 : 1;
}

/** Orders upper bounds: unbounded last; at one value, an excluded bound ends earlier. */
function compareUpper(a: Bound, b: Bound): number {
  if (a.kind === 'unbounded' || b.kind === 'unbounded') return a.kind === b.kind ? 0 : a.kind === 'unbounded' ? 1 : -1;
  const c = compareValues(a.value, b.value);
  if (c !== 0 || a.kind === b.kind) return c;
  return a.kind === 'excluded' ? -1 : 1;
}

function isEmptySegment(s: Segment): boolean {
  if (s.lower.kind === 'unbounded' || s.upper.kind === 'unbounded') return false;
  const c = compareValues(s.lower.value, s.upper.value);
  return c > 0 || (c === 0 && (s.lower.kind === 'excluded' || s.upper.kind === 'excluded'));
}

function intersectSegments(a: Segment, b: Segment): Segment | null {
  const s = {
    lower: compareLower(a.lower, b.lower) >= 0 ? a.lower : b.lower,
    upper: compareUpper(a.upper, b.upper) <= 0 ? a.upper : b.upper,
  };
  return isEmptySegment(s) ? null : s;
}

/** The lower bound of what follows a segment ending at `upper` (no gap, no overlap). */
function startAfter(upper: Bound & { value: Value }): Bound {
  return upper.kind === 'included' ? excluded(upper.value) : included(upper.value);
}

/** The upper bound of what precedes a segment starting at `lower`. */
function endBefore(lower: Bound & { value: Value }): Bound {
  return lower.kind === 'included' ? excluded(lower.value) : included(lower.value);
}

/** The gaps of a sorted list of disjoint segments. */
function complementSegments(segments: readonly Segment[]): Segment[] {
  const result: Segment[] = [];
  let lower: Bound | null = UNBOUNDED;
  for (const s of segments) {
    if (lower && s.lower.kind !== 'unbounded') {
      const gap = { lower, upper: endBefore(s.lower) };
      if (!isEmptySegment(gap)) result.push(gap);
    }
    lower = s.upper.kind === 'unbounded' ? null : startAfter(s.upper);
  }
  if (lower) result.push({ lower, upper: UNBOUNDED });
  return result;
}

/** Whether `a` ends exactly where `b` starts. */
function touches(a: Segment, b: Segment): boolean {
  if (a.upper.kind === 'unbounded' || b.lower.kind === 'unbounded') return false;
  return a.upper.kind !== b.lower.kind && compareValues(a.upper.value, b.lower.value) === 0;
}

/** Sorted, merged union of segments. */
function unionSegments(segments: readonly Segment[]): Segment[] {
  const sorted = [...segments].sort((a, b) => compareLower(a.lower, b.lower));
  const result: Segment[] = [];
  for (const s of sorted) {
    const last = result[result.length - 1];
    if (last && (intersectSegments(last, s) || touches(last, s))) {
      if (compareUpper(s.upper, last.upper) > 0) last.upper = s.upper;
    } else {
      result.push({ ...s });
    }
  }
  return result;
}

function trimRelease(release: readonly number[]): number[] {
  let end = release.length;
  while (end > 1 && release[end - 1] === 0) end--;
  return release.slice(0, end);
}

// ---- Decision diagram -----------------------------------------------------------------------

type NodeId = number;
const TRUE_ID: NodeId = 0;
const FALSE_ID: NodeId = 1;

interface RangeEdge {
  segment: Segment;
  child: NodeId;
}
type DecisionNode =
  | { variable: Variable & { kind: 'string' | 'version' }; edges: RangeEdge[] }
  | { variable: Variable & { kind: 'in' | 'contains' | 'extra' }; high: NodeId; low: NodeId };

/** Holds every decision node; nodes are shared (hash-consed), which makes equality an id check. */
class DecisionDiagrams {
  private readonly nodes: DecisionNode[] = [];
  private readonly unique = new Map<string, NodeId>();
  private readonly andCache = new Map<string, NodeId>();
  private readonly notCache = new Map<NodeId, NodeId>();
  private exclusionsId: NodeId | undefined;

  node(id: NodeId): DecisionNode {
    const node = this.nodes[id - 2];
    if (!node) throw new Error(`no decision node ${id}`);
    return node;
  }

  /** A node over a range variable; adjacent segments leading to the same child are merged. */
  rangeNode(variable: Variable & { kind: 'string' | 'version' }, edges: readonly RangeEdge[]): NodeId {
    const merged: RangeEdge[] = [];
    for (const edge of edges) {
      const last = merged[merged.length - 1];
      if (last && last.child === edge.child) last.segment = { lower: last.segment.lower, upper: edge.segment.upper };
      else merged.push({ segment: edge.segment, child: edge.child });
    }
    const [first, ...rest] = merged;
    if (!first) throw new Error('a decision node needs edges');
    if (rest.length === 0) return first.child;
    const key = `${variableName(variable)}|${merged.map((e) => `${boundId(e.segment.lower)},${boundId(e.segment.upper)}>${e.child}`).join(';')}`;
    return this.intern(key, { variable, edges: merged });
  }

  boolNode(variable: Variable & { kind: 'in' | 'contains' | 'extra' }, high: NodeId, low: NodeId): NodeId {
    if (high === low) return high;
    return this.intern(`${variableName(variable)}|${high}|${low}`, { variable, high, low });
  }

  /** A node true exactly on the given sorted, disjoint segments. */
  fromSegments(variable: Variable & { kind: 'string' | 'version' }, segments: readonly Segment[]): NodeId {
    const edges = [
      ...segments.map((segment) => ({ segment, child: TRUE_ID })),
      ...complementSegments(segments).map((segment) => ({ segment, child: FALSE_ID })),
    ].sort((a, b) => compareLower(a.segment.lower, b.segment.lower));
    return this.rangeNode(variable, edges);
  }

  not(id: NodeId): NodeId {
    if (id === TRUE_ID) return FALSE_ID;
    if (id === FALSE_ID) return TRUE_ID;
    const cached = this.notCache.get(id);
    if (cached !== undefined) return cached;
    const result = this.mapChildren(id, (child) => this.not(child));
    this.notCache.set(id, result);
    return result;
  }

  and(x: NodeId, y: NodeId): NodeId {
    return this.conjunction(x, y, true);
  }

  /** OR through De Morgan, like uv, so that known incompatibilities apply to both operations. */
  or(x: NodeId, y: NodeId): NodeId {
    return this.not(this.conjunction(this.not(x), this.not(y), true));
  }

  /** Fixes boolean variables for which `decide` returns a value; others are kept. */
  restrict(id: NodeId, decide: (v: Variable) => boolean | undefined, done = new Map<NodeId, NodeId>()): NodeId {
    if (id === TRUE_ID || id === FALSE_ID) return id;
    const cached = done.get(id);
    if (cached !== undefined) return cached;
    const node = this.node(id);
    const value = 'high' in node ? decide(node.variable) : undefined;
    const result =
      value !== undefined && 'high' in node
        ? this.restrict(value ? node.high : node.low, decide, done)
        : this.mapChildren(id, (child) => this.restrict(child, decide, done));
    done.set(id, result);
    return result;
  }

  private conjunction(x: NodeId, y: NodeId, withExclusions: boolean): NodeId {
    if (x === TRUE_ID) return y;
    if (y === TRUE_ID) return x;
    if (x === y) return x;
    if (x === FALSE_ID || y === FALSE_ID) return FALSE_ID;
    const key = `${Math.min(x, y)},${Math.max(x, y)},${withExclusions ? 1 : 0}`;
    const cached = this.andCache.get(key);
    if (cached !== undefined) return cached;

    const nx = this.node(x);
    const ny = this.node(y);
    const order = compareVariables(nx.variable, ny.variable);
    const conj = (a: NodeId, b: NodeId): NodeId => this.conjunction(a, b, withExclusions);
    let result: NodeId;
    if (order < 0) result = this.mapChildren(x, (child) => conj(child, y));
    else if (order > 0) result = this.mapChildren(y, (child) => conj(child, x));
    else result = this.mergeChildren(nx, ny, conj);

    // Environments no real interpreter has (e.g. os_name == 'nt' on sys_platform == 'linux')
    // make a conjunction false when it lies entirely within them, as uv assumes.
    if (
      withExclusions &&
      result !== FALSE_ID &&
      isConflictingVariable(nx.variable) &&
      isConflictingVariable(ny.variable) &&
      this.conjunction(result, this.not(this.exclusions()), false) === FALSE_ID
    ) {
      result = FALSE_ID;
    }
    this.andCache.set(key, result);
    return result;
  }

  /** Combines two nodes over the same variable child by child. */
  private mergeChildren(a: DecisionNode, b: DecisionNode, op: (x: NodeId, y: NodeId) => NodeId): NodeId {
    if ('high' in a && 'high' in b) return this.boolNode(a.variable, op(a.high, b.high), op(a.low, b.low));
    if ('edges' in a && 'edges' in b) {
      const edges: RangeEdge[] = [];
      for (const left of a.edges) {
        for (const right of b.edges) {
          const segment = intersectSegments(left.segment, right.segment);
          if (segment) edges.push({ segment, child: op(left.child, right.child) });
        }
      }
      return this.rangeNode(a.variable, edges);
    }
    throw new Error('cannot merge nodes of different shapes');
  }

  private mapChildren(id: NodeId, f: (child: NodeId) => NodeId): NodeId {
    const node = this.node(id);
    if ('high' in node) return this.boolNode(node.variable, f(node.high), f(node.low));
    return this.rangeNode(
      node.variable,
      node.edges.map((e) => ({ segment: e.segment, child: f(e.child) })),
    );
  }

  /**
   * Known-impossible combinations, as uv encodes them: os_name 'nt' with sys_platform linux,
   * darwin or ios; os_name 'posix' with win32; BSD/SunOS/iOS platform_system values with the
   * common sys_platform values.
   */
  private exclusions(): NodeId {
    if (this.exclusionsId !== undefined) return this.exclusionsId;
    const eq = (key: StringKey, value: string): NodeId => this.fromSegments({ kind: 'string', key }, [singleton(value)]);
    const rawOr = (a: NodeId, b: NodeId): NodeId => this.not(this.conjunction(this.not(a), this.not(b), false));
    const pairs: [NodeId, NodeId][] = [
      [eq('os_name', 'nt'), eq('sys_platform', 'linux')],
      [eq('os_name', 'nt'), eq('sys_platform', 'darwin')],
      [eq('os_name', 'nt'), eq('sys_platform', 'ios')],
      [eq('os_name', 'posix'), eq('sys_platform', 'win32')],
    ];
    const sysPlatforms = ['aix', 'android', 'emscripten', 'ios', 'linux', 'darwin', 'win32', 'cygwin', 'wasi'];
    for (const system of ['FreeBSD', 'NetBSD', 'OpenBSD', 'SunOS', 'iOS', 'iPadOS']) {
      for (const platform of sysPlatforms) {
        if (platform === 'ios' && (system === 'iOS' || system === 'iPadOS')) continue;
        pairs.push([eq('platform_system', system), eq('sys_platform', platform)]);
      }
    }
    let tree = FALSE_ID;
    for (const [a, b] of pairs) tree = rawOr(tree, this.conjunction(a, b, false));
    this.exclusionsId = tree;
    return tree;
  }

  private intern(key: string, node: DecisionNode): NodeId {
    const existing = this.unique.get(key);
    if (existing !== undefined) return existing;
    this.nodes.push(node);
    const id = this.nodes.length + 1;
    this.unique.set(key, id);
    return id;
  }
}

function boundId(b: Bound): string {
  return b.kind === 'unbounded' ? '*' : `${b.kind === 'included' ? '[' : '('}${valueId(b.value)}`;
}

function singleton(value: Value): Segment {
  return { lower: included(value), upper: included(value) };
}

const DIAGRAMS = new DecisionDiagrams();

// ---- Marker values --------------------------------------------------------------------------

/** An environment marker (PEP 508), in canonical form. */
export class Marker {
  static readonly TRUE = new Marker(TRUE_ID);
  static readonly FALSE = new Marker(FALSE_ID);

  private constructor(private readonly id: NodeId) {}

  /** Parses a PEP 508 marker expression; throws UvLockError on a syntax error. */
  static parse(text: string): Marker {
    return new Marker(parseMarkerExpression(text));
  }

  and(other: Marker): Marker {
    return new Marker(DIAGRAMS.and(this.id, other.id));
  }

  or(other: Marker): Marker {
    return new Marker(DIAGRAMS.or(this.id, other.id));
  }

  negate(): Marker {
    return new Marker(DIAGRAMS.not(this.id));
  }

  isTrue(): boolean {
    return this.id === TRUE_ID;
  }

  isFalse(): boolean {
    return this.id === FALSE_ID;
  }

  /** Same set of environments. */
  equals(other: Marker): boolean {
    return this.id === other.id;
  }

  /** This marker with `extra == name` decided for the names `decide` knows. */
  assumeExtras(decide: (name: string) => boolean | undefined): Marker {
    return new Marker(DIAGRAMS.restrict(this.id, (v) => (v.kind === 'extra' ? decide(v.name) : undefined)));
  }

  /** The marker as uv prints it, or null when it always holds. */
  contents(): string | null {
    if (this.id === TRUE_ID) return null;
    if (this.id === FALSE_ID) return "python_version < '0'";
    return formatDnf(toDnf(this.id));
  }

  toString(): string {
    return this.contents() ?? 'true';
  }
}

// ---- Parsing --------------------------------------------------------------------------------

type Token =
  | { t: '(' | ')' | 'and' | 'or' }
  | { t: 'op'; v: string }
  | { t: 'name'; v: string }
  | { t: 'str'; v: string };

function tokenizeMarker(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s*(?:(\()|(\))|('[^']*'|"[^"]*")|(===|==|!=|<=|>=|~=|<|>)|(not\s+in\b)|([A-Za-z_][A-Za-z0-9_.]*))\s*/y;
  let at = 0;
  while (at < text.length && text.slice(at).trim() !== '') {
    pattern.lastIndex = at;
    const m = pattern.exec(text);
    if (!m) throw new UvLockError(`invalid marker "${text}": unexpected "${text.slice(at, at + 10)}"`);
    at = pattern.lastIndex;
    if (m[1]) tokens.push({ t: '(' });
    else if (m[2]) tokens.push({ t: ')' });
    else if (m[3]) tokens.push({ t: 'str', v: m[3].slice(1, -1) });
    else if (m[4]) tokens.push({ t: 'op', v: m[4] });
    else if (m[5]) tokens.push({ t: 'op', v: 'not in' });
    else if (m[6] === 'and' || m[6] === 'or') tokens.push({ t: m[6] });
    else if (m[6] === 'in') tokens.push({ t: 'op', v: 'in' });
    else if (m[6]) tokens.push({ t: 'name', v: m[6] });
  }
  return tokens;
}

/**
 * Recursive descent over `or` / `and` / parenthesised atoms. Like uv, comparisons that carry no
 * meaning (two literals, `~=` on a string, an unparsable version…) are left out of the
 * expression rather than rejected; `null` stands for such a dropped part.
 */
function parseMarkerExpression(text: string): NodeId {
  const tokens = tokenizeMarker(text);
  if (tokens.length === 0) return TRUE_ID;
  let pos = 0;
  const fail = (what: string): never => {
    throw new UvLockError(`invalid marker "${text}": ${what}`);
  };
  const peek = (): Token | undefined => tokens[pos];

  const parseOr = (): NodeId | null => {
    let result = parseAnd();
    while (peek()?.t === 'or') {
      pos++;
      const right = parseAnd();
      result = result === null ? right : right === null ? result : DIAGRAMS.or(result, right);
    }
    return result;
  };
  const parseAnd = (): NodeId | null => {
    let result = parseAtom();
    while (peek()?.t === 'and') {
      pos++;
      const right = parseAtom();
      result = result === null ? right : right === null ? result : DIAGRAMS.and(result, right);
    }
    return result;
  };
  const parseAtom = (): NodeId | null => {
    const token = peek();
    if (token?.t === '(') {
      pos++;
      const inner = parseOr();
      if (peek()?.t !== ')') fail('missing ")"');
      pos++;
      return inner;
    }
    const left = tokens[pos++];
    const op = tokens[pos++];
    const right = tokens[pos++];
    if (!left || !op || !right) return fail('incomplete comparison');
    if (op.t !== 'op') return fail('expected a comparison operator');
    if ((left.t !== 'name' && left.t !== 'str') || (right.t !== 'name' && right.t !== 'str')) {
      return fail('expected a marker name or a quoted string');
    }
    return comparison(left, op.v, right);
  };

  const result = parseOr();
  if (pos < tokens.length) fail('unexpected text after the expression');
  return result ?? TRUE_ID;
}

const REVERSED_OPERATOR: Readonly<Record<string, string>> = {
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
  '==': '==',
  '!=': '!=',
  '===': '===',
  '~=': '~=',
  in: 'contains',
  'not in': 'not contains',
};

/** One `<name> <op> '<value>'` comparison (either side may be the marker name). */
function comparison(
  left: { t: 'name' | 'str'; v: string },
  operator: string,
  right: { t: 'name' | 'str'; v: string },
): NodeId | null {
  let name: string;
  let value: string;
  let op = operator;
  if (left.t === 'name' && right.t === 'str') {
    name = left.v;
    value = right.v;
  } else if (left.t === 'str' && right.t === 'name') {
    name = right.v;
    value = left.v;
    op = REVERSED_OPERATOR[operator] ?? operator;
  } else {
    return null; // comparing two names or two literals means nothing
  }

  if (name === 'extra') return extraComparison(op, value);
  if (name === 'python_version' || name === 'python_full_version' || name === 'implementation_version') {
    return versionComparison(name, op, value);
  }
  const key = STRING_KEYS[name];
  if (!key) throw new UvLockError(`invalid marker: unknown marker name "${name}"`);
  return stringComparison(key, op, value);
}

function extraComparison(op: string, value: string): NodeId | null {
  if (op !== '==' && op !== '!=') return null;
  // A name that is not a valid extra name can never be an enabled extra.
  if (!/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/i.test(value)) return FALSE_ID;
  const variable = { kind: 'extra', name: normalizeName(value) } as const;
  return op === '==' ? DIAGRAMS.boolNode(variable, TRUE_ID, FALSE_ID) : DIAGRAMS.boolNode(variable, FALSE_ID, TRUE_ID);
}

function stringComparison(key: StringKey, op: string, value: string): NodeId | null {
  switch (op) {
    case 'in':
    case 'not in':
    case 'contains':
    case 'not contains': {
      const kind = op.endsWith('contains') ? 'contains' : 'in';
      const positive = !op.startsWith('not');
      return DIAGRAMS.boolNode({ kind, key, value }, positive ? TRUE_ID : FALSE_ID, positive ? FALSE_ID : TRUE_ID);
    }
    case '~=':
    case '===':
      return null;
  }
  const mapped = key === 'platform_system' ? PLATFORM_SYSTEM_TO_SYS_PLATFORM[value] : undefined;
  const variable = { kind: 'string', key: mapped ? 'sys_platform' : key } as const;
  return DIAGRAMS.fromSegments(variable, stringSegments(variable.key, op, mapped ?? value));
}

/**
 * Current marker semantics: `<`/`>` on pure string fields never hold and `<=`/`>=` mean
 * equality; platform_release and platform_version keep lexicographic ordering.
 */
function stringSegments(key: StringKey, op: string, value: string): Segment[] {
  const ordered = key === 'platform_release' || key === 'platform_version';
  switch (op) {
    case '==':
      return [singleton(value)];
    case '!=':
      return complementSegments([singleton(value)]);
    case '<':
      return ordered ? [{ lower: UNBOUNDED, upper: excluded(value) }] : [];
    case '<=':
      return ordered ? [{ lower: UNBOUNDED, upper: included(value) }] : [singleton(value)];
    case '>':
      return ordered ? [{ lower: excluded(value), upper: UNBOUNDED }] : [];
    case '>=':
      return ordered ? [{ lower: included(value), upper: UNBOUNDED }] : [singleton(value)];
  }
  throw new UvLockError(`invalid marker: operator "${op}" on ${key}`);
}

// ---- Version comparisons --------------------------------------------------------------------

type VersionOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '~=' | '===' | '==*' | '!=*';

/** A marker version: its release segments only (uv ignores pre/post/dev parts in markers). */
function parseMarkerVersion(text: string): { release: number[]; star: boolean } | null {
  const star = text.trim().endsWith('.*');
  const parsed = parsePep440(star ? text.trim().slice(0, -2) : text);
  return parsed ? { release: parsed.release, star } : null;
}

function versionComparison(name: string, op: string, value: string): NodeId | null {
  if (op === 'in' || op === 'not in') return versionInComparison(name, op === 'not in', value);
  const version = parseMarkerVersion(value);
  if (!version) return null;
  let specOp: VersionOp;
  if (version.star) {
    if (op !== '==' && op !== '!=') return null;
    specOp = op === '==' ? '==*' : '!=*';
  } else if (['==', '!=', '<', '<=', '>', '>=', '~=', '==='].includes(op)) {
    specOp = op as VersionOp;
  } else {
    return null;
  }
  if (specOp === '~=' && version.release.length < 2) return null;

  if (name === 'python_version') {
    const lowered = pythonVersionToFullVersion(specOp, trimPatchZeros(version.release));
    if (typeof lowered === 'number') return lowered;
    return versionNode('python_full_version', versionSegments(lowered.op, lowered.release));
  }
  return versionNode(name as VersionKey, versionSegments(specOp, version.release));
}

function versionNode(key: VersionKey, segments: Segment[]): NodeId {
  return DIAGRAMS.fromSegments({ kind: 'version', key }, segments);
}

/** `python_version in '3.8 3.9'` and friends. */
function versionInComparison(name: string, negated: boolean, value: string): NodeId | null {
  const versions = value.split(/\s+/).filter(Boolean).map(parseMarkerVersion);
  if (versions.length === 0 || versions.some((v) => v === null || v.star)) return null;
  const parts: Segment[] = [];
  for (const v of versions as { release: number[] }[]) {
    if (name !== 'python_version') {
      parts.push(singleton(trimRelease(v.release)));
      continue;
    }
    const lowered = pythonVersionToFullVersion('==', trimPatchZeros(v.release));
    if (typeof lowered === 'number') return lowered;
    parts.push(...versionSegments(lowered.op, lowered.release));
  }
  const union = unionSegments(parts);
  const key: VersionKey = name === 'implementation_version' ? 'implementation_version' : 'python_full_version';
  return versionNode(key, negated ? complementSegments(union) : union);
}

/** `3.9.0` compared with python_version means `3.9`; a non-zero patch part is kept. */
function trimPatchZeros(release: number[]): number[] {
  let end = release.length;
  while (end > 2 && release[end - 1] === 0) end--;
  return release.slice(0, end);
}

/**
 * `python_version` is `python_full_version` cut to major.minor, so every comparison on it is one
 * on the full version: `python_version > '3.8'` is `python_full_version >= '3.9'`, `== '3.8'` is
 * `== '3.8.*'`. Comparisons with a longer version are constant or round up to the next minor.
 */
function pythonVersionToFullVersion(op: VersionOp, release: number[]): { op: VersionOp; release: number[] } | NodeId {
  if (release.length === 1 && (op === '==*' || op === '!=*')) return { op, release };
  if (release.length <= 2) {
    const major = release[0] ?? 0;
    const minor = release[1] ?? 0;
    switch (op) {
      case '==':
      case '===':
        return { op: '==*', release: [major, minor] };
      case '!=':
        return { op: '!=*', release: [major, minor] };
      case '>':
        return { op: '>=', release: [major, minor + 1] };
      case '<=':
        return { op: '<', release: [major, minor + 1] };
      default:
        return { op, release };
    }
  }
  const [major = 0, minor = 0] = release;
  switch (op) {
    case '==':
    case '===':
    case '==*':
    case '~=':
      return FALSE_ID;
    case '!=':
    case '!=*':
      return TRUE_ID;
    case '<':
    case '<=':
      return { op: '<', release: [major, minor + 1] };
    case '>':
    case '>=':
      return { op: '>=', release: [major, minor + 1] };
  }
}

/** The release-only range of a version specifier (trailing zeros dropped except under `.*`). */
function versionSegments(op: VersionOp, release: number[]): Segment[] {
  const v = trimRelease(release);
  switch (op) {
    case '==':
    case '===':
      return [singleton(v)];
    case '!=':
      return complementSegments([singleton(v)]);
    case '<':
      return [{ lower: UNBOUNDED, upper: excluded(v) }];
    case '<=':
      return [{ lower: UNBOUNDED, upper: included(v) }];
    case '>':
      return [{ lower: excluded(v), upper: UNBOUNDED }];
    case '>=':
      return [{ lower: included(v), upper: UNBOUNDED }];
    case '~=': {
      const upper = [...release.slice(0, -2), (release[release.length - 2] ?? 0) + 1];
      return [{ lower: included(v), upper: excluded(upper) }];
    }
    case '==*':
    case '!=*': {
      const upper = [...release.slice(0, -1), (release[release.length - 1] ?? 0) + 1];
      const star = [{ lower: included(release), upper: excluded(upper) }];
      return op === '==*' ? star : complementSegments(star);
    }
  }
}

// ---- Printing -------------------------------------------------------------------------------

type Literal =
  | { kind: 'version'; key: VersionKey; op: VersionOp; release: readonly number[] }
  | { kind: 'string'; key: StringKey; op: string; value: string }
  | { kind: 'extra'; name: string; op: '==' | '!=' };

/** Every path to TRUE as a conjunction, then uv's clean-up and ordering. */
function toDnf(id: NodeId): Literal[][] {
  const dnf: Literal[][] = [];
  collectPaths(id, [], dnf);
  removeRedundancy(dnf);
  return sortDnf(dnf);
}

function collectPaths(id: NodeId, path: Literal[], dnf: Literal[][]): void {
  if (id === FALSE_ID) return;
  if (id === TRUE_ID) {
    if (path.length > 0) dnf.push([...path]);
    return;
  }
  const node = DIAGRAMS.node(id);
  if ('high' in node) {
    const { variable } = node;
    for (const [value, child] of [[true, node.high], [false, node.low]] as const) {
      const literal: Literal =
        variable.kind === 'extra'
          ? { kind: 'extra', name: variable.name, op: value ? '==' : '!=' }
          : {
              kind: 'string',
              key: variable.key,
              value: variable.value,
              op: `${value ? '' : 'not '}${variable.kind}`,
            };
      collectPaths(child, [...path, literal], dnf);
    }
    return;
  }
  // Edges leading to the same child are printed together, in order of first appearance.
  const groups = new Map<NodeId, Segment[]>();
  for (const edge of node.edges) {
    const list = groups.get(edge.child);
    if (list) list.push(edge.segment);
    else groups.set(edge.child, [edge.segment]);
  }
  for (const [child, segments] of groups) {
    for (const conjunction of rangeLiterals(node.variable, unionSegments(segments))) {
      collectPaths(child, [...path, ...conjunction], dnf);
    }
  }
}

/** The literals for "variable lies in these segments": one conjunction per alternative. */
function rangeLiterals(variable: Variable & { kind: 'string' | 'version' }, segments: Segment[]): Literal[][] {
  const make = (op: string, value: Value): Literal =>
    variable.kind === 'version'
      ? { kind: 'version', key: variable.key, op: op as VersionOp, release: value as readonly number[] }
      : { kind: 'string', key: variable.key, op, value: value as string };

  // Everything but a few points: `!= a and != b`.
  const holes = pointHoles(segments);
  if (holes) return [holes.map((v) => make('!=', v))];

  // Everything but one minor series: `!= '3.8.*'`.
  if (variable.kind === 'version') {
    const starHole = minorSeriesHole(segments);
    if (starHole) return [[make('!=*', starHole)]];
  }
  return segments.map((s) => boundLiterals(s, variable.kind === 'version').map(([op, v]) => make(op, v)));
}

/** For a range covering the whole line except isolated points, those points. */
function pointHoles(segments: Segment[]): Value[] | null {
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (!first || !last || first.lower.kind !== 'unbounded' || last.upper.kind !== 'unbounded') return null;
  const holes: Value[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    const end = segments[i]!.upper;
    const start = segments[i + 1]!.lower;
    if (end.kind !== 'excluded' || start.kind !== 'excluded' || compareValues(end.value, start.value) !== 0) return null;
    holes.push(end.value);
  }
  return holes;
}

/** For `(-inf, 3.8) ∪ [3.9, inf)`, the version `3.8` (printed `!= '3.8.*'`). */
function minorSeriesHole(segments: Segment[]): readonly number[] | null {
  const [a, b, ...rest] = segments;
  if (!a || !b || rest.length > 0) return null;
  if (a.lower.kind !== 'unbounded' || a.upper.kind !== 'excluded') return null;
  if (b.lower.kind !== 'included' || b.upper.kind !== 'unbounded') return null;
  const v1 = trimRelease(a.upper.value as readonly number[]);
  const v2 = b.lower.value as readonly number[];
  const [major = 0, minor] = v1;
  if (v1.length === 1 && v2.length === 2 && v2[0] === major && v2[1] === 1) return [major, 0];
  if (v1.length === 2 && v2.length === 2 && v2[0] === major && v2[1] === (minor ?? 0) + 1) {
    return a.upper.value as readonly number[];
  }
  return null;
}

/** The comparisons bounding one segment: `== v`, `== '3.8.*'`, or a lower and/or upper bound. */
function boundLiterals(s: Segment, isVersion: boolean): [string, Value][] {
  const { lower, upper } = s;
  if (lower.kind === 'included' && upper.kind === 'included' && compareValues(lower.value, upper.value) === 0) {
    return [['==', lower.value]];
  }
  if (!isVersion && lower.kind === 'excluded' && upper.kind === 'excluded' && compareValues(lower.value, upper.value) === 0) {
    return [['!=', lower.value]];
  }
  if (isVersion && lower.kind === 'included' && upper.kind === 'excluded') {
    // `[3.8, 3.9)` is one minor series, `== '3.8.*'` (and `[3, 3.1)` is `== '3.0.*'`).
    const [major = 0, minor = 0, ...patch] = trimRelease(lower.value as readonly number[]);
    const next = trimRelease(upper.value as readonly number[]);
    if (patch.length === 0 && next.length === 2 && next[0] === major && next[1] === minor + 1) {
      return [['==*', [major, minor]]];
    }
  }
  const result: [string, Value][] = [];
  if (lower.kind !== 'unbounded') result.push([lower.kind === 'included' ? '>=' : '>', lower.value]);
  if (upper.kind !== 'unbounded') result.push([upper.kind === 'included' ? '<=' : '<', upper.value]);
  return result;
}

const NEGATED_OPERATOR: Readonly<Record<string, string>> = {
  '==': '!=',
  '!=': '==',
  '<': '>=',
  '>=': '<',
  '<=': '>',
  '>': '<=',
  '==*': '!=*',
  '!=*': '==*',
  in: 'not in',
  'not in': 'in',
  contains: 'not contains',
  'not contains': 'contains',
};

function sameLiteral(a: Literal, b: Literal): boolean {
  if (a.kind === 'version' && b.kind === 'version') {
    return a.key === b.key && a.op === b.op && compareRelease(a.release, b.release) === 0;
  }
  if (a.kind === 'string' && b.kind === 'string') return a.key === b.key && a.op === b.op && a.value === b.value;
  if (a.kind === 'extra' && b.kind === 'extra') return a.name === b.name && a.op === b.op;
  return false;
}

function isNegation(a: Literal, b: Literal): boolean {
  return sameLiteral({ ...a, op: NEGATED_OPERATOR[a.op] ?? '' } as Literal, b);
}

/**
 * The DNF clean-up uv applies before printing:
 * 1. In a clause, a literal is dropped when some other clause consists only of its negation and
 *    of literals this clause keeps (`A or (not A and B)` → `A or B`).
 * 2. A clause containing every literal of another clause is dropped (absorption).
 */
function removeRedundancy(dnf: Literal[][]): void {
  for (let i = 0; i < dnf.length; i++) {
    const clause = dnf[i]!;
    const redundant = new Set<number>();
    clause.forEach((literal, index) => {
      const droppable = dnf.some(
        (other, j) =>
          j !== i &&
          other.every((term) => {
            if (sameLiteral(term, literal)) return false;
            if (isNegation(term, literal)) return true;
            const at = clause.findIndex((x) => sameLiteral(x, term));
            return at >= 0 && !redundant.has(at);
          }),
      );
      if (droppable) redundant.add(index);
    });
    dnf[i] = clause.filter((_, index) => !redundant.has(index));
  }

  const dropped = new Set<number>();
  dnf.forEach((clause, i) => {
    const absorbed = dnf.some(
      (other, j) => j !== i && !dropped.has(j) && other.every((term) => clause.some((x) => sameLiteral(x, term))),
    );
    if (absorbed) dropped.add(i);
  });
  const kept = dnf.filter((_, i) => !dropped.has(i));
  dnf.splice(0, dnf.length, ...kept);
}

function printRank(literal: Literal): number {
  return PRINT_RANK[literal.kind === 'extra' ? 'extra' : literal.key];
}

/** Literals by kind within a clause, clauses by their kind sequence (both sorts stable). */
function sortDnf(dnf: Literal[][]): Literal[][] {
  const sorted = dnf.map((clause) => [...clause].sort((a, b) => printRank(a) - printRank(b)));
  return sorted.sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = printRank(a[i]!) - printRank(b[i]!);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  });
}

function formatDnf(dnf: Literal[][]): string {
  if (dnf.length === 1) return dnf[0]!.map(formatLiteral).join(' and ');
  return dnf
    .map((clause) => (clause.length === 1 ? formatLiteral(clause[0]!) : `(${clause.map(formatLiteral).join(' and ')})`))
    .join(' or ');
}

function formatLiteral(literal: Literal): string {
  switch (literal.kind) {
    case 'version': {
      const version = literal.release.join('.');
      if (literal.op === '==*' || literal.op === '!=*') return `${literal.key} ${literal.op.slice(0, 2)} '${version}.*'`;
      return `${literal.key} ${literal.op} '${version}'`;
    }
    case 'string':
      if (literal.op === 'contains' || literal.op === 'not contains') {
        return `'${literal.value}' ${literal.op === 'contains' ? 'in' : 'not in'} ${literal.key}`;
      }
      return `${literal.key} ${literal.op} '${literal.value}'`;
    case 'extra':
      return `extra ${literal.op} '${literal.name}'`;
  }
}
