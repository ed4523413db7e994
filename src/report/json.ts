import { printableJson } from '../diagnostics/excerpt.js';
import type { PluginResult } from '../pipelines/check-plugin.js';
import type { ExcludedPath } from '../project/file-selection.js';

/** What a command adds to a plugin's result beyond the check: the package written, the file list. */
export interface ResultExtras {
  output?: string;
  files?: number;
  size?: number;
  list?: {
    packed: { path: string; size: number; generated?: boolean }[];
    excluded: ExcludedPath[];
    ignoreFile: string | null;
  };
}

/** The `--format json` document (docs/commands.md, Output formats): `{"ok", "results": [...]}`, one per plugin path given. */
export function formatJson(results: PluginResult[], extras: Map<PluginResult, ResultExtras> = new Map()): string {
  const doc = {
    ok: results.every((r) => r.ok),
    results: results.map((r) => ({
      path: r.path,
      ok: r.ok,
      plugin: r.plugin,
      ...extras.get(r),
      diagnostics: r.diagnostics,
    })),
  };
  return printableJson(doc, 2) + '\n';
}
