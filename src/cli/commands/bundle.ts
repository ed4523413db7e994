import { stat } from 'node:fs/promises';
import path from 'node:path';
import { diagnostic } from '../../diagnostics/catalog.js';
import { countBySeverity, type Diagnostic } from '../../diagnostics/diagnostic.js';
import type { PluginResult } from '../../pipelines/check-plugin.js';
import type { BundleCheckResult } from '../../bundle/check.js';
import {
  analyzeBundle,
  appendPackage,
  checkBundleAndPackages,
  PackageRejectedError,
  type AnalyzedDependency,
  type BundleAnalysis,
} from '../../pipelines/bundle-packages.js';
import { BundleError, BundleLinkError } from '../../bundle/errors.js';
import { appendPattern, applyProfile, bumpVersion, currentProfile, removeDependency } from '../../bundle/operations.js';
import {
  GITHUB_PATTERN_HINT,
  isValidVersion,
  MARKETPLACE_PATTERN_HINT,
  parseGithubPattern,
  parseMarketplacePattern,
  VERSION_HINT,
} from '../../bundle/patterns.js';
import { validateLabel } from '../../bundle/profile.js';
import { Bundle } from '../../bundle/store.js';
import { MAX_BUNDLE_BYTES } from '../../project/limits.js';
import { formatBytes } from '../../pack/plan.js';
import { printable, printableJson } from '../../diagnostics/excerpt.js';
import { colorFor, type Colors } from '../../report/color.js';
import { formatGithub } from '../../report/github.js';
import { formatText, plural } from '../../report/text.js';
import { title } from '../../scaffold/answers.js';
import { validate } from '../../project/manifest-fields.js';
import { EXIT, type ExitCode, UsageError, UserError } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';
import { defaultArchiveName, writeArchive, type Written } from '../archive-output.js';
import { parseMaxSize } from '../max-size.js';
import { startSpinner } from '../spinner.js';

/** `dify bundle append github|marketplace|package` flags. */
export interface AppendOptions {
  repo_pattern?: string;
  marketplace_pattern?: string;
  package_path?: string;
  maxSize?: string;
}

/**
 * `dify bundle append <type> <bundle_path>`: a pattern that does not match the daemon's regex is
 * a bad flag value (exit 2); a package that does not check as a plugin is refused (exit 1). An
 * identical dependency already in the bundle leaves it unchanged.
 */
export async function bundleAppendCommand(
  type: 'github' | 'marketplace' | 'package',
  target: string,
  opts: AppendOptions,
  io: Io,
): Promise<ExitCode> {
  const c = colorFor(io.stdout, io.env);
  if (type === 'github' || type === 'marketplace') {
    const pattern = (type === 'github' ? opts.repo_pattern : opts.marketplace_pattern) ?? '';
    const parsed = type === 'github' ? parseGithubPattern(pattern) : parseMarketplacePattern(pattern);
    if (!parsed) {
      throw new UsageError(
        `invalid ${type === 'github' ? 'github repo' : 'marketplace'} pattern "${pattern}"`,
        type === 'github' ? GITHUB_PATTERN_HINT : MARKETPLACE_PATTERN_HINT,
      );
    }
    return withBundle(target, io, async (bundle) => {
      const r = appendPattern(bundle, type, pattern);
      await save(bundle);
      io.stdout.write(
        r.existing
          ? c.green(`✓ ${type} ${pattern} is already dependency [${r.index}] of ${target}; nothing changed\n`)
          : c.green(`✓ Added ${type} dependency [${r.index}] ${pattern} to ${target}\n`),
      );
      return EXIT.ok;
    });
  }

  const maxBytes = parseMaxSize(opts.maxSize, io);
  const packagePath = opts.package_path ?? '';
  return withBundle(target, io, async (bundle) => {
    const spinner = await startSpinner(io, `Checking ${packagePath}`);
    let r;
    try {
      r = await appendPackage(bundle, path.resolve(io.cwd, packagePath), packagePath, { maxBytes, env: io.env });
    } catch (err) {
      if (err instanceof PackageRejectedError) {
        spinner.stop();
        io.stderr.write(formatText([err.result], colorFor(io.stderr, io.env)));
      }
      throw err;
    } finally {
      spinner.stop();
    }
    for (const d of r.warnings)
      io.stderr.write(
        `${d.severity}: ${printable(`${packagePath}: ${d.file ? `${d.file}${d.line ? `:${d.line}` : ''}: ` : ''}${d.message}`)} (${d.code})\n`,
      );
    await save(bundle);
    const id = printable(r.plugin.identifier ?? r.plugin.checksum ?? '');
    if (r.existing) {
      io.stdout.write(
        c.green(
          `✓ ${id} is already dependency [${r.index}] of ${target}; nothing changed${r.assetAdded ? ` (its missing file _assets/${r.plugin.checksum} was restored)` : ''}\n`,
        ),
      );
    } else {
      io.stdout.write(c.green(`✓ Added package dependency [${r.index}] ${id} to ${target}\n`));
      io.stdout.write(`  ${r.assetAdded ? 'stored as' : 'already stored as'} _assets/${r.plugin.checksum}\n`);
    }
    return EXIT.ok;
  });
}

