import path from 'node:path';
import { locateDiagnostics } from '../../diagnostics/catalog.js';
import { printable, printableJson, printableLines } from '../../diagnostics/excerpt.js';
import { applyAppend, planAppend, type ModuleKind } from '../../edit/module-append.js';
import { listModules, type ModuleList, type ParameterInfo } from '../../edit/module-list.js';
import { openPlugin } from '../../edit/open.js';
import { colorFor, type Colors } from '../../report/color.js';
import { validate } from '../../project/manifest-fields.js';
import { VERSION } from '../../version.js';
import { EXIT, type ExitCode, UsageError } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';

export interface ModuleListOptions {
  format?: 'text' | 'json';
}

export interface ModuleAppendOptions {
  name?: string;
  force?: boolean;
}

/**
 * `dify plugin module list <dir|file.difypkg>`: what the plugin declares, read with the loader every
 * command uses. Texts are printed as written (the Go CLI HTML-escapes them). A plugin whose
 * declarations cannot all be read is listed as far as it can be, and exits 1.
 */
export async function moduleListCommand(target: string, opts: ModuleListOptions, io: Io): Promise<ExitCode> {
  const opened = await open(target, io, true, 'dify plugin module list');
  try {
    const list = listModules(opened.project);
    const problems = opened.project.diagnostics.filter((d) => d.severity === 'error');
    await locateDiagnostics(problems);
    if (opts.format === 'json') {
      io.stdout.write(printableJson({ ...list, problems }, 2) + '\n');
    } else {
      io.stdout.write(formatModules(list, colorFor(io.stdout, io.env)));
    }
    for (const d of problems) {
      const at = d.file === null ? '' : `${d.file}${d.line === null ? '' : `:${d.line}:${d.column ?? 1}`}: `;
      io.stderr.write(`error: ${printable(at + d.message)}\n`);
    }
    if (problems.length > 0) {
      io.stderr.write(
        `hint: the list above leaves out what could not be read; \`dify plugin package --check ${target}\` shows every problem\n`,
      );
      return EXIT.failed;
    }
    return EXIT.ok;
  } finally {
    await opened.close();
  }
}

/**
 * `dify plugin module append tools|endpoints <dir>`: adds a tool provider (or endpoint group) with
 * one tool (or endpoint) from the init templates, and lists it in manifest.yaml, leaving every
 * other byte of the manifest as it was. Refuses (exit 1) where the result would not install, and
 * never overwrites a file without --force.
 */
export async function moduleAppendCommand(
  kind: ModuleKind,
  target: string,
  opts: ModuleAppendOptions,
  io: Io,
): Promise<ExitCode> {
  if (opts.name !== undefined) {
    const ok = validate.name(opts.name);
    if (ok !== true) throw new UsageError(`--name "${opts.name}": ${ok}`);
  }
  const root = path.resolve(io.cwd, target);
  const opened = await open(target, io, false, `dify plugin module append ${kind}`);
  try {
    const plan = planAppend(root, opened, kind, {
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      force: Boolean(opts.force),
      cliVersion: VERSION,
    });
    applyAppend(root, plan);
    const c = colorFor(io.stdout, io.env);
    const what = kind === 'tools' ? 'tool provider' : 'endpoint group';
    io.stdout.write(c.green(`✓ Added the ${what} ${plan.entry} to ${target}\n`));
    io.stdout.write(`  manifest.yaml: ${plan.entry} added to plugins.${kind} (nothing else changed)\n`);
    const created = plan.files.map((f) => f.path).filter((p) => !plan.overwritten.includes(p));
    if (created.length > 0) io.stdout.write(`  created: ${created.join(', ')}\n`);
    if (plan.overwritten.length > 0) io.stdout.write(c.yellow(`  overwritten: ${plan.overwritten.join(', ')}\n`));
    const code = kind === 'tools' ? `tools/${plan.name}.py` : `endpoints/${plan.name}.py`;
    io.stdout.write(
      `  next: write your logic in ${code}, then check it with \`dify plugin package --check ${target}\`\n`,
    );
    return EXIT.ok;
  } finally {
    await opened.close();
  }
}

function open(target: string, io: Io, allowPackage: boolean, command: string) {
  return openPlugin(path.resolve(io.cwd, target), { allowPackage, command, display: target });
}

/**
 * One block per module, headed `========== <name> ==========` like the Go CLI's. Every text in it
 * comes from the plugin's files: each line goes through printable() before it is styled.
 */
