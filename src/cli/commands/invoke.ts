import { PluginWorkspace, pluginPython, isPackageFile } from '../plugin-workspace.js';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { printableJson, printableLines } from '../../diagnostics/excerpt.js';
import { locateDiagnostics } from '../../diagnostics/catalog.js';
import { EXIT, type ExitCode, UsageError, UserError } from '../../diagnostics/user-error.js';
import { storagePermissionOf } from '../../debug/local-backwards.js';
import { preflight } from '../../debug/preflight.js';
import { DEFAULT_TIMERS } from '../../debug/session.js';
import { MAX_PACKAGE_BYTES } from '../../project/limits.js';
import { get, isObject } from '../../project/model.js';
import { checkPlugin, type PluginResult } from '../../pipelines/check-plugin.js';
import { Invoker, type InvokeOutcome, type PluginRequest } from '../../pipelines/invoke.js';
import { loadCredentials, Masker, missingCredentials } from '../../pipelines/invoke-credentials.js';
import {
  DATASOURCE_ACTIONS,
  type InvokeTarget,
  type PreparedInvocation,
  prepareInvocation,
  withCredentials,
} from '../../pipelines/invoke-request.js';
import { repeatStats, runRepeated } from '../../pipelines/invoke-stats.js';
import { colorFor } from '../../report/color.js';
import { formatText } from '../../report/text.js';
import { type Io, STOP_SIGNALS } from '../io.js';
import { checkSaveDir, chunkUsage, crawlText, resultText, ToolMessageRenderer } from '../invoke/render.js';
import { chunkText } from '../../pipelines/invoke-answer.js';

export interface InvokeOptions {
  param?: string[];
  params?: string;
  credentials?: string;
  prompt?: string;
  saveDir?: string;
  format?: 'text' | 'json';
  python?: string;
  preflight?: boolean;
  repeat?: string;
  concurrency?: string;
  enableLogs?: boolean;
  header?: string[];
  data?: string;
}

/** What tests replace: the clock of --repeat, and the time limits. */
export interface InvokeDeps {
  now(): number;
  startTimeoutMs: number;
  stopGraceMs: number;
  preflightTimeoutMs: number;
  /** `dify plugin test`: how long a case without `max_ms` waits for its answer. */
  caseTimeoutMs: number;
}

export const INVOKE_DEPS: InvokeDeps = {
  now: () => performance.now(),
  startTimeoutMs: 60_000,
  stopGraceMs: DEFAULT_TIMERS.stopGraceMs,
  preflightTimeoutMs: DEFAULT_TIMERS.preflightTimeoutMs,
  caseTimeoutMs: 60_000,
};

/** The most invocations `--concurrency` keeps in flight at once. */
const MAX_CONCURRENCY = 1000;

/** The largest --params file (or standard input) read. */
const MAX_PARAMS_BYTES = 4 * 1024 * 1024;

/** The number of words of each invocation, the kind word included. */
const KINDS: Record<string, number[]> = {
  tool: [2],
  model: [3],
  endpoint: [3],
  agent_strategy: [2],
  datasource: [2, 3],
};

/** The datasource action words, whatever the provider type (which prepareInvocation checks). */
const DATASOURCE_WORDS = Object.values(DATASOURCE_ACTIONS).flatMap((a) => Object.keys(a));

/**
 * `[plugin] tool <provider>/<tool>`, `model llm <provider>/<model>`, `endpoint <METHOD> </path>`,
 * `agent_strategy <provider>/<strategy>` or `datasource <provider>/<datasource> [<action>]`.
 */
