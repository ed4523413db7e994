import path from 'node:path';
import { checkPlugin } from '../../pipelines/check-plugin.js';
import { printableJson } from '../../diagnostics/excerpt.js';
import { MAX_PACKAGE_BYTES } from '../../project/limits.js';
import { EXIT, type ExitCode, UserError } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';

export interface ChecksumOptions {
  format?: 'text' | 'json';
}

/**
 * `dify plugin checksum <dir|file.difypkg>`: the checksum alone on stdout. A directory's checksum
 * is that of the package `package` would write from it (ignore rules and a generated
 * requirements.txt included), so the two always agree.
 */
export async function checksumCommand(target: string, opts: ChecksumOptions, io: Io): Promise<ExitCode> {
  const location = path.resolve(io.cwd, target);
  const result = await checkPlugin(location, {
    strict: false,
    maxBytes: MAX_PACKAGE_BYTES,
    env: io.env,
    checksum: true,
  });
  // A file that cannot be packed (unreadable, a FIFO, a secret, over 4 GiB) means there is no
  // package whose checksum this could be.
  const unpackable = result.source?.selection.findings.find((d) => d.severity === 'error');
  if (unpackable)
    throw new UserError(`cannot compute the checksum of ${target}: ${unpackable.message}`, unpackable.hint);
  const checksum = result.plugin?.checksum ?? null;
  if (!checksum) {
    const message = result.diagnostics.find((d) => d.severity === 'error')?.message ?? 'the plugin could not be read';
    // An unreadable package's finding starts with its path, which the line names already.
    const reason = message.startsWith(`${location}: `) ? message.slice(location.length + 2) : message;
    throw new UserError(`cannot compute the checksum of ${target}: ${reason}`);
  }
  if (opts.format === 'json') {
    io.stdout.write(printableJson({ checksum, identifier: result.plugin?.identifier ?? null }) + '\n');
  } else {
    io.stdout.write(`${checksum}\n`);
  }
  return EXIT.ok;
}
