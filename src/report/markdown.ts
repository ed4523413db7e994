import path from 'node:path';
import { countBySeverity, type Diagnostic } from '../diagnostics/diagnostic.js';
import { printable } from '../diagnostics/excerpt.js';
import { MARKETPLACE_CHECKS } from '../check/marketplace.js';
import { formatBytes } from '../pack/plan.js';
import type { PluginResult } from '../pipelines/check-plugin.js';
import type { ResultExtras } from './json.js';
import { fileFromCwd } from './location.js';
import { failedByStrict } from './text.js';

/**
 * Past this many findings the report gives a count instead: GitHub keeps at most 1 MiB of a
 * step's job summary, and a long table is read no further anyway.
 */
const FINDINGS_LIMIT = 100;

const SEVERITY = { error: '✖ error', warning: '⚠ warning', info: 'ℹ note' } as const;

/**
 * The `--format markdown` report (docs/commands.md, Output formats), also what a GitHub job
 * summary shows: one table row per plugin (its verdict, identity, counts and, when one was
 * written, the package's file name and size), then one row per finding.
 */
export function formatMarkdown(results: PluginResult[], extras: Map<PluginResult, ResultExtras> = new Map()): string {
  const packed = results.some((r) => extras.get(r)?.output !== undefined);
  const head = ['', 'Plugin', 'Version', 'Path', 'Errors', 'Warnings', ...(packed ? ['Package', 'Size'] : [])];
  const align = ['', '', '', '', '--:', '--:', ...(packed ? ['', '--:'] : [])];
  const lines = ['### Dify plugin check', '', row(head), row(align.map((a) => a || '---'))];
  for (const r of results) {
    const n = countBySeverity(r.diagnostics);
    const p = r.plugin;
    const written = extras.get(r);
    const cells = [
      verdict(r),
      p?.name ? text(`${p.author ? `${p.author}/` : ''}${p.name}`) : '',
      text(p?.version ?? ''),
      text(r.path),
      String(n.error),
      String(n.warning),
    ];
    if (packed) {
      cells.push(
        // The file name: the path column says whose it is, and a path into a CI runner's
        // temporary directory would only lengthen every row.
        written?.output !== undefined ? text(path.basename(written.output)) : '',
        written?.size !== undefined ? formatBytes(written.size) : '',
      );
    }
    lines.push(row(cells));
  }
  const findings = results.flatMap((r) => r.diagnostics.map((d) => ({ r, d })));
  if (findings.length > 0) {
    lines.push('', row(['', 'Location', 'Rule', 'Message']), row(['---', '---', '---', '---']));
    for (const { r, d } of findings.slice(0, FINDINGS_LIMIT))
      lines.push(row([SEVERITY[d.severity], text(location(r.path, d)), text(d.code), message(d)]));
    if (findings.length > FINDINGS_LIMIT)
      lines.push('', `${findings.length - FINDINGS_LIMIT} more findings are in the job log.`);
  }
  for (const r of results) if (r.marketplace) lines.push('', ...marketplaceTable(r, r.marketplace.skipped));
  return lines.join('\n') + '\n\n';
}

/**
 * With `--marketplace`: the checks of the Marketplace pre-check for one plugin, passed, failed or
 * skipped, as the workflow's step summary shows its "CI Steps Status" table.
 */
function marketplaceTable(r: PluginResult, skipped: readonly string[]): string[] {
  const lines = [`#### Marketplace pre-check: ${text(r.path)}`, '', row(['Check', 'Status']), row(['---', '---'])];
  lines.push(row(['**Overall Status**', r.ok ? '✅ **Passed**' : '❌ **Failed**']));
  for (const check of MARKETPLACE_CHECKS) {
    const codes: readonly string[] = check.codes;
    const found = r.diagnostics.filter((d) => codes.includes(d.code));
    let status: string;
    if (found.some((d) => d.severity === 'error')) status = '❌ Failed';
    else if (skipped.includes(check.name)) status = '⏭️ Skipped';
    else if (found.length > 0) status = '⚠️ Skipped (could not run)';
    else status = '✅ Passed';
    lines.push(row([check.name, status]));
  }
  return lines;
}

function verdict(r: PluginResult): string {
  if (r.ok) return '✓';
  return failedByStrict(r) ? '✖ (--strict)' : '✖';
}

function location(pluginPath: string, d: Diagnostic): string {
  if (d.file === null) return pluginPath;
  const file = fileFromCwd(pluginPath, d.file);
  return d.line === null ? file : `${file}:${d.line}:${d.column ?? 1}`;
}

function message(d: Diagnostic): string {
  return text(d.message) + (d.hint ? ` <br>hint: ${text(d.hint)}` : '');
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/**
 * Plugin text as literal table-cell text: printable() keeps it on one line, and every character
 * Markdown or HTML could read as markup is backslash-escaped (CommonMark allows it before any
 * ASCII punctuation), so a name or message from a plugin can neither end a cell nor add a link,
 * an image or a tag (`(`, `!` and `#` mean nothing inside a cell once `[` is escaped).
 */
function text(s: string): string {
  return printable(s).replace(/[\\`*_[\]<>|~&]/g, '\\$&');
}
