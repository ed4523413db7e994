import checkbox from '@inquirer/checkbox';
import input from '@inquirer/input';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  applyPermissionChanges,
  describePermissions,
  editPermissions,
  readPermissions,
  samePermissions,
  type PermissionChoice,
} from '../../edit/permission.js';
import { openPlugin } from '../../edit/open.js';
import { colorFor } from '../../report/color.js';
import { DEFAULT_STORAGE_SIZE, PERMISSION_INFO, PERMISSIONS } from '../../project/permissions.js';
import { permissionsFromOptions, type PermissionFlags } from '../register/permission-flags.js';
import { validate } from '../../project/manifest-fields.js';
import { EXIT, type ExitCode, UsageError, UserError } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';

export interface PermissionOptions extends PermissionFlags {
  storageSize?: string;
  reset?: boolean;
  none?: boolean;
}

const EXAMPLE = 'dify plugin permission <plugin_path> --allow-tool --allow-storage --storage-size 1048576';

/**
 * `dify plugin permission <dir>`: edits `resource.permission` of manifest.yaml and nothing else.
 * On a terminal it asks (a checklist pre-checked from the manifest, then the storage size).
 * With flags it asks nothing: --allow-* adds to what the manifest grants and --no-allow-* takes
 * away, the rest staying as it is; --reset starts from nothing, --none removes everything.
 * Without either it refuses (exit 2) rather than wait for input that cannot come.
 */
export async function permissionCommand(target: string, opts: PermissionOptions, io: Io): Promise<ExitCode> {
  const grant = permissionsFromOptions(opts);
  const revoke = permissionsFromOptions(opts, false);
  const fromFlags =
    grant.length > 0 || revoke.length > 0 || Boolean(opts.reset || opts.none) || opts.storageSize !== undefined;
  if (opts.none && (grant.length > 0 || opts.reset))
    throw new UsageError(`--none cannot be combined with ${opts.reset ? '--reset' : '--allow-* flags'}`);
  const size = opts.storageSize === undefined ? undefined : Number(opts.storageSize);
  if (size !== undefined) {
    const ok = validate.storageSize(size);
    if (ok !== true) throw new UsageError(`--storage-size "${opts.storageSize}": ${ok}`);
  }
  const root = path.resolve(io.cwd, target);
  const opened = await openPlugin(root, { allowPackage: false, command: 'dify plugin permission', display: target });
  const manifest = opened.manifest.value;
  await opened.close();
  if (!fromFlags && !io.stdin.isTTY) {
    throw new UsageError(
      'dify plugin permission asks on a terminal, and there is none: nothing was changed',
      `pass the permissions to grant as flags instead (they are added to the current ones; --no-allow-* removes one), e.g. ${EXAMPLE}`,
    );
  }
  const current = readPermissions(manifest);

  let choice: PermissionChoice;
  if (fromFlags) {
    choice = applyPermissionChanges(current, {
      reset: Boolean(opts.reset || opts.none),
      grant,
      revoke,
      storageSize: size,
    });
    if (size !== undefined && !choice.permissions.includes('storage')) {
      throw new UsageError(
        '--storage-size needs storage to be granted: nothing was changed',
        'pass --allow-storage too',
      );
    }
  } else {
    choice = await ask(current, io);
  }

  const c = colorFor(io.stdout, io.env);
  if (samePermissions(choice, current)) {
    io.stdout.write(
      `No change: ${target} already grants ${describePermissions(current)}; manifest.yaml was not written\n`,
    );
    return EXIT.ok;
  }
  const file = path.join(root, 'manifest.yaml');
  // The bytes on disk, so that everything but the permission block is written back exactly.
  const before = readFileSync(file, 'utf8');
  const after = editPermissions(before, manifest, choice).text;
  writeFileSync(file, after);
  io.stdout.write(c.green(`✓ Updated resource.permission in ${path.join(target, 'manifest.yaml')}\n`));
  io.stdout.write(`  before: ${describePermissions(current)}\n  now:    ${describePermissions(choice)}\n`);
  return EXIT.ok;
}

/** The checklist, then the storage size when storage is on. Ctrl-C changes nothing. */
async function ask(current: PermissionChoice, io: Io): Promise<PermissionChoice> {
  const ctx = { input: io.stdin, output: io.stdout as NodeJS.WritableStream };
  try {
    const permissions = await checkbox(
      {
        message: 'What may the plugin call back into Dify?',
        choices: PERMISSIONS.map((p) => ({
          name: PERMISSION_INFO[p].label,
          value: p,
          checked: current.permissions.includes(p),
        })),
        pageSize: PERMISSIONS.length,
      },
      ctx,
    );
    let storageSize = current.storageSize;
    if (permissions.includes('storage')) {
      const answer = await input(
        {
          message: 'Storage size in bytes',
          default: String(current.storageSize || DEFAULT_STORAGE_SIZE),
          validate: (v) => validate.storageSize(Number(v)),
        },
        ctx,
      );
      storageSize = Number(answer);
    }
    return { permissions, storageSize };
  } catch (err) {
    if ((err as Error).name === 'ExitPromptError') throw new UserError('cancelled: manifest.yaml was not changed');
    throw err;
  }
}
