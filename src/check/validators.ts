import type { DeclarationKind } from '../project/model.js';

/** An Ajv error, as the compiled validators report it (verbose, without messages). */
export interface SchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  /** The subschema holding the keyword that failed. */
  parentSchema?: SchemaNode;
  /** The value that failed. */
  data?: unknown;
}

/** A JSON Schema object, as far as the error mapping reads it. */
export interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  'x-hint'?: string;
  'x-kind'?: string;
  [keyword: string]: unknown;
}

export type Validate = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

type Module = Promise<{ validate: unknown }>;

/**
 * The validators compiled ahead of time from schemas/, one module per declaration kind, each
 * loaded the first time a plugin needs it (a tool plugin never parses the model validators).
 */
const modules: Record<DeclarationKind, () => Module> = {
  manifest: () => import('../generated/validators/manifest.js'),
  'tool-provider': () => import('../generated/validators/tool-provider.js'),
  tool: () => import('../generated/validators/tool.js'),
  'model-provider': () => import('../generated/validators/model-provider.js'),
  model: () => import('../generated/validators/model.js'),
  'endpoint-group': () => import('../generated/validators/endpoint-group.js'),
  endpoint: () => import('../generated/validators/endpoint.js'),
  'agent-strategy-provider': () => import('../generated/validators/agent-strategy-provider.js'),
  'agent-strategy': () => import('../generated/validators/agent-strategy.js'),
  'datasource-provider': () => import('../generated/validators/datasource-provider.js'),
  datasource: () => import('../generated/validators/datasource.js'),
  'trigger-provider': () => import('../generated/validators/trigger-provider.js'),
  'trigger-event': () => import('../generated/validators/trigger-event.js'),
  bundle: () => import('../generated/validators/bundle.js'),
  'invoke-case': () => import('../generated/validators/invoke-case.js'),
};

const loaded = new Map<DeclarationKind, Promise<Validate>>();

export function validatorFor(kind: DeclarationKind): Promise<Validate> {
  let v = loaded.get(kind);
  if (!v) {
    v = modules[kind]().then((m) => m.validate as Validate);
    loaded.set(kind, v);
  }
  return v;
}
