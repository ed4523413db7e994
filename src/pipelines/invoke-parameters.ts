import { diagnostic } from '../diagnostics/catalog.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { PathSegment } from '../diagnostics/pointer.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { get, isObject, type Declaration, type PluginProject, type ToolProvider } from '../project/model.js';

/** What `dify plugin invoke` looks up: a tool, an agent strategy, or a datasource, each under its provider. */
export type Subject = 'tool' | 'agent strategy' | 'datasource';

/** A declaration as `dify plugin invoke` finds it: its provider, itself, or why neither. */
export interface Lookup<P extends Declaration> {
  provider?: P;
  found?: Declaration;
  diagnostics: Diagnostic[];
}

const nameOf = (d: Declaration) => get(d.value, 'identity', 'name');

const CODES = {
  tool: 'invoke/unknown-tool',
  'agent strategy': 'invoke/unknown-agent-strategy',
  datasource: 'invoke/unknown-datasource',
} as const;

/**
 * `<provider>/<name>` among the plugin's providers of one kind, both matched on `identity.name`
 * (as the SDK's registration keys them: dify-plugin-sdks `src/dify_plugin/core/plugin_registration.py`).
 */
export function findDeclared<P extends Declaration>(
  project: PluginProject,
  subject: Subject,
  providers: P[],
  children: (p: P) => { key: string; list: Declaration[] },
  providerName: string,
  name: string,
): Lookup<P> {
  const code = CODES[subject];
  const provider = providers.find((p) => nameOf(p) === providerName);
  if (!provider) {
    const names = providers.map((p) => String(nameOf(p)));
    const close = didYouMean(providerName, names);
    return {
      diagnostics: [
        diagnostic(
          code,
          { file: project.manifest?.file.path ?? null },
          `the plugin has no ${subject} provider "${providerName}"`,
          names.length
            ? `${close ? `did you mean "${close}"? ` : ''}its ${subject} providers: ${names.join(', ')}`
            : `the plugin declares no ${subject}s`,
        ),
      ],
    };
  }
  const { key, list } = children(provider);
  const found = list.find((t) => nameOf(t) === name);
  if (!found) {
    const names = list.map((t) => String(nameOf(t)));
    const close = didYouMean(name, names);
    return {
      provider,
      diagnostics: [
        diagnostic(
          code,
          { file: provider.file.path, yaml: provider.file, at: [...provider.at, key] },
          `the ${subject} provider "${providerName}" has no ${subject} "${name}"`,
          names.length ? `${close ? `did you mean "${close}"? ` : ''}its ${key}: ${names.join(', ')}` : undefined,
        ),
      ],
    };
  }
  return { provider, found, diagnostics: [] };
}

/** `<provider>/<tool>` among the plugin's tool providers. */
export function findTool(project: PluginProject, providerName: string, toolName: string): Lookup<ToolProvider> {
  return findDeclared(
    project,
    'tool',
    project.providers.tools,
    (p) => ({ key: 'tools', list: p.tools }),
    providerName,
    toolName,
  );
}

/** What the checks made of the given values: typed as declared, with the declared defaults added. */
export interface CheckedParameters {
  parameters: Record<string, unknown>;
  /** Names of `secret-input` parameters, whose values are masked like credentials. */
  secretNames: string[];
  diagnostics: Diagnostic[];
}

/** A field of a request whose shape the SDK fixes (an online document page, an online drive file). */
export interface RequestField {
  name: string;
  type: 'string' | 'number' | 'object';
  required?: boolean;
  default?: unknown;
}

/**
 * Checks `given` against the declared parameters of a tool, agent strategy or datasource, as
 * Dify's form would before invoking it: unknown names, required ones missing, numbers, booleans
 * and select options. `--param` values are strings and are converted to the declared type; values
 * from a JSON or YAML file keep theirs (a numeric string is still taken for a number). Selectors
 * and objects given as text are read as JSON. Types this check does not know (files, `any`) are
 * passed on as given.
 *
 * With `fields`, the values are checked against those instead (a request shape the SDK fixes,
 * declared nowhere in the plugin), and findings point at the declaration itself.
 */
