import path from 'node:path';
import { printableLines } from '../../diagnostics/excerpt.js';
import { UserError } from '../../diagnostics/user-error.js';
import { preflight } from '../../debug/preflight.js';
import { storagePermissionOf } from '../../debug/local-backwards.js';
import type { Setting } from '../../debug/settings.js';
import { get, type PluginProject } from '../../project/model.js';
import { Invoker } from '../../pipelines/invoke.js';
import { CASE_SUFFIX, type CaseOutcome, loadCase, runCase, type InvokeCase } from '../../pipelines/invoke-cases.js';
import {
  type DeclaredCredential,
  loadCredentials,
  Masker,
  missingCredentials,
} from '../../pipelines/invoke-credentials.js';
import { colorFor } from '../../report/color.js';
import type { JunitCase } from '../../report/junit.js';
import { formatText } from '../../report/text.js';
import type { Io } from '../io.js';
import type { InvokeDeps } from './invoke.js';
import { stopSignals } from './local-run.js';

export interface CaseRun {
  /** The plugin's unpacked copy, which the cases run against. */
  dir: string;
  /** The path as the user gave it, for findings. */
  given: string;
  project: PluginProject;
  python: Setting<string>;
  /** Where `.env` and credentials files are looked for: the plugin directory, or the current one for a package. */
  credentialsDir: string;
  credentialsFile?: string;
  storageDir: string;
}

/** The cases' outcomes, or `interrupted` when a stop signal ended them. */
export interface CaseResults {
  outcomes: CaseOutcome[];
  interrupted: boolean;
}

/**
 * Runs the `tests/*.invoke.yaml` cases against one plugin process, started as `invoke` starts it
 * (the interpreter checked first), one case after the other, each reported on a line as it ends.
 * A case file with findings, or every case when the plugin cannot start, is an error, not a failure.
 */
export async function runInvokeCases(files: string[], run: CaseRun, io: Io, deps: InvokeDeps): Promise<CaseResults> {
  const outcomes: CaseOutcome[] = [];
  const cases: InvokeCase[] = [];
  for (const file of files) {
    const loaded = await loadCase(run.dir, file);
    if (loaded.case) {
      cases.push(loaded.case);
      continue;
    }
    io.stderr.write(
      formatText(
        [{ path: run.given, ok: false, plugin: null, diagnostics: loaded.diagnostics }],
        colorFor(io.stderr, io.env),
      ),
    );
    const outcome = errorOutcome(file, path.posix.basename(file, CASE_SUFFIX), 'the case file has errors (above)');
    outcomes.push(outcome);
    io.stdout.write(printableLines(caseLine(outcome)) + '\n');
  }
  if (!cases.length) return { outcomes, interrupted: false };

  const secrets: unknown[] = [];
  // Read once per provider (its declared names decide how variables map), however many cases use it.
  const loaded = new Map<string, Record<string, unknown>>();
  const credentialsFor = (declared: DeclaredCredential[]) => {
    const key = JSON.stringify(declared);
    const known = loaded.get(key);
    if (known) return known;
    const found = loadCredentials({
      ...(run.credentialsFile !== undefined ? { file: run.credentialsFile } : {}),
      cwd: io.cwd,
      pluginDir: run.credentialsDir,
      env: io.env,
      declared: declared.map((d) => d.name),
    });
    secrets.push(...Object.values(found.values));
    for (const missing of missingCredentials(declared, found.values, run.credentialsFile))
      io.stderr.write(`warning: ${printableLines(missing)}\n`);
    loaded.set(key, found.values);
    return found.values;
  };
  const runner = get(run.project.manifest?.value, 'meta', 'runner');
  const invoker = new Invoker({
    python: run.python.value,
    entrypoint: String(get(runner, 'entrypoint') ?? 'main'),
    dir: run.dir,
    env: io.env,
    storageDir: run.storageDir,
    storage: storagePermissionOf(run.project.manifest?.value),
    startTimeoutMs: deps.startTimeoutMs,
    stopGraceMs: deps.stopGraceMs,
    onLog: () => undefined,
  });
  const stop = stopSignals(io.signals ?? process, () => invoker.killNow());
  void stop.signalled.then(() => invoker.stop(deps.stopGraceMs));
  try {
    try {
      const checked = await preflight({
        python: run.python,
        pluginDir: run.dir,
        env: io.env,
        runnerVersion: get(runner, 'version'),
        timeoutMs: deps.preflightTimeoutMs,
      });
      for (const w of checked.warnings) io.stderr.write(`warning: ${printableLines(w)}\n`);
      if (!stop.received) await invoker.start();
    } catch (e) {
      if (stop.received) return { outcomes, interrupted: true };
      if (!(e instanceof UserError)) throw e;
      io.stderr.write(`the invocation cases cannot run: ${printableLines(e.message)}\n`);
      if (e.hint) io.stderr.write(`  hint: ${printableLines(e.hint)}\n`);
      for (const c of cases) {
        const outcome = errorOutcome(c.file, c.name, 'the plugin did not start (above)');
        outcomes.push(outcome);
        io.stdout.write(printableLines(caseLine(outcome)) + '\n');
      }
      return { outcomes, interrupted: false };
    }
    for (const c of cases) {
      if (stop.received) return { outcomes, interrupted: true };
      if (invoker.hasEnded) {
        // Not restarted (invoke would start it anew): an `exit: 1` case would pass against no plugin.
        const outcome = errorOutcome(c.file, c.name, 'the plugin exited during an earlier case (above)');
        outcomes.push(outcome);
        io.stdout.write(printableLines(caseLine(outcome)) + '\n');
        continue;
      }
      const outcome = await runCase(c, {
        project: run.project,
        invoke: (request, onMessage, timeoutMs) => invoker.invoke(request, onMessage, timeoutMs),
        timeoutMs: deps.caseTimeoutMs,
        credentials: credentialsFor,
        now: deps.now,
      });
      if (stop.received) return { outcomes, interrupted: true };
      const masker = new Masker([...secrets, ...outcome.secretValues]);
      outcome.failures = outcome.failures.map((f) => masker.mask(f));
      outcomes.push(outcome);
      io.stdout.write(printableLines(caseLine(outcome)) + '\n');
    }
    return { outcomes, interrupted: false };
  } finally {
    stop.dispose();
    await invoker.stop(deps.stopGraceMs);
  }
}

function errorOutcome(file: string, name: string, why: string): CaseOutcome {
  return { file, name, status: 'error', failures: [why], secretValues: [] };
}

/** `PASSED tests/greet.invoke.yaml: replies (12 ms)` (or FAILED, ERROR), and each failure indented below. */
function caseLine(o: CaseOutcome): string {
  const time = o.ms === undefined ? '' : ` (${o.ms} ms)`;
  const head = `${o.status.toUpperCase()} ${o.file}: ${o.name}${time}`;
  return [head, ...o.failures.map((f) => `  - ${f}`)].join('\n');
}

/** The cases as JUnit test cases, one per file. */
export function junitCases(outcomes: CaseOutcome[]): JunitCase[] {
  return outcomes.map((o) => ({
    classname: o.file.replace(/\//g, '.'),
    name: o.name,
    ...(o.ms !== undefined ? { seconds: o.ms / 1000 } : {}),
    outcome: o.status,
    ...(o.failures.length ? { message: o.failures[0]!, details: o.failures.join('\n') } : {}),
  }));
}
