import { appendFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkPlugins, setChecksum, type PluginResult } from '../../pipelines/check-plugin.js';
import { formatBytes } from '../../pack/plan.js';
import { printable } from '../../diagnostics/excerpt.js';
import { colorFor } from '../../report/color.js';
import { formatGithub } from '../../report/github.js';
import { formatJson, type ResultExtras } from '../../report/json.js';
import { formatMarkdown } from '../../report/markdown.js';
import { formatText } from '../../report/text.js';
import { EXIT, type ExitCode, UsageError, UserError } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';
import { refuseToReplaceReport } from '../report-file.js';
import {
  defaultArchiveName,
  refuseToClobber,
  writeArchive,
  type OutputHints,
  type Written,
} from '../archive-output.js';
import { parseMaxSize } from '../max-size.js';
import { startSpinner } from '../spinner.js';
import { commandPath } from '../../debug/settings.js';

export interface PackageOptions {
  output_path?: string;
  outputDir?: string;
  reportJson?: string;
  maxSize?: string;
  check?: boolean;
  format?: 'text' | 'json' | 'github' | 'markdown';
  strict?: boolean;
  list?: boolean;
  force?: boolean;
  marketplace?: boolean;
  online?: boolean;
  installTest?: boolean;
  python?: string;
}

/**
 * `dify plugin package`: validate one or more plugins and, unless --check or --list, pack them
 * (one, or with --output-dir each that passes).
 */
export async function packageCommand(paths: string[], opts: PackageOptions, io: Io): Promise<ExitCode> {
  const writing = !opts.check && !opts.list;
  if (opts.outputDir !== undefined && !writing)
    throw new UsageError('--output-dir is where packages are written; it does not go with --check or --list');
  if (opts.outputDir !== undefined && opts.output_path !== undefined)
    throw new UsageError('pass -o for one package or --output-dir for several, not both');
  if (writing && paths.length > 1 && opts.outputDir === undefined)
    throw new UsageError('packing takes one plugin path; pass several with --check, or with --output-dir');
  const alreadyPacked = writing
    ? paths.find((p) => statSync(path.resolve(io.cwd, p), { throwIfNoEntry: false })?.isFile())
    : undefined;
  if (alreadyPacked !== undefined) {
    throw new UsageError(
      `${alreadyPacked} is a package already: pass --check to validate it, or the plugin directory to pack it`,
    );
  }
  if ((opts.online || opts.installTest || opts.python !== undefined) && !opts.marketplace)
    throw new UsageError('--online, --install-test and --python go with --marketplace');
  if (opts.python !== undefined && !opts.installTest)
    throw new UsageError('--python is the interpreter of --install-test; it does nothing without it');
  const maxBytes = parseMaxSize(opts.maxSize, io);
  const outputPaths = writing ? packagePaths(paths, opts, io.cwd) : [];
  // Before any check: a user's file in the way of one package must not stop the run midway, with
  // the findings, the other packages and the reports unwritten.
  const hints = opts.outputDir === undefined ? undefined : OUTPUT_DIR_HINTS;
  for (const output of outputPaths) await refuseToClobber(output, Boolean(opts.force), hints);
  const reportPath = opts.reportJson === undefined ? undefined : path.resolve(io.cwd, opts.reportJson);
  if (reportPath !== undefined && !opts.force) refuseToReplace(reportPath);
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
      checksum: !writing && (format === 'json' || reportPath !== undefined),
      // Only packing and --list use the generated requirements.txt itself.
      requirements: writing || opts.list ? 'export' : 'validate',
      marketplace: Boolean(opts.marketplace),
    },
    outputPaths,
  ).finally(() => spinner.stop());
  results.forEach((r, i) => (r.path = paths[i]!)); // report paths as the user typed them
  if (opts.marketplace && !(await runMarketplaceChecks(results, opts, maxBytes, io))) return EXIT.interrupted;

  const extras = new Map<PluginResult, ResultExtras>();
  if (opts.list) for (const r of results) extras.set(r, listing(r));
  // Each plugin that passed is packed, in turn: the spinner and the file writes stay one at a time.
  for (const [i, r] of results.entries()) {
    if (writing && r.ok) extras.set(r, await writePackage(r, outputPaths[i]!, Boolean(opts.force), maxBytes, io));
  }

  if (format === 'json') {
    io.stdout.write(formatJson(results, extras));
  } else if (format === 'markdown') {
    io.stdout.write(formatMarkdown(results, extras));
  } else {
    if (format === 'github' || format === 'github+text') {
      io.stdout.write(formatGithub(results));
      writeJobSummary(formatMarkdown(results, extras), io);
    }
    if (format !== 'github') {
      const c = colorFor(io.stdout, io.env);
      if (opts.list) for (const r of results) io.stdout.write(formatListing(r, c.dim));
      io.stdout.write(formatText(results, c));
      for (const r of results) {
        const written = writing ? extras.get(r) : undefined;
        if (written?.output === undefined) continue;
        io.stdout.write(
          c.green(
            `✓ Packaged ${written.output} (${written.files} files, ${formatBytes(written.size!)}) checksum ${r.plugin?.checksum}\n`,
          ),
        );
      }
    }
  }
  // After the output: a report that cannot be written does not hide the findings.
  if (reportPath !== undefined) writeReport(reportPath, formatJson(results, extras));
  if (!opts.check) noteRequirements(results, io);
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

