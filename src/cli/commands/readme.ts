import path from 'node:path';
import { openPlugin } from '../../edit/open.js';
import { listReadmes } from '../../edit/readme.js';
import { printable, printableJson } from '../../diagnostics/excerpt.js';
import { displayWidth } from '../../report/width.js';
import { EXIT, type ExitCode } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';

export interface ReadmeListOptions {
  format?: 'text' | 'json';
}

const HEADER = ['language-code', 'language', 'available'] as const;

/**
 * `dify plugin readme list <dir|file.difypkg>`: the Go CLI's table, in a stable order (en_US, then
 * the other codes in code order) and aligned for wide characters. README.md missing is an error
 * (exit 1), as it is for the daemon.
 */
export async function readmeListCommand(target: string, opts: ReadmeListOptions, io: Io): Promise<ExitCode> {
  const opened = await openPlugin(path.resolve(io.cwd, target), {
    allowPackage: true,
    command: 'dify plugin readme list',
    display: target,
  });
  try {
    const readmes = await listReadmes(opened.source, target);
    if (opts.format === 'json') {
      io.stdout.write(printableJson({ readmes }, 2) + '\n');
      return EXIT.ok;
    }
    const body = [[...HEADER], ...readmes.map((r) => [printable(r.code), printable(r.language), '✅'])];
    const widths = HEADER.map((_, i) => Math.max(...body.map((row) => displayWidth(row[i]!))));
    const rows = [body[0]!, widths.map((w) => '-'.repeat(w)), ...body.slice(1)];
    for (const row of rows) {
      const cells = row.map((cell, i) =>
        i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - displayWidth(cell) + 2),
      );
      io.stdout.write(cells.join('') + '\n');
    }
    return EXIT.ok;
  } finally {
    await opened.close();
  }
}
