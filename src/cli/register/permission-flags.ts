import type { Command } from 'commander';
import { PERMISSION_INFO, PERMISSIONS, type Permission } from '../../project/permissions.js';

/**
 * The Go CLI's `--allow-*` flags, for `plugin init` and `plugin permission`; with `negatable`
 * (`permission`, which edits what is there) each also has a `--no-allow-*` that takes it away.
 */
export function addPermissionFlags(command: Command, verb: string, negatable?: { verb: string }): Command {
  for (const p of PERMISSIONS) command.option(PERMISSION_INFO[p].flag, `${verb}: ${PERMISSION_INFO[p].help}`);
  if (negatable) {
    for (const p of PERMISSIONS) {
      const also = p === 'model' ? ' (and every model type)' : '';
      command.option(
        `--no-${PERMISSION_INFO[p].flag.slice(2)}`,
        `${negatable.verb}: ${PERMISSION_INFO[p].help}${also}`,
      );
    }
  }
  return command;
}

/** The `--allow-*` flags as commander hands them to a command. */
export interface PermissionFlags {
  allowTool?: boolean;
  allowModel?: boolean;
  allowLlm?: boolean;
  allowTextEmbedding?: boolean;
  allowRerank?: boolean;
  allowTts?: boolean;
  allowSpeech2text?: boolean;
  allowModeration?: boolean;
  allowNode?: boolean;
  allowEndpoint?: boolean;
  allowApp?: boolean;
  allowStorage?: boolean;
}

/** The options key commander makes of a flag: `--allow-text-embedding` → `allowTextEmbedding`. */
const optionKey = (flag: string) => flag.slice(2).replace(/-(.)/g, (_, c: string) => c.toUpperCase());

/**
 * The permissions whose `--allow-*` flag is set in commander's options (`given: false`: those
 * turned off with `--no-allow-*`).
 */
export function permissionsFromOptions(options: PermissionFlags, given = true): Permission[] {
  const set = options as Record<string, boolean | undefined>;
  return PERMISSIONS.filter((p) => set[optionKey(PERMISSION_INFO[p].flag)] === given);
}
