import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from './plugin.js';

/**
 * Where one local run's temporary directory (TMPDIR) and spy file live, so that its leftovers
 * are its own. The fake plugin writes its pid and working directory (the CLI's temporary copy of
 * the package) to the spy file.
 */
export async function localRunWorkspace() {
  const work = await tempDir();
  const tmp = path.join(work, 'tmp');
  await mkdir(tmp);
  const spyFile = path.join(work, 'plugin.json');
  return {
    env: { TMPDIR: tmp, FAKE_SPY_FILE: spyFile },
    /** What the run left in its TMPDIR: nothing, once it has ended. */
    leftovers: () => readdirSync(tmp),
    /** The plugin process, once it has started. */
    plugin: () =>
      existsSync(spyFile) ? (JSON.parse(readFileSync(spyFile, 'utf8')) as { pid: number; cwd: string }) : undefined,
  };
}

export type LocalRunWorkspace = Awaited<ReturnType<typeof localRunWorkspace>>;