function parseWords(words: string[]): { plugin: string; target: InvokeTarget } {
  // The plugin path is optional: the words are the invocation alone when their count says so
  // (and the second word is not a kind, as in `datasource datasource p/d` for a folder so named).
  const implicit = (KINDS[words[0] ?? '']?.includes(words.length) ?? false) && !Object.hasOwn(KINDS, words[1] ?? '');
  const plugin = implicit ? '.' : (words[0] ?? '.');
  const rest = implicit ? words : words.slice(1);
  const [kind, ...args] = rest;
  const usage =
    'dify plugin invoke [plugin] tool <provider>/<tool>, model llm <provider>/<model>, endpoint <METHOD> </path>, agent_strategy <provider>/<strategy>, or datasource <provider>/<datasource> [<action>]';
  if (kind === 'endpoint' && args.length === 2) {
    const [method, where] = args as [string, string];
    if (!/^[A-Za-z]+$/.test(method) || !where.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(where))
      throw new UsageError(
        `expected endpoint <METHOD> </path>, got ${JSON.stringify(args.join(' '))}`,
        `usage: ${usage}`,
      );
    return { plugin, target: { kind: 'endpoint', method: method.toUpperCase(), path: where } };
  }
  const split = (ref: string | undefined, what: string) => {
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec(ref ?? '');
    if (!m) throw new UsageError(`expected <provider>/<${what}>, got ${JSON.stringify(ref ?? '')}`, `usage: ${usage}`);
    return { provider: m[1]!, name: m[2]! };
  };
  if (kind === 'tool' && args.length === 1) return { plugin, target: { kind: 'tool', ...split(args[0], 'tool') } };
  if (kind === 'agent_strategy' && args.length === 1)
    return { plugin, target: { kind: 'agent_strategy', ...split(args[0], 'strategy') } };
  if (kind === 'datasource' && (args.length === 1 || args.length === 2)) {
    const action = args[1];
    if (action !== undefined && !DATASOURCE_WORDS.includes(action))
      throw new UsageError(
        `unknown datasource action ${JSON.stringify(action)}`,
        `datasource actions: ${Object.entries(DATASOURCE_ACTIONS)
          .map(([type, a]) => `${Object.keys(a).join('|')} (${type})`)
          .join(', ')}`,
      );
    return {
      plugin,
      target: { kind: 'datasource', ...split(args[0], 'datasource'), ...(action !== undefined ? { action } : {}) },
    };
  }
  if (kind === 'model' && args.length === 2) {
    if (args[0] !== 'llm')
      throw new UsageError(`invoking ${args[0]} models is not supported yet`, 'supported model type: llm');
    return { plugin, target: { kind: 'llm', ...split(args[1], 'model') } };
  }
  throw new UsageError(`cannot read the invocation from: ${words.join(' ')}`, `usage: ${usage}`);
}

/**
 * `dify plugin invoke`: starts the plugin without Dify (the local runner, stdio mode), sends one
 * invocation (or `--repeat` many), shows what it streams, stops it (docs/invoke.md).
 */
