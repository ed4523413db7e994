import { remoteDebugOnly, type Diagnostic, type Severity } from '../diagnostics/diagnostic.js';
import { enforcementOf } from './enforcement.js';
import { didYouMean } from './suggest.js';
import { validatorFor, type SchemaError, type SchemaNode } from './validators.js';
import type { Declaration } from '../project/model.js';
import { fromPointer, toPointer, type PathSegment } from '../diagnostics/pointer.js';
import { enablePositions } from '../project/yaml-file.js';

/** The four locales Dify keeps; any other key of an I18n object is dropped. */
const LOCALES = ['en_US', 'zh_Hans', 'ja_JP', 'pt_BR'];

/** Fields whose keys are names chosen by the author; codes replace such keys with `*`. */
export const NAME_KEYED_FIELDS = new Set(['credentials_for_provider', 'credentials_schema']);

/** Keyword → the rule part of a diagnostic code, e.g. `pattern` in `manifest/name-pattern`. */
const RULE_OF_KEYWORD: Record<string, string> = {
  required: 'required',
  type: 'type',
  enum: 'enum',
  const: 'enum',
  pattern: 'pattern',
  format: 'format',
  minLength: 'length',
  maxLength: 'length',
  minimum: 'range',
  maximum: 'range',
  exclusiveMinimum: 'range',
  exclusiveMaximum: 'range',
  minItems: 'count',
  maxItems: 'count',
  minProperties: 'count',
  maxProperties: 'count',
  additionalProperties: 'unknown-key',
  propertyNames: 'key-enum',
};

/** Validates one declaration against the JSON Schema of its kind. */
export async function validateDeclaration(decl: Declaration): Promise<Diagnostic[]> {
  const validate = await validatorFor(decl.kind);
  if (validate(decl.value)) return [];
  // Taken before the await: the validator keeps only its last call's errors, and the plugins of
  // one `--check` run are checked concurrently.
  const errors = validate.errors ?? [];
  await enablePositions(); // messages quote the source text, and every finding has a position
  return relevantErrors(errors).map((e) => toDiagnostic(decl, e));
}

/**
 * Drops errors that only restate another one: the `if` wrapper of a failed `then`, the
 * per-branch errors under an anyOf/oneOf (the composite error is kept), and the inner error of a
 * failed propertyNames.
 */
function relevantErrors(errors: SchemaError[]): SchemaError[] {
  const composites = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .map((e) => e.schemaPath + '/');
  return errors.filter(
    (e) =>
      e.keyword !== 'if' &&
      !(e.params.propertyName !== undefined && e.keyword !== 'propertyNames') &&
      !composites.some((prefix) => e.schemaPath.startsWith(prefix)),
  );
}

