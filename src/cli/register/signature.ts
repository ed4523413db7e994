import { Option, type Command } from 'commander';
import { AUTHORIZED_CATEGORIES } from '../../pack/authorized-categories.js';
import { offering } from '../completion/values.js';
import type { ExitCode } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';

/** `dify signature generate|sign|verify` (dify-plugin-daemon `cmd/commandline/signature.go`; flags as the Go CLI, plus `generate --force` and `sign --force`). */
export function registerSignature(program: Command, io: Io, done: (code: ExitCode) => void): void {
  const signature = program.command('signature').description('sign plugin packages and verify their signatures');

  signature
    .command('generate')
    .description('create an RSA-4096 key pair: <name>.private.pem (mode 0600) and <name>.public.pem')
    .option('-f, --filename <name>', 'base name of the key files (default: dify_plugin_signing_key)')
    .option('--force', 'overwrite existing key files')
    .action(async (opts: Record<string, unknown>) => {
      const { generateCommand } = await import('../commands/signature.js');
      done(await generateCommand(opts, io));
    });

  signature
    .command('sign')
    .description('sign a .difypkg, writing <name>.signed.difypkg beside it (an earlier signature is replaced)')
    .argument('<difypkg_path>', 'the .difypkg to sign')
    .requiredOption('-p, --private_key <file>', 'private key file (<name>.private.pem)')
    .addOption(
      offering(
        new Option('-c, --authorized_category <category>', 'langgenius, partner or community').default('langgenius'),
        AUTHORIZED_CATEGORIES,
      ),
    )
    .option('--force', 'overwrite a file at the output path that is not a Dify package')
    .action(async (target: string, opts: { private_key: string; authorized_category?: string; force?: boolean }) => {
      const { signCommand } = await import('../commands/signature.js');
      done(await signCommand(target, opts, io));
    });

  signature
    .command('verify')
    .description('verify the signature of a .difypkg (with the official Dify key unless -p names another)')
    .argument('<difypkg_path>', 'the .difypkg to verify')
    .option('-p, --public_key <file>', 'public key file (<name>.public.pem); default: the official Dify key')
    .action(async (target: string, opts: { public_key?: string }) => {
      const { verifyCommand } = await import('../commands/signature.js');
      done(await verifyCommand(target, opts, io));
    });
}