export async function invokeCommand(
  words: string[],
  opts: InvokeOptions,
  io: Io,
  deps: InvokeDeps = INVOKE_DEPS,
): Promise<ExitCode> {
  const { plugin, target } = parseWords(words);
  const json = opts.format === 'json';
  const repeat = count(opts.repeat, '--repeat', 1);
  const concurrency = count(opts.concurrency, '--concurrency', 1);
  // Every request in flight is written to the plugin at once: more than this is a typo, not a test.
  if (concurrency > MAX_CONCURRENCY)
    throw new UsageError(`--concurrency is at most ${MAX_CONCURRENCY}, got ${concurrency}`);
  if (target.kind === 'llm' && opts.prompt === undefined) throw new UsageError('model llm needs --prompt "<text>"');
  const given = await givenParameters(opts, io);

  const file = path.resolve(io.cwd, plugin);
  const isPackage = isPackageFile(file);
  const checked = await checkPlugin(file, { strict: false, maxBytes: MAX_PACKAGE_BYTES, env: io.env, checksum: false });
  checked.path = plugin;
  if (!checked.ok || !checked.project) {
    io.stderr.write(formatText([checked], colorFor(io.stderr, io.env)));
    throw new UserError('the plugin has errors; fix them before invoking it');
  }
  const project = checked.project;

  // What is sent, checked against the declarations before anything starts.
  if (target.kind === 'endpoint' && Object.keys(given).length)
    throw new UsageError('an endpoint takes no --param or --params', 'send a body with --data');
  const prepared = prepareInvocation(project, target, {
    params: given,
    ...(opts.prompt !== undefined ? { prompt: opts.prompt } : {}),
    headers: headerPairs(opts.header ?? []),
    ...(opts.data !== undefined ? { body: opts.data } : {}),
  });
  if (prepared.diagnostics.length) return refuse(checked, prepared.diagnostics, io);

  // Credentials: masked in everything printed from here on, errors included.
  const pluginDir = isPackage ? io.cwd : file;
  const declared = prepared.declared;
  const credentials = loadCredentials({
    ...(opts.credentials !== undefined ? { file: opts.credentials } : {}),
    cwd: io.cwd,
    pluginDir,
    env: io.env,
    declared: declared.map((c) => c.name),
  });
  const request = withCredentials(prepared.request, credentials.values);
  const masker = new Masker([...Object.values(credentials.values), ...prepared.secretValues]);
  // Streamed text may bring a secret in two pieces: stdout is masked as a stream.
  const stdout = masker.streaming((text) => io.stdout.write(text));
  const out = (text: string) => stdout.write(text);
  const err = (text: string) => io.stderr.write(masker.mask(text));
  for (const missing of missingCredentials(declared, credentials.values, opts.credentials))
    err(`warning: ${printableLines(missing)}\n`);
  try {
    return await invokeStarted();
  } catch (e) {
    if (e instanceof UserError) throw new UserError(masker.mask(e.message), e.hint && masker.mask(e.hint), e.exitCode);
    throw e;
  }

  async function invokeStarted(): Promise<ExitCode> {
    const saveDir = path.resolve(io.cwd, opts.saveDir ?? 'invoke-output');
    // Only tool-shaped answers in text mode save files.
    if (!json && repeat === 1 && opts.repeat === undefined && prepared.responses === 'messages')
      checkSaveDir(saveDir, opts.saveDir ?? 'invoke-output');
    const runner = get(project.manifest?.value, 'meta', 'runner');
    const entrypoint = String(get(runner, 'entrypoint') ?? 'main');
    let invoker: Invoker | undefined;
    let stopped = false;
    const onSignal = () => {
      if (stopped) invoker?.killNow();
      stopped = true;
      void invoker?.stop(deps.stopGraceMs);
    };
    const signals = io.signals ?? process;
    for (const s of STOP_SIGNALS) signals.on(s, onSignal);
    const workspace = new PluginWorkspace(() => invoker?.killNow());
    try {
      const dir = await workspace.open(file, isPackage, io);
      const python = pluginPython(dir, opts.python, io);
      if (opts.preflight !== false) {
        const checkedPython = await preflight({
          python,
          pluginDir: dir,
          env: io.env,
          runnerVersion: get(runner, 'version'),
          timeoutMs: deps.preflightTimeoutMs,
        });
        if (!json) for (const w of checkedPython.warnings) err(`warning: ${printableLines(w)}\n`);
      }
      if (stopped) return EXIT.interrupted;
      invoker = new Invoker({
        python: python.value,
        entrypoint,
        dir,
        env: io.env,
        storageDir: path.join(pluginDir, '.dify', 'storage'),
        storage: storagePermissionOf(project.manifest?.value),
        startTimeoutMs: deps.startTimeoutMs,
        stopGraceMs: deps.stopGraceMs,
        onLog: (level, message) => opts.enableLogs && err(`[${printableLines(level)}] ${printableLines(message)}\n`),
      });
      await invoker.start();
      if (stopped) return EXIT.interrupted;
      return repeat > 1 || opts.repeat !== undefined
        ? await repeated(invoker, request, repeat, concurrency)
        : await once(invoker, request, saveDir, prepared.responses);
    } catch (e) {
      // Stopped by a signal: a start or the requests it cut short are not the plugin's failures.
      if (stopped) return EXIT.interrupted;
      throw e;
    } finally {
      stdout.flush();
      await invoker?.stop(deps.stopGraceMs);
      workspace.release();
      for (const s of STOP_SIGNALS) signals.off(s, onSignal);
    }
  }

  async function once(
    invoker: Invoker,
    req: PluginRequest,
    saveDir: string,
    responses: PreparedInvocation['responses'],
  ): Promise<ExitCode> {
    const shown = (f: string) => path.relative(io.cwd, f) || f;
    const renderer = new ToolMessageRenderer(out, saveDir, shown);
    let usage: string | undefined;
    let llmText = false;
    const onMessage = (m: Record<string, unknown>) => {
      if (json) return out(printableJson(m) + '\n');
      if (responses === 'messages') return renderer.message(m);
      if (responses === 'endpoint') return endpointResponse(m);
      if (responses === 'crawl') return out(crawlText(m));
      if (responses === 'result') return out(resultText(m));
      const text = printableLines(chunkText(m));
      if (text) {
        out(text);
        llmText = !text.endsWith('\n');
      }
      usage = chunkUsage(m) ?? usage;
    };
    let bodyOpen = false;
    /** The SDK's endpoint response: `{status, headers}` first, then `{result: <hex>}` pieces of the body. */
    const endpointResponse = (m: Record<string, unknown>) => {
      if (typeof m.status === 'number') {
        out(`HTTP ${m.status}\n`);
        if (isObject(m.headers))
          for (const [k, v] of Object.entries(m.headers)) out(`${printableLines(k)}: ${printableLines(String(v))}\n`);
        out('\n');
      }
      if (typeof m.result === 'string' && /^(?:[0-9a-f]{2})*$/i.test(m.result)) {
        const text = printableLines(Buffer.from(m.result, 'hex').toString('utf8'));
        out(text);
        bodyOpen = text !== '' && !text.endsWith('\n');
      }
    };
    let outcome: InvokeOutcome;
    try {
      outcome = await invoker.invoke(req, onMessage);
    } finally {
      if (!json) renderer.finish();
    }
    if (bodyOpen) out('\n');
    if (!json && target.kind === 'llm') {
      if (llmText) out('\n');
      stdout.flush();
      if (usage) err(`${usage}\n`);
    }
    if (outcome.error) throw pluginError(outcome.error);
    return EXIT.ok;
  }

  async function repeated(invoker: Invoker, req: PluginRequest, n: number, c: number): Promise<ExitCode> {
    let firstError: InvokeOutcome['error'];
    const run = await runRepeated(
      n,
      c,
      async () => {
        const outcome = await invoker.invoke(req, () => undefined);
        firstError ??= outcome.error;
        return !outcome.error;
      },
      deps.now,
    );
    const stats = repeatStats(run.latencies, run.errors, c, run.durationMs);
    if (json) out(JSON.stringify(stats) + '\n');
    else {
      const l = stats.latency_ms;
      out(`${stats.count} invocations, ${stats.errors} errors (concurrency ${stats.concurrency})\n`);
      out(`latency ms: p50 ${l.p50}  p95 ${l.p95}  p99 ${l.p99}  max ${l.max}\n`);
      out(`throughput: ${stats.throughput_per_s} invocations/s over ${stats.duration_ms} ms\n`);
    }
    if (firstError) {
      stdout.flush();
      err(`first error: ${printableLines(firstError.message)}\n`);
      throw new UserError(`${stats.errors} of ${stats.count} invocations failed`);
    }
    return EXIT.ok;
  }

  function pluginError(e: NonNullable<InvokeOutcome['error']>): UserError {
    stdout.flush();
    if (e.traceback && !json) err(`${printableLines(e.traceback.trimEnd(), '  ')}\n`);
    return new UserError(`the plugin failed: ${e.type ? `${e.type}: ` : ''}${e.message}`);
  }
}

