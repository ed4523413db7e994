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
 *   markers are printed the way uv prints them (see the marker algebra in pep508/).
 */
import { parse as parseToml } from 'smol-toml';
import { comparePep440, compareStrings } from '../project/pep440.js';
import { Marker } from './pep508/marker.js';
import { normalizeName } from './pep508/names.js';
import { UvLockError } from './uv-lock-error.js';

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

export { UvLockError };

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

/**
 * The cheap part of the export's checks: pyproject.toml names a project, and uv.lock is TOML of
 * a lock version this export reads and holds a package of that name. Left out: reading every
 * package's dependencies and markers and walking the graph, which is most of the export's time
 * and only fails on a lock that uv did not write. Throws what the export would for the same
 * problem.
 */
export function checkUvLock(uvLockText: string, pyprojectText: string): void {
  const project = readPyproject(pyprojectText);
  const names = readLockDocument(uvLockText).packages.map((raw) => asTable(raw)?.['name']);
  if (!names.some((name) => typeof name === 'string' && normalizeName(name) === project.name)) {
    throw noProjectPackage(project.name);
  }
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

/** uv.lock parsed, its version checked, and its `package` array of tables (not read yet). */
function readLockDocument(text: string): { doc: TomlTable; packages: unknown[] } {
  const doc = parseTomlOrThrow(withoutDistributions(text), 'uv.lock');
  if (doc['version'] !== 1) {
    throw new UvLockError(`uv.lock: unsupported lock version ${JSON.stringify(doc['version'] ?? null)} (expected 1)`);
  }
  const packages = doc['package'] ?? [];
  if (!Array.isArray(packages)) throw new UvLockError('uv.lock: `package` is not an array of tables');
  return { doc, packages };
}

function readLock(text: string): Lock {
  const { doc, packages: rawPackages } = readLockDocument(text);
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
  if (!found) throw noProjectPackage(projectName);
  return found;
}

function noProjectPackage(projectName: string): UvLockError {
  return new UvLockError(
    `uv.lock has no package for the project "${projectName}" of pyproject.toml; run \`uv lock\` to refresh it`,
  );
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
  if (dep.version !== undefined)
    candidates = candidates.filter((p) => p.version !== undefined && sameVersion(p.version, dep.version!));
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
