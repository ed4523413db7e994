import {
  category,
  get,
  isObject,
  type Declaration,
  type PluginCategory,
  type PluginProject,
} from '../project/model.js';

/**
 * What a plugin declares, read from the loaded model (never from a second parse): the data of
 * `dify plugin module list`, in the order the daemon registers it. Texts are the author's own,
 * unescaped; an I18n text is its en_US value (or the first one written).
 */
export interface ModuleList {
  plugin: { author: string | null; name: string | null; version: string | null; category: PluginCategory | null };
  tools: ToolModule[];
  model_providers: ModelProviderModule[];
  models: ModelModule[];
  endpoints: EndpointModule[];
  agent_strategies: AgentStrategyModule[];
  datasources: DatasourceModule[];
  triggers: TriggerModule[];
}

export interface ParameterInfo {
  name: string;
  type: string | null;
  required: boolean;
  /** Tool parameters: `llm`, `form` or `schema`. */
  form?: string | null;
  scope?: string | null;
  default?: unknown;
  description: string | null;
}

interface Located {
  /** The YAML file (and, for an inline declaration, nothing more precise). */
  file: string;
}

export interface ToolModule extends Located {
  provider: string | null;
  name: string | null;
  label: string | null;
  description: string | null;
  llm_description: string | null;
  parameters: ParameterInfo[];
}

export interface ModelProviderModule extends Located {
  provider: string | null;
  label: string | null;
  supported_model_types: string[];
  configurate_methods: string[];
  models: number;
}

export interface ModelModule extends Located {
  provider: string | null;
  model: string | null;
  type: string | null;
  label: string | null;
  features: string[];
  mode: string | null;
  context_size: number | null;
  deprecated: boolean;
  parameters: { name: string; type: string | null; template: string | null }[];
}

export interface EndpointModule extends Located {
  group: string;
  method: string | null;
  path: string | null;
  hidden: boolean;
  settings: string[];
}

export interface AgentStrategyModule extends Located {
  provider: string | null;
  name: string | null;
  label: string | null;
  description: string | null;
  features: string[];
  parameters: ParameterInfo[];
}

export interface DatasourceModule extends Located {
  provider: string | null;
  provider_type: string | null;
  name: string | null;
  label: string | null;
  description: string | null;
  parameters: ParameterInfo[];
}

export interface TriggerModule extends Located {
  provider: string | null;
  name: string | null;
  label: string | null;
  description: string | null;
  parameters: ParameterInfo[];
}

export function listModules(project: PluginProject): ModuleList {
  const m = project.manifest?.value;
  const p = project.providers;
  return {
    plugin: {
      author: text(get(m, 'author')),
      name: text(get(m, 'name')),
      version: text(get(m, 'version')),
      category: category(project),
    },
    tools: p.tools.flatMap((provider) =>
      provider.tools.map((tool) => ({
        file: tool.file.path,
        provider: text(get(provider.value, 'identity', 'name')),
        name: text(field(tool, 'identity', 'name')),
        label: i18n(field(tool, 'identity', 'label')),
        description: i18n(field(tool, 'description', 'human')),
        llm_description: text(field(tool, 'description', 'llm')),
        parameters: parameters(field(tool, 'parameters'), (param) => ({
          form: text(param.form),
          description: i18n(param.human_description) ?? text(param.llm_description),
        })),
      })),
    ),
    model_providers: p.models.map((provider) => ({
      file: provider.file.path,
      provider: text(get(provider.value, 'provider')),
      label: i18n(get(provider.value, 'label')),
      supported_model_types: strings(get(provider.value, 'supported_model_types')),
      configurate_methods: strings(get(provider.value, 'configurate_methods')),
      models: provider.models.length,
    })),
    models: p.models.flatMap((provider) =>
      provider.models.map((model) => {
        const contextSize = field(model, 'model_properties', 'context_size');
        return {
          file: model.file.path,
          provider: text(get(provider.value, 'provider')),
          model: text(field(model, 'model')),
          type: text(field(model, 'model_type')),
          label: i18n(field(model, 'label')),
          features: strings(field(model, 'features')),
          mode: text(field(model, 'model_properties', 'mode')),
          context_size: typeof contextSize === 'number' ? contextSize : null,
          deprecated: field(model, 'deprecated') === true,
          parameters: list(field(model, 'parameter_rules')).map((rule) => ({
            name: text(rule.name) ?? '',
            type: text(rule.type),
            template: text(rule.use_template),
          })),
        };
      }),
    ),
    endpoints: p.endpoints.flatMap((group) =>
      group.endpoints.map((endpoint) => ({
        file: endpoint.file.path,
        group: group.file.path,
        method: text(field(endpoint, 'method')),
        path: text(field(endpoint, 'path')),
        hidden: field(endpoint, 'hidden') === true,
        settings: list(get(group.value, 'settings')).flatMap((s) => (typeof s.name === 'string' ? [s.name] : [])),
      })),
    ),
    agent_strategies: p.agent_strategies.flatMap((provider) =>
      provider.strategies.map((strategy) => ({
        file: strategy.file.path,
        provider: text(get(provider.value, 'identity', 'name')),
        name: text(field(strategy, 'identity', 'name')),
        label: i18n(field(strategy, 'identity', 'label')),
        description: i18n(field(strategy, 'description')),
        features: strings(field(strategy, 'features')),
        parameters: parameters(field(strategy, 'parameters'), (param) => ({
          scope: text(param.scope),
          description: i18n(param.help),
        })),
      })),
    ),
    datasources: p.datasources.flatMap((provider) =>
      provider.datasources.map((datasource) => ({
        file: datasource.file.path,
        provider: text(get(provider.value, 'identity', 'name')),
        provider_type: text(get(provider.value, 'provider_type')),
        name: text(field(datasource, 'identity', 'name')),
        label: i18n(field(datasource, 'identity', 'label')),
        description: i18n(field(datasource, 'description')),
        parameters: parameters(field(datasource, 'parameters'), (param) => ({ description: i18n(param.description) })),
      })),
    ),
    triggers: p.triggers.flatMap((provider) =>
      provider.events.map((event) => ({
        file: event.file.path,
        provider: text(get(provider.value, 'identity', 'name')),
        name: text(field(event, 'identity', 'name')),
        label: i18n(field(event, 'identity', 'label')),
        description: i18n(field(event, 'description')),
        parameters: parameters(field(event, 'parameters'), (param) => ({ description: i18n(param.description) })),
      })),
    ),
  };
}

/** A field of a declaration (its value is the whole file or an inline mapping). */
function field(decl: Declaration, ...path: string[]): unknown {
  return get(decl.value, ...path);
}

function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** en_US, else the first text written; a plain string is taken as it is. */
function i18n(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (!isObject(v)) return null;
  const en = v.en_US;
  if (typeof en === 'string' && en !== '') return en;
  const first = Object.values(v).find((x) => typeof x === 'string' && x !== '');
  return typeof first === 'string' ? first : null;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.flatMap((x) => (typeof x === 'string' ? [x] : [])) : [];
}

function list(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function parameters(v: unknown, extra: (param: Record<string, unknown>) => Partial<ParameterInfo>): ParameterInfo[] {
  return list(v).map((param) => {
    const info: ParameterInfo = {
      name: text(param.name) ?? '',
      type: text(param.type),
      required: param.required === true,
      description: null,
      ...extra(param),
    };
    if (param.default !== undefined && param.default !== null) info.default = param.default;
    return info;
  });
}