function toDiagnostic(decl: Declaration, e: SchemaError): Diagnostic {
  const at = fromPointer(e.instancePath);
  let target: PathSegment[] = at; // the field the finding is about
  let atKey = false;
  let severity: Severity = 'error';
  let rule = RULE_OF_KEYWORD[e.keyword] ?? 'invalid';
  let message: string;
  let hint = e.parentSchema?.['x-hint'];
  const field = (segments: PathSegment[]) => displayPath([...decl.at, ...segments]);

  switch (e.keyword) {
    case 'required': {
      const missing = String(e.params.missingProperty);
      target = [...at, missing];
      message = `${field(target)} is required`;
      hint = `add "${missing}:" ${at.length ? `under ${field(at)}` : 'at the top level'} of ${decl.file.path}`;
      // Point at the mapping that lacks the key, as README.md (Output formats) says.
      return scoped(
        decl,
        e,
        build(decl, { code: codeFor(decl, target, rule), severity, message, at, atKey: false, hint }),
      );
    }
    case 'additionalProperties':
    case 'propertyNames': {
      const key = String(e.params.additionalProperty ?? e.params.propertyName);
      target = [...at, key];
      atKey = true;
      const allowed = Object.keys(e.parentSchema?.properties ?? {});
      const suggestion = didYouMean(key, allowed);
      if (e.parentSchema?.['x-kind'] === 'i18n') {
        rule = 'unknown-locale';
        severity = 'warning';
        message = `unknown locale "${key}" in ${field(at)}: Dify keeps only ${LOCALES.join(', ')} and drops the rest`;
        hint = suggestion ? `did you mean "${suggestion}"?` : undefined;
      } else if (e.keyword === 'additionalProperties') {
        // A case's expectation under a misspelt key would silently check nothing.
        const ours = decl.kind === 'invoke-case';
        severity = ours ? 'error' : 'warning';
        message = `unknown key "${key}"${at.length ? ` in ${field(at)}` : ''}: ${ours ? '`dify plugin test` does not know it' : 'Dify ignores this key'}`;
        hint = suggestion ? `did you mean "${suggestion}"?` : hint;
      } else {
        const names = propertyNameEnum(e.parentSchema);
        const close = names && didYouMean(key, names);
        message = `"${key}" is not allowed as a key of ${field(at)}${names ? `; allowed: ${names.join(', ')}` : ''}`;
        hint = close ? `did you mean "${close}"?` : hint;
      }
      return build(decl, { code: codeFor(decl, at, rule), severity, message, at: target, atKey, hint });
    }
    case 'type':
      ({ message, hint } = typeMessage(decl, at, e, hint));
      break;
    case 'enum':
    case 'const': {
      const allowed = (e.params.allowedValues as unknown[] | undefined) ?? [e.params.allowedValue];
      const close = typeof e.data === 'string' ? didYouMean(e.data, allowed.map(String)) : undefined;
      message = `${field(at)} is ${show(e.data)}; allowed: ${allowed.map((v) => show(v)).join(', ')}`;
      hint = close ? `did you mean "${close}"?` : undefined; // the message already lists the values
      break;
    }
    case 'pattern':
      message = `${field(at)} ${show(e.data)} does not match ${String(e.params.pattern)}`;
      break;
    case 'minLength':
      message =
        e.params.limit === 1
          ? `${field(at)} must not be empty`
          : `${field(at)} must have at least ${String(e.params.limit)} characters`;
      break;
    case 'maxLength':
      message = `${field(at)} must have at most ${String(e.params.limit)} characters (it has ${[...String(e.data)].length})`;
      break;
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      message = `${field(at)} is ${show(e.data)}; it must be ${String(e.params.comparison)} ${String(e.params.limit)}`;
      break;
    case 'minItems':
    case 'maxItems':
      message = `${field(at)} must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(e.params.limit)} item(s) (it has ${Array.isArray(e.data) ? e.data.length : 0})`;
      break;
    case 'format':
      message = `${field(at)} ${show(e.data)} is not a valid ${String(e.params.format)}`;
      break;
    case 'not': {
      const banned = (e.parentSchema?.not ?? {}) as { const?: unknown; enum?: unknown[] };
      const what =
        banned.const !== undefined
          ? show(banned.const)
          : banned.enum
            ? `one of ${banned.enum.map(show).join(', ')}`
            : 'this value';
      message = `${field(at)} must not be ${what}`;
      break;
    }
    case 'anyOf':
    case 'oneOf':
      message = `${field(at)} does not match any of the allowed forms`;
      break;
    default:
      message = `${field(at)} does not satisfy "${e.keyword}"`;
  }
  return scoped(
    decl,
    e,
    build(decl, { code: codeFor(decl, target, rule), severity, message, at: target, atKey, hint }),
  );
}

/** Lowers a finding to a warning when only remote debugging enforces its rule. */
function scoped(decl: Declaration, e: SchemaError, d: Diagnostic): Diagnostic {
  return enforcementOf(decl.kind, e.keyword, e.parentSchema, e.data) === 'remote-debug' ? remoteDebugOnly(d) : d;
}

interface Finding {
  code: string;
  severity: Severity;
  message: string;
  at: PathSegment[];
  atKey: boolean;
  hint: string | undefined;
}

