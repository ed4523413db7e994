import { randomBytes } from 'node:crypto';
import { constants, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/**
 * Every file this CLI writes (packages, bundles, signed packages, key files, bundle assets) is
 * written to a temporary file beside its target and renamed into place, so that a failure never
 * leaves half a file. The temporary name is `.<target name>.<pid>.<random>.tmp`:
 *
 * - random, and created exclusively (O_EXCL, which also refuses a symbolic link at that name,
 *   and O_NOFOLLOW besides): nobody who can write to the directory can plant a link there that
 *   makes us write through it into another file;
 * - with our process id, so that a leftover of a run that was killed (SIGKILL, a power cut) can
 *   be told from the file of a run still writing: the next write to the same target removes the
 *   leftovers whose process is gone, never those of a live one.
 */
const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{16}\.tmp$/;

/** Whether `name` (a file name, no directory) is one of our temporary files: never packed. */
export function isTempFileName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** Creation flags: write only, new file only, and never through a symbolic link. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * A new, empty temporary file beside `target`, open for writing; leftovers of dead runs are
 * removed first. `naming` hears each name before the file is created, so that a signal handler
 * knows what to remove even when the signal comes while the file is being created.
 */
export async function createTempBeside(
  target: string,
  mode = 0o666,
  naming?: (tmp: string) => void,
): Promise<{ path: string; handle: FileHandle }> {
  await removeLeftovers(target);
  const dir = path.dirname(target);
  for (let attempt = 0; ; attempt++) {
    const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
    naming?.(tmp);
    try {
      return { path: tmp, handle: await open(tmp, CREATE_FLAGS, mode) };
    } catch (err) {
      // 64 random bits: a collision is someone guessing, or planting, names; give up soon.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === 3) throw err;
    }
  }
}

/** Writes `data` to `target` through a temporary file created with `mode`, renamed over it when complete. */
export async function writeFileAtomic(target: string, data: string | Buffer, mode = 0o666): Promise<void> {
  const { path: tmp, handle } = await createTempBeside(target, mode);
  try {
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Removes temporary files of earlier writes to `target` whose process has ended. A process that
 * still runs (signal 0 succeeds, or is refused because it belongs to another user) keeps its
 * file: two runs writing the same output at once each finish their own. A reused process id only
 * keeps a leftover longer. Best effort: a directory that cannot be listed is no reason to fail.
 */
async function removeLeftovers(target: string): Promise<void> {
  const base = path.basename(target);
  const names = await readdir(path.dirname(target)).catch(() => [] as string[]);
  for (const name of names) {
    const match = TEMP_NAME.exec(name);
    if (!match || match[1] !== base || isRunning(Number(match[2]))) continue;
    await rm(path.join(path.dirname(target), name), { force: true }).catch(() => undefined);
  }
}

/** `plugin-run-<pid>-<6 characters of mkdtemp>`: a local run's copy of its package. */
const RUN_DIRECTORY = /^plugin-run-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * A new private directory (mkdtemp: mode 0700, a name nobody can guess) in `parent`, named
 * `plugin-run-<pid>-<random>`, for `plugin run x.difypkg` to unpack into. A run killed outright
 * (SIGKILL, the OOM killer) cannot remove its own, so the directories of runs whose process has
 * ended are removed first: only our own (same user), never through a link.
 */
export function makeRunDirectory(parent: string): string {
  let names: string[] = [];
  try {
    names = readdirSync(parent);
  } catch {
    // mkdtemp below says what is wrong with `parent`
  }
  for (const name of names) {
    const match = RUN_DIRECTORY.exec(name);
    if (!match || isRunning(Number(match[1]))) continue;
    const dir = path.join(parent, name);
    try {
      const info = lstatSync(dir);
      if (info.isDirectory() && info.uid === process.getuid?.()) rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort: gone meanwhile, or not ours to remove
    }
  }
  return mkdtempSync(path.join(parent, `plugin-run-${process.pid}-`));
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
