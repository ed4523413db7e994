import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { diagnostic, locateDiagnostics } from '../diagnostics/catalog.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { printableJson } from '../diagnostics/excerpt.js';
import { UserError } from '../diagnostics/user-error.js';
import { validateDeclaration } from '../check/schema.js';
import { isObject, type PluginProject } from '../project/model.js';
import { MAX_YAML_BYTES, YamlFile } from '../project/yaml-file.js';
import { yamlProblemFindings } from '../project/yaml-findings.js';
import type { InvokeOutcome, PluginRequest } from './invoke.js';
import { Answer } from './invoke-answer.js';
import { type DeclaredCredential, Masker } from './invoke-credentials.js';
import { prepareInvocation, withCredentials, type InvokeInputs, type InvokeTarget } from './invoke-request.js';

/**
 * The declarative cases of `dify plugin test`: `tests/*.invoke.yaml` files
 * (schemas/invoke-case.schema.json), each one invocation as `dify plugin invoke` sends it and
 * what its answer must be. Read from the unpacked package, so a case left out by `.difyignore`
 * is not run, as a file left out is not installed.
 */

export const CASE_SUFFIX = '.invoke.yaml';
/** Where cases live, in the plugin. */
export const CASES_DIR = 'tests';

export interface InvokeCase {
  /** `tests/<name>.invoke.yaml` */
  file: string;
  name: string;
  target: InvokeTarget;
  inputs: InvokeInputs;
  expect: Expectations;
}

interface Expectations {
  exit: 0 | 1;
  textContains: string[];
  json: Array<{ path: string; equals: unknown }>;
  maxMs?: number;
}

/** A case file read: the case, or the findings that keep it from running. */
export interface CaseFile {
  file: string;
  case?: InvokeCase;
  diagnostics: Diagnostic[];
}

/** How a case ended: `error` when it could not run at all (an unreadable file, a plugin that did not start). */
export interface CaseOutcome {
  file: string;
  name: string;
  status: 'passed' | 'failed' | 'error';
  /** Why it failed, one sentence each. */
  failures: string[];
  /** From the request to the end of the answer. */
  ms?: number;
  /** `secret-input` parameter values it sent, to be masked as credentials are. */
  secretValues: unknown[];
}

/** The case files of an unpacked plugin, by name: regular files only, not in sub-folders. */
export function caseFileNames(dir: string): string[] {
  const folder = path.join(dir, CASES_DIR);
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(CASE_SUFFIX) && n.length > CASE_SUFFIX.length)
    .filter((n) => lstatSync(path.join(folder, n)).isFile())
    .sort()
    .map((n) => `${CASES_DIR}/${n}`);
}

/** Reads and validates one case file (`file` relative to `dir`), findings located at `file:line:col`. */
export async function loadCase(dir: string, file: string): Promise<CaseFile> {
  const full = path.join(dir, file);
  if (lstatSync(full).size > MAX_YAML_BYTES)
    return {
      file,
      diagnostics: [
        diagnostic('file/too-large', { file }, `${file} is over 1 MiB and is not read`, 'a case is a few lines'),
      ],
    };
  const yaml = new YamlFile(file, readFileSync(full, 'utf8'));
  const diagnostics = yamlProblemFindings(yaml);
  if (yaml.parsed)
    diagnostics.push(...(await validateDeclaration({ kind: 'invoke-case', file: yaml, at: [], value: yaml.value })));
  await locateDiagnostics(diagnostics);
  if (diagnostics.some((d) => d.severity === 'error') || !isObject(yaml.value)) return { file, diagnostics };
  return { file, case: toCase(file, yaml.value), diagnostics };
}

/** A validated case file as a case (the schema has made sure of the shapes read here). */
function toCase(file: string, value: Record<string, unknown>): InvokeCase {
  const invoke = value.invoke as Record<string, unknown>;
  const expect = (isObject(value.expect) ? value.expect : {}) as Record<string, unknown>;
  const params = (isObject(invoke.params) ? invoke.params : {}) as Record<string, unknown>;
  const contains = expect.text_contains;
  let target: InvokeTarget;
  const inputs: InvokeInputs = { params };
  if (typeof invoke.tool === 'string') {
    const [provider, name] = invoke.tool.split('/') as [string, string];
    target = { kind: 'tool', provider, name };
  } else if (typeof invoke.llm === 'string') {
    const slash = invoke.llm.indexOf('/');
    target = { kind: 'llm', provider: invoke.llm.slice(0, slash), name: invoke.llm.slice(slash + 1) };
    inputs.prompt = String(invoke.prompt);
  } else if (typeof invoke.agent_strategy === 'string') {
    const [provider, name] = invoke.agent_strategy.split('/') as [string, string];
    target = { kind: 'agent_strategy', provider, name };
  } else if (typeof invoke.datasource === 'string') {
    const [provider, name] = invoke.datasource.split('/') as [string, string];
    target = {
      kind: 'datasource',
      provider,
      name,
      ...(typeof invoke.action === 'string' ? { action: invoke.action } : {}),
    };
  } else {
    const [method, where] = String(invoke.endpoint).split(' ') as [string, string];
    target = { kind: 'endpoint', method, path: where };
    inputs.headers = Object.entries((invoke.headers ?? {}) as Record<string, string>);
    if (typeof invoke.body === 'string') inputs.body = invoke.body;
  }
  return {
    file,
    name: typeof value.name === 'string' ? value.name : path.posix.basename(file, CASE_SUFFIX),
    target,
    inputs,
    expect: {
      exit: expect.exit === 1 ? 1 : 0,
      textContains: contains === undefined ? [] : Array.isArray(contains) ? contains.map(String) : [String(contains)],
      json: Array.isArray(expect.json) ? (expect.json as Expectations['json']) : [],
      ...(typeof expect.max_ms === 'number' ? { maxMs: expect.max_ms } : {}),
    },
  };
}