function build(decl: Declaration, f: Finding): Diagnostic {
  const full = [...decl.at, ...f.at];
  const pos = decl.file.locate(full, f.atKey);
  const d: Diagnostic = {
    code: f.code,
    severity: f.severity,
    message: f.message,
    file: decl.file.path,
    line: pos.line,
    column: pos.column,
    path: toPointer(full),
  };
  if (f.hint) d.hint = f.hint;
  return d;
}

/** Explains a type mismatch, catching YAML's unquoted numbers and quoted booleans. */
function typeMessage(decl: Declaration, at: PathSegment[], e: SchemaError, hint: string | undefined) {
  const expected = String(e.params.type).split(',');
  const name = displayPath([...decl.at, ...at]);
  const written = decl.file.sourceText([...decl.at, ...at]);
  const wanted = expected
    .filter((t) => t !== 'null')
    .map((t) => TYPE_NAMES[t] ?? t)
    .join(' or ');
  if (
    expected.includes('string') &&
    (typeof e.data === 'number' || typeof e.data === 'boolean') &&
    written &&
    !written.quoted
  ) {
    const key = at.length ? String(at[at.length - 1]) : name;
    const proposal = quotedProposal(written.text, e.parentSchema);
    return {
      message: `${name} must be text, but ${written.text} was read as ${typeof e.data === 'number' ? `the number ${String(e.data)}` : `the boolean ${String(e.data)}`}`,
      hint: `quote it${proposal === written.text ? '' : ' as a three-part version'}: ${key}: "${proposal}"`,
    };
  }
  if (
    typeof e.data === 'string' &&
    written?.quoted &&
    expected.some((t) => t !== 'string' && scalarFits(e.data as string, t))
  ) {
    return { message: `${name} must be ${wanted}, but it is the text ${show(e.data)}`, hint: 'remove the quotes' };
  }
  return { message: `${name} must be ${wanted}, but it is ${describe(e.data)}`, hint };
}

/**
 * What to propose quoting for a number written where text is expected: the text as written,
 * unless the field's pattern wants a three-part version (`version: 1.0` read as 1), where the
 * same number padded to three parts is proposed, so that the hint's value passes too.
 */
function quotedProposal(written: string, schema: SchemaNode | undefined): string {
  const pattern = typeof schema?.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
  if (!pattern || pattern.test(written) || !/^\d+(\.\d+)?$/.test(written)) return written;
  const padded = [...written.split('.'), '0', '0'].slice(0, 3).join('.');
  return pattern.test(padded) ? padded : written;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'text',
  object: 'a mapping',
  array: 'a list',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
};

function scalarFits(text: string, type: string): boolean {
  if (type === 'boolean') return text === 'true' || text === 'false';
  if (type === 'integer') return /^-?\d+$/.test(text);
  if (type === 'number') return text.trim() !== '' && !Number.isNaN(Number(text));
  return false;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return show(v);
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'empty';
  if (typeof v === 'object') return Array.isArray(v) ? 'a list' : 'a mapping';
  return String(v);
}

function propertyNameEnum(schema: SchemaNode | undefined): string[] | undefined {
  const names = schema?.propertyNames as { enum?: unknown[] } | undefined;
  return names?.enum?.map(String);
}

/** `identity.name`, `parameters[2].type`: how a field is named in messages. */
export function displayPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out === '' ? '(document)' : out;
}

/**
 * `<kind>/<field>-<rule>`, e.g. `manifest/meta.runner.language-enum`. List indexes are dropped
 * and author-chosen names (credential names) become `*`, so a code names a rule, not a place.
 */
function codeFor(decl: Declaration, at: PathSegment[], rule: string): string {
  const parts: string[] = [];
  let previous: PathSegment | undefined;
  for (const seg of at) {
    if (typeof seg === 'number') {
      previous = seg;
      continue;
    }
    parts.push(typeof previous === 'string' && NAME_KEYED_FIELDS.has(previous) ? '*' : seg);
    previous = seg;
  }
  const fieldPart = parts.join('.');
  return `${decl.kind}/${fieldPart ? `${fieldPart}-` : ''}${rule}`;
}
