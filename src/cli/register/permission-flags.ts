import type { Command } from 'commander';
import { PERMISSION_INFO, PERMISSIONS } from '../../scaffold/answers.js';

/** The Go CLI's `--allow-*` flags, for `plugin init` and `plugin permission`. */
export function addPermissionFlags(command: Command, verb: string): Command {
  for (const p of PERMISSIONS) command.option(PERMISSION_INFO[p].flag, `${verb}: ${PERMISSION_INFO[p].help}`);
  return command;
}
