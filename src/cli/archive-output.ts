import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { startsLikeZip } from '../project/zip-magic.js';
import { UsageError, UserError } from '../diagnostics/user-error.js';
import type { Io } from './io.js';
import { startSpinner } from './spinner.js';

/** What `package` and `bundle package` report about the file they wrote. */
export interface Written {
  output: string;
  files: number;
  size: number;
}

/** `<directory name><ext>` in the current directory; `.` means the directory's real name. */
export function defaultArchiveName(target: string, cwd: string, ext: '.difypkg' | '.difybndl'): string {
  const name = path.basename(path.resolve(cwd, target)).replace(/\.difybndl$/, '');
  if (!name) throw new UsageError('cannot name the archive after the file-system root', `pass -o <file>${ext}`);
  return name + ext;
}

/**
 * Writes an archive with a spinner. An earlier package or bundle (any ZIP) at the output path is
 * replaced, as the Go CLI does; any other file there is the user's and is kept unless --force.
 */
export async function writeArchive(
  outputPath: string,
  force: boolean,
  io: Io,
  spinnerText: string,
  write: () => Promise<{ bytes: number; files: number }>,
): Promise<Written> {
  await refuseToClobber(outputPath, force);
  const spinner = await startSpinner(io, spinnerText);
  try {
    const { bytes, files } = await write();
    return { output: path.relative(io.cwd, outputPath) || outputPath, files, size: bytes };
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ? (err as Error).message : String(err);
    throw new UserError(`cannot write ${outputPath}: ${reason}`);
  } finally {
    spinner.stop();
  }
}

async function refuseToClobber(outputPath: string, force: boolean): Promise<void> {
  const dir = path.dirname(outputPath);
  if (!statOrNull(dir)?.isDirectory()) {
    throw new UserError(
      `cannot write ${outputPath}: the directory ${dir} does not exist`,
      'create it first, or pass another -o path',
    );
  }
  const info = statOrNull(outputPath);
  if (!info) return;
  if (info.isDirectory()) throw new UserError(`${outputPath} is a directory`, 'pass -o with a file name');
  if (force || startsLikeZip(outputPath)) return;
  throw new UserError(
    `${outputPath} exists and is not a Dify package or bundle; not overwriting it`,
    'choose another -o path, or pass --force',
  );
}

/**
 * Synchronous: this module loads with every `package`, even `--check`, and fs/promises would load
 * Node's stream and readline code with it.
 */
function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}
