import { printable } from '../diagnostics/excerpt.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { PluginResult } from '../pipelines/check-plugin.js';
import { fileFromCwd } from './location.js';
import { failedByStrict, plural } from './text.js';

/** GitHub shows at most this many annotations of each kind per step and drops the rest. */
const PER_KIND_LIMIT = 10;

const COMMAND = { error: 'error', warning: 'warning', info: 'notice' } as const;

/**
 * GitHub Actions workflow commands, one annotation per finding, with file paths from the
 * current directory (the repository root in a workflow). Past the per-step limit, one notice
 * says how many more there are.
 */
export function formatGithub(results: PluginResult[]): string {
  const lines: string[] = [];
  const shown = { error: 0, warning: 0, info: 0 };
  const hidden = { error: 0, warning: 0, info: 0 };
  for (const r of results) {
    for (const d of r.diagnostics) {
      if (shown[d.severity] >= PER_KIND_LIMIT) {
        hidden[d.severity]++;
        continue;
      }
      shown[d.severity]++;
      lines.push(annotation(r.path, d));
    }
  }
  // The step fails; with warning annotations only, this one says why.
  for (const r of results.filter(failedByStrict)) {
    const n = r.diagnostics.filter((d) => d.severity === 'warning').length;
    lines.push(
      `::error title=dify plugin package::${escapeData(`${r.path}: ${plural(n, 'warning')} failing because of --strict`)}`,
    );
  }
  const more = (['error', 'warning', 'info'] as const)
    .filter((s) => hidden[s] > 0)
    .map((s) => `${hidden[s]} more ${s}${hidden[s] === 1 ? '' : 's'}`);
  if (more.length > 0)
    lines.push(
      `::notice title=dify plugin package::${escapeData(`${more.join(', ')} not annotated; see the job log`)}`,
    );
  return lines.length ? lines.join('\n') + '\n' : '';
}

function annotation(pluginPath: string, d: Diagnostic): string {
  const props: string[] = [];
  if (d.file !== null) props.push(`file=${escapeProperty(printable(fileFromCwd(pluginPath, d.file)))}`);
  if (d.line !== null) props.push(`line=${d.line}`, `col=${d.column ?? 1}`);
  props.push(`title=${escapeProperty(d.code)}`);
  const message = printable(d.hint ? `${d.message} (${d.hint})` : d.message);
  return `::${COMMAND[d.severity]} ${props.join(',')}::${escapeData(message)}`;
}

function escapeData(s: string): string {
  return s.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

function escapeProperty(s: string): string {
  return escapeData(s).replaceAll(':', '%3A').replaceAll(',', '%2C');
}
