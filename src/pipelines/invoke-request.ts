import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { UserError } from '../diagnostics/user-error.js';
import { get, type Declaration, type PluginProject } from '../project/model.js';
import type { PluginRequest } from './invoke.js';
import { declaredCredentials, type DeclaredCredential } from './invoke-credentials.js';
import { checkToolParameters, findTool } from './invoke-parameters.js';

/** What is invoked: a tool, an LLM, or an endpoint path. */
export type InvokeTarget =
  | { kind: 'tool'; provider: string; name: string }
  | { kind: 'llm'; provider: string; name: string }
  | { kind: 'endpoint'; method: string; path: string };

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
    const checked = found.tool ? checkToolParameters(found.tool, inputs.params) : undefined;
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
      secretValues: checked ? checked.secretNames.map((n) => checked.parameters[n]) : [],
      diagnostics: [...found.diagnostics, ...(checked?.diagnostics ?? [])],
    };
  }
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
  };
}

/** The request with its credentials (an endpoint's `settings`) filled in. */
export function withCredentials(request: PluginRequest, values: Record<string, unknown>): PluginRequest {
  const key = request.type === 'endpoint' ? 'settings' : 'credentials';
  return { ...request, request: { ...request.request, [key]: values } };
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
