import { readFileSync } from 'node:fs';
import { diagnostic } from '../diagnostics/catalog.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { compareBytes } from '../project/order.js';
import { generateRequirements, type GeneratedRequirements } from './requirements.js';
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
}

export interface PlanOptions {
  /** `meta.runner.language` of the manifest: requirements are generated only for python. */
  language: unknown;
  env: NodeJS.ProcessEnv;
}

/**
 * The files of the selection plus a generated `requirements.txt` when a python plugin has a
 * `pyproject.toml` and `uv.lock` but no packed `requirements.txt` (an ignored one counts as
 * absent, unlike the Go CLI, which then packs no dependency list at all).
 */
export async function planPackage(root: string, selection: FileSelection, options: PlanOptions): Promise<PackPlan> {
  const entries: PackEntry[] = selection.files.map((f) => ({
    name: f.path,
    size: f.size,
    generated: false,
    read: async () => readFileSync(f.abs),
    file: f.abs,
  }));
  const has = (p: string) => selection.files.some((f) => f.path === p);
  let requirements: GeneratedRequirements | undefined;
  if (options.language === 'python' && !has('requirements.txt') && has('pyproject.toml') && has('uv.lock')) {
    requirements = await generateRequirements(root, options.env);
    const data = Buffer.from(requirements.text, 'utf8');
    entries.push({ name: 'requirements.txt', size: data.length, generated: true, read: async () => data });
    entries.sort((a, b) => compareBytes(a.name, b.name));
  }
  const plan: PackPlan = { entries, totalSize: entries.reduce((n, e) => n + e.size, 0) };
  if (requirements) plan.requirements = requirements;
  return plan;
}

export async function planChecksum(plan: PackPlan): Promise<string> {
  const { pluginChecksum } = await import('./checksum.js'); // node:crypto loads only when hashing
  return pluginChecksum(plan.entries.map((e) => ({ path: e.name, read: e.read })));
}

/**
 * Over the limit: name the largest files and directories, the ignore file in use, and what to
 * add to it — the Go CLI's message lists only files, and only those seen so far.
 */
export function sizeFinding(plan: PackPlan, maxBytes: number, ignoreFile: string | null): Diagnostic | null {
  if (plan.totalSize <= maxBytes) return null;
  const files = [...plan.entries].sort((a, b) => b.size - a.size).slice(0, 5);
  const dirs = largestDirectories(plan.entries, 3);
  const list = (items: { name: string; size: number }[]) =>
    items.map((i) => `${i.name} (${formatBytes(i.size)})`).join(', ');
  // Never suggest leaving out what Dify needs: the icons in _assets/ or the manifest.
  const needed = (name: string) => name.startsWith('_assets/') || name === 'manifest.yaml';
  const biggest = [...dirs, ...files].find((e) => !needed(e.name))?.name;
  const message =
    `the files to pack take ${formatBytes(plan.totalSize)} uncompressed, over the ${formatBytes(maxBytes)} limit. ` +
    `Largest files: ${list(files)}.` +
    (dirs.length ? ` Largest directories: ${list(dirs)}.` : '') +
    ` Ignore file: ${ignoreFile ?? 'none (no .difyignore or .gitignore)'}.`;
  const hint = biggest
    ? `if ${biggest} is not needed at run time, add "${biggest}" to ${ignoreFile ?? '.difyignore'}; or raise the limit with --max-size <MB>`
    : 'the largest files are assets Dify shows: make them smaller, or raise the limit with --max-size <MB>';
  return diagnostic('pack/too-large', { file: null }, message, hint);
}

function largestDirectories(entries: PackEntry[], count: number): { name: string; size: number }[] {
  const sizes = new Map<string, number>();
  for (const e of entries) {
    const parts = e.name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/') + '/';
      sizes.set(dir, (sizes.get(dir) ?? 0) + e.size);
    }
  }
  const picked: { name: string; size: number }[] = [];
  // Biggest first; a directory inside one already named adds nothing new.
  for (const [name, size] of [...sizes].sort((a, b) => b[1] - a[1])) {
    if (picked.length === count) break;
    if (!picked.some((p) => name.startsWith(p.name))) picked.push({ name, size });
  }
  return picked;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
