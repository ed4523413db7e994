import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { UsageError, UserError } from '../diagnostics/user-error.js';
import { get, type Declaration, type PluginProject } from '../project/model.js';
import type { PluginRequest } from './invoke.js';
import { declaredCredentials, type DeclaredCredential } from './invoke-credentials.js';
import {
  checkParameters,
  type CheckedParameters,
  findDeclared,
  findTool,
  type RequestField,
} from './invoke-parameters.js';

/** What is invoked: a tool, an LLM, an endpoint path, an agent strategy, or one action of a datasource. */
export type InvokeTarget =
  | { kind: 'tool'; provider: string; name: string }
  | { kind: 'llm'; provider: string; name: string }
  | { kind: 'endpoint'; method: string; path: string }
  | { kind: 'agent_strategy'; provider: string; name: string }
  | { kind: 'datasource'; provider: string; name: string; action?: string };

/**
 * The actions of each datasource `provider_type`, by the word `dify plugin invoke` takes for them
 * (dify-plugin-sdks `src/dify_plugin/core/entities/plugin/request.py`, DatasourceActions; the
 * daemon's `internal/core/io_tunnel/access_types/access.go`).
 */
export const DATASOURCE_ACTIONS: Record<string, Record<string, string>> = {
  website_crawl: { crawl: 'invoke_website_datasource_get_crawl' },
  online_document: {
    pages: 'invoke_online_document_datasource_get_pages',
    content: 'invoke_online_document_datasource_get_page_content',
  },
  online_drive: { browse: 'invoke_online_drive_browse_files', download: 'invoke_online_drive_download_file' },
};

/**
 * How the answer streams: tool-shaped messages (tools, agent strategies, a page's content, a
 * downloaded file), LLM chunks, an HTTP response, website crawl progress, or one `{result}` object
 * (online document pages, online drive files).
 */
export type ResponseShape = 'messages' | 'llm' | 'endpoint' | 'crawl' | 'result';

/** What goes with it: parameters (tools, model parameters), a prompt (LLMs), an HTTP request (endpoints). */
export interface InvokeInputs {
  params: Record<string, unknown>;
  prompt?: string;
  headers?: ReadonlyArray<readonly [string, string]>;
  /** The endpoint request's body; undefined sends none (and no Content-Length). */
  body?: string;
}

/** A request ready to send once its credentials are added, or the findings that stop it. */
export interface PreparedInvocation {
  request: PluginRequest;
  /** What the provider declares as credentials (an endpoint group: its settings). */
  declared: DeclaredCredential[];
  /** Values given for `secret-input` parameters, masked in every output as credentials are. */
  secretValues: unknown[];
  /** Parameter findings: when there are any, nothing may be sent. */
  diagnostics: Diagnostic[];
  responses: ResponseShape;
}

/**
 * Builds the request the daemon would send for `target` (dify-plugin-daemon `pkg/entities/requests`,
 * as dify-plugin-sdks `src/dify_plugin/core/entities/plugin/request.py` reads it), with the tool's
 * parameters checked against its declaration. Credentials are left empty: `withCredentials` adds them.
 */
