import { stat } from 'node:fs/promises';
import { DirectorySource } from '../project/directory-source.js';
import { MAX_PACKAGE_BYTES } from '../project/limits.js';
import { loadProject } from '../project/load.js';
import { isObject, type Declaration, type PluginProject } from '../project/model.js';
import type { PluginSource } from '../project/source.js';
import { EditError } from './errors.js';

/** A plugin read into the one model every command shares, plus how to release it. */
export interface OpenedPlugin {
  project: PluginProject;
  /** The manifest, read and parsed (opening fails otherwise). */
  manifest: Declaration & { value: Record<string, unknown> };
  source: PluginSource;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Whether a `.difypkg` is acceptable (listing) or not (editing). */
  allowPackage: boolean;
  /** The command, for messages: `dify plugin permission`. */
  command: string;
  /** The path as the user wrote it, for messages (default: `location`). */
  display?: string;
}

const HINT = 'pass the plugin directory (the one holding manifest.yaml)';

/**
 * Opens a plugin directory (or, when allowed, a `.difypkg`) and loads it with the same loader
 * `package --check` uses. Refuses with an EditError when there is no readable manifest.
 */
export async function openPlugin(location: string, options: OpenOptions): Promise<OpenedPlugin> {
  const shown = options.display ?? location;
  const info = await stat(location).catch(() => null);
  if (!info) throw new EditError(`${shown} does not exist`, options.allowPackage ? `${HINT}, or a .difypkg` : HINT);
  let source: PluginSource;
  let close = async () => {};
  if (info.isFile() && location.endsWith('.difypkg')) {
    if (!options.allowPackage) {
      throw new EditError(
        `${shown} is a package: ${options.command} edits a plugin directory`,
        'run it on the directory the package was made from, then package it again',
      );
    }
    const [{ PackageSource }, { ZipError }] = await Promise.all([
      import('../project/package-source.js'),
      import('../project/zip-reader.js'),
    ]);
    try {
      const pkg = await PackageSource.open(location, MAX_PACKAGE_BYTES);
      source = pkg;
      close = () => pkg.close();
    } catch (err) {
      if (err instanceof ZipError)
        throw new EditError(
          `${shown} cannot be read: ${err.message}`,
          'is it a .difypkg made by `dify plugin package`?',
        );
      throw err;
    }
  } else if (info.isDirectory()) {
    source = await DirectorySource.open(location);
  } else {
    throw new EditError(
      `${shown} is neither a plugin directory nor a .difypkg file`,
      options.allowPackage ? `${HINT}, or a .difypkg` : HINT,
    );
  }
  try {
    const project = await loadProject(source);
    const manifest = project.manifest;
    if (!manifest) {
      const reason = project.diagnostics.find((d) => d.file === 'manifest.yaml' || d.code === 'manifest/missing');
      throw new EditError(
        reason && reason.code !== 'manifest/missing'
          ? `manifest.yaml cannot be read: ${reason.message}`
          : `no manifest.yaml in ${shown}`,
        HINT,
      );
    }
    const problem = manifest.file.problems[0];
    if (problem) {
      throw new EditError(
        `manifest.yaml:${problem.position.line}:${problem.position.column}: ${problem.message}`,
        'fix the YAML first (`dify plugin package --check` shows every problem)',
      );
    }
    if (!isObject(manifest.value))
      throw new EditError(
        'manifest.yaml does not hold a mapping of keys',
        'start from `dify plugin init`, or fix the file',
      );
    return { project, manifest: manifest as OpenedPlugin['manifest'], source, close };
  } catch (err) {
    await close();
    throw err;
  }
}
