import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../diagnostics/user-error.js';
import { readDotenv } from '../debug/settings.js';
import { get, isObject, type Declaration } from '../project/model.js';

/** `DIFY_CREDENTIAL_<NAME>`: a credential from the environment or the plugin's `.env`. */
const PREFIX = 'DIFY_CREDENTIAL_';
/** A credentials file is a few lines; a bigger one is not what was meant. */
const MAX_CREDENTIALS_FILE_BYTES = 1024 * 1024;

export interface Credentials {
  values: Record<string, unknown>;
  /** Where they came from, for the "using ..." line (never the values). */
  source: string;
}

/** A credential a provider declares (a field of its form). */
export interface DeclaredCredential {
  name: string;
  required: boolean;
}

/** The credentials a tool, model or datasource provider declares (for an endpoint group: its settings). */
export function declaredCredentials(provider: Declaration | undefined): DeclaredCredential[] {
  if (!provider) return [];
  const found = new Map<string, boolean>();
  const add = (name: unknown, field: Record<string, unknown>) => {
    if (typeof name === 'string' && !found.has(name)) found.set(name, field.required === true);
  };
  // tools: `credentials_for_provider` (a mapping, or a list the daemon also accepts)
  const forProvider = get(provider.value, 'credentials_for_provider');
  if (isObject(forProvider)) for (const [k, v] of Object.entries(forProvider)) add(k, isObject(v) ? v : {});
  if (Array.isArray(forProvider)) for (const c of forProvider) if (isObject(c)) add(c.name, c);
  // models: `provider_credential_schema` form fields, named `variable`
  const fields = get(provider.value, 'provider_credential_schema', 'credential_form_schemas');
  if (Array.isArray(fields)) for (const f of fields) if (isObject(f)) add(f.variable, f);
  // endpoint groups: `settings`, a list of named fields
  const settings = get(provider.value, 'settings');
  if (Array.isArray(settings)) for (const f of settings) if (isObject(f)) add(f.name, f);
  // datasources: `credentials_schema`, a list of named fields; with OAuth, the fields the
  // authorization yields instead (`oauth_schema.credentials_schema`), none of them required here
  for (const key of ['credentials_schema', 'oauth_schema'] as const) {
    const list = key === 'oauth_schema' ? get(provider.value, key, 'credentials_schema') : get(provider.value, key);
    if (Array.isArray(list))
      for (const f of list) if (isObject(f)) add(f.name, key === 'oauth_schema' ? { ...f, required: false } : f);
  }
  return [...found].map(([name, required]) => ({ name, required }));
}

/**
 * The credentials of an invocation, from `--credentials <file>` (a YAML or JSON mapping of name →
 * value) or else from `DIFY_CREDENTIAL_<NAME>` variables, the environment winning over the
 * plugin's `.env` as for every setting. A variable matches a declared name upper-cased; one that
 * matches none is passed on under its name lower-cased. Never from the command line, where values
 * end up in the shell's history.
 */
export function loadCredentials(o: {
  file?: string;
  cwd: string;
  pluginDir: string;
  env: NodeJS.ProcessEnv;
  declared: string[];
}): Credentials {
  if (o.file !== undefined) {
    const file = path.resolve(o.cwd, o.file);
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat?.isFile()) throw new UserError(`--credentials ${o.file}: no such file`);
    if (stat.size > MAX_CREDENTIALS_FILE_BYTES)
      throw new UserError(`--credentials ${o.file}: larger than ${MAX_CREDENTIALS_FILE_BYTES / 1024} KiB`);
    let values: unknown;
    try {
      // Warnings off: the yaml library prints them as Node warnings quoting the line, the secret with it.
      values = parseYaml(readFileSync(file, 'utf8'), { logLevel: 'error' });
    } catch (err) {
      // The parser's message quotes the file's text, which may be a secret: only its position.
      const where = /at line (\d+), column (\d+)/.exec((err as Error).message);
      throw new UserError(
        `--credentials ${o.file}: not valid YAML${where ? ` (line ${where[1]}, column ${where[2]})` : ''}`,
        'write one `name: value` line per credential',
      );
    }
    if (values === null || values === undefined) values = {};
    if (!isObject(values))
      throw new UserError(`--credentials ${o.file}: not a mapping`, 'write one `name: value` line per credential');
    return { values, source: o.file };
  }
  const dotenvPath = path.join(o.pluginDir, '.env');
  const fileVars = existsSync(dotenvPath) ? parseDotenv(readDotenv(dotenvPath)) : {};
  const values: Record<string, unknown> = {};
  const from = new Set<string>();
  for (const [vars, source] of [
    [fileVars, '.env'],
    [o.env, 'the environment'],
  ] as const) {
    for (const [key, value] of Object.entries(vars)) {
      if (!key.toUpperCase().startsWith(PREFIX) || value === undefined) continue;
      const upper = key.slice(PREFIX.length).toUpperCase();
      if (!upper) continue;
      const name = o.declared.find((d) => d.toUpperCase() === upper) ?? upper.toLowerCase();
      values[name] = value;
      from.add(source);
    }
  }
  return {
    values,
    source: from.size ? `${PREFIX}* variables (${[...from].join(', ')})` : 'none',
  };
}

