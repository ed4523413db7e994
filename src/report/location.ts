import path from 'node:path';

/**
 * A plugin file as a path from the current directory, `/`-separated, so terminals and CI can open
 * it. `p` is `path.win32` in tests of how Windows paths are shown.
 */
export function fileFromCwd(pluginPath: string, file: string, p: Pick<typeof path, 'sep'> = path): string {
  const dir = pluginPath.split(p.sep).join('/');
  const joined = path.posix.join(dir, file);
  // A Windows share (`\\server\share\plugin`) keeps its leading `//`, which posix.join folds into one.
  return dir.startsWith('//') && !joined.startsWith('//') ? `/${joined}` : joined;
}
