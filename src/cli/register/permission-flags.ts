import type { Command } from 'commander';
import { PERMISSION_INFO, PERMISSIONS, type Permission } from '../../project/permissions.js';

/** The Go CLI's `--allow-*` flags, for `plugin init` and `plugin permission`. */
export function addPermissionFlags(command: Command, verb: string): Command {
  for (const p of PERMISSIONS) command.option(PERMISSION_INFO[p].flag, `${verb}: ${PERMISSION_INFO[p].help}`);
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

/** The permissions whose `--allow-*` flag is set in commander's options. */
export function permissionsFromOptions(options: PermissionFlags): Permission[] {
  const set = options as Record<string, boolean | undefined>;
  return PERMISSIONS.filter((p) => set[optionKey(PERMISSION_INFO[p].flag)] === true);
}
