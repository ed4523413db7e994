import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diagnostic, locateDiagnostics } from '../diagnostics/catalog.js';
import { at } from '../check/rules/context.js';
import { isBlocking, sortDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.js';
import { UserError } from '../diagnostics/user-error.js';
import { separateSubmission } from '../check/marketplace.js';
import { startServerless, ServerlessStartError } from '../debug/serverless-health.js';
import { extractPackage } from '../pack/extract.js';
import { findUv } from '../pack/requirements.js';
import { killGroup, killOnAbort, OWN_GROUP } from '../pack/process-group.js';
import { get, type Declaration } from '../project/model.js';
import type { PluginResult } from './check-plugin.js';

export const DEFAULT_MARKETPLACE_URL = 'https://marketplace.dify.ai';

export interface MarketplaceOptions {
  strict: boolean;
  env: NodeJS.ProcessEnv;
  /** Ask the Marketplace whether the version is already published. */
  online: boolean;
  /** Install the requirements in a new virtual environment and start the plugin (serverless). */
  installTest: boolean;
  /** The interpreter that creates the virtual environment. */
  python: string;
  maxBytes: number;
  /** Where the plugin's output goes when the install test fails. */
  log: (text: string) => void;
  /** Aborted (Ctrl-C): the running step's process group is killed and no further check runs. */
  signal?: AbortSignal;
}

/**
 * What `--marketplace` adds once the plugins are checked: the one-package-per-PR note, then the
 * checks that need the network or a Python: `--online` for each plugin with an identity,
 * `--install-test` for each with no blocking finding so far. Each result records which checks did
 * not run (the report shows them as skipped).
 */
export async function marketplaceChecks(results: PluginResult[], o: MarketplaceOptions): Promise<void> {
  for (const [i, r] of results.entries()) {
    if (o.signal?.aborted) return;
    const skipped: string[] = [];
    if (results.length > 1) {
      // A few names: with many plugins, each message would otherwise list all the others.
      const others = results.filter((_, j) => j !== i).map((x) => x.path);
      const named = others.length > 3 ? [...others.slice(0, 3), `${others.length - 3} more`] : others;
      r.diagnostics.push(separateSubmission(i, results.length, named));
    }
    // uv.lock could not be exported: what requirements.txt the package would hold is unknown.
    if (r.diagnostics.some((d) => d.code === 'pack/requirements-failed')) skipped.push('requirements.txt');
    const p = r.plugin;
    if (o.online && p?.author && p.name && p.version) {
      r.diagnostics.push(
        ...(await versionPublished(p.author, p.name, p.version, o.env, undefined, r.project?.manifest)),
      );
    } else skipped.push('Version not yet published');
    if (o.installTest && r.ok && r.project) {
      r.diagnostics.push(...(await installTest(r, o)));
    } else skipped.push('Installation');
    r.marketplace = { skipped };
    r.diagnostics = sortDiagnostics(r.diagnostics);
    r.ok = !r.diagnostics.some((d) => isBlocking(d, o.strict));
  }
}

/** The base URL of the Marketplace API: DIFY_MARKETPLACE_URL, else the public one. */
export function marketplaceBase(env: NodeJS.ProcessEnv): URL {
  const text = env.DIFY_MARKETPLACE_URL || DEFAULT_MARKETPLACE_URL;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new UserError(
      `DIFY_MARKETPLACE_URL is not an http(s) URL: ${JSON.stringify(text)}`,
      `unset it, or set it like ${DEFAULT_MARKETPLACE_URL}`,
    );
  return url;
}

/** The answer is a small JSON document; anything larger is not it. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The workflow's "Check If Version Exists" step: `GET <base>/api/v1/plugins/<author>/<name>/<version>`
 * answering 200 with `{"code": 0, ...}` means the version is published; a 404, or 200 with
 * another code, means it is not. What cannot be answered (network, timeout, any other status, an
 * unreadable body) is a note, never failing the run, --strict or not: the check did not run,
 * which is never reported as a published version.
 */
export async function versionPublished(
  author: string,
  name: string,
  version: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 10_000,
  manifest?: Declaration,
): Promise<Diagnostic[]> {
  const base = marketplaceBase(env);
  const url = new URL(
    `${base.pathname.replace(/\/$/, '')}/api/v1/plugins/${[author, name, version].map(encodeURIComponent).join('/')}`,
    base,
  );
  const unavailable = (why: string) => [
    diagnostic(
      'marketplace/online-unavailable',
      { file: null },
      `could not ask the Marketplace (${url.origin}) whether ${author}/${name} ${version} is published: ${why}`,
      'check the network (or DIFY_MARKETPLACE_URL) and run again; the pre-check will ask too',
    ),
  ];
  let status: number;
  let body: string;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { signal, headers: { accept: 'application/json' } });
    status = res.status;
    if (status !== 200) {
      await res.body?.cancel();
      // Only "not found" says the version is not published: a 403 (refused), a 429 (rate limited)
      // or a 5xx says nothing about it.
      return status === 404 ? [] : unavailable(`HTTP ${status}`);
    }
    body = await boundedText(res);
  } catch (err) {
    const why = signal.aborted ? `no answer within ${timeoutMs / 1000} s` : describeFetchError(err);
    return unavailable(why);
  }
  let code: unknown;
  try {
    code = (JSON.parse(body) as { code?: unknown } | null)?.code;
  } catch {
    return unavailable('the answer is not JSON');
  }
  if (String(code) !== '0') return [];
  const message = `${author}/${name} ${version} is already published on the Marketplace`;
  const hint = 'raise `version` in manifest.yaml, then package again';
  if (!manifest) return [diagnostic('marketplace/version-published', { file: 'manifest.yaml' }, message, hint)];
  const found = [at('marketplace/version-published', manifest, ['version'], message, hint)];
  await locateDiagnostics(found);
  return found;
}

