import { diagnostic } from '../diagnostics/catalog.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { PathSegment } from '../diagnostics/pointer.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { get, isObject, type Declaration, type PluginProject, type ToolProvider } from '../project/model.js';

/** A tool as `dify plugin invoke` finds it: its provider, its declaration, or why neither. */
export interface ToolLookup {
  provider?: ToolProvider;
  tool?: Declaration;
  diagnostics: Diagnostic[];
}

const nameOf = (d: Declaration) => get(d.value, 'identity', 'name');

/** `<provider>/<tool>` among the plugin's tool providers. */
export function findTool(project: PluginProject, providerName: string, toolName: string): ToolLookup {
  const providers = project.providers.tools;
  const provider = providers.find((p) => nameOf(p) === providerName);
  if (!provider) {
    const names = providers.map((p) => String(nameOf(p)));
    const close = didYouMean(providerName, names);
    return {
      diagnostics: [
        diagnostic(
          'invoke/unknown-tool',
          { file: project.manifest?.file.path ?? null },
          `the plugin has no tool provider "${providerName}"`,
          names.length
            ? `${close ? `did you mean "${close}"? ` : ''}its tool providers: ${names.join(', ')}`
            : 'the plugin declares no tools',
        ),
      ],
    };
  }
  const tool = provider.tools.find((t) => nameOf(t) === toolName);
  if (!tool) {
    const names = provider.tools.map((t) => String(nameOf(t)));
    const close = didYouMean(toolName, names);
    return {
      provider,
      diagnostics: [
        diagnostic(
          'invoke/unknown-tool',
          { file: provider.file.path, yaml: provider.file, at: [...provider.at, 'tools'] },
          `the tool provider "${providerName}" has no tool "${toolName}"`,
          names.length ? `${close ? `did you mean "${close}"? ` : ''}its tools: ${names.join(', ')}` : undefined,
        ),
      ],
    };
  }
  return { provider, tool, diagnostics: [] };
}

/** What the checks made of the given values: typed as declared, with the declared defaults added. */
export interface CheckedParameters {
  parameters: Record<string, unknown>;
  /** Names of `secret-input` parameters, whose values are masked like credentials. */
  secretNames: string[];
  diagnostics: Diagnostic[];
}

/**
 * Checks `given` against the tool's declared parameters, as Dify's form would before invoking
 * it: unknown names, required ones missing, numbers, booleans and select options. `--param` values
 * are strings and are converted to the declared type; values from a JSON or YAML file keep theirs
 * (a numeric string is still taken for a number). Types this check does not know (files,
 * selectors, objects) are passed on as given.
 */
export function checkToolParameters(tool: Declaration, given: Record<string, unknown>): CheckedParameters {
  const declared = Array.isArray(get(tool.value, 'parameters')) ? (get(tool.value, 'parameters') as unknown[]) : [];
  const diagnostics: Diagnostic[] = [];
  const parameters: Record<string, unknown> = {};
  const secretNames: string[] = [];
  const where = (at: PathSegment[], atKey = false) => ({
    file: tool.file.path,
    yaml: tool.file,
    at: [...tool.at, ...at],
    atKey,
  });
  const names = declared.map((p) => (isObject(p) && typeof p.name === 'string' ? p.name : ''));
  for (const name of Object.keys(given)) {
    if (names.includes(name)) continue;
    const close = didYouMean(name, names.filter(Boolean));
    diagnostics.push(
      diagnostic(
        'invoke/unknown-parameter',
        where(['parameters']),
        `the tool has no parameter "${name}"`,
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
    default:
      return { ok: true, value };
  }
}
