import path from 'node:path';

/** A plugin file as a path from the current directory, `/`-separated, so terminals and CI can open it. */
export function fileFromCwd(pluginPath: string, file: string): string {
  return path.posix.join(pluginPath.split(path.sep).join('/'), file);
}