export function checkParameters(
  owner: Declaration,
  given: Record<string, unknown>,
  subject: Subject = 'tool',
  fields?: RequestField[],
): CheckedParameters {
  const list = get(owner.value, 'parameters');
  const declared: unknown[] = fields ?? (Array.isArray(list) ? list : []);
  const diagnostics: Diagnostic[] = [];
  const parameters: Record<string, unknown> = {};
  const secretNames: string[] = [];
  const where = (at: PathSegment[], atKey = false) => ({
    file: owner.file.path,
    yaml: owner.file,
    at: fields ? owner.at : [...owner.at, ...at],
    atKey: fields ? false : atKey,
  });
  const names = declared.map((p) => (isObject(p) && typeof p.name === 'string' ? p.name : ''));
  const what = fields ? 'the request' : `the ${subject}`;
  for (const name of Object.keys(given)) {
    if (names.includes(name)) continue;
    const close = didYouMean(name, names.filter(Boolean));
    diagnostics.push(
      diagnostic(
        'invoke/unknown-parameter',
        where(['parameters']),
        `${what} has no parameter "${name}"`,
        `${close ? `did you mean "${close}"? ` : ''}${names.length ? `its parameters: ${names.filter(Boolean).join(', ')}` : 'it declares no parameters'}`,
      ),
    );
  }
  declared.forEach((p, i) => {
    if (!isObject(p) || typeof p.name !== 'string') return;
    const { name } = p;
    const type = typeof p.type === 'string' ? p.type : 'string';
    if (type === 'secret-input') secretNames.push(name);
    const has = Object.hasOwn(given, name) && given[name] !== null && given[name] !== undefined;
    if (!has) {
      if (p.default !== undefined && p.default !== null) parameters[name] = p.default;
      else if (p.required === true)
        diagnostics.push(
          diagnostic(
            'invoke/missing-parameter',
            where(['parameters', i]),
            `the required parameter "${name}" (${type}) is not given`,
            `add --param ${name}=<value>`,
          ),
        );
      return;
    }
    const value = given[name];
    const converted = convert(type, value, p.options);
    if (converted.ok) parameters[name] = converted.value;
    else
      diagnostics.push(
        diagnostic(
          converted.code,
          where(['parameters', i, converted.code === 'invoke/not-an-option' ? 'options' : 'type']),
          `parameter "${name}": ${converted.message}`,
          converted.hint,
        ),
      );
  });
  return { parameters, secretNames, diagnostics };
}

type Conversion =
  | { ok: true; value: unknown }
  | { ok: false; code: 'invoke/wrong-type' | 'invoke/not-an-option'; message: string; hint?: string };

const shown = (v: unknown) => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v));

function convert(type: string, value: unknown, options: unknown): Conversion {
  switch (type) {
    case 'number': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
      return Number.isFinite(n)
        ? { ok: true, value: n }
        : { ok: false, code: 'invoke/wrong-type', message: `${shown(value)} is not a number` };
    }
    case 'boolean':
    case 'checkbox': {
      if (typeof value === 'boolean') return { ok: true, value };
      const text = typeof value === 'string' ? value.toLowerCase() : '';
      if (['true', '1', 'yes'].includes(text)) return { ok: true, value: true };
      if (['false', '0', 'no'].includes(text)) return { ok: true, value: false };
      return {
        ok: false,
        code: 'invoke/wrong-type',
        message: `${shown(value)} is not a boolean`,
        hint: 'use true or false',
      };
    }
    case 'select': {
      const values = Array.isArray(options)
        ? options.map((o) => (isObject(o) ? o.value : undefined)).filter((v) => v !== undefined)
        : [];
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      if (values.length === 0 || values.some((v) => String(v) === text)) return { ok: true, value: text };
      return {
        ok: false,
        code: 'invoke/not-an-option',
        message: `${shown(value)} is not one of its options`,
        hint: `use one of ${values.map((v) => String(v)).join(', ')}`,
      };
    }
    case 'string':
    case 'secret-input':
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? { ok: true, value: String(value) }
        : { ok: false, code: 'invoke/wrong-type', message: `${shown(value)} is not a string` };
    case 'model-selector':
    case 'app-selector':
    case 'object':
      return structured(value, 'object');
    case 'array[tools]':
    case 'array':
      return structured(value, 'array');
    default:
      return { ok: true, value };
  }
}

/**
 * A selector or an object: Dify sends it as a JSON object (a list for tools and arrays). Given on
 * the command line it is text, read as JSON; from a --params file it is already one.
 */
function structured(value: unknown, want: 'object' | 'array'): Conversion {
  let v = value;
  if (typeof v === 'string')
    try {
      v = JSON.parse(v) as unknown;
    } catch {
      // not JSON: reported below as the wrong type
    }
  if (want === 'array' ? Array.isArray(v) : isObject(v)) return { ok: true, value: v };
  return {
    ok: false,
    code: 'invoke/wrong-type',
    message: `${shown(value)} is not a JSON ${want === 'array' ? 'list' : 'object'}`,
    hint: 'give it in a --params file (YAML or JSON), or as JSON text in --param',
  };
}