export function prepareInvocation(
  project: PluginProject,
  target: InvokeTarget,
  inputs: InvokeInputs,
): PreparedInvocation {
  if (target.kind === 'tool') {
    const found = findTool(project, target.provider, target.name);
    const checked = found.found ? checkParameters(found.found, inputs.params) : undefined;
    return {
      request: {
        type: 'tool',
        action: 'invoke_tool',
        request: {
          provider: target.provider,
          tool: target.name,
          credentials: {},
          tool_parameters: checked?.parameters ?? {},
        },
      },
      declared: declaredCredentials(found.provider),
      secretValues: secretsOf(checked),
      diagnostics: [...found.diagnostics, ...(checked?.diagnostics ?? [])],
      responses: 'messages',
    };
  }
  if (target.kind === 'agent_strategy') return agentStrategy(project, target, inputs);
  if (target.kind === 'datasource') return datasource(project, target, inputs);
  if (target.kind === 'endpoint') {
    // The endpoint group's `settings` are its credentials; the SDK routes the path itself (404 when none matches).
    const group = project.providers.endpoints[0];
    if (!group) throw new UserError('the plugin declares no endpoints');
    return {
      request: {
        type: 'endpoint',
        action: 'invoke_endpoint',
        request: { settings: {}, raw_http_request: rawHttpRequest(target.method, target.path, inputs) },
      },
      declared: declaredCredentials(group),
      secretValues: [],
      diagnostics: [],
      responses: 'endpoint',
    };
  }
  const provider = modelProvider(project, target.provider);
  return {
    request: {
      type: 'model',
      action: 'invoke_llm',
      request: {
        provider: target.provider,
        model_type: 'llm',
        model: target.name,
        credentials: {},
        prompt_messages: [{ role: 'user', content: inputs.prompt ?? '' }],
        model_parameters: inputs.params,
        stop: null,
        tools: null,
        stream: true,
      },
    },
    declared: declaredCredentials(provider),
    secretValues: [],
    diagnostics: [],
    responses: 'llm',
  };
}

/** The request with its credentials (an endpoint's `settings`) filled in; an agent strategy takes none. */
export function withCredentials(request: PluginRequest, values: Record<string, unknown>): PluginRequest {
  if (request.type === 'agent_strategy') return request;
  const key = request.type === 'endpoint' ? 'settings' : 'credentials';
  return { ...request, request: { ...request.request, [key]: values } };
}

const secretsOf = (checked: CheckedParameters | undefined) =>
  checked ? checked.secretNames.map((n) => checked.parameters[n]) : [];

/**
 * An agent strategy's request (dify-plugin-sdks AgentInvokeRequest; the daemon's
 * `pkg/entities/requests/agent.go`): its parameters as given, no credentials. Model and tools
 * parameters are what Dify builds from its selectors (docs/invoke.md#agent-strategies).
 */
function agentStrategy(
  project: PluginProject,
  target: { provider: string; name: string },
  inputs: InvokeInputs,
): PreparedInvocation {
  const found = findDeclared(
    project,
    'agent strategy',
    project.providers.agent_strategies,
    (p) => ({ key: 'strategies', list: p.strategies }),
    target.provider,
    target.name,
  );
  const checked = found.found ? checkParameters(found.found, inputs.params, 'agent strategy') : undefined;
  return {
    request: {
      type: 'agent_strategy',
      action: 'invoke_agent_strategy',
      request: {
        agent_strategy_provider: target.provider,
        agent_strategy: target.name,
        agent_strategy_params: checked?.parameters ?? {},
      },
    },
    declared: [],
    secretValues: secretsOf(checked),
    diagnostics: [...found.diagnostics, ...(checked?.diagnostics ?? [])],
    responses: 'messages',
  };
}

/** The request fields the SDK fixes for the datasource actions that take no declared parameters. */
const FIELDS: Record<string, { key: string; fields: RequestField[] }> = {
  // GetOnlineDocumentPageContentRequest
  content: {
    key: 'page',
    fields: [
      { name: 'workspace_id', type: 'string', required: true },
      { name: 'page_id', type: 'string', required: true },
      { name: 'type', type: 'string', required: true },
    ],
  },
  // OnlineDriveBrowseFilesRequest: the daemon always sends prefix and max_keys (Go zero values aside)
  browse: {
    key: 'request',
    fields: [
      { name: 'bucket', type: 'string' },
      { name: 'prefix', type: 'string', default: '' },
      { name: 'max_keys', type: 'number', default: 20 },
      { name: 'next_page_parameters', type: 'object' },
    ],
  },
  // OnlineDriveDownloadFileRequest
  download: {
    key: 'request',
    fields: [
      { name: 'bucket', type: 'string' },
      { name: 'id', type: 'string', required: true },
    ],
  },
};

/**
 * One action of a datasource (dify-plugin-sdks Datasource*Request; the daemon's
 * `pkg/entities/requests/datasource.go`). The provider's `provider_type` says which actions it
 * has; the action is the only one of its type when not given. A website crawl and the pages of an
 * online document take the datasource's declared parameters as `datasource_parameters`; a page's
 * content and the online drive actions take the fields the SDK fixes, as `page` or `request`.
 */
