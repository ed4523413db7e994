import {
  mkdtempSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkPlugins, type PluginResult } from '../../pipelines/check-plugin.js';
import { resolveSettings } from '../../debug/settings.js';
import { formatBytes } from '../../pack/plan.js';
import { findUv } from '../../pack/requirements.js';
import {
  CONTAINER_DOCKERIGNORE,
  containerDockerfile,
  DEPENDENCY_DIR,
  imageName,
  installCommand,
  lambdaEntries,
  runInstall,
  shellWord,
  type Installer,
  type LambdaArch,
  type ServerlessTarget,
} from '../../pack/serverless-package.js';
import { get } from '../../project/model.js';
import { isPythonModuleName } from '../../project/identity.js';
import { printable } from '../../diagnostics/excerpt.js';
import { colorFor } from '../../report/color.js';
import { formatText } from '../../report/text.js';
import { EXIT, type ExitCode, UsageError, UserError } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';
import { holdsManifest, refuseToClobber, writeArchive } from '../archive-output.js';
import { parseMaxSize } from '../max-size.js';
import { stopSignals } from './local-run.js';
import { startSpinner } from '../spinner.js';
import type { PackageOptions } from './package.js';

export interface ServerlessPackageOptions extends PackageOptions {
  serverless?: boolean;
  /** `--serverless=<target>` (main.ts `serverlessTargetArgs`): lambda (the default) or container. */
  serverlessTarget?: 'lambda' | 'container';
  arch?: string;
  pythonVersion?: string;
  findLinks?: string[];
}

type Kind = 'lambda' | 'container';

/** The Python of the daemon's own plugin environments when the manifest names none. */
const DEFAULT_PYTHON = '3.12';

/**
 * `dify plugin package --serverless[=lambda|container] <dir>`: checks the plugin as `package`
 * does, then writes what runs it in the SDK's serverless mode elsewhere than the daemon:
 * `<name>.serverless.zip` for AWS Lambda behind the AWS Lambda Web Adapter (the plugin's files,
 * its dependencies installed for Lambda's platform under python/, run.sh as the handler), or
 * `<name>.serverless/`, a Docker build context. Nothing is deployed (docs/serverless.md).
 */
export async function serverlessPackageCommand(
  paths: string[],
  opts: ServerlessPackageOptions,
  io: Io,
): Promise<ExitCode> {
  const kind: Kind = opts.serverlessTarget ?? 'lambda';
  refuseOtherFlags(opts);
  if (paths.length !== 1) throw new UsageError('--serverless packs one plugin directory');
  const dir = path.resolve(io.cwd, paths[0]!);
  if (statSync(dir, { throwIfNoEntry: false })?.isFile())
    throw new UsageError(`${paths[0]} is a file: --serverless packs a plugin directory`);
  const explicitArch = archOf(opts.arch);
  if (opts.pythonVersion !== undefined && !/^3\.\d{1,2}$/.test(opts.pythonVersion))
    throw new UsageError(`--python-version "${opts.pythonVersion}" is not a Python 3 version such as 3.12`);
  const maxBytes = parseMaxSize(opts.maxSize, io);
  const name = path.basename(dir);
  const output = path.resolve(io.cwd, opts.output_path ?? `${name}.serverless${kind === 'lambda' ? '.zip' : ''}`);
  if (kind === 'lambda') await refuseToClobber(output, Boolean(opts.force), LAMBDA_HINTS, isLambdaPackage);
  else refuseDirectory(output, dir, Boolean(opts.force));

  const spinner = await startSpinner(io, `Checking ${paths[0]}`);
  const [result] = await checkPlugins(
    [dir],
    {
      strict: Boolean(opts.strict),
      maxBytes,
      env: io.env,
      compilePython: true,
      checksum: false,
      requirements: 'export',
    },
    [output],
  ).finally(() => spinner.stop());
  const r = result!;
  r.path = paths[0]!;
  const c = colorFor(io.stdout, io.env);
  io.stdout.write(formatText([r], c));
  if (!r.ok || !r.plan || !r.project) return EXIT.failed;

  const manifest = r.project.manifest?.value;
  const runner = get(manifest, 'meta', 'runner');
  const target: ServerlessTarget = {
    arch: explicitArch ?? archFromManifest(get(manifest, 'meta', 'arch')),
    pythonVersion: opts.pythonVersion ?? pythonFromManifest(get(runner, 'version')),
    entrypoint: String(get(runner, 'entrypoint') ?? 'main'),
  };
  // The check reports such an entrypoint (manifest/entrypoint-invalid); it goes into run.sh and the Dockerfile.
  if (!isPythonModuleName(target.entrypoint))
    throw new UserError(`meta.runner.entrypoint "${printable(target.entrypoint)}" is not a Python module name`);
  if (explicitArch && !manifestArches(get(manifest, 'meta', 'arch')).includes(explicitArch))
    io.stderr.write(
      `warning: manifest.yaml meta.arch does not list ${explicitArch === 'x86_64' ? 'amd64' : 'arm64'}; packing for ${explicitArch} as --arch says\n`,
    );
  const where = `Python ${target.pythonVersion}, ${target.arch}`;
  if (kind === 'container') {
    const files = await writeContainerContext(r, target, output);
    const shown = printable(path.relative(io.cwd, output) || output);
    io.stdout.write(c.green(`✓ Wrote the container build context ${shown}/ (${files} files, ${where})`) + '\n');
    io.stdout.write(`  docker build -t ${imageName(name)} ${shellWord(shown)}   (docs/serverless.md: the container)\n`);
    return EXIT.ok;
  }
  // Ctrl-C while pip or uv installs: their process group is killed, the work directory removed
  // (writeLambdaPackage's finally), and the command ends as interrupted.
  const abort = new AbortController();
  const stop = stopSignals(io.signals ?? process, () => {});
  void stop.signalled.then(() => abort.abort());
  let written: Awaited<ReturnType<typeof writeLambdaPackage>>;
  try {
    written = await writeLambdaPackage(dir, r, target, output, opts, io, maxBytes, abort.signal);
  } catch (err) {
    if (stop.received) return EXIT.interrupted;
    throw err;
  } finally {
    stop.dispose();
  }
  if (stop.received) return EXIT.interrupted;
  io.stdout.write(
    c.green(
      `✓ Packaged ${printable(written.output)} for AWS Lambda (${written.files} files, ${formatBytes(written.size)}, ${where})`,
    ) + '\n',
  );
  io.stdout.write('  handler run.sh behind the AWS Lambda Web Adapter: docs/serverless.md says how to deploy it\n');
  return EXIT.ok;
}

