import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { diagnostic } from '../diagnostics/catalog.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { compareBytes } from '../project/order.js';
import {
  checkRequirements,
  generateRequirements,
  RequirementsError,
  type GeneratedRequirements,
} from './requirements.js';
import type { FileSelection } from '../project/file-selection.js';
import type { ZipInput } from './zip-writer.js';

export interface PackEntry extends ZipInput {
  size: number;
  /** True for files the packager adds (a generated requirements.txt). */
  generated: boolean;
}

/** Exactly what a package of this plugin contains, in archive order. */
export interface PackPlan {
  entries: PackEntry[];
  totalSize: number;
  requirements?: GeneratedRequirements;
  /**
   * A plan made to check, not to write (`requirements: 'validate'`): the package would hold a
   * generated requirements.txt, which is not in `entries` (nor in `totalSize`).
   */
  requirementsLeftOut?: true;
}

export interface PlanOptions {
  /** `meta.runner.language` of the manifest: requirements are generated only for python. */
  language: unknown;
  env: NodeJS.ProcessEnv;
  /**
   * `export` (the default): generate requirements.txt when the package needs one. `validate`:
   * for a check that writes nothing, only make sure it could be generated (see
   * requirements.ts `checkRequirements`), since exporting uv.lock is the largest part of checking
   * a plugin; unless the package comes near `maxBytes`, where its size matters.
   */
  requirements?: 'export' | 'validate';
  maxBytes?: number;
}

/**
 * The files of the selection plus, for a python plugin, a `requirements.txt` generated from
 * `uv.lock`, decided as the Go CLI does (dify-plugin-daemon
 * `pkg/plugin_packager/packager/packager.go`, `generatedFiles`): by what is in the plugin
 * directory, whatever the ignore file says. So an ignored `uv.lock` (two official plugins ignore
 * theirs) still gives a requirements.txt, and an ignored `requirements.txt` means none at all.
 */
export async function planPackage(root: string, selection: FileSelection, options: PlanOptions): Promise<PackPlan> {
  const entries: PackEntry[] = selection.files.map((f) => ({
    name: f.path,
    size: f.size,
    generated: false,
    read: async () => readFileSync(f.abs),
    file: f.abs,
  }));
  const plan: PackPlan = { entries, totalSize: entries.reduce((n, e) => n + e.size, 0) };
  if (options.language !== 'python' || !needsRequirements(root)) return plan;
  if (options.requirements === 'validate' && !nearLimit(root, plan.totalSize, options.maxBytes)) {
    await checkRequirements(root, options.env);
    plan.requirementsLeftOut = true;
    return plan;
  }
  const requirements = await generateRequirements(root, options.env);
  const data = Buffer.from(requirements.text, 'utf8');
  entries.push({ name: 'requirements.txt', size: data.length, generated: true, read: async () => data });
  entries.sort((a, b) => compareBytes(a.name, b.name));
  plan.totalSize += data.length;
  plan.requirements = requirements;
  return plan;
}

/**
 * The Go packager's test: no `requirements.txt`, but `pyproject.toml` and `uv.lock`, each looked
 * up with os.Stat (anything at the path counts, a symbolic link is followed, only "does not
 * exist" means absent; any other failure stops packing).
 */
function needsRequirements(root: string): boolean {
  const exists = (name: string): boolean => {
    try {
      statSync(path.join(root, name));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new RequirementsError(`cannot look up ${name}: ${(err as Error).message}`);
    }
  };
  return !exists('requirements.txt') && exists('pyproject.toml') && exists('uv.lock');
}

/**
 * Whether requirements.txt could take the package over `maxBytes`. It has one line per locked
 * package it lists, in practice far shorter than that package's entry in uv.lock (which also
 * holds its files and hashes), so four times the lock's size is a wide margin.
 */
function nearLimit(root: string, filesSize: number, maxBytes: number | undefined): boolean {
  if (maxBytes === undefined) return false;
  const lockSize = statSync(path.join(root, 'uv.lock')).size;
  return filesSize + 4 * lockSize >= maxBytes;
}