function datasource(
  project: PluginProject,
  target: { provider: string; name: string; action?: string },
  inputs: InvokeInputs,
): PreparedInvocation {
  const found = findDeclared(
    project,
    'datasource',
    project.providers.datasources,
    (p) => ({ key: 'datasources', list: p.datasources }),
    target.provider,
    target.name,
  );
  const base = { declared: declaredCredentials(found.provider), responses: 'messages' as ResponseShape };
  if (!found.found)
    return {
      ...base,
      request: { type: 'datasource', action: '', request: {} },
      secretValues: [],
      diagnostics: found.diagnostics,
    };
  const providerType = String(get(found.provider?.value, 'provider_type') ?? '');
  const actions = DATASOURCE_ACTIONS[providerType];
  if (!actions)
    throw new UserError(
      `the datasource provider "${target.provider}" has the provider_type ${JSON.stringify(providerType)}, which dify plugin invoke cannot invoke`,
      `known provider types: ${Object.keys(DATASOURCE_ACTIONS).join(', ')}`,
    );
  const words = Object.keys(actions);
  const word = target.action ?? (words.length === 1 ? words[0]! : undefined);
  if (word === undefined || !Object.hasOwn(actions, word))
    throw new UsageError(
      word === undefined
        ? `the datasource "${target.provider}/${target.name}" (${providerType}) takes an action: ${words.join(' or ')}`
        : `the datasource "${target.provider}/${target.name}" (${providerType}) has no action "${word}"`,
      `usage: dify plugin invoke [plugin] datasource ${target.provider}/${target.name} ${words.join('|')}`,
    );
  const fixed = FIELDS[word];
  const checked = checkParameters(found.found, inputs.params, 'datasource', fixed?.fields);
  let payload: Record<string, unknown>;
  if (!fixed) payload = { datasource_parameters: checked.parameters };
  else if (fixed.key === 'page') payload = { page: checked.parameters };
  // The daemon's Go structs send every field: an absent bucket or next page as null.
  else payload = { request: Object.fromEntries(fixed.fields.map((f) => [f.name, checked.parameters[f.name] ?? null])) };
  return {
    ...base,
    request: {
      type: 'datasource',
      action: actions[word]!,
      request: { provider: target.provider, datasource: target.name, credentials: {}, ...payload },
    },
    secretValues: secretsOf(checked),
    diagnostics: checked.diagnostics,
    responses: word === 'crawl' ? 'crawl' : word === 'pages' || word === 'browse' ? 'result' : 'messages',
  };
}

function modelProvider(project: PluginProject, name: string): Declaration {
  const provider = project.providers.models.find((p) => get(p.value, 'provider') === name);
  if (provider) return provider;
  const names = project.providers.models.map((p) => String(get(p.value, 'provider')));
  throw new UserError(
    `the plugin has no model provider "${name}"`,
    names.length ? `its model providers: ${names.join(', ')}` : 'the plugin declares no models',
  );
}

/**
 * The HTTP/1.1 request the daemon forwards to an endpoint, hex-encoded as `raw_http_request`
 * (dify-plugin-sdks `src/dify_plugin/core/plugin_executor.py` unhexlifies it and parses it with
 * werkzeug): the request line, the headers, then the body with its length.
 */
function rawHttpRequest(method: string, where: string, inputs: InvokeInputs): string {
  const headers = inputs.headers ?? [];
  for (const [k, v] of headers)
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || /[\r\n\0]/.test(v))
      throw new UserError(
        `the header ${JSON.stringify(`${k}: ${v}`)} cannot be sent`,
        'a header name is one word (letters, digits, -), and no value holds a line break',
      );
  const has = (name: string) => headers.some(([k]) => k.toLowerCase() === name);
  const body = Buffer.from(inputs.body ?? '', 'utf8');
  const lines = [`${method} ${where} HTTP/1.1`];
  if (!has('host')) lines.push('Host: localhost');
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  if (!has('content-length') && inputs.body !== undefined) lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8'), body]).toString('hex');
}