/** --serverless writes one artifact of one plugin; the report and pre-check flags belong to `package` itself. */
function refuseOtherFlags(opts: ServerlessPackageOptions): void {
  const other: [unknown, string][] = [
    [opts.check, '--check'],
    [opts.list, '--list'],
    [opts.outputDir, '--output-dir'],
    [opts.reportJson, '--report-json'],
    [opts.format, '--format'],
    [opts.marketplace, '--marketplace'],
    [opts.online, '--online'],
    [opts.installTest, '--install-test'],
    [opts.python, '--python'],
  ];
  const flag = other.find(([value]) => value !== undefined && value !== false)?.[1];
  if (flag) throw new UsageError(`--serverless does not go with ${flag}`);
}

function archOf(text: string | undefined): LambdaArch | undefined {
  if (text === undefined) return undefined;
  if (text === 'x86_64' || text === 'arm64') return text;
  throw new UsageError(`--arch "${text}" is not x86_64 or arm64`);
}

/** `meta.arch` names Go's architectures: amd64 and arm64. */
function manifestArches(value: unknown): LambdaArch[] {
  const list = Array.isArray(value) ? value : [];
  const arches: LambdaArch[] = [];
  if (list.includes('amd64')) arches.push('x86_64');
  if (list.includes('arm64')) arches.push('arm64');
  return arches;
}

/** x86_64 when the manifest lists amd64 (or nothing usable), arm64 when it lists only arm64. */
function archFromManifest(value: unknown): LambdaArch {
  const arches = manifestArches(value);
  return arches.length === 1 ? arches[0]! : 'x86_64';
}

/** `meta.runner.version` as `3.12`; a patch level is dropped, anything else is the default. */
function pythonFromManifest(value: unknown): string {
  const match =
    typeof value === 'string' || typeof value === 'number' ? /^(3\.\d{1,2})(?:\.\d+)?$/.exec(String(value)) : null;
  return match ? match[1]! : DEFAULT_PYTHON;
}

const LAMBDA_HINTS = {
  elsewhere: 'pass -o with a file name',
  replace: 'choose another -o path, or pass --force',
  earlier: 'a Lambda package written by package --serverless (a .serverless.zip holding a plugin)',
};

/** An earlier Lambda package: named .serverless.zip, holding a plugin. Anything else there is the user's. */
async function isLambdaPackage(file: string): Promise<boolean> {
  return file.endsWith('.serverless.zip') && holdsManifest(file);
}

/**
 * The build context replaces only an earlier one (its Dockerfile says so) or, with --force, an
 * empty directory: anything else at the output is the user's, and never the plugin directory
 * itself or a directory holding it, which replacing would delete.
 */
