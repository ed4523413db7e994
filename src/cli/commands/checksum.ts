import path from 'node:path';
import { checkPlugin } from '../../pipelines/check-plugin.js';
import { printableJson } from '../../diagnostics/excerpt.js';
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
  const result = await checkPlugin(path.resolve(io.cwd, target), {
    strict: false,
    maxBytes: Number.MAX_SAFE_INTEGER,
    env: io.env,
    checksum: true,
  });
  const checksum = result.plugin?.checksum ?? null;
  if (!checksum) {
    const reason = result.diagnostics.find((d) => d.severity === 'error')?.message ?? 'the plugin could not be read';
    throw new UserError(`cannot compute the checksum of ${target}: ${reason}`);
  }
  if (opts.format === 'json') {
    io.stdout.write(printableJson({ checksum, identifier: result.plugin?.identifier ?? null }) + '\n');
  } else {
    io.stdout.write(`${checksum}\n`);
  }
  return EXIT.ok;
}
