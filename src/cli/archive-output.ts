import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { specialKind } from '../project/file-kind.js';
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
 * Writes an archive with a spinner. An earlier package or bundle at the output path is replaced,
 * as the Go CLI does; any other file there is the user's and is kept unless --force.
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
    if (err instanceof UserError) throw err; // a plugin file that could not be read names itself
    const reason = (err as NodeJS.ErrnoException).code ? (err as Error).message : String(err);
    throw new UserError(`cannot write ${outputPath}: ${reason}`);
  } finally {
    spinner.stop();
  }
}

/** What to do about what is at the output path: write elsewhere, or replace it. */
export interface OutputHints {
  elsewhere: string;
  replace: string;
  /** What may be replaced without --force (default: a Dify package or bundle). */
  earlier?: string;
}

const OUTPUT_HINTS: OutputHints = {
  elsewhere: 'pass -o with a file name',
  replace: 'choose another -o path, or pass --force',
};

/**
 * Throws unless an archive may be written at `outputPath`: its directory exists, and whatever is
 * there already is an earlier package or bundle, or --force says to replace it. Any ZIP is not
 * enough (a .docx, a backup.zip are ZIPs): a package or bundle is a readable ZIP with
 * manifest.yaml at its root. A FIFO, socket or device is never written to, even with --force:
 * replacing /dev/null, or blocking on a pipe, is never what was meant.
 */
export async function refuseToClobber(
  outputPath: string,
  force: boolean,
  hints = OUTPUT_HINTS,
  isEarlierOutput: (file: string) => Promise<boolean> = isDifyArchive,
): Promise<void> {
  const dir = path.dirname(outputPath);
  if (!statOrNull(dir)?.isDirectory()) {
    throw new UserError(
      `cannot write ${outputPath}: the directory ${dir} does not exist`,
      'create it first, or pass another -o path',
    );
  }
  const info = statOrNull(outputPath);
  if (!info) return;
  if (info.isDirectory()) throw new UserError(`${outputPath} is a directory`, hints.elsewhere);
  const special = specialKind(info);
  if (special) throw new UserError(`${outputPath} is ${special}; not writing to it`, hints.elsewhere);
  if (force || (await isEarlierOutput(outputPath))) return;
  throw new UserError(
    `${outputPath} exists and is not ${hints.earlier ?? 'a Dify package or bundle (a .difypkg or .difybndl)'}; not overwriting it`,
    hints.replace,
  );
}

/**
 * What `package`, `bundle package` and `signature sign` write: a file named `.difypkg` or
 * `.difybndl` that is a readable ZIP holding manifest.yaml at its root. The name counts too: a
 * `backup.zip` made by zipping the plugin directory holds a manifest as well, and is the user's.
 */
async function isDifyArchive(file: string): Promise<boolean> {
  return /\.(?:difypkg|difybndl)$/i.test(file) && holdsManifest(file);
}

/** A readable ZIP with manifest.yaml at its root. */
export async function holdsManifest(file: string): Promise<boolean> {
  const { ZipReader } = await import('../project/zip-reader.js'); // loaded only when a file is there
  let zip;
  try {
    zip = await ZipReader.open(file, Number.MAX_SAFE_INTEGER);
  } catch {
    return false;
  }
  try {
    return zip.contents.entries.some((e) => e.name === 'manifest.yaml');
  } finally {
    await zip.close();
  }
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
