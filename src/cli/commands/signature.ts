import { closeSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { checkPlugin } from '../../pipelines/check-plugin.js';
import { pluginChecksum } from '../../pack/checksum.js';
import {
  generateKeyPair,
  KEY_BITS,
  KeyError,
  KeyFilesExistError,
  loadPrivateKey,
  loadPublicKey,
  PRIVATE_KEY_MODE,
  PUBLIC_KEY_MODE,
  refuseExistingKeyFiles,
  writeKeyPair,
  type PemKeyPair,
} from '../../pack/keys.js';
import {
  AUTHORIZED_CATEGORIES,
  DEFAULT_CATEGORY,
  parseAuthorizedCategory,
  SignatureError,
  signPackage,
  VERIFICATION_FILE,
  verifyPackage,
  type VerifyKey,
} from '../../pack/signature.js';
import { MAX_PACKAGE_BYTES } from '../../project/limits.js';
import { NotRegularFileError, openRegularFile, specialKind, whyUnreadable } from '../../project/file-kind.js';
import { ZipError, ZipReader } from '../../project/zip-reader.js';
import { packageFileLocation, readPackageFile } from '../../package-files.js';
import { printable } from '../../diagnostics/excerpt.js';
import { colorFor } from '../../report/color.js';
import { EXIT, type ExitCode, UsageError, UserError } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';
import { refuseToClobber } from '../archive-output.js';
import { startSpinner } from '../spinner.js';

/** The daemon's official marketplace key (pkg/license/public_key/PUBLIC_KEY.pem), shipped verbatim (a package file). */
export const OFFICIAL_PUBLIC_KEY = 'data/official-public-key.pem';
const DEFAULT_KEY_NAME = 'dify_plugin_signing_key';

export interface GenerateOptions {
  filename?: string;
  force?: boolean;
}

/** `dify signature generate [-f name] [--force]`: `<name>.private.pem` (0600) and `<name>.public.pem` (0644). */
export async function generateCommand(opts: GenerateOptions, io: Io): Promise<ExitCode> {
  const name = opts.filename || DEFAULT_KEY_NAME; // the Go CLI: an empty -f means the default
  const privatePath = path.resolve(io.cwd, `${name}.private.pem`);
  const publicPath = path.resolve(io.cwd, `${name}.public.pem`);
  const force = Boolean(opts.force);
  const show = (p: string) => path.relative(io.cwd, p) || p;
  const writing = async (step: () => Promise<void>) => {
    try {
      await step();
    } catch (err) {
      if (err instanceof KeyFilesExistError) {
        const files = err.files.map(show);
        throw new UserError(
          `${files.join(' and ')} already ${files.length === 1 ? 'exists' : 'exist'}; not overwriting`,
          err.hint,
        );
      }
      throw asUserError(err, `cannot write the key pair ${name}`);
    }
  };
  // Checked before the slow generation too, not only when writing.
  if (!force) await writing(() => refuseExistingKeyFiles(privatePath, publicPath));
  const spinner = await startSpinner(io, `Generating a ${KEY_BITS}-bit RSA key pair`);
  let pair: PemKeyPair;
  try {
    pair = await generateKeyPair();
  } finally {
    spinner.stop();
  }
  await writing(() => writeKeyPair(privatePath, publicPath, pair, force));

  const c = colorFor(io.stdout, io.env);
  io.stdout.write(c.green('✓ key pair generated successfully\n'));
  io.stdout.write(`  private key: ${show(privatePath)} (mode ${mode(PRIVATE_KEY_MODE)}; keep it secret)\n`);
  io.stdout.write(`  public key:  ${show(publicPath)} (mode ${mode(PUBLIC_KEY_MODE)})\n`);
  io.stdout.write(c.dim(`  sign a package: dify signature sign <package>.difypkg -p ${show(privatePath)}\n`));
  return EXIT.ok;
}

const mode = (m: number) => `0${m.toString(8)}`;

export interface SignOptions {
  private_key: string;
  authorized_category?: string;
  /** Replace a file at the output path even when it is not a Dify package. */
  force?: boolean;
}

/** `dify signature sign <difypkg_path> -p <private key> [-c category]`: writes `<name>.signed<ext>` beside the input. */
export async function signCommand(target: string, opts: SignOptions, io: Io): Promise<ExitCode> {
  const typed = opts.authorized_category ?? DEFAULT_CATEGORY;
  const category = parseAuthorizedCategory(typed);
  if (category === null) {
    throw new UsageError(
      `invalid authorized category "${typed}"`,
      `use one of ${AUTHORIZED_CATEGORIES.join(', ')} (any case)`,
    );
  }
  const input = path.resolve(io.cwd, target);
  await requirePackageFile(input, target);
  const privateKey = await readKey(opts.private_key, io, loadPrivateKey);
  await requireValidPlugin(input, target, io);

  const output = signedName(input);
  await refuseToClobber(output, Boolean(opts.force), {
    elsewhere: 'the signed package is written beside the input: move what is there away',
    replace: 'move it away, or pass --force to replace it',
  });
  const spinner = await startSpinner(io, `Signing ${target}`);
  let result;
  try {
    result = await signPackage(input, output, { privateKey, category });
  } catch (err) {
    throw asUserError(err, `cannot sign ${target}`);
  } finally {
    spinner.stop();
  }
  const checksum = await checksumOf(output);

  const c = colorFor(io.stdout, io.env);
  const shown = path.relative(io.cwd, output) || output;
  io.stdout.write(c.green(`✓ plugin signed successfully: ${shown}\n`));
  io.stdout.write(`  authorized category: ${result.category}\n`);
  io.stdout.write(`  signed at: ${isoTime(result.time)}\n`);
  if (result.replaced) io.stdout.write('  the earlier signature of the package was replaced\n');
  io.stdout.write(
    `  checksum ${checksum} ${c.dim(`(${VERIFICATION_FILE} is part of it, so it differs from the unsigned package's)`)}\n`,
  );
  return EXIT.ok;
}

/** `<dir>/<base without ext>.signed<ext>`, with Go's filepath.Ext (from the last dot of the name). */
export function signedName(input: string): string {
  const base = path.basename(input);
  const dot = base.lastIndexOf('.');
  const ext = dot >= 0 ? base.slice(dot) : '';
  return path.join(path.dirname(input), `${base.slice(0, base.length - ext.length)}.signed${ext}`);
}

export interface VerifyOptions {
  public_key?: string;
}

/** `dify signature verify <difypkg_path> [-p <public key>]`: the official key unless -p names one. */
export async function verifyCommand(target: string, opts: VerifyOptions, io: Io): Promise<ExitCode> {
  const input = path.resolve(io.cwd, target);
  await requirePackageFile(input, target);
  const official = opts.public_key === undefined || opts.public_key === '';
  const key: VerifyKey = official
    ? { label: 'the official Dify public key', key: await officialKey() }
    : { label: `the public key ${opts.public_key}`, key: await readKey(opts.public_key!, io, loadPublicKey) };

  let result;
  try {
    result = await verifyPackage(input, [key]);
  } catch (err) {
    const failure = official
      ? 'failed to verify plugin with official public key'
      : `failed to verify plugin with provided public key ${opts.public_key}`;
    const cli = asUserError(err, failure);
    if (err instanceof SignatureError && !cli.hint && official) {
      throw new UserError(
        cli.message,
        'a package signed with your own key verifies with -p <name>.public.pem (a daemon accepts it with THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED=true and that key in THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS)',
      );
    }
    throw cli;
  }

  const c = colorFor(io.stdout, io.env);
  io.stdout.write(c.green(`✓ plugin verified successfully with ${printable(result.key)}\n`));
  const note = result.categoryDeclared
    ? ''
    : c.dim(` (no ${VERIFICATION_FILE}: Dify counts such a package as ${DEFAULT_CATEGORY})`);
  // The category is the package's own text.
  io.stdout.write(`  authorized category: ${printable(result.category)}${note}\n`);
  io.stdout.write(`  signed at: ${isoTime(result.time)}\n`);
  return EXIT.ok;
}

function isoTime(unix: number): string {
  const date = new Date(unix * 1000);
  return Number.isNaN(date.getTime()) ? `unix ${unix}` : `${date.toISOString().replace('.000Z', 'Z')} (unix ${unix})`;
}

async function requirePackageFile(input: string, shown: string): Promise<void> {
  const info = await stat(input).catch(() => null);
  if (!info) throw new UserError(`${shown} does not exist`);
  const special = specialKind(info);
  if (special) throw new UserError(`${shown} is ${special}, not a package file`, 'pass a .difypkg file');
  if (info.isDirectory()) {
    throw new UserError(
      `${shown} is a directory; signatures belong to a packed plugin`,
      `pack it first: dify plugin package ${shown}`,
    );
  }
}

/** The bundled official key; its absence means a broken install, not a user mistake. */
async function officialKey(): Promise<KeyObject> {
  const where = packageFileLocation(OFFICIAL_PUBLIC_KEY);
  let pem: Buffer;
  try {
    pem = readPackageFile(OFFICIAL_PUBLIC_KEY);
  } catch {
    throw new UserError(
      `the official Dify public key is missing from this installation (${where})`,
      'reinstall dify-plugin-cli, or pass -p <public key>',
    );
  }
  try {
    return loadPublicKey(pem, where);
  } catch (err) {
    if (err instanceof KeyError)
      throw new UserError(`the bundled official key is damaged: ${err.message}`, 'reinstall dify-plugin-cli');
    throw err;
  }
}

/** Far above a 4096-bit RSA key in PEM (about 3.3 KB). */
const MAX_KEY_BYTES = 64 * 1024;

/** Reads and parses a key file; every failure is one line naming the file. */
async function readKey(file: string, io: Io, parse: (pem: Buffer, source: string) => KeyObject): Promise<KeyObject> {
  let bytes: Buffer;
  try {
    // Opened so that a FIFO or a device is refused rather than waited on.
    const { fd, size } = openRegularFile(path.resolve(io.cwd, file));
    try {
      // A PEM key is a few KB; a file of gigabytes is not one, and is not read to find out.
      if (size > MAX_KEY_BYTES)
        throw new UserError(
          `cannot read the key file ${file}: it is ${size} bytes, far more than a PEM key (at most ${MAX_KEY_BYTES / 1024} KiB)`,
          'pass the .pem file `dify signature generate` wrote',
        );
      bytes = readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof UserError && !(err instanceof NotRegularFileError)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read the key file ${file}: ${whyUnreadable(err)}`,
      code === 'ENOENT' ? 'create a key pair with `dify signature generate`' : undefined,
    );
  }
  return parse(bytes, file); // a KeyError names the file already
}

/** As the Go CLI, only a readable plugin is signed: the daemon would reject anything else on install. */
async function requireValidPlugin(input: string, shown: string, io: Io): Promise<void> {
  const result = await checkPlugin(input, {
    strict: false,
    maxBytes: MAX_PACKAGE_BYTES,
    env: io.env,
    checksum: false,
  });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length === 0) return;
  const first = errors[0]!;
  const where = first.file ? `${first.file}${first.line ? `:${first.line}` : ''}: ` : '';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  throw new UserError(
    `${shown} is not a valid plugin package: ${where}${first.message}${more}`,
    `\`dify plugin package --check ${shown}\` lists every problem`,
  );
}

async function checksumOf(file: string): Promise<string> {
  const zip = await ZipReader.open(file, MAX_PACKAGE_BYTES);
  try {
    return await pluginChecksum(zip.files().map((e) => ({ path: e.name, read: () => zip.read(e) })));
  } finally {
    await zip.close();
  }
}

/** Says what was being done when a package, key or file failed; anything else is a bug and propagates. */
function asUserError(err: unknown, context: string): UserError {
  if (err instanceof SignatureError || err instanceof KeyError || err instanceof ZipError)
    return new UserError(`${context}: ${err.message}`, err.hint);
  if (err instanceof UserError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') return new UserError(`${context}: ${(err as Error).message}`);
  throw err;
}
