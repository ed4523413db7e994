import type { Colors } from './color.js';
import { countBySeverity, type Diagnostic, type Excerpt } from '../diagnostics/diagnostic.js';
import type { PluginResult } from '../pipelines/check-plugin.js';
import { fileFromCwd } from './location.js';
import { displayWidth } from './width.js';
import { printable } from '../diagnostics/excerpt.js';

/**
 * Human output: per plugin a heading, then one `file:line:col severity code message` line per
 * finding (file paths as typed from the current directory, so terminals can open them), with
 * the source line under a caret (when the finding carries one) and the hint indented below; a
 * summary line closes.
 */
export function formatText(results: PluginResult[], c: Colors): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(c.bold(heading(r)));
    for (const d of r.diagnostics) {
      // Messages and hints quote names, keys and values from the plugin's files.
      lines.push(`  ${location(r.path, d)} ${severityLabel(d, c)} ${c.dim(d.code)} ${printable(d.message)}`);
      if (d.excerpt) lines.push(...excerptLines(d.excerpt, c));
      if (d.hint) lines.push(`      ${c.dim('hint:')} ${printable(d.hint)}`);
    }
    lines.push(`  ${pluginSummary(r, c)}`);
  }
  if (results.length > 1) lines.push(overall(results, c));
  return lines.join('\n') + '\n';
}

function heading(r: PluginResult): string {
  const p = r.plugin;
  if (!p?.name) return printable(r.path);
  const id = `${p.author ? `${p.author}/` : ''}${p.name}${p.version ? `:${p.version}` : ''}`;
  return printable(`${r.path} (${id}${p.category ? `, ${p.category}` : ''})`);
}

/** The file may be a package's entry name: shown as printable() as the message. */
function location(pluginPath: string, d: Diagnostic): string {
  if (d.file === null) return printable(pluginPath);
  const file = printable(fileFromCwd(pluginPath, d.file));
  return d.line === null ? file : `${file}:${d.line}:${d.column ?? 1}`;
}

function severityLabel(d: Diagnostic, c: Colors): string {
  if (d.severity === 'error') return c.red('error');
  if (d.severity === 'warning') return c.yellow('warning');
  return c.blue('info');
}

/**
 * `  5 | label: [oops` and a caret under the column below it, the caret placed by terminal
 * columns so that it stays under the character on lines with wide characters.
 */
function excerptLines(excerpt: Excerpt, c: Colors): string[] {
  const gutter = String(excerpt.line);
  const before = [...excerpt.text].slice(0, excerpt.caret - 1).join('');
  return [
    `      ${c.dim(`${gutter} |`)} ${excerpt.text}`,
    `      ${c.dim(`${' '.repeat(gutter.length)} |`)} ${' '.repeat(displayWidth(before))}${c.red('^')}`,
  ];
}

/**
 * The closing line of a plugin: green when it passes, red when it fails. A result that fails
 * with warnings only failed because of --strict (nothing else makes a warning block), and says so.
 */
function pluginSummary(r: PluginResult, c: Colors): string {
  const n = countBySeverity(r.diagnostics);
  if (n.error + n.warning + n.info === 0) return c.green('✓ no problems');
  const parts = [plural(n.error, 'error'), plural(n.warning, 'warning')];
  if (n.info > 0) parts.push(plural(n.info, 'note'));
  if (r.ok) return c.yellow(`✓ ${parts.join(', ')}`);
  if (failedByStrict(r)) return c.red(`✖ ${parts.slice(1).join(', ')} (failing because of --strict)`);
  return c.red(`✖ ${parts.join(', ')}`);
}

/** A failed result without errors: its warnings failed it, which only --strict makes them do. */
export function failedByStrict(r: PluginResult): boolean {
  return !r.ok && !r.diagnostics.some((d) => d.severity === 'error');
}

function overall(results: PluginResult[], c: Colors): string {
  const failed = results.filter((r) => !r.ok).length;
  const n = countBySeverity(results.flatMap((r) => r.diagnostics));
  const text = `${plural(results.length, 'plugin')} checked: ${plural(n.error, 'error')}, ${plural(n.warning, 'warning')}`;
  if (failed === 0) return c.green(`✓ ${text}`);
  const strict = results.some(failedByStrict) ? ' (with --strict, warnings fail too)' : '';
  return c.red(`✖ ${text}; ${failed} failed${strict}`);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
