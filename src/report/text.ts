import type { Colors } from './color.js';
import { countBySeverity, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { PluginResult } from '../pipelines/check-plugin.js';
import { fileFromCwd } from './location.js';

/**
 * Human output: per plugin a heading, then one `file:line:col severity code message` line per
 * finding (file paths as typed from the current directory, so terminals can open them), with
 * the hint indented below; a summary line closes.
 */
export function formatText(results: PluginResult[], c: Colors): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(c.bold(heading(r)));
    for (const d of r.diagnostics) {
      lines.push(`  ${location(r.path, d)} ${severityLabel(d, c)} ${c.dim(d.code)} ${d.message}`);
      if (d.hint) lines.push(`      ${c.dim('hint:')} ${d.hint}`);
    }
    lines.push(`  ${pluginSummary(r.diagnostics, c)}`);
  }
  if (results.length > 1) lines.push(overall(results, c));
  return lines.join('\n') + '\n';
}

function heading(r: PluginResult): string {
  const p = r.plugin;
  if (!p?.name) return r.path;
  const id = `${p.author ? `${p.author}/` : ''}${p.name}${p.version ? `:${p.version}` : ''}`;
  return `${r.path} (${id}${p.category ? `, ${p.category}` : ''})`;
}

function location(pluginPath: string, d: Diagnostic): string {
  if (d.file === null) return pluginPath;
  const file = fileFromCwd(pluginPath, d.file);
  return d.line === null ? file : `${file}:${d.line}:${d.column ?? 1}`;
}

function severityLabel(d: Diagnostic, c: Colors): string {
  if (d.severity === 'error') return c.red('error');
  if (d.severity === 'warning') return c.yellow('warning');
  return c.blue('info');
}

function pluginSummary(diagnostics: Diagnostic[], c: Colors): string {
  const n = countBySeverity(diagnostics);
  if (n.error + n.warning + n.info === 0) return c.green('✓ no problems');
  const parts = [plural(n.error, 'error'), plural(n.warning, 'warning')];
  if (n.info > 0) parts.push(plural(n.info, 'note'));
  return n.error > 0 ? c.red(`✖ ${parts.join(', ')}`) : c.yellow(`✓ ${parts.join(', ')}`);
}

function overall(results: PluginResult[], c: Colors): string {
  const failed = results.filter((r) => !r.ok).length;
  const n = countBySeverity(results.flatMap((r) => r.diagnostics));
  const text = `${plural(results.length, 'plugin')} checked: ${plural(n.error, 'error')}, ${plural(n.warning, 'warning')}`;
  return failed > 0 ? c.red(`✖ ${text}; ${failed} failed`) : c.green(`✓ ${text}`);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
