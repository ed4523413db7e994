// Renders docs/rules.md: every diagnostic code, from the catalogue of rules checked in code and
// from a walk of the JSON Schemas (whose codes are derived the same way src/check/schema.ts
// derives them from a failing field). `npm run docs:rules` writes it; a test keeps it current.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { RULE_CATALOG } from '../src/diagnostics/catalog.js';
import { enforcementOf, type Enforcement } from '../src/check/enforcement.js';
import type { DeclarationKind } from '../src/project/model.js';

type Schema = Record<string, unknown>;

interface Row {
  code: string;
  severity: string;
  rule: string;
  source: string;
  enforced: string;
}

/** Where a schema rule stops a plugin, by src/check/enforcement.ts. */
const PLACE: Record<Enforcement, string> = {
  package: 'Go CLI package, install, remote debugging',
  sdk: 'SDK start, remote debugging',
  'remote-debug': 'remote debugging only',
};

const ROOT = path.resolve(import.meta.dirname, '..');
const SCHEMA_DIR = path.join(ROOT, 'schemas');

/** Schema kinds in the order a plugin is loaded. */
const KIND_ORDER = [
  'manifest',
  'tool-provider',
  'tool',
  'model-provider',
  'model',
  'endpoint-group',
  'endpoint',
  'agent-strategy-provider',
  'agent-strategy',
  'datasource-provider',
  'datasource',
  'trigger-provider',
  'trigger-event',
  'bundle',
];

function loadSchemas(): Map<string, Schema> {
  const byFile = new Map<string, Schema>();
  for (const name of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json'))) {
    byFile.set(name, JSON.parse(readFileSync(path.join(SCHEMA_DIR, name), 'utf8')) as Schema);
  }
  return byFile;
}

/** Follows `$ref` (same file or `common.schema.json#/definitions/x`). */
function deref(schema: Schema, file: string, schemas: Map<string, Schema>): { schema: Schema; file: string } {
  let current = schema;
  let currentFile = file;
  for (let guard = 0; typeof current.$ref === 'string' && guard < 20; guard++) {
    const [target, pointer = ''] = (current.$ref as string).split('#');
    if (target) currentFile = target;
    let node: unknown = schemas.get(currentFile);
    for (const seg of pointer.split('/').filter(Boolean)) node = (node as Schema)[seg];
    current = node as Schema;
  }
  return { schema: current, file: currentFile };
}

const show = (v: unknown) => '`' + (typeof v === 'string' ? v : JSON.stringify(v)) + '`';

/** Walks one schema and collects a row per (field, rule) the validator can report. */
export function schemaRows(kind: string, schemas: Map<string, Schema>): { rows: Row[]; mapFields: Set<string> } {
  const rows = new Map<string, Row>();
  const mapFields = new Set<string>();
  // A rule's severity and place come from the keyword that reports it and the node holding it
  // (x-enforced, x-sdk-accepts); `warning` (`error` from `run`) where only remote debugging enforces it.
  const add = (
    node: Schema,
    field: string[],
    rule: string,
    severity: string,
    text: string,
    source: string,
    keyword = rule,
  ) => {
    const code = `${kind}/${field.length ? `${field.join('.')}-` : ''}${rule}`;
    let enforced: string;
    if (severity === 'error') {
      const place = enforcementOf(kind as DeclarationKind, keyword, node, undefined);
      enforced = PLACE[place];
      if (place === 'remote-debug') severity = 'warning (error for `run`)';
      const sdkAlso = node['x-sdk-accepts'];
      if (keyword === 'enum' && Array.isArray(sdkAlso))
        text += ` (${sdkAlso.map(show).join(', ')}: the SDK takes them, only remote debugging refuses them)`;
    } else {
      enforced = 'nowhere (ignored)';
    }
    const existing = rows.get(code);
    if (existing) {
      if (!existing.rule.includes(text)) existing.rule += `; ${text}`;
      if (!existing.enforced.split('; ').includes(enforced)) existing.enforced += `; ${enforced}`;
      if (existing.severity !== severity && severity === 'error') existing.severity = 'error';
    } else {
      rows.set(code, { code, severity, rule: text, source, enforced });
    }
  };
  const seen = new Set<Schema>();
  const visit = (raw: Schema, file: string, field: string[], source: string, depth: number, item = false) => {
    const { schema, file: f } = deref(raw, file, schemas);
    if (depth > 30 || seen.has(schema)) return; // recursive definitions
    seen.add(schema);
    const src = typeof schema['x-source'] === 'string' ? (schema['x-source'] as string) : source;
    const each = item ? 'each item: ' : '';
    if (schema.type !== undefined)
      add(schema, field, 'type', 'error', `${each}${[schema.type].flat().join(' or ')}`, src);
    if (Array.isArray(schema.enum))
      add(schema, field, 'enum', 'error', `${each}one of ${schema.enum.map(show).join(', ')}`, src);
    if (schema.const !== undefined)
      add(schema, field, 'enum', 'error', `${each}exactly ${show(schema.const)}`, src, 'const');
    if (typeof schema.pattern === 'string')
      add(schema, field, 'pattern', 'error', `${each}matches ${show(schema.pattern)}`, src);
    if (typeof schema.format === 'string')
      add(schema, field, 'format', 'error', `${each}a valid ${schema.format}`, src);
    const range = (lo: string, hi: string, unit: string) => {
      const parts = [];
      if (schema[lo] !== undefined) parts.push(`at least ${String(schema[lo])}`);
      if (schema[hi] !== undefined) parts.push(`at most ${String(schema[hi])}`);
      return parts.length ? `${parts.join(' and ')} ${unit}`.trim() : undefined;
    };
    const length = range('minLength', 'maxLength', 'characters');
    if (length) add(schema, field, 'length', 'error', each + length, src, 'maxLength');
    const value = range('minimum', 'maximum', '');
    if (value) add(schema, field, 'range', 'error', each + value, src, 'maximum');
    const count = range('minItems', 'maxItems', 'items');
    if (count) add(schema, field, 'count', 'error', count, src, 'maxItems');
    const names = schema.propertyNames as Schema | undefined;
    if (names && Array.isArray(names.enum))
      add(
        schema,
        field,
        'key-enum',
        'error',
        `keys are among ${names.enum.map(show).join(', ')}`,
        src,
        'propertyNames',
      );
    if (schema.additionalProperties === false) {
      if (schema['x-kind'] === 'i18n')
        add(
          schema,
          field,
          'unknown-locale',
          'warning',
          'locales other than en_US, zh_Hans, ja_JP, pt_BR are dropped',
          src,
        );
      else add(schema, field, 'unknown-key', 'warning', 'keys Dify does not read are ignored', src);
    }
    for (const req of (schema.required as string[] | undefined) ?? []) {
      add(schema, [...field, req], 'required', 'error', 'must be present', src);
    }
    for (const [key, sub] of Object.entries((schema.properties as Record<string, Schema> | undefined) ?? {})) {
      visit(sub, f, [...field, key], src, depth + 1);
    }
    if (schema.items && typeof schema.items === 'object') visit(schema.items as Schema, f, field, src, depth + 1, true);
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      if (field.length) mapFields.add(field[field.length - 1]!);
      visit(schema.additionalProperties as Schema, f, [...field, '*'], src, depth + 1);
    }
    for (const key of ['allOf', 'anyOf', 'oneOf']) {
      for (const sub of (schema[key] as Schema[] | undefined) ?? []) visit(sub, f, field, src, depth + 1, item);
    }
    for (const key of ['then', 'else']) if (schema[key]) visit(schema[key] as Schema, f, field, src, depth + 1, item);
    seen.delete(schema);
  };
  const file = `${kind}.schema.json`;
  visit(schemas.get(file)!, file, [], '', 0);
  return { rows: [...rows.values()].sort((a, b) => (a.code < b.code ? -1 : 1)), mapFields };
}