/** `dify bundle remove <bundle_path> -i N`. */
export async function bundleRemoveCommand(target: string, opts: { index?: string }, io: Io): Promise<ExitCode> {
  const raw = String(opts.index ?? '').trim();
  if (!/^\d+$/.test(raw))
    throw new UsageError(
      `--index must be a whole number from 0, not "${raw}"`,
      'see the indexes with `dify bundle analyze <bundle>`',
    );
  const index = Number(raw);
  return withBundle(target, io, async (bundle) => {
    const r = removeDependency(bundle, index);
    await save(bundle);
    const c = colorFor(io.stdout, io.env);
    io.stdout.write(
      c.green(`✓ Removed dependency [${index}] (${printable(describeDependency(r.dependency))}) from ${target}\n`),
    );
    if (r.deletedAsset) io.stdout.write(`  deleted _assets/${printable(r.deletedAsset)}\n`);
    if (r.keptAsset) {
      const users = r.keptAsset.usedBy.map((i) => `[${i}]`).join(', ');
      io.stdout.write(
        `  kept _assets/${printable(r.keptAsset.name)}: ${users ? `still used by dependency ${users}` : 'it is the icon'}\n`,
      );
    }
    return EXIT.ok;
  });
}

/** `dify bundle bump <bundle_path> -t V`: V must match the daemon's version regex (else exit 2). */
export async function bundleBumpCommand(target: string, opts: { target_version?: string }, io: Io): Promise<ExitCode> {
  const version = opts.target_version ?? '';
  if (!isValidVersion(version)) throw new UsageError(`invalid version "${version}"`, VERSION_HINT);
  return withBundle(target, io, async (bundle) => {
    const { from, to } = bumpVersion(bundle, version);
    await save(bundle);
    const c = colorFor(io.stdout, io.env);
    io.stdout.write(c.green(`✓ ${target}: version ${typeof from === 'string' ? from : '(none)'} → ${to}\n`));
    return EXIT.ok;
  });
}

export interface RegenerateOptions {
  quick?: boolean;
  name?: string;
  author?: string;
  description?: string;
  label?: string;
}

/**
 * `dify bundle regenerate <bundle_path>`: on a terminal (unless --quick) asks for the name,
 * author, description and display name, starting from the flags and the manifest; otherwise
 * takes --name, --author and --description (all three) and optionally --label.
 */
export async function bundleRegenerateCommand(target: string, opts: RegenerateOptions, io: Io): Promise<ExitCode> {
  const check = (flag: string, value: string | undefined, rule: (v: string) => true | string) => {
    if (value === undefined) return;
    const result = rule(value);
    if (result !== true) throw new UsageError(`--${flag} "${value}": ${result}`);
  };
  check('name', opts.name, validate.name);
  check('author', opts.author, validate.author);
  check('description', opts.description, validate.description);
  check('label', opts.label, validateLabel);
  const interactive = !opts.quick && Boolean(io.stdin.isTTY);
  if (!interactive) {
    const missing = (['name', 'author', 'description'] as const)
      .filter((k) => opts[k] === undefined)
      .map((k) => `--${k}`);
    if (missing.length > 0) {
      throw new UsageError(
        `missing ${missing.join(', ')}: they are required with --quick or without a terminal`,
        `e.g. dify bundle regenerate ${target} --name my_bundle --author acme --description "What it installs"`,
      );
    }
  }
  return withBundle(target, io, async (bundle) => {
    const current = currentProfile(bundle);
    const start = {
      name: opts.name ?? current.name,
      author: opts.author ?? current.author,
      description: opts.description ?? current.description,
      label: opts.label ?? current.label,
    };
    let profile = start;
    if (interactive) {
      const { askProfile } = await import('../../bundle/profile.js');
      try {
        profile = await askProfile(start, { input: io.stdin, output: io.stdout as NodeJS.WritableStream });
      } catch (err) {
        if ((err as Error).name === 'ExitPromptError') throw new UserError('cancelled: nothing was written');
        throw err;
      }
    } else if (opts.label === undefined && (profile.name !== current.name || !current.label)) {
      profile = { ...profile, label: title(profile.name) };
    }
    applyProfile(bundle, profile);
    await save(bundle);
    const c = colorFor(io.stdout, io.env);
    io.stdout.write(
      c.green(
        `✓ ${target}: ${printable(`name ${profile.name}, author ${profile.author}, label "${profile.label}"`)}; description updated\n`,
      ),
    );
    return EXIT.ok;
  });
}