export async function planChecksum(plan: PackPlan): Promise<string> {
  const { pluginChecksum } = await import('./checksum.js'); // node:crypto loads only when hashing
  return pluginChecksum(plan.entries.map((e) => ({ path: e.name, read: e.read })));
}

/**
 * Over the limit: name the largest files and directories, the ignore file in use, and what to
 * add to it — the Go CLI's message lists only files, and only those seen so far. The hint
 * never suggests leaving out what the plugin refers to (`referenced`: the YAML files it
 * declares, its privacy policy) or what Dify always reads (the manifest, `_assets/`, Python
 * code, dependency files, the README): the check would then fail with `reference/excluded`.
 */
export function sizeFinding(
  plan: PackPlan,
  maxBytes: number,
  ignoreFile: string | null,
  referenced: ReadonlySet<string> = new Set(),
): Diagnostic | null {
  if (plan.totalSize <= maxBytes) return null;
  const bySize = (a: { size: number }, b: { size: number }) => b.size - a.size;
  const files = [...plan.entries].sort(bySize);
  const dirs = directorySizes(plan.entries).sort(bySize);
  const list = (items: { name: string; size: number }[]) =>
    items.map((i) => `${i.name} (${formatBytes(i.size)})`).join(', ');
  const needed = (name: string) => referenced.has(name) || alwaysRead(name);
  const neededDirs = new Set(files.filter((f) => needed(f.name)).flatMap((f) => directoriesOf(f.name)));
  const spare = [...dirs.filter((d) => !neededDirs.has(d.name)), ...files.filter((f) => !needed(f.name))];
  // Leaving out something far smaller than the excess would not help: then say so instead.
  const biggest = spare.sort(bySize).find((e) => e.size * 10 >= plan.totalSize - maxBytes)?.name;
  const outermost = outermostDirectories(dirs, 3);
  const message =
    `the files to pack take ${formatBytes(plan.totalSize)} uncompressed, over the ${formatBytes(maxBytes)} limit. ` +
    `Largest files: ${list(files.slice(0, 5))}.` +
    (outermost.length ? ` Largest directories: ${list(outermost)}.` : '') +
    ` Ignore file: ${ignoreFile ?? 'none (no .difyignore or .gitignore)'}.`;
  const hint = biggest
    ? `if ${biggest} is not needed at run time, add "${biggest}" to ${ignoreFile ?? '.difyignore'}; or raise the limit with --max-size <MB>`
    : 'the largest files are ones the plugin needs (its declarations, code and assets): make them smaller, or raise the limit with --max-size <MB>';
  return diagnostic('pack/too-large', { file: null }, message, hint);
}

/** Files Dify reads from every package, whatever the declarations say. */
function alwaysRead(name: string): boolean {
  return (
    name === 'manifest.yaml' ||
    name.startsWith('_assets/') ||
    name.endsWith('.py') ||
    // The README (and its translations in readme/) is what Dify shows on the plugin's page.
    name.startsWith('readme/') ||
    ['README.md', 'requirements.txt', 'pyproject.toml', 'uv.lock'].includes(name)
  );
}

/**
 * The directories holding a file, outermost first. Eight levels are plenty to point at what to
 * leave out, and keep this linear however deep a path goes (every prefix of a deep path would
 * cost the square of its depth).
 */
function directoriesOf(name: string): string[] {
  const parts = name.split('/');
  const dirs: string[] = [];
  for (let i = 1; i < Math.min(parts.length, 9); i++) dirs.push(parts.slice(0, i).join('/') + '/');
  return dirs;
}

function directorySizes(entries: PackEntry[]): { name: string; size: number }[] {
  const sizes = new Map<string, number>();
  for (const e of entries) for (const dir of directoriesOf(e.name)) sizes.set(dir, (sizes.get(dir) ?? 0) + e.size);
  return [...sizes].map(([name, size]) => ({ name, size }));
}

/** The `count` largest directories (sorted largest first), leaving out those inside one already named. */
function outermostDirectories(
  sorted: { name: string; size: number }[],
  count: number,
): { name: string; size: number }[] {
  const picked: { name: string; size: number }[] = [];
  for (const d of sorted) {
    if (picked.length === count) break;
    if (!picked.some((p) => d.name.startsWith(p.name))) picked.push(d);
  }
  return picked;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