/**
 * The required credentials that are not given, one sentence each: Dify would not invoke without
 * them, and the plugin may fail in a less clear way. `file` is the --credentials file, if any.
 */
export function missingCredentials(
  declared: DeclaredCredential[],
  values: Record<string, unknown>,
  file?: string,
): string[] {
  return declared
    .filter((c) => c.required && (values[c.name] ?? '') === '')
    .map(
      (c) =>
        `the provider requires the credential "${c.name}", which is not given (${file !== undefined ? `not in ${file}` : `set DIFY_CREDENTIAL_${c.name.toUpperCase()} in .env, or pass --credentials`})`,
    );
}

/** Takes a text in pieces; `flush()` writes what it held back. */
export interface PieceWriter {
  write(text: string): void;
  flush(): void;
}

/**
 * Replaces every secret in a text with `****`: credential values and secret parameters, also
 * as they read inside a JSON string. Values shorter than MIN_MASKED_LENGTH are left alone (masking
 * every "1" or "a" in the output would hide more than it protects).
 */
export class Masker {
  private readonly needles: string[];

  constructor(secrets: unknown[]) {
    const texts = new Set<string>();
    for (const s of secrets) {
      if (typeof s !== 'string' && typeof s !== 'number') continue;
      const text = String(s);
      if (text.length < MIN_MASKED_LENGTH) continue;
      texts.add(text);
      texts.add(JSON.stringify(text).slice(1, -1)); // as it appears inside a JSON string
    }
    // Longest first, so a secret containing another is masked whole.
    this.needles = [...texts].sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let out = text;
    for (const n of this.needles) out = out.replaceAll(n, '****');
    return out;
  }

  /**
   * A writer that masks a stream of pieces, such as an LLM's chunks, where a secret may arrive
   * split in two: what it writes, joined, is `mask()` of the pieces joined. As `mask()` replaces
   * one secret after the other, each secret is a stage fed by the one before; a stage holds back
   * at most its secret less one character (where a match may be starting), so that a text
   * repeating a secret without end is neither held whole nor scanned again and again.
   */
  streaming(write: (text: string) => void): PieceWriter {
    return this.needles.reduceRight<PieceWriter>((next, needle) => replacingStage(needle, next), {
      write: (text) => text && write(text),
      flush: () => undefined,
    });
  }
}

/**
 * `text.replaceAll(needle, '****')` over a stream: matches are taken left to right, none
 * overlapping, as replaceAll takes them; the end of the text that may start a match is held back.
 */
function replacingStage(needle: string, next: PieceWriter): PieceWriter {
  let held = '';
  return {
    write: (text) => {
      const all = held + text;
      let out = '';
      let from = 0;
      for (let at = all.indexOf(needle); at >= 0; at = all.indexOf(needle, from)) {
        out += all.slice(from, at) + '****';
        from = at + needle.length;
      }
      // A match not found yet starts no earlier than the last needle.length - 1 characters.
      const cut = Math.max(from, all.length - needle.length + 1);
      held = all.slice(cut);
      next.write(out + all.slice(from, cut));
    },
    flush: () => {
      next.write(held);
      held = '';
      next.flush();
    },
  };
}

export const MIN_MASKED_LENGTH = 3;