export interface BundlePackageOptions {
  output_path?: string;
  check?: boolean;
  format?: 'text' | 'json' | 'github';
  strict?: boolean;
  force?: boolean;
}

/**
 * `dify bundle package <bundle_path>`: checks the manifest (schema, dependency patterns, embedded
 * files) and, without errors, writes the .difybndl; with --check only checks, several bundles at
 * once if given.
 */
export async function bundlePackageCommand(paths: string[], opts: BundlePackageOptions, io: Io): Promise<ExitCode> {
  const writing = !opts.check;
  if (writing && paths.length > 1)
    throw new UsageError('packing takes one bundle path; pass several only with --check');
  const outputPath = writing
    ? path.resolve(io.cwd, opts.output_path ?? defaultArchiveName(paths[0]!, io.cwd, '.difybndl'))
    : undefined;
  const format = opts.format ?? (io.env.GITHUB_ACTIONS === 'true' ? 'github+text' : 'text');
  const results: BundleCheckResult[] = [];
  let written: Written | undefined;
  for (const p of paths) {
    const opened = await openForCheck(p, io);
    if (!('bundle' in opened)) {
      results.push({ path: p, ok: false, bundle: null, diagnostics: [opened.diagnostic] });
      continue;
    }
    const bundle = opened.bundle;
    try {
      // Embedded packages are checked as `analyze` checks them, with the same limit.
      const result = await checkBundleAndPackages(bundle, p, Boolean(opts.strict), {
        maxBytes: MAX_BUNDLE_BYTES,
        env: io.env,
      });
      results.push(result);
      if (writing && result.ok) written = await writeBundle(bundle, outputPath!, Boolean(opts.force), io);
    } finally {
      await bundle.close();
    }
  }

  if (format === 'json') {
    const doc = {
      ok: results.every((r) => r.ok),
      results: results.map((r) => ({
        path: r.path,
        ok: r.ok,
        bundle: r.bundle,
        ...(written && r === results[0] ? written : {}),
        diagnostics: r.diagnostics,
      })),
    };
    io.stdout.write(printableJson(doc, 2) + '\n');
  } else {
    const asPlugins = results.map(asPluginResult);
    if (format === 'github' || format === 'github+text') io.stdout.write(formatGithub(asPlugins));
    if (format !== 'github') {
      const c = colorFor(io.stdout, io.env);
      for (const r of asPlugins) io.stdout.write(formatText([r], c));
      if (asPlugins.length > 1) io.stdout.write(overall(results, c));
      if (written)
        io.stdout.write(
          c.green(`✓ Packaged ${written.output} (${written.files} files, ${formatBytes(written.size)})\n`),
        );
    }
  }
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

function overall(results: BundleCheckResult[], c: Colors): string {
  const failed = results.filter((r) => !r.ok).length;
  const n = countBySeverity(results.flatMap((r) => r.diagnostics));
  const text = `${plural(results.length, 'bundle')} checked: ${plural(n.error, 'error')}, ${plural(n.warning, 'warning')}`;
  return (failed > 0 ? c.red(`✖ ${text}; ${failed} failed`) : c.green(`✓ ${text}`)) + '\n';
}

/** A bundle to check, or the finding that says why it cannot be read. */
async function openForCheck(p: string, io: Io): Promise<{ bundle: Bundle } | { diagnostic: Diagnostic }> {
  const location = path.resolve(io.cwd, p);
  const info = await stat(location).catch(() => null);
  if (!info)
    return {
      diagnostic: diagnostic(
        'plugin/not-found',
        { file: null },
        `${p} does not exist`,
        'pass a bundle directory (made by `dify bundle init`) or a .difybndl file',
      ),
    };
  try {
    return { bundle: await Bundle.open(location) };
  } catch (err) {
    if (!(err instanceof BundleError)) throw err;
    return {
      diagnostic: diagnostic(
        err instanceof BundleLinkError
          ? 'bundle/link-outside'
          : info.isDirectory()
            ? 'manifest/missing'
            : 'package/unreadable',
        { file: null },
        err.message,
        err.hint,
      ),
    };
  }
}

/** The text and GitHub reports are the plugin ones; a bundle has a name, author and version too. */
function asPluginResult(r: BundleCheckResult): PluginResult {
  const b = r.bundle;
  return {
    path: r.path,
    ok: r.ok,
    plugin: b && {
      author: b.author,
      name: b.name,
      version: b.version,
      category: null,
      checksum: null,
      identifier: null,
    },
    diagnostics: r.diagnostics,
  };
}

function writeBundle(bundle: Bundle, outputPath: string, force: boolean, io: Io): Promise<Written> {
  return writeArchive(outputPath, force, io, 'Packing the bundle', () => bundle.exportTo(outputPath));
}

/** `dify bundle analyze <bundle_path>`: each dependency with its parsed fields; exit 1 when one is broken. */
export async function bundleAnalyzeCommand(
  target: string,
  opts: { format?: 'text' | 'json' },
  io: Io,
): Promise<ExitCode> {
  return withBundle(target, io, async (bundle) => {
    const spinner = await startSpinner(io, opts.format === 'json' ? undefined : `Analyzing ${target}`);
    // Report what is there even past the daemon's default package limit; the bundle limit still guards.
    const analysis = await analyzeBundle(bundle, { maxBytes: MAX_BUNDLE_BYTES, env: io.env }).finally(() =>
      spinner.stop(),
    );
    const ok = analysis.dependencies.every((d) => d.problems.length === 0);
    if (opts.format === 'json') {
      io.stdout.write(
        printableJson(
          {
            path: target,
            ok,
            bundle: { name: analysis.name, author: analysis.author, version: analysis.version },
            dependencies: analysis.dependencies,
          },
          2,
        ) + '\n',
      );
    } else {
      io.stdout.write(formatAnalysis(target, analysis, colorFor(io.stdout, io.env)));
    }
    return ok ? EXIT.ok : EXIT.failed;
  });
}

/** Names, patterns and problems come from the bundle and its packages: each goes through printable(). */
function formatAnalysis(target: string, a: BundleAnalysis, c: Colors): string {
  const id = a.name ? ` (${a.author ? `${a.author}/` : ''}${a.name}${a.version ? `:${a.version}` : ''})` : '';
  const n = a.dependencies.length;
  const lines = [
    c.bold(`${printable(target + id)}: ${n === 0 ? 'no dependencies' : `${n} dependenc${n === 1 ? 'y' : 'ies'}`}`),
  ];
  for (const d of a.dependencies) {
    lines.push(`[${d.index}] ${printable(d.type ?? '?').padEnd(12)} ${printable(headline(d))}`);
    for (const [k, v] of fields(d)) lines.push(`    ${c.dim(k.padEnd(13))} ${printable(v)}`);
    for (const p of d.problems) lines.push(`    ${c.red('✖')} ${printable(p)}`);
    for (const n of d.notes) lines.push(`    ${c.yellow('⚠')} ${printable(n)}`);
  }
  const broken = a.dependencies.filter((d) => d.problems.length > 0).length;
  if (broken > 0) lines.push(c.red(`✖ ${broken} of ${n} dependencies cannot be installed as they are`));
  return lines.join('\n') + '\n';
}

function headline(d: AnalyzedDependency): string {
  if (d.type === 'package') return d.path ? `_assets/${d.path}` : '';
  return d.pattern ?? '';
}

function fields(d: AnalyzedDependency): [string, string][] {
  if (d.type === 'github' && d.repo)
    return [
      ['repo', d.repo],
      ['release', d.release ?? ''],
      ['asset', d.asset ?? ''],
    ];
  if (d.type === 'marketplace' && d.organization)
    return [
      ['organization', d.organization],
      ['plugin', d.plugin ?? ''],
      ['version', d.version ?? ''],
    ];
  if (d.type === 'package') {
    const out: [string, string][] = [];
    if (typeof d.size === 'number') out.push(['size', `${formatBytes(d.size)} (${d.size} bytes)`]);
    const p = d.identity;
    if (p?.name)
      out.push([
        'plugin',
        `${p.author ? `${p.author}/` : ''}${p.name}${p.version ? `:${p.version}` : ''}${p.category ? ` (${p.category})` : ''}`,
      ]);
    if (p?.checksum) out.push(['checksum', p.checksum]);
    return out;
  }
  return [];
}

function describeDependency(dep: unknown): string {
  if (typeof dep !== 'object' || dep === null) return 'not a {type, value} item';
  const { type, value } = dep as { type?: unknown; value?: Record<string, unknown> };
  const detail =
    value?.repo_pattern ??
    value?.marketplace_pattern ??
    (value?.path !== undefined ? `_assets/${String(value.path)}` : undefined);
  return `${String(type)}${detail !== undefined ? ` ${String(detail)}` : ''}`;
}

/** Opens the bundle at `target`, runs `fn`, and closes it. */
async function withBundle(target: string, io: Io, fn: (bundle: Bundle) => Promise<ExitCode>): Promise<ExitCode> {
  const bundle = await Bundle.open(path.resolve(io.cwd, target));
  try {
    return await fn(bundle);
  } finally {
    await bundle.close();
  }
}

async function save(bundle: Bundle): Promise<void> {
  try {
    await bundle.save();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code)
      throw new UserError(`cannot write ${bundle.location}: ${(err as Error).message}`);
    throw err;
  }
}
