import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ZipError, ZipReader } from '../project/zip-reader.js';
import { writeZip, type ZipInput, type ZipWriteResult } from '../pack/zip-writer.js';
import { MAX_BUNDLE_BYTES } from '../project/limits.js';
import { compareBytes } from '../project/order.js';
import { writeFileAtomic } from '../project/temp-file.js';
import { BundleManifest } from './manifest.js';
import { BundleRoot } from './confine.js';
import { BundleError } from './errors.js';

export const MANIFEST = 'manifest.yaml';
export const ASSETS_DIR = '_assets';

/** A file of a bundle: read only when needed. */
export interface BundleFile {
  size: number;
  read(): Promise<Buffer>;
  /** For a directory bundle, where the file is on disk. */
  diskPath?: string;
}

/**
 * A bundle read from a directory (what `dify bundle init` writes) or from a `.difybndl`. As in
 * the daemon (dify-plugin-daemon `pkg/bundle_packager/local.go`, `pkg/bundle_packager/memory_zip.go`)
 * a bundle is `manifest.yaml`, the files under `_assets/` (the icon and the embedded packages,
 * each named by its checksum) and the root files whose names start with `README`; nothing else
 * is read. Changes are kept in memory until `save()`.
 */
export class Bundle {
  /** Asset files by their name inside `_assets/` (`/`-separated). */
  readonly assets = new Map<string, BundleFile>();
  /** README* files at the root, by name. */
  readonly extras = new Map<string, BundleFile>();
  private readonly added = new Set<string>();
  private readonly removed = new Set<string>();
  private manifestChanged = false;

  private constructor(
    readonly kind: 'directory' | 'zip',
    /** Absolute path of the directory or the .difybndl file. */
    readonly location: string,
    private manifestText: string,
    private readonly zip?: ZipReader,
    /** A directory bundle's real root: every write and delete is checked against it. */
    private readonly root?: BundleRoot,
  ) {}

  /** Opens a bundle directory or a .difybndl file; throws BundleError when it is neither. */
  static async open(location: string): Promise<Bundle> {
    const info = await stat(location).catch(() => null);
    if (!info)
      throw new BundleError(
        `${location} does not exist`,
        'pass a bundle directory (made by `dify bundle init`) or a .difybndl file',
      );
    if (info.isDirectory()) return Bundle.openDirectory(location);
    if (info.isFile()) return Bundle.openZip(location);
    throw new BundleError(`${location} is neither a bundle directory nor a .difybndl file`);
  }

  /** True when something was changed since the bundle was opened or saved. */
  get changed(): boolean {
    return this.manifestChanged || this.added.size > 0 || this.removed.size > 0;
  }

  get manifest(): string {
    return this.manifestText;
  }

  set manifest(text: string) {
    this.manifestText = text;
    this.manifestChanged = true;
  }

  /** Adds (or replaces) `_assets/<name>`. */
  putAsset(name: string, data: Buffer): void {
    this.assets.set(name, { size: data.length, read: async () => data });
    this.added.add(name);
    this.removed.delete(name);
  }

  deleteAsset(name: string): boolean {
    if (!this.assets.delete(name)) return false;
    this.added.delete(name);
    this.removed.add(name);
    return true;
  }

  /**
   * The archive's entries in a fixed order: `manifest.yaml`, then `_assets/*`, then the README
   * files, each group sorted byte-wise by name. That is the Go CLI's order (manifest, assets,
   * extras) with its random map order made deterministic, and it puts the manifest first for
   * anything that reads the archive as a stream.
   */
  entries(): ZipInput[] {
    const manifest = Buffer.from(this.manifestText, 'utf8');
    const sorted = (m: Map<string, BundleFile>) => [...m.keys()].sort(compareBytes).map((k) => [k, m.get(k)!] as const);
    return [
      { name: MANIFEST, read: async () => manifest },
      ...sorted(this.assets).map(([name, f]) => ({ name: `${ASSETS_DIR}/${name}`, read: () => f.read() })),
      ...sorted(this.extras).map(([name, f]) => ({ name, read: () => f.read() })),
    ];
  }

  /** Writes the bundle as a .difybndl at `outPath` (temporary file, then rename). */
  exportTo(outPath: string): Promise<ZipWriteResult> {
    return writeZip(outPath, this.entries());
  }

  /**
   * Writes the changes back. A directory gets the new assets first, then the manifest (each
   * through a temporary file and a rename), then loses the removed assets; a .difybndl is
   * rewritten whole, in place, through a temporary file.
   */
  async save(): Promise<void> {
    if (!this.changed) return;
    if (this.kind === 'zip') {
      await this.exportTo(this.location);
      this.added.clear();
      this.removed.clear();
      this.manifestChanged = false;
      return;
    }
    // Every place is confirmed inside the bundle before anything is written.
    const root = this.root!;
    const onDisk = async (names: Iterable<string>) => {
      const out: [string, string][] = [];
      for (const name of names) {
        const rel = `${ASSETS_DIR}/${name}`;
        await root.confirmParent(rel);
        out.push([name, path.join(root.real, ...rel.split('/'))]);
      }
      return out;
    };
    const writes = await onDisk([...this.added].sort(compareBytes));
    const deletes = await onDisk(this.removed);
    for (const [name, target] of writes) await writeAtomic(target, await this.assets.get(name)!.read());
    if (this.manifestChanged) await writeAtomic(path.join(root.real, MANIFEST), Buffer.from(this.manifestText, 'utf8'));
    // A removed asset that is a link loses the link, never what it points at.
    for (const [, target] of deletes) await rm(target, { force: true });
    this.added.clear();
    this.removed.clear();
    this.manifestChanged = false;
  }

