import { chmod, cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkPlugin, type PluginResult } from '../../src/pipelines/check-plugin.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { MAX_PACKAGE_BYTES } from '../../src/project/limits.js';
import { tempDir } from './temp-dirs.js';

export const REPO = path.resolve(import.meta.dirname, '..', '..');
export const EXAMPLE = path.join(REPO, 'examples', 'hello-world');
/** Published plugins, kept as data (test/fixtures/README.md says where each comes from). */
export const REAL_FIXTURES = path.join(REPO, 'test', 'fixtures', 'real');
/** What the Python SDK registers for each of them. */
export const GOLDEN_REGISTRATIONS = path.join(REPO, 'test', 'fixtures', 'registration');
export const COMPARE_REGISTRATION = path.join(REPO, 'test', 'helpers', 'compare-registration.py');

export { tempDir };

/** A writable copy of a plugin directory, so that a test never changes a fixture. */
export async function copyPlugin(source: string): Promise<string> {
  const dir = path.join(await tempDir(), path.basename(source));
  await cp(source, dir, { recursive: true });
  await makeWritable(dir);
  return dir;
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(p);
    else if (entry.isFile()) await chmod(p, 0o644);
  }
}

/** Files to write over a base plugin: text or bytes, or null to delete. */
export type Overrides = Record<string, string | Buffer | null>;

/** A copy of `base` (the bundled example by default) with `overrides` applied. */
export async function pluginWith(overrides: Overrides, base = EXAMPLE): Promise<string> {
  const dir = await copyPlugin(base);
  for (const [rel, content] of Object.entries(overrides)) {
    const p = path.join(dir, rel);
    if (content === null) {
      await rm(p, { recursive: true, force: true });
    } else {
      await mkdir(path.dirname(p), { recursive: true });
      await writeFile(p, content);
    }
  }
  return dir;
}

/** Checks a plugin directory as `package --check` does, with default limits. */
export function checkDir(dir: string, strict = false): Promise<PluginResult> {
  return checkPlugin(dir, { strict, maxBytes: MAX_PACKAGE_BYTES, env: {}, checksum: true });
}

export async function diagnosticsOf(dir: string): Promise<Diagnostic[]> {
  return (await checkDir(dir)).diagnostics;
}

/** Only the facts a test asserts: code, file and line. */
export function brief(d: Diagnostic): { code: string; file: string | null; line: number | null } {
  return { code: d.code, file: d.file, line: d.line };
}