/** What running a case needs: the plugin's declarations, a started plugin, its credentials, a clock. */
export interface CaseContext {
  project: PluginProject;
  invoke(
    request: PluginRequest,
    onMessage: (m: Record<string, unknown>) => void,
    timeoutMs: number,
  ): Promise<InvokeOutcome>;
  /** How long a case without `max_ms` may wait for its answer. */
  timeoutMs: number;
  /** The credentials for a provider declaring these (an endpoint group: its settings). */
  credentials(declared: DeclaredCredential[]): Record<string, unknown>;
  now(): number;
}

/**
 * Sends a case's invocation and checks its answer. The exit status is the one `dify plugin
 * invoke` would end with: 1 when the parameters do not match the declaration (nothing is sent),
 * when the invocation cannot be made, or when the plugin answers with an error, whose message
 * then ends the answer's text.
 */
export async function runCase(c: InvokeCase, ctx: CaseContext): Promise<CaseOutcome> {
  let answer = new Answer('messages');
  let failed: string | undefined;
  /** The plugin did not end its answer: no exit status to compare, whatever `exit` says. */
  let timedOut = false;
  let ms: number | undefined;
  let secretValues: unknown[] = [];
  let credentials: Record<string, unknown> = {};
  try {
    const prepared = prepareInvocation(ctx.project, c.target, c.inputs);
    answer = new Answer(prepared.responses);
    secretValues = prepared.secretValues;
    if (prepared.diagnostics.length) {
      failed = `the invocation does not match the declaration: ${prepared.diagnostics.map((d) => d.message).join('; ')}`;
    } else {
      credentials = ctx.credentials(prepared.declared);
      const request = withCredentials(prepared.request, credentials);
      const start = ctx.now();
      // Past max_ms the case has failed: waiting longer would tell nothing more.
      const limit = c.expect.maxMs ?? ctx.timeoutMs;
      const outcome = await ctx.invoke(request, (m) => answer.add(m), limit);
      ms = Math.round(ctx.now() - start);
      timedOut = outcome.error?.timedOut === true;
      if (timedOut) failed = `no answer within ${limit} ms${c.expect.maxMs !== undefined ? ' (max_ms)' : ''}`;
      else if (outcome.error)
        failed = `the plugin failed: ${outcome.error.type ? `${outcome.error.type}: ` : ''}${outcome.error.message}`;
    }
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    failed = e.message;
  }
  if (failed) answer.addError(failed);

  const failures: string[] = [];
  if ((c.expect.exit === 0 || timedOut) && failed) failures.push(failed);
  if (c.expect.exit === 1 && !failed) failures.push('expected the invocation to fail (exit: 1), and it succeeded');
  const text = answer.text;
  // Masked before a quote cuts it: the rest of a secret across the cut would not be masked later.
  const masker = new Masker([...Object.values(credentials), ...secretValues]);
  for (const wanted of c.expect.textContains)
    if (!text.includes(wanted))
      failures.push(`the text does not contain ${JSON.stringify(wanted)}${textShown(masker.mask(text))}`);
  const values = answer.jsonValues();
  for (const { path: at, equals } of c.expect.json) {
    const found = values.map((v) => valueAt(v, at)).filter((v) => v.found);
    if (found.some((v) => isDeepStrictEqual(v.value, equals))) continue;
    const seen = found.length
      ? ` (found: ${found
          .slice(0, 3)
          .map((v) => quoted(masker.mask(printableJson(v.value))))
          .join(', ')})`
      : '';
    failures.push(
      values.length
        ? `no JSON message has ${at} = ${printableJson(equals)}${seen}`
        : `expected ${at} = ${printableJson(equals)}, and the answer has no JSON message`,
    );
  }
  if (c.expect.maxMs !== undefined && ms !== undefined && ms > c.expect.maxMs && !failed)
    failures.push(`took ${ms} ms, more than max_ms ${c.expect.maxMs}`);
  return {
    file: c.file,
    name: c.name,
    status: failures.length ? 'failed' : 'passed',
    failures,
    ...(ms !== undefined ? { ms } : {}),
    secretValues,
  };
}

/** How much of the answer's text (or of a JSON value) a failed expectation quotes. */
const QUOTED_TEXT = 300;

function textShown(text: string): string {
  return text ? `; the text: ${JSON.stringify(quoted(text))}` : ' (the answer has no text)';
}

/** A quote cut to QUOTED_TEXT characters (a plugin's answer may be megabytes). */
function quoted(text: string): string {
  return text.length > QUOTED_TEXT ? `${text.slice(0, QUOTED_TEXT)}...` : text;
}

/** The value at `$`, `$.field`, `$.list[0].field` (the schema's path pattern). */
export function valueAt(value: unknown, at: string): { found: boolean; value?: unknown } {
  let current = value;
  for (const [, field, index] of at.slice(1).matchAll(/\.([^.[]+)|\[(\d+)\]/g)) {
    if (field !== undefined) {
      if (!isObject(current) || !Object.hasOwn(current, field)) return { found: false };
      current = current[field];
    } else {
      if (!Array.isArray(current) || Number(index) >= current.length) return { found: false };
      current = current[Number(index)];
    }
  }
  return { found: true, value: current };
}