function formatModules(list: ModuleList, c: Colors): string {
  const out: string[] = [];
  const p = list.plugin;
  const id = `${p.author ? `${p.author}/` : ''}${p.name ?? '(no name)'}${p.version ? ` ${p.version}` : ''}`;
  out.push(`${c.bold(printable(id))}${p.category ? ` (${printable(p.category)} plugin)` : ''}`);
  const block = (heading: string, rows: [string, string | null | undefined][], more: string[] = []) => {
    out.push('', c.bold(`========== ${printable(heading)} ==========`));
    const shown = rows.filter((r): r is [string, string] => r[1] !== null && r[1] !== undefined && r[1] !== '');
    const width = Math.max(0, ...shown.map(([k]) => k.length)) + 2;
    for (const [k, v] of shown) out.push(`${`${k}:`.padEnd(width)}${indentLines(printableLines(v.trimEnd()), width)}`);
    out.push(...more.map((line) => printableLines(line)));
  };

  for (const t of list.tools) {
    block(
      t.name ?? t.file,
      [
        ['kind', `tool (provider ${t.provider ?? '?'}, ${t.file})`],
        ['label', t.label],
        ['description', t.description],
        ['llm description', t.llm_description],
      ],
      parameterLines(t.parameters, (q) => [q.form ? `form ${q.form}` : null]),
    );
  }
  for (const s of list.agent_strategies) {
    block(
      s.name ?? s.file,
      [
        ['kind', `agent strategy (provider ${s.provider ?? '?'}, ${s.file})`],
        ['label', s.label],
        ['description', s.description],
        ['features', s.features.join(', ')],
      ],
      parameterLines(s.parameters, (q) => [q.scope ? `scope ${q.scope}` : null]),
    );
  }
  for (const m of list.model_providers) {
    block(`${m.provider ?? m.file} (model provider)`, [
      ['kind', `model provider (${m.file})`],
      ['label', m.label],
      ['model types', m.supported_model_types.join(', ')],
      ['configuration', m.configurate_methods.join(', ')],
      ['models', String(m.models)],
    ]);
  }
  for (const m of list.models) {
    block(m.model ?? m.file, [
      ['kind', `${m.type ?? '?'} model (provider ${m.provider ?? '?'}, ${m.file})`],
      ['label', m.label !== m.model ? m.label : null],
      ['features', m.features.join(', ')],
      ['mode', m.mode],
      ['context size', m.context_size === null ? null : String(m.context_size)],
      ['deprecated', m.deprecated ? 'yes' : null],
      [
        'parameters',
        m.parameters
          .map((r) => `${r.name}${r.template ? ` (template ${r.template})` : r.type ? ` (${r.type})` : ''}`)
          .join(', '),
      ],
    ]);
  }
  const groups = [...new Set(list.endpoints.map((e) => e.group))];
  for (const group of groups) {
    const endpoints = list.endpoints.filter((e) => e.group === group);
    const methodWidth = Math.max(...endpoints.map((e) => (e.method ?? '?').length));
    const pathWidth = Math.max(...endpoints.map((e) => (e.path ?? '?').length));
    block(
      'Endpoints',
      [
        ['group', group],
        ['settings', endpoints[0]!.settings.join(', ')],
      ],
      endpoints.map(
        (e) =>
          `  ${(e.method ?? '?').padEnd(methodWidth)}  ${(e.path ?? '?').padEnd(pathWidth)}  ${e.file}${e.hidden ? ' (hidden)' : ''}`,
      ),
    );
  }
  for (const d of list.datasources) {
    block(
      d.name ?? d.file,
      [
        [
          'kind',
          `datasource (provider ${d.provider ?? '?'}${d.provider_type ? `, ${d.provider_type}` : ''}, ${d.file})`,
        ],
        ['label', d.label],
        ['description', d.description],
      ],
      parameterLines(d.parameters, () => []),
    );
  }
  for (const t of list.triggers) {
    block(
      t.name ?? t.file,
      [
        ['kind', `trigger event (provider ${t.provider ?? '?'}, ${t.file})`],
        ['label', t.label],
        ['description', t.description],
      ],
      parameterLines(t.parameters, () => []),
    );
  }
  if (out.length === 1)
    out.push(
      '',
      'no modules: manifest.yaml lists no tools, models, endpoints, agent strategies, datasources or triggers',
    );
  return out.join('\n') + '\n';
}

function parameterLines(params: ParameterInfo[], extra: (p: ParameterInfo) => (string | null)[]): string[] {
  if (params.length === 0) return [];
  const lines = ['parameters:'];
  for (const q of params) {
    const facts = [
      q.type ?? 'no type',
      q.required ? 'required' : 'optional',
      ...extra(q),
      q.default !== undefined
        ? `default ${typeof q.default === 'string' ? q.default : JSON.stringify(q.default)}`
        : null,
    ];
    lines.push(`  - ${q.name}: ${facts.filter(Boolean).join(', ')}`);
    if (q.description) lines.push(`      ${indentLines(q.description.trim(), 6)}`);
  }
  return lines;
}

/** Continuation lines of a multi-line value, under its first line. */
function indentLines(text: string, width: number): string {
  return text.replace(/\n(?=.)/g, `\n${' '.repeat(width)}`);
}
