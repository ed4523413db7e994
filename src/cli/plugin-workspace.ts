import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extractPackage } from '../pack/extract.js';
import { MAX_PACKAGE_BYTES } from '../project/limits.js';
import { makeRunDirectory } from '../project/temp-file.js';
import { resolvePython, type Setting } from '../debug/settings.js';
import type { Io } from './io.js';

/**
 * Where `run`, `run --serverless` and `invoke` start a plugin: its own directory, or a fresh
 * temporary copy of a package. Until `release()` a process exit handler stops the plugin
 * (`stopPlugin`) and removes the copy, which a kill would otherwise leave behind; `release()`
 * does both at once, however the command ended.
 */
export class PluginWorkspace {
  private temp: string | undefined;
  private readonly atExit = () => this.cleanUp();

  constructor(private readonly stopPlugin: () => void) {
    process.once('exit', this.atExit);
  }

  /**
   * The directory to run from. A package is unpacked in full before anything starts, and not cut
   * short by a signal: removing the copy while it is written could leave files behind. The
   * command's own environment (TMPDIR) decides where, as it does everything else.
   */
  async open(file: string, isPackage: boolean, io: Io, beforeUnpacking?: () => void): Promise<string> {
    if (!isPackage) return file;
    const dir = (this.temp = makeRunDirectory(io.env.TMPDIR || tmpdir()));
    beforeUnpacking?.();
    await extractPackage(file, dir, MAX_PACKAGE_BYTES);
    return dir;
  }

  release(): void {
    this.cleanUp();
    process.off('exit', this.atExit);
  }

  private cleanUp(): void {
    this.stopPlugin();
    if (this.temp) rmSync(this.temp, { recursive: true, force: true });
  }
}

/**
 * The interpreter a plugin in `dir` runs with: --python, else the environment, `.env`, `.venv`, PATH.
 * Alone: the daemon address in `.env`, which `invoke` and `test` do not use, is not read (a
 * malformed one refused them).
 */
export function pluginPython(dir: string, python: string | undefined, io: Io): Setting<string> {
  return resolvePython(dir, python !== undefined ? { python } : {}, io.env, io.cwd);
}

/**
 * Whether the plugin path names a file (a package) rather than a directory. A path through a file
 * (`notes.txt/x`) is neither: the check that follows reports it as not found.
 */
export function isPackageFile(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}