/** Field names whose keys the schemas leave to the author (maps such as credentials_for_provider). */
export function schemaMapFields(): Set<string> {
  const schemas = loadSchemas();
  const all = new Set<string>();
  for (const kind of KIND_ORDER) for (const f of schemaRows(kind, schemas).mapFields) all.add(f);
  return all;
}

const escapeCell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function renderRulesDoc(): string {
  const schemas = loadSchemas();
  const out: string[] = [
    '# Diagnostic codes',
    '',
    '<!-- Generated by `npm run docs:rules` from src/diagnostics/catalog.ts and schemas/. Do not edit. -->',
    '',
    'Every finding of `dify plugin package --check` has a stable code, and a severity that follows',
    'where Dify enforces the rule ("enforced at"):',
    '',
    '- **error**: the daemon refuses the package when it is installed (decoding, `ManifestValidate`,',
    '  asset remapping, the identifier check), the Go CLI refuses to pack it, or the Python SDK fails',
    '  to start the plugin. Packaging stops.',
    '- **warning (error for `run`)**: only remote debugging refuses it. The daemon validates every',
    '  declaration of a debugging session against its structs, but decodes an installed package',
    '  without that validation, so the package installs and works. `package` warns ("remote',
    '  debugging would reject this: ...; installing the package is not affected") and `run` stops',
    '  before it connects; `run --dry-run` still prints the registration, with the findings on',
    '  stderr and exit code 1. In JSON output such findings carry `"scope": "remote-debug"`.',
    '- **warning**: accepted everywhere, but likely a mistake (with `--strict`, warnings stop',
    '  packaging too). **info**: a note.',
    '',
    'Codes from a JSON Schema read `<file kind>/<field>-<rule>`: list indexes are left out and',
    'author-chosen names (credential names) are written `*`. A field written as an unquoted number',
    "where text is required (`version: 1.10`) is reported under the field's `-type` code with a",
    'hint to quote it.',
    '',
    '## Rules checked in code',
    '',
    '| code | severity | what it checks | enforced at | who rejects it |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const [code, info] of Object.entries(RULE_CATALOG).sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push(
      `| \`${code}\` | ${info.severity} | ${escapeCell(info.summary)} | ${escapeCell(info.enforced)} | ${escapeCell(info.source)} |`,
    );
  }
  for (const kind of KIND_ORDER) {
    const schema = schemas.get(`${kind}.schema.json`)!;
    out.push(
      '',
      `## ${String(schema.title ?? kind)} (\`schemas/${kind}.schema.json\`)`,
      '',
      '| code | severity | rule | enforced at | source |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const row of schemaRows(kind, schemas).rows) {
      out.push(
        `| \`${row.code}\` | ${row.severity} | ${escapeCell(row.rule)} | ${escapeCell(row.enforced)} | ${escapeCell(row.source)} |`,
      );
    }
  }
  return out.join('\n') + '\n';
}