/**
 * The checks of the `marketplace` profile that need the network or a Python; false when Ctrl-C
 * (or SIGTERM, SIGHUP) stopped them: the install test's process group is killed and its
 * temporary directory removed before this returns.
 */
async function runMarketplaceChecks(
  results: PluginResult[],
  opts: PackageOptions,
  maxBytes: number,
  io: Io,
): Promise<boolean> {
  const { marketplaceChecks } = await import('../../pipelines/marketplace.js');
  const { stopSignals } = await import('./local-run.js');
  const spinner = await startSpinner(
    io,
    opts.format === 'json' || !(opts.online || opts.installTest) ? undefined : 'Running the Marketplace pre-check',
  );
  const abort = new AbortController();
  const stop = stopSignals(io.signals ?? process, () => {});
  void stop.signalled.then(() => abort.abort());
  try {
    await marketplaceChecks(results, {
      strict: Boolean(opts.strict),
      env: io.env,
      online: Boolean(opts.online),
      installTest: Boolean(opts.installTest),
      python: commandPath(opts.python ?? io.env.PYTHON_INTERPRETER_PATH ?? 'python3', io.cwd, io.env),
      maxBytes,
      log: (text) => io.stderr.write(text.split('\n').map(printable).join('\n')),
      signal: abort.signal,
    });
  } finally {
    stop.dispose();
    spinner.stop();
  }
  return !stop.received;
}

/**
 * Where each plugin is packed: `-o`, or `<directory name>.difypkg` in --output-dir (created if
 * missing) or else the current directory. Two plugins whose directories share a name would
 * overwrite one package with the other: refused before anything is checked.
 */
function packagePaths(paths: string[], opts: PackageOptions, cwd: string): string[] {
  if (opts.outputDir === undefined)
    return [path.resolve(cwd, opts.output_path ?? defaultArchiveName(paths[0]!, cwd, '.difypkg'))];
  const dir = path.resolve(cwd, opts.outputDir);
  const outputs = paths.map((p) => path.join(dir, defaultArchiveName(p, cwd, '.difypkg')));
  // Compared as a case-insensitive, normalising file system (macOS, Windows) would: there
  // `a/plugin` and `b/Plugin` are packed to one file.
  const keys = outputs.map((o) => o.normalize('NFC').toLowerCase());
  const twice = outputs.find((_, i) => keys.indexOf(keys[i]!) !== i);
  if (twice !== undefined)
    throw new UsageError(
      `two plugin directories would both be packed to ${path.relative(cwd, twice) || twice}`,
      'pack them one at a time with -o',
    );
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UserError(`cannot create ${dir}: ${(err as Error).message}`);
  }
  return outputs;
}

const OUTPUT_DIR_HINTS: OutputHints = {
  elsewhere: 'choose another --output-dir, or move that out of the way',
  replace: 'choose another --output-dir, or pass --force',
};

/** A report is recognised by how formatJson() starts it; anything else is kept unless --force. */
function refuseToReplace(file: string): void {
  refuseToReplaceReport(
    file,
    'a report of this CLI',
    (head) => /^\{\s*"ok": (?:true|false),/.test(head),
    'choose another --report-json path, or pass --force',
  );
}

function writeReport(file: string, json: string): void {
  try {
    writeFileSync(file, json);
  } catch (err) {
    throw new UserError(`cannot write ${file}: ${(err as Error).message}`);
  }
}

/**
 * In GitHub Actions, the report as a table in the job summary too (the file GitHub names in
 * GITHUB_STEP_SUMMARY, appended to as its documentation says). A summary that cannot be written
 * costs the table only, not the check.
 */
function writeJobSummary(markdown: string, io: Io): void {
  const file = io.env.GITHUB_STEP_SUMMARY;
  if (io.env.GITHUB_ACTIONS !== 'true' || !file) return;
  try {
    appendFileSync(file, markdown);
  } catch (err) {
    io.stderr.write(`warning: cannot write the job summary ${printable(file)}: ${(err as Error).message}\n`);
  }
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