/** Parameter findings, shown as `package --check` shows findings; exit 1 with nothing started. */
async function refuse(checked: PluginResult, diagnostics: PluginResult['diagnostics'], io: Io): Promise<ExitCode> {
  await locateDiagnostics(diagnostics);
  const result: PluginResult = { ...checked, ok: false, diagnostics };
  io.stderr.write(formatText([result], colorFor(io.stderr, io.env)));
  throw new UserError(
    'the invocation does not match what the plugin declares; nothing was started',
    'see the findings above',
  );
}

/** `-H "Name: value"` flags as name/value pairs. */
function headerPairs(flags: string[]): Array<[string, string]> {
  return flags.map((h) => {
    const colon = h.indexOf(':');
    if (colon <= 0 || /[\r\n]/.test(h)) throw new UsageError(`-H ${JSON.stringify(h)} is not "Name: value"`);
    return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()];
  });
}

function count(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,7}$/.test(value) || Number(value) < 1)
    throw new UsageError(`${flag} must be a whole number from 1, got "${value}"`);
  return Number(value);
}

/** `--params <file|->` (JSON or YAML mapping), then each `--param name=value` over it. */
async function givenParameters(opts: InvokeOptions, io: Io): Promise<Record<string, unknown>> {
  let values: Record<string, unknown> = {};
  if (opts.params !== undefined) {
    const text =
      opts.params === '-' ? await readStdin(io) : readParamsFile(path.resolve(io.cwd, opts.params), opts.params);
    let parsed: unknown;
    try {
      parsed = parseYaml(text, { logLevel: 'error' }); // YAML reads JSON too; no warnings quoting the file on stderr
    } catch (e) {
      throw new UserError(`--params ${opts.params}: not valid JSON or YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    if (parsed !== null && parsed !== undefined && !isObject(parsed))
      throw new UserError(`--params ${opts.params}: not a mapping of parameter names to values`);
    values = { ...(parsed ?? {}) };
  }
  for (const p of opts.param ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param ${JSON.stringify(p)} is not name=value`);
    values[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return values;
}

function readParamsFile(file: string, shown: string): string {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) throw new UserError(`--params ${shown}: no such file`);
  if (stat.size > MAX_PARAMS_BYTES)
    throw new UserError(`--params ${shown}: larger than ${MAX_PARAMS_BYTES / 1024 / 1024} MiB`);
  return readFileSync(file, 'utf8');
}

async function readStdin(io: Io): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > MAX_PARAMS_BYTES)
      throw new UserError(`--params -: more than ${MAX_PARAMS_BYTES / 1024 / 1024} MiB on standard input`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
