import { isObject, type Declaration } from '../../project/model.js';
import type { YamlFile } from '../../project/yaml-file.js';
import type { PathSegment } from '../../diagnostics/pointer.js';

/**
 * A tiny mirror of pydantic, enough to print a YAML declaration the way the Python SDK's models
 * dump it: every field the model defines (absent ones as their default, `null` included), keys
 * the model does not define dropped, and the few coercions pydantic applies in lax mode.
 *
 * Nothing here validates: a value of the wrong shape is passed through unchanged (or replaced by
 * the field's default), so the registration can always be built and the checker, not a crash,
 * reports the problem.
 */

/**
 * Where a YAML value was written. Almost no serializer needs it: it exists because YAML `1.0`
 * and `1` both read as the number 1 here, while PyYAML hands the SDK a float and an int, which
 * pydantic prints differently once it turns them into text (option values, prices).
 */
export interface Site {
  readonly file: YamlFile;
  readonly path: readonly PathSegment[];
}

export function siteOf(declaration: Declaration): Site {
  return { file: declaration.file, path: declaration.at };
}

export function child(site: Site | undefined, segment: PathSegment): Site | undefined {
  return site && { file: site.file, path: [...site.path, segment] };
}

/** Serializes one field: `value` is undefined when the key is absent from the YAML mapping. */
export type Field = (value: unknown, site: Site | undefined) => unknown;

/** A field read from another YAML key than its dumped name (pydantic's `alias`). */
export interface Aliased {
  alias: string;
  field: Field;
}

export type Fields = Record<string, Field | Aliased>;

/**
 * A nested pydantic model, `X | None = None`: its fields in declaration order. `before` plays the
 * part of a `mode="before"` model validator; it must return a new object, never edit the YAML.
 */
export function model(fields: Fields, before?: (data: Record<string, unknown>) => Record<string, unknown>): Field {
  return (value, site) => {
    if (value === undefined || value === null) return null;
    if (!isObject(value)) return value;
    const data = before ? before(value) : value;
    const out: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(fields)) {
      const key = typeof spec === 'function' ? name : spec.alias;
      const field = typeof spec === 'function' ? spec : spec.field;
      out[name] = field(Object.hasOwn(data, key) ? data[key] : undefined, child(site, key));
    }
    return out;
  };
}

/** A value pydantic keeps as written: `str` (it never turns numbers into text), enums, free JSON. */
export const raw: Field = (value) => (value === undefined ? null : value);

/** A non-nullable field with a default: pydantic rejects `null` there, so it gets the default too. */
export function rawOr(fallback: () => unknown): Field {
  return (value) => (value === undefined || value === null ? fallback() : value);
}

/** Always the same value, whatever the YAML says (fields the SDK computes instead of reading). */
export function constant(value: unknown): Field {
  return () => value;
}

/** `bool = fallback`. */
export function bool(fallback: boolean): Field {
  return (value) => (value === undefined || value === null ? fallback : toBool(value));
}

/** `bool | None = fallback` (a `null` fallback for a required bool). */
export function optBool(fallback: boolean | null): Field {
  return (value) => (value === undefined ? fallback : value === null ? null : toBool(value));
}

/** `int | None = None`. */
export const int: Field = (value) => (value === undefined || value === null ? null : toInt(value));

/** `int = fallback`. */
export function intOr(fallback: number): Field {
  return (value) => (value === undefined || value === null ? fallback : toInt(value));
}

/** `float | None`, `float | int | None`: JSON prints both kinds of JS number alike. */
export const num: Field = (value) => (value === undefined || value === null ? null : toNumber(value));

/**
 * `int | float | str | None` (parameter defaults): pydantic's smart union keeps numbers and text
 * but turns a bool into 1 or 0.
 */
export const scalar: Field = (value) =>
  value === undefined ? null : typeof value === 'boolean' ? Number(value) : value;

/** `list[X] = []`. */
export function list(item: Field): Field {
  return (value, site) => (value === undefined || value === null ? [] : items(item, value, site));
}

/** `list[X] | None = None`. */
export function optList(item: Field): Field {
  return (value, site) => (value === undefined || value === null ? null : items(item, value, site));
}

/** `list[X] | None = []`: absent means empty, an explicit `null` stays. */
export function nullableList(item: Field): Field {
  return (value, site) => (value === undefined ? [] : value === null ? null : items(item, value, site));
}

function items(item: Field, value: unknown, site: Site | undefined): unknown {
  return Array.isArray(value) ? value.map((v, i) => item(v, child(site, i))) : value;
}

/** `value or default` in Python: the SDK writes that for lists it reads (`parameters or []`). */
export function orWhenFalsy(field: Field): Field {
  return (value, site) => field(isPythonFalsy(value) ? undefined : value, site);
}

/** Python truthiness of a YAML value: empty containers are false there, unlike in JS. */
export function isPythonFalsy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.keys(value).length === 0;
}

const TRUE_TEXT = new Set(['true', 'yes', 'on', 'y', 't', '1']);
const FALSE_TEXT = new Set(['false', 'no', 'off', 'n', 'f', '0']);

/**
 * pydantic's lax bool: 0/1 and words like `yes`/`off`. This also bridges YAML 1.1, where PyYAML
 * already reads `yes`/`on` as booleans, and the YAML 1.2 reading here, which keeps them as text.
 */
function toBool(value: unknown): unknown {
  if (value === 0 || value === 1) return value === 1;
  if (typeof value !== 'string') return value;
  const word = value.toLowerCase();
  return TRUE_TEXT.has(word) ? true : FALSE_TEXT.has(word) ? false : value;
}

const INT_TEXT = /^\s*[+-]?\d+(?:_\d+)*\s*$/;
const FLOAT_TEXT = /^\s*[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?\s*$/;

/** pydantic's lax int: bools and numeric text become numbers; a fraction is left for the checker. */
function toInt(value: unknown): unknown {
  if (typeof value === 'boolean') return Number(value);
  if (typeof value === 'string' && INT_TEXT.test(value)) return Number(value.replaceAll('_', ''));
  return value;
}

/** pydantic's lax float: as `toInt`, with fractions and exponents. */
function toNumber(value: unknown): unknown {
  if (typeof value === 'boolean') return Number(value);
  if (typeof value === 'string' && FLOAT_TEXT.test(value)) return Number(value.replaceAll('_', ''));
  return value;
}
