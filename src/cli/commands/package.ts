import { statSync } from 'node:fs';
import path from 'node:path';
import { checkPlugins, setChecksum, type PluginResult } from '../../pipelines/check-plugin.js';
import { formatBytes } from '../../pack/plan.js';
import { printable } from '../../diagnostics/excerpt.js';
import { colorFor } from '../../report/color.js';
import { formatGithub } from '../../report/github.js';
import { formatJson, type ResultExtras } from '../../report/json.js';
import { formatText } from '../../report/text.js';
import { EXIT, type ExitCode, UsageError } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';
import { defaultArchiveName, writeArchive, type Written } from '../archive-output.js';
import { parseMaxSize } from '../max-size.js';
import { startSpinner } from '../spinner.js';

export interface PackageOptions {
  output_path?: string;
  maxSize?: string;
  check?: boolean;
  format?: 'text' | 'json' | 'github';
  strict?: boolean;
  list?: boolean;
  force?: boolean;
}

/** `dify plugin package`: validate one or more plugins and, unless --check or --list, pack one. */
export async function packageCommand(paths: string[], opts: PackageOptions, io: Io): Promise<ExitCode> {
  const writing = !opts.check && !opts.list;
  if (writing && paths.length > 1)
    throw new UsageError('packing takes one plugin path; pass several only with --check');
  const alreadyPacked = writing
    ? paths.find((p) => statSync(path.resolve(io.cwd, p), { throwIfNoEntry: false })?.isFile())
    : undefined;
  if (alreadyPacked !== undefined) {
    throw new UsageError(
      `${alreadyPacked} is a package already: pass --check to validate it, or the plugin directory to pack it`,
    );
  }
  const maxBytes = parseMaxSize(opts.maxSize, io);
  const outputPath = writing
    ? path.resolve(io.cwd, opts.output_path ?? defaultArchiveName(paths[0]!, io.cwd, '.difypkg'))
    : undefined;
  const format = opts.format ?? (io.env.GITHUB_ACTIONS === 'true' ? 'github+text' : 'text');
  const spinner = await startSpinner(
    io,
    format === 'json' ? undefined : `Checking ${paths.length === 1 ? paths[0] : `${paths.length} plugins`}`,
  );

  const results = await checkPlugins(
    paths.map((p) => path.resolve(io.cwd, p)),
    {
      strict: Boolean(opts.strict),
      maxBytes,
      env: io.env,
      compilePython: true,
      // Text-mode checks never show the checksum; computing it means hashing every file, which
      // packing does anyway as it reads them.
      checksum: !writing && format === 'json',
      // Only packing and --list use the generated requirements.txt itself.
      requirements: writing || opts.list ? 'export' : 'validate',
      ...(outputPath ? { outputPath } : {}),
    },
  ).finally(() => spinner.stop());
  results.forEach((r, i) => (r.path = paths[i]!)); // report paths as the user typed them

  const extras = new Map<PluginResult, ResultExtras>();
  if (opts.list) for (const r of results) extras.set(r, listing(r));
  const written =
    writing && results[0]!.ok
      ? await writePackage(results[0]!, outputPath!, Boolean(opts.force), maxBytes, io)
      : undefined;
  if (written) extras.set(results[0]!, written);

  if (format === 'json') {
    io.stdout.write(formatJson(results, extras));
  } else {
    if (format === 'github' || format === 'github+text') io.stdout.write(formatGithub(results));
    if (format !== 'github') {
      const c = colorFor(io.stdout, io.env);
      if (opts.list) for (const r of results) io.stdout.write(formatListing(r, c.dim));
      io.stdout.write(formatText(results, c));
      if (written) {
        const r = results[0]!;
        io.stdout.write(
          c.green(
            `✓ Packaged ${written.output} (${written.files} files, ${formatBytes(written.size)}) checksum ${r.plugin?.checksum}\n`,
          ),
        );
      }
    }
  }
  if (!opts.check) noteRequirements(results, io);
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

async function writePackage(
  result: PluginResult,
  outputPath: string,
  force: boolean,
  maxBytes: number,
  io: Io,
): Promise<Written> {
  const plan = result.plan!;
  return writeArchive(outputPath, force, io, `Packing ${plan.entries.length} files`, async () => {
    const [{ writeZip }, { checksumOfHashes }] = await Promise.all([
      import('../../pack/zip-writer.js'),
      import('../../pack/checksum.js'),
    ]);
    // The limit again, on the bytes read: a file may have grown since it was checked.
    const written = await writeZip(outputPath, plan.entries, { hashContents: true, maxBytes });
    const hashes = written.contentHashes!.map((sha256, i) => ({ path: plan.entries[i]!.name, sha256 }));
    if (result.plugin) setChecksum(result.plugin, checksumOfHashes(hashes));
    return written;
  });
}

/** What a directory would pack, or what a package holds. */
function listedFiles(r: PluginResult): { path: string; size: number; generated?: true }[] {
  if (r.plan)
    return r.plan.entries.map((e) => ({
      path: e.name,
      size: e.size,
      ...(e.generated ? { generated: true as const } : {}),
    }));
  return r.contents ?? [];
}

function listing(r: PluginResult): ResultExtras {
  return {
    list: {
      packed: listedFiles(r),
      excluded: r.source?.selection.excluded ?? [],
      ignoreFile: r.source?.selection.ignoreFile ?? null,
    },
  };
}

function formatListing(r: PluginResult, dim: (s: string) => string): string {
  const files = listedFiles(r);
  if (files.length === 0) return '';
  const lines = files.map(
    (f) => `${formatBytes(f.size).padStart(10)}  ${printable(f.path)}${f.generated ? dim('  (generated)') : ''}`,
  );
  lines.push(dim(`${formatBytes(files.reduce((n, f) => n + f.size, 0)).padStart(10)}  total, ${files.length} files`));
  return lines.join('\n') + '\n';
}

/** uv not installed: the dependency list was exported natively; say so where it is seen. */
function noteRequirements(results: PluginResult[], io: Io): void {
  for (const r of results) {
    if (r.plan?.requirements?.via === 'uv.lock') {
      io.stderr.write(
        `warning: ${r.path}: uv was not found, so requirements.txt was exported from uv.lock by this CLI (set UV_PATH to use uv)\n`,
      );
    }
  }
}
