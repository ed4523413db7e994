import type { Stats } from 'node:fs';
import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { BundleLinkError } from './errors.js';

/** A path of a bundle directory and where it really leads. */
export interface Resolved {
  /** The real path (links resolved). */
  real: string;
  /** What is there, after links. */
  info: Stats;
}

/**
 * The real directory of a bundle, and the one rule for every file a command reads, writes or
 * deletes in it: its real path must be inside. A link that stays inside the bundle is followed;
 * one that leads out (directly, through a chain of links or through a linked directory), points
 * at nothing, or loops is refused, naming the link. The Go CLI follows every link (its
 * `os.ReadFile`/`os.WriteFile` in dify-plugin-daemon `pkg/bundle_packager/local.go`), so a linked
 * `_assets/` packed, overwrote or deleted files anywhere.
 */
export class BundleRoot {
  private constructor(
    /** The real path of the bundle directory. */
    readonly real: string,
    /** The path as given, for messages. */
    readonly shown: string,
  ) {}

  static async of(dir: string): Promise<BundleRoot> {
    return new BundleRoot(await realpath(dir), dir);
  }

  private contains(real: string): boolean {
    const rel = path.relative(this.real, real);
    return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
  }

  /**
   * Where `rel` (a `/`-separated path below the bundle) leads: null when nothing is there, a
   * BundleLinkError when a link on the way leads out of the bundle, dangles or loops.
   */
  async resolve(rel: string): Promise<Resolved | null> {
    const p = path.join(this.real, ...rel.split('/'));
    const own = await lstat(p).catch(() => null);
    if (!own) return null;
    let real: string;
    try {
      real = await realpath(p);
    } catch (err) {
      const target = await readlink(p).catch(() => null);
      const why = (err as NodeJS.ErrnoException).code === 'ELOOP' ? 'that loops' : 'to nothing';
      throw this.refuse(`${rel} in ${this.shown} is a link ${why}${target === null ? '' : ` (${target})`}`);
    }
    if (!this.contains(real)) throw this.refuse(`${rel} in ${this.shown} is a link outside the bundle, to ${real}`);
    return { real, info: await stat(real) };
  }

  /**
   * Refuses a write or delete at `rel` when the directory it would happen in is not inside the
   * bundle any more (say a directory was replaced by a link since the bundle was read). A
   * directory not made yet is judged by the nearest one that exists.
   */
  async confirmParent(rel: string): Promise<void> {
    const parts = rel.split('/').slice(0, -1);
    for (let n = parts.length; n >= 0; n--) {
      const dir = parts.slice(0, n).join('/');
      if (dir === '') return;
      if (await this.resolve(dir)) return;
    }
  }

  private refuse(message: string): BundleLinkError {
    return new BundleLinkError(
      message,
      'bundle commands read and write only inside the bundle: replace the link with a copy of what it points at, or remove it',
    );
  }
}