async function boundedText(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${MAX_BODY_BYTES / 1024} KiB`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/** A command of the install test, its exit and its output (the last 64 KiB). */
interface StepOutcome {
  ok: boolean;
  output: string;
  why: string;
}

const STEP_OUTPUT_LIMIT = 64 * 1024;

function runStep(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  signal: AbortSignal | undefined,
) {
  return new Promise<StepOutcome>((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: OWN_GROUP });
    const undo = killOnAbort(child, signal);
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-STEP_OUTPUT_LIMIT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => killGroup(child), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      undo();
      resolve({ ok: false, output, why: `could not be started: ${err.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      undo();
      resolve({
        ok: code === 0,
        output,
        why: signal === 'SIGKILL' ? `did not finish within ${timeoutMs / 1000} s` : `exited with ${signal ?? code}`,
      });
    });
  });
}

/**
 * The workflow's "Check Plugin Deps" and "Check Plugin Install" steps: the package's files in a
 * temporary directory, a virtual environment (uv when installed, else `python -m venv` and pip),
 * its requirements.txt installed, then the plugin started in serverless mode until `GET /health`
 * answers 200. The workflow waits for Flask's banner and a request to the port; the SDK's
 * serverless server has a health route, which says more.
 */
async function installTest(r: PluginResult, o: MarketplaceOptions): Promise<Diagnostic[]> {
  const work = mkdtempSync(path.join(o.env.TMPDIR || tmpdir(), 'dify-install-test-'));
  const failed = (step: string, outcome: { why: string; output: string }) => {
    if (o.signal?.aborted) return []; // stopped by the user: nothing failed
    if (outcome.output.trim() !== '')
      o.log(`--- ${r.path}: output of "${step}" ---\n${outcome.output.trimEnd()}\n---\n`);
    return [
      diagnostic(
        'marketplace/install-failed',
        { file: null },
        `install test, step "${step}": ${outcome.why}`,
        step === 'start the plugin'
          ? 'run the plugin locally (dify plugin run), fix what its output shows, and try again'
          : 'fix requirements.txt so that it installs in a fresh virtual environment',
      ),
    ];
  };
  try {
    const files = path.join(work, 'plugin');
    await unpack(r, files, o.maxBytes);
    const venv = path.join(work, 'venv');
    const bin = path.join(venv, process.platform === 'win32' ? 'Scripts' : 'bin');
    const venvPython = path.join(bin, process.platform === 'win32' ? 'python.exe' : 'python');
    const uv = findUv(o.env);
    const make = uv
      ? await runStep(uv, ['venv', '--python', o.python, venv], work, o.env, 120_000, o.signal)
      : await runStep(o.python, ['-m', 'venv', venv], work, o.env, 120_000, o.signal);
    if (!make.ok) return failed('create the virtual environment', make);
    const requirements = path.join(files, 'requirements.txt');
    const install = uv
      ? await runStep(
          uv,
          ['pip', 'install', '--python', venvPython, '-r', requirements],
          files,
          o.env,
          600_000,
          o.signal,
        )
      : await runStep(venvPython, ['-m', 'pip', 'install', '-r', requirements], files, o.env, 600_000, o.signal);
    if (!install.ok) return failed('install requirements.txt', install);
    const entrypoint = get(r.project!.manifest?.value, 'meta', 'runner', 'entrypoint');
    const env = { ...o.env, VIRTUAL_ENV: venv, PATH: `${bin}${path.delimiter}${o.env.PATH ?? ''}` };
    try {
      const plugin = await startServerless({
        python: venvPython,
        entrypoint: typeof entrypoint === 'string' ? entrypoint : 'main',
        cwd: files,
        env,
        signal: o.signal,
      });
      await plugin.stop();
    } catch (err) {
      if (!(err instanceof ServerlessStartError)) throw err;
      return failed('start the plugin', { why: `the plugin ${err.message}`, output: err.output });
    }
    return [];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The files the package holds: the plan's for a directory, the archive's for a .difypkg. */
async function unpack(r: PluginResult, dir: string, maxBytes: number): Promise<void> {
  if (!r.plan) {
    await extractPackage(r.project!.source.location, dir, maxBytes);
    return;
  }
  for (const entry of r.plan.entries) {
    const target = path.join(dir, ...entry.name.split('/'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, await entry.read());
  }
}
