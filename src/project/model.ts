import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { PluginSource } from './source.js';
import type { YamlFile } from './yaml-file.js';
import type { PathSegment } from '../diagnostics/pointer.js';

/**
 * Every YAML file kind a plugin can contain; each has a JSON Schema in `schemas/`. `invoke-case`
 * is read by `dify plugin test` alone (tests/*.invoke.yaml); Dify never reads it.
 */
export type DeclarationKind =
  | 'manifest'
  | 'tool-provider'
  | 'tool'
  | 'model-provider'
  | 'model'
  | 'endpoint-group'
  | 'endpoint'
  | 'agent-strategy-provider'
  | 'agent-strategy'
  | 'datasource-provider'
  | 'datasource'
  | 'trigger-provider'
  | 'trigger-event'
  | 'bundle'
  | 'invoke-case';

/** The `plugins:` lists of manifest.yaml, in the order the SDK and daemon load them. */
export const PLUGIN_LISTS = ['tools', 'models', 'endpoints', 'agent_strategies', 'datasources', 'triggers'] as const;
export type PluginList = (typeof PLUGIN_LISTS)[number];

/** The daemon's pattern for translated readmes in `readme/` (`AvailableI18nReadme`). */
export const README_TRANSLATION = /^README_([a-z]{2}_[A-Za-z]{2,})\.md$/;

/** Model type keys of a provider's `models:` mapping (underscored, as the SDK and daemon read them). */
export const MODEL_TYPE_KEYS = ['llm', 'text_embedding', 'rerank', 'tts', 'speech2text', 'moderation'] as const;
export type ModelTypeKey = (typeof MODEL_TYPE_KEYS)[number];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * One declaration: a whole YAML file, or a mapping inside one (an inline endpoint, for example).
 * `at` locates the declaration inside its file, so diagnostics can point into the right place.
 */
export interface Declaration {
  kind: DeclarationKind;
  file: YamlFile;
  at: PathSegment[];
  value: unknown;
}

export interface ToolProvider extends Declaration {
  kind: 'tool-provider';
  tools: Declaration[];
}

export interface ModelGlob {
  modelType: ModelTypeKey;
  pattern: string;
  /** Matching model files in code-point order of their paths (position files excluded). */
  matches: string[];
  /** `_position.yaml` files the glob matched (the SDK reads positions from these). */
  positionMatches: string[];
  at: PathSegment[];
}

export interface ModelPosition {
  modelType: ModelTypeKey;
  file: YamlFile;
  models: string[];
}

export interface ModelProvider extends Declaration {
  kind: 'model-provider';
  /** Model declarations, in the order the registration lists them. */
  models: Declaration[];
  globs: ModelGlob[];
  positions: ModelPosition[];
}

export interface EndpointGroup extends Declaration {
  kind: 'endpoint-group';
  endpoints: Declaration[];
}

export interface AgentStrategyProvider extends Declaration {
  kind: 'agent-strategy-provider';
  strategies: Declaration[];
}

export interface DatasourceProvider extends Declaration {
  kind: 'datasource-provider';
  datasources: Declaration[];
}

export interface TriggerProvider extends Declaration {
  kind: 'trigger-provider';
  events: Declaration[];
}

export interface Providers {
  tools: ToolProvider[];
  models: ModelProvider[];
  endpoints: EndpointGroup[];
  agent_strategies: AgentStrategyProvider[];
  datasources: DatasourceProvider[];
  triggers: TriggerProvider[];
}

/** What `Category()` of the daemon reports; the first kind present wins. */
export type PluginCategory = 'tool' | 'model' | 'datasource' | 'agent-strategy' | 'trigger' | 'extension';

/** A plugin project read into one model: the manifest, every declaration, and what went wrong. */
export interface PluginProject {
  source: PluginSource;
  /** Undefined when manifest.yaml is missing or unreadable. */
  manifest: Declaration | undefined;
  providers: Providers;
  /** Every YAML file that was read, by path. */
  files: Map<string, YamlFile>;
  /** Problems found while reading (missing files, YAML errors, bad references). */
  diagnostics: Diagnostic[];
}

export interface PluginSummary {
  author: string | null;
  name: string | null;
  version: string | null;
  category: PluginCategory | null;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function category(project: PluginProject): PluginCategory | null {
  const p = project.providers;
  if (p.tools.length > 0) return 'tool';
  if (p.models.length > 0) return 'model';
  if (p.datasources.length > 0) return 'datasource';
  if (p.agent_strategies.length > 0) return 'agent-strategy';
  if (p.triggers.length > 0) return 'trigger';
  if (p.endpoints.length > 0) return 'extension';
  return null;
}

export function summarizePlugin(project: PluginProject): PluginSummary | null {
  const m = project.manifest?.value;
  if (!isObject(m)) return null;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return { author: text(m.author), name: text(m.name), version: text(m.version), category: category(project) };
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
