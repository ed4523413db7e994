import { statSync, type Stats } from 'node:fs';
import { diagnostic } from '../diagnostics/catalog.js';
import { forRemoteDebugging, isBlocking, sortDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.js';
import { checkProject, type ProjectCheckOptions } from '../check/check-project.js';
import { startPython } from '../check/python-syntax.js';
import { marketplaceFindings, type PackedRequirements } from '../check/marketplace.js';
import { planChecksum, planPackage, sizeFinding, type PackPlan } from '../pack/plan.js';
import { RequirementsError } from '../pack/requirements.js';
import { specialKind } from '../project/file-kind.js';
import { startsLikeZip } from '../project/zip-magic.js';
import { DirectorySource } from '../project/directory-source.js';
import type { PackageSource } from '../project/package-source.js';
import type { PluginSource } from '../project/source.js';
import { uniqueIdentifier } from '../project/identity.js';
import { loadProject } from '../project/load.js';
import { resolveRef } from '../project/references.js';
import { get, summarizePlugin, type PluginProject, type PluginSummary } from '../project/model.js';

export interface PluginInfo extends PluginSummary {
  checksum: string | null;
  identifier: string | null;
}

/** The outcome for one plugin path, as `package --format json` reports it. */
export interface PluginResult {
  /** The path as the user gave it. */
  path: string;
  ok: boolean;
  plugin: PluginInfo | null;
  diagnostics: Diagnostic[];
  /** The loaded model, for commands that go on to pack or run it. */
  project?: PluginProject;
  /** For a directory: exactly what its package holds. */
  plan?: PackPlan;
  /** For a directory: the ignore-rule decisions behind the plan. */
  source?: DirectorySource;
  /** For a package: the files it holds (what `--list` shows). */
  contents?: { path: string; size: number }[];
  /** With the `marketplace` profile: the checks of the pre-check that did not run. */
  marketplace?: { skipped: string[] };
}

export interface CheckOptions {
  strict: boolean;
  /** Uncompressed size limit in bytes (`--max-size`). */
  maxBytes: number;
  /** Where the package would be written: never packed into itself. */
  outputPath?: string;
  /** Compute the checksum and identifier (hashes every file). */
  checksum: boolean;
  env: NodeJS.ProcessEnv;
  /**
   * Compile the Python sources with a local Python (one process serves every plugin of a run).
   * `package` does; commands that go on to start the plugin leave it to Python itself.
   */
  compilePython?: boolean;
  /**
   * Check for `run`: rules only remote debugging enforces are errors, since the daemon refuses
   * the registration (`package` reports them as warnings).
   */
  remoteDebugging?: boolean;
  /**
   * `validate` when nothing will read the plan's contents (a check that prints findings only):
   * requirements.txt is then checked for, not generated (see pack/plan.ts). Never with
   * `checksum`, which needs every byte of the package.
   */
  requirements?: 'export' | 'validate';
  /**
   * The `marketplace` profile (`--marketplace`): the Marketplace pre-check's static rules too.
   * They read the requirements.txt the package would hold, so one is generated if need be.
   */
  marketplace?: boolean;
}

/**
 * Loads and checks a plugin directory, or a `.difypkg` already built: bad input becomes
 * diagnostics, never a throw. For a directory this also decides the package contents, so the
 * size limit and the checksum are those of the package that `package` would write.
 */
export async function checkPlugin(location: string, options: CheckOptions): Promise<PluginResult> {
  const info = statOrNull(location);
  // Any ZIP is read as a package, whatever its name, as the daemon does (bundles embed packages
  // without an extension).
  if (info?.isFile() && (location.endsWith('.difypkg') || startsLikeZip(location)))
    return checkPackageFile(location, options);
  if (!info?.isDirectory()) {
    const code = info ? 'plugin/not-a-directory' : 'plugin/not-found';
    const special = info && specialKind(info);
    const message = special
      ? `${location} is ${special}, not a plugin directory or a .difypkg file`
      : info
        ? `${location} is neither a plugin directory nor a .difypkg file`
        : `${location} does not exist`;
    return failed(location, [
      diagnostic(code, { file: null }, message, 'pass the plugin directory (the one holding manifest.yaml)'),
    ]);
  }
  const source = await DirectorySource.open(location, options.outputPath ? { outputPath: options.outputPath } : {});
  await warmPython(source, options);
  const project = await loadProject(source);
  const diagnostics = [...source.selection.findings, ...(await checkProject(project, projectOptions(options)))];
  let plan: PackPlan | undefined;
  let checksum: string | null = null;
  try {
    plan = await planPackage(location, source.selection, {
      language: runnerLanguage(project),
      env: options.env,
      requirements: options.checksum || options.marketplace ? 'export' : (options.requirements ?? 'export'),
      maxBytes: options.maxBytes,
    });
    const tooLarge = sizeFinding(plan, options.maxBytes, source.selection.ignoreFile, referencedFiles(project));
    if (tooLarge) diagnostics.push(tooLarge);
    if (options.checksum) checksum = await planChecksum(plan);
  } catch (err) {
    if (!(err instanceof RequirementsError)) throw err;
    diagnostics.push(
      diagnostic(
        'pack/requirements-failed',
        { file: 'uv.lock' },
        err.message,
        'fix uv.lock (uv lock), or add a requirements.txt',
      ),
    );
  }
  // Without a plan (uv.lock could not be exported), what requirements.txt would hold is unknown.
  if (options.marketplace)
    diagnostics.push(...(await marketplaceFindings(project, plan ? await plannedRequirements(plan) : undefined)));
  const result = finish(location, project, diagnostics, checksum, options);
  if (plan) result.plan = plan;
  result.source = source;
  return result;
}

async function checkPackageFile(location: string, options: CheckOptions): Promise<PluginResult> {
  // Packages are read rarely; their ZIP and hashing code loads only then.
  const [{ PackageSource }, { ZipError, VERIFICATION_FILE }, { checksumOfHashes }] = await Promise.all([
    import('../project/package-source.js'),
    import('../project/zip-reader.js'),
    import('../pack/checksum.js'),
  ]);
  let source: PackageSource;
  try {
    source = await PackageSource.open(location, options.maxBytes);
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    return failed(location, [diagnostic('package/unreadable', { file: null }, `${location}: ${err.message}`)]);
  }
  try {
    await warmPython(source, options);
    const project = await loadProject(source);
    const diagnostics = await checkProject(project, projectOptions(options));
    if (options.marketplace) {
      const written = (await source.statPath('requirements.txt')) === 'file';
      const requirements = written
        ? { text: (await source.readFile('requirements.txt')).toString('utf8'), generated: false }
        : null;
      diagnostics.push(...(await marketplaceFindings(project, requirements)));
    }
    const verifications = source.zip.contents.entries.filter((e) => e.name === VERIFICATION_FILE).length;
    if (verifications > 1)
      diagnostics.push(
        diagnostic(
          'package/verification-repeated',
          { file: VERIFICATION_FILE },
          `the package holds ${verifications} ${VERIFICATION_FILE} entries (signed again by the Go CLI); Dify reads only the first`,
          'sign the unsigned package once, or re-sign with `dify signature sign`, which replaces the old signature',
        ),
      );
    const files = await source.listFiles();
    // Every entry is read whatever the output format, so that the verdict covers each byte of the
    // package (a damaged entry no rule reads is still damaged); hashed only when asked.
    const hashes = await source.readAll(options.checksum);
    const checksum = options.checksum ? checksumOfHashes(hashes) : null;
    return {
      ...finish(location, project, diagnostics, checksum, options),
      contents: files.map(({ path, size }) => ({ path, size })),
    };
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    return failed(location, [diagnostic('package/unreadable', { file: null }, `${location}: ${err.message}`)]);
  } finally {
    await source.close();
  }
}

/**
 * Starts Python as soon as the plugin is known to hold Python code, before it is even loaded:
 * its start-up (long behind a launcher such as a pyenv shim) then overlaps the whole check.
 */
async function warmPython(source: PluginSource, options: CheckOptions): Promise<void> {
  if (options.compilePython && (await source.listFiles()).some((f) => f.path.endsWith('.py'))) startPython(options.env);
}

function projectOptions(options: CheckOptions): ProjectCheckOptions {
  return options.compilePython ? { python: { env: options.env } } : {};
}

function finish(
  location: string,
  project: PluginProject,
  diagnostics: Diagnostic[],
  checksum: string | null,
  options: CheckOptions,
): PluginResult {
  if (options.remoteDebugging) forRemoteDebugging(diagnostics);
  const summary = summarizePlugin(project);
  const plugin: PluginInfo | null = summary && { ...summary, checksum: null, identifier: null };
  if (plugin && checksum) setChecksum(plugin, checksum);
  const sorted = sortDiagnostics(diagnostics);
  const ok = !sorted.some((d) => isBlocking(d, options.strict));
  return { path: location, ok, plugin, diagnostics: sorted, project };
}

/** Records a checksum worked out later (`package` hashes the files while it packs them). */
export function setChecksum(plugin: PluginInfo, checksum: string): void {
  plugin.checksum = checksum;
  plugin.identifier =
    plugin.name && plugin.version ? uniqueIdentifier(plugin.author, plugin.name, plugin.version, checksum) : null;
}

/** Synchronous: fs/promises would load Node's stream and readline code for this one call. */
function statOrNull(location: string): Stats | null {
  try {
    return statSync(location);
  } catch {
    return null;
  }
}

function failed(location: string, diagnostics: Diagnostic[]): PluginResult {
  return { path: location, ok: false, plugin: null, diagnostics };
}

/** The files the plugin's declarations name: every YAML file loaded, and the privacy policy. */
function referencedFiles(project: PluginProject): Set<string> {
  const referenced = new Set(project.files.keys());
  const privacy = get(project.manifest?.value, 'privacy');
  const privacyPath = typeof privacy === 'string' ? resolveRef(privacy).path : undefined;
  if (privacyPath) referenced.add(privacyPath);
  return referenced;
}

/** The requirements.txt a package of this plan holds: written, generated from uv.lock, or none. */
async function plannedRequirements(plan: PackPlan): Promise<PackedRequirements | null> {
  const entry = plan.entries.find((e) => e.name === 'requirements.txt');
  return entry ? { text: (await entry.read()).toString('utf8'), generated: entry.generated } : null;
}

function runnerLanguage(project: PluginProject): unknown {
  return get(project.manifest?.value, 'meta', 'runner', 'language');
}

/**
 * Checks several plugins, a few at a time so that the asynchronous reads (package archives,
 * checksums) overlap, keeping the order they were given in. Worker threads were measured and
 * lost: on two cores their start-up costs more than checking 100 plugins in one thread saves.
 * `outputPaths[i]`, when given, is where plugin i will be packed (never packed into itself).
 */
export async function checkPlugins(
  locations: string[],
  options: CheckOptions,
  outputPaths: readonly string[] = [],
): Promise<PluginResult[]> {
  const results: PluginResult[] = new Array(locations.length);
  let next = 0;
  const worker = async () => {
    while (next < locations.length) {
      const i = next++;
      const outputPath = outputPaths[i];
      results[i] = await checkPlugin(locations[i]!, outputPath ? { ...options, outputPath } : options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, locations.length) }, worker));
  return results;
}
