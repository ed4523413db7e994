import path from 'node:path';

/**
 * The one conversion between paths on disk and plugin-relative names, which are `/`-separated on
 * every system, as package entries and the checksum have them. Tests pass `path.win32` to run
 * it with Windows semantics (`\`, drives, case-blind comparison) on any machine.
 */
export type PathModule = Pick<typeof path, 'relative' | 'isAbsolute' | 'join' | 'sep'>;

/**
 * `target` as a plugin-relative name when it lies below `root`; undefined for `root` itself and
 * for anything outside it, on another drive included. (`..x` is a name inside, `../x` is not.)
 */
export function pluginNameOf(root: string, target: string, p: PathModule = path): string | undefined {
  const rel = p.relative(root, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${p.sep}`) || p.isAbsolute(rel)) return undefined;
  return rel.split(p.sep).join('/');
}

/** Where the plugin-relative `name` lies on disk below `root`. */
export function diskPathOf(root: string, name: string, p: PathModule = path): string {
  return p.join(root, ...name.split('/'));
}