function refuseDirectory(output: string, dir: string, force: boolean): void {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const [out, plugin] = [real(output), real(dir)];
  if (out === plugin || plugin.startsWith(out.endsWith(path.sep) ? out : out + path.sep))
    throw new UsageError(
      `-o ${output} ${out === plugin ? 'is' : 'holds'} the plugin directory; the build context would replace it`,
    );
  const info = statSync(output, { throwIfNoEntry: false });
  if (!info) {
    if (!statSync(path.dirname(output), { throwIfNoEntry: false })?.isDirectory())
      throw new UserError(`cannot write ${output}: the directory ${path.dirname(output)} does not exist`);
    return;
  }
  const hint = 'choose another -o path, or remove it first';
  if (!info.isDirectory()) throw new UserError(`${output} exists and is not a directory; not replacing it`, hint);
  let dockerfile = '';
  try {
    dockerfile = readFileSync(path.join(output, 'Dockerfile'), 'utf8');
  } catch {
    // not ours
  }
  if (dockerfile.includes('dify plugin package --serverless=container')) return;
  if (readdirSync(output).length === 0) {
    if (force) return;
    throw new UserError(`${output} exists; not replacing it`, 'pass --force to write the build context there');
  }
  throw new UserError(`${output} exists and is not a build context written by this command; not replacing it`, hint);
}

async function writeContainerContext(r: PluginResult, target: ServerlessTarget, output: string): Promise<number> {
  const entries = r.plan!.entries;
  const clash = entries.find((e) => e.name === 'Dockerfile' || e.name === '.dockerignore');
  if (clash)
    throw new UserError(
      `the plugin has its own ${clash.name}, which the build context would replace`,
      'rename it, or leave it out with .difyignore',
    );
  // Built beside the output and renamed into place: a failure leaves no half-written context.
  const temp = mkdtempSync(path.join(path.dirname(output), `.${path.basename(output)}-`));
  try {
    for (const e of entries) {
      const file = path.join(temp, ...e.name.split('/'));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, await e.read());
    }
    const hasRequirements = entries.some((e) => e.name === 'requirements.txt');
    writeFileSync(path.join(temp, 'Dockerfile'), containerDockerfile(target, hasRequirements));
    writeFileSync(path.join(temp, '.dockerignore'), CONTAINER_DOCKERIGNORE);
    rmSync(output, { recursive: true, force: true });
    renameSync(temp, output);
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot write ${output}: ${(err as Error).message}`);
  }
  return entries.length + 2;
}

async function writeLambdaPackage(
  dir: string,
  r: PluginResult,
  target: ServerlessTarget,
  output: string,
  opts: ServerlessPackageOptions,
  io: Io,
  maxBytes: number,
  signal: AbortSignal,
) {
  const entries = r.plan!.entries;
  const clash = entries.find((e) => e.name === 'run.sh' || e.name.startsWith(`${DEPENDENCY_DIR}/`));
  if (clash)
    throw new UserError(
      `the plugin has its own ${clash.name}, where the Lambda package puts ${clash.name === 'run.sh' ? 'its handler' : 'the dependencies'}`,
      'rename it, or leave it out with .difyignore',
    );
  const work = mkdtempSync(path.join(io.env.TMPDIR || tmpdir(), 'dify-serverless-'));
  try {
    const deps = path.join(work, DEPENDENCY_DIR);
    mkdirSync(deps);
    const requirements = entries.find((e) => e.name === 'requirements.txt');
    if (requirements) {
      const file = path.join(work, 'requirements.txt');
      writeFileSync(file, await requirements.read());
      const installer = installerFor(dir, io);
      const command = installCommand(installer, {
        arch: target.arch,
        pythonVersion: target.pythonVersion,
        requirements: file,
        target: deps,
        findLinks: (opts.findLinks ?? []).map((d) => path.resolve(io.cwd, d)),
      });
      const spinner = await startSpinner(io, `Installing requirements.txt for AWS Lambda (${installer.kind})`);
      try {
        await runInstall(command, {
          cwd: work,
          env: io.env,
          what: `requirements.txt for AWS Lambda (Python ${target.pythonVersion}, ${target.arch})`,
          signal,
        });
      } finally {
        spinner.stop();
      }
    }
    if (signal.aborted) throw new UserError('interrupted'); // the caller ends as interrupted, writing nothing
    return await writeArchive(output, true, io, 'Packing for AWS Lambda', async () => {
      const { writeZip } = await import('../../pack/zip-writer.js');
      const zipped = lambdaEntries(target, entries, deps);
      // --max-size limits the plugin's own files, as for a .difypkg; Lambda limits the rest itself.
      const added = zipped.reduce((n, e) => n + (e.size ?? 0), 0) - r.plan!.totalSize;
      return writeZip(output, zipped, { maxBytes: maxBytes + added });
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** uv when installed (UV_PATH, then PATH), as `package` exports requirements; else pip of the plugin's interpreter as `run` finds it. */
function installerFor(pluginDir: string, io: Io): Installer {
  const uv = findUv(io.env);
  if (uv) return { kind: 'uv', uv };
  return { kind: 'pip', python: resolveSettings(pluginDir, {}, io.env, io.cwd).python.value };
}
