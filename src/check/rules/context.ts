import type { Diagnostic } from '../diagnostic.js';
import { diagnostic, type RuleCode } from '../catalog.js';
import type { Declaration, PluginProject } from '../../project/model.js';
import type { SourceEntry } from '../../project/source.js';
import type { PathSegment, YamlFile } from '../../project/yaml-file.js';

/** What every semantic rule sees: the loaded project, its files, and the findings so far. */
export interface CheckContext {
  project: PluginProject;
  /** Every file of the plugin (sorted), with sizes. */
  files: SourceEntry[];
  fileSizes: Map<string, number>;
  /** Findings of the loader and the schemas, so rules can avoid repeating them. */
  prior: readonly Diagnostic[];
}

export type Rule = (ctx: CheckContext) => Diagnostic[] | Promise<Diagnostic[]>;

/** A diagnostic located at `at` inside a declaration. */
export function at(code: RuleCode, decl: Declaration, segments: PathSegment[], message: string, hint?: string): Diagnostic {
  return inFile(code, decl.file, [...decl.at, ...segments], message, hint);
}

function inFile(code: RuleCode, file: YamlFile, segments: PathSegment[], message: string, hint?: string): Diagnostic {
  return diagnostic(code, { file: file.path, yaml: file, at: segments }, message, hint);
}

/** Reads a nested field of a declaration's value without caring about its shape. */
export function get(value: unknown, ...segments: PathSegment[]): unknown {
  let v = value;
  for (const s of segments) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

/** Every declaration of the project, manifest first, in loading order. */
export function allDeclarations(project: PluginProject): Declaration[] {
  const out: Declaration[] = [];
  if (project.manifest) out.push(project.manifest);
  const p = project.providers;
  for (const t of p.tools) out.push(t, ...t.tools);
  for (const m of p.models) out.push(m, ...m.models);
  for (const e of p.endpoints) out.push(e, ...e.endpoints);
  for (const a of p.agent_strategies) out.push(a, ...a.strategies);
  for (const d of p.datasources) out.push(d, ...d.datasources);
  for (const t of p.triggers) out.push(t, ...t.events);
  return out;
}