  close(): Promise<void> {
    return this.zip ? this.zip.close() : Promise.resolve();
  }

  private static async openDirectory(dir: string): Promise<Bundle> {
    const root = await BundleRoot.of(dir);
    const manifest = await root.resolve(MANIFEST);
    if (!manifest?.info.isFile())
      throw new BundleError(
        `no ${MANIFEST} in ${dir}: not a bundle directory`,
        'create a bundle with `dify bundle init`, or pass the folder that holds its manifest.yaml',
      );
    const text = await readFile(manifest.real, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new BundleError(`cannot read ${path.join(dir, MANIFEST)}: ${err.message}`);
    });
    refuseNonBundle(text, dir);
    const bundle = new Bundle('directory', dir, text, undefined, root);
    const assets = await root.resolve(ASSETS_DIR);
    if (assets?.info.isDirectory()) {
      for (const [name, file] of await walkFiles(root, ASSETS_DIR, assets.real, new Set([assets.real])))
        bundle.assets.set(name.slice(ASSETS_DIR.length + 1), file);
    }
    for (const entry of await readdir(root.real, { withFileTypes: true })) {
      if (!entry.name.startsWith('README')) continue;
      const found = await root.resolve(entry.name);
      if (found?.info.isFile()) bundle.extras.set(entry.name, diskFile(found.real, found.info.size));
    }
    return bundle;
  }

  private static async openZip(file: string): Promise<Bundle> {
    let zip: ZipReader;
    try {
      zip = await ZipReader.open(file, MAX_BUNDLE_BYTES);
    } catch (err) {
      if (err instanceof ZipError)
        throw new BundleError(
          `cannot read ${file} as a bundle: ${err.message}`,
          'pass a bundle directory or a .difybndl written by `dify bundle package`',
        );
      throw err;
    }
    try {
      // The reader refuses repeated names (but for a verification file, read from its first entry).
      const byName = new Map(zip.files().map((e) => [e.name, e]));
      const manifest = byName.get(MANIFEST);
      if (!manifest)
        throw new BundleError(`${file} has no ${MANIFEST}: not a bundle`, 'build bundles with `dify bundle package`');
      const text = (await zip.read(manifest)).toString('utf8');
      refuseNonBundle(text, file);
      const bundle = new Bundle('zip', file, text, zip);
      for (const [name, entry] of byName) {
        const file: BundleFile = { size: entry.size, read: () => zip.read(entry) };
        if (name.startsWith(`${ASSETS_DIR}/`)) bundle.assets.set(name.slice(ASSETS_DIR.length + 1), file);
        else if (name.startsWith('README')) bundle.extras.set(name, file);
      }
      return bundle;
    } catch (err) {
      await zip.close();
      if (err instanceof ZipError) throw new BundleError(`cannot read ${file} as a bundle: ${err.message}`);
      throw err;
    }
  }
}

/**
 * Every file under the bundle directory `dir`, by `/`-separated path from the bundle root. Links
 * that stay in the bundle are followed (to files and to directories, each directory once:
 * `seen` holds the real paths walked); one that leaves it stops the walk (BundleRoot.resolve).
 */
async function walkFiles(
  root: BundleRoot,
  dir: string,
  real: string,
  seen: Set<string>,
): Promise<[string, BundleFile][]> {
  const entries = await readdir(real).catch((err: Error) => {
    throw new BundleError(`cannot read ${dir} in ${root.shown}: ${err.message}`);
  });
  const out: [string, BundleFile][] = [];
  for (const entry of entries) {
    const rel = `${dir}/${entry}`;
    const found = await root.resolve(rel);
    if (found?.info.isDirectory()) {
      if (seen.has(found.real)) continue;
      seen.add(found.real);
      out.push(...(await walkFiles(root, rel, found.real, seen)));
    } else if (found?.info.isFile()) {
      out.push([rel, diskFile(found.real, found.info.size)]);
    }
  }
  return out;
}

function diskFile(p: string, size: number): BundleFile {
  return { size, read: () => readFile(p), diskPath: p };
}

/** Writes through a temporary file beside `target` and renames it into place. */
async function writeAtomic(target: string, data: Buffer): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  await writeFileAtomic(target, data);
}

/**
 * Bundle commands rewrite manifest.yaml: pointed at a plugin by mistake, they would add
 * dependencies to it or change its version. A manifest that does not parse is left to the
 * command, which reports it with its line.
 */
function refuseNonBundle(manifestText: string, location: string): void {
  let data: Record<string, unknown>;
  try {
    data = BundleManifest.parse(manifestText).data;
  } catch {
    return;
  }
  // A plugin manifest lists its plugins; a bundle with a mistyped `type` is left to the schema.
  const { type } = data;
  if (typeof type === 'string' && type !== 'bundle' && 'plugins' in data) {
    throw new BundleError(
      `${location} is not a bundle: its manifest.yaml says type: ${type}`,
      'bundle commands work on bundles made by `dify bundle init`; for a plugin, use `dify plugin ...`',
    );
  }
}
