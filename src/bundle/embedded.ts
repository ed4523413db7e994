import { copyFile, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkPlugin, type PluginResult } from '../check/plugin-check.js';
import type { BundleFile } from './store.js';

/** The daemon's default MAX_PLUGIN_PACKAGE_SIZE: what one embedded package may unpack to. */
export const DEFAULT_PACKAGE_LIMIT = 52428800;

export interface PackageCheckOptions {
  /** Unpacked size limit in bytes. */
  maxBytes: number;
  env: NodeJS.ProcessEnv;
}

/**
 * Checks a plugin package as `dify plugin package --check` does, checksum included. checkPlugin
 * reads a file as a package by its `.difypkg` name, so a package under another name (the
 * checksum-named files of `_assets/`, or one inside a .difybndl) is checked through a temporary
 * link or copy named `.difypkg`.
 */
export async function checkPackage(source: string | BundleFile, label: string, options: PackageCheckOptions): Promise<PluginResult> {
  const check = async (file: string) => {
    const result = await checkPlugin(file, { strict: false, maxBytes: options.maxBytes, env: options.env, checksum: true });
    // Findings name the file checked; name it as the user knows it.
    for (const d of result.diagnostics) d.message = d.message.split(file).join(label);
    result.path = label;
    return result;
  };
  const diskPath = typeof source === 'string' ? source : source.diskPath;
  if (diskPath?.endsWith('.difypkg')) return check(diskPath);
  const dir = await mkdtemp(path.join(tmpdir(), 'dify-bundle-'));
  try {
    const file = path.join(dir, 'package.difypkg');
    if (diskPath !== undefined) {
      await symlink(path.resolve(diskPath), file).catch(() => copyFile(diskPath, file));
    } else {
      await writeFile(file, await (source as BundleFile).read());
    }
    return await check(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
