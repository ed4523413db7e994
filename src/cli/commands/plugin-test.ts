import { spawn } from 'node:child_process';
import { type Dirent, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { printableLines } from '../../diagnostics/excerpt.js';
import { EXIT, type ExitCode, UserError } from '../../diagnostics/user-error.js';
import { extractPackage } from '../../pack/extract.js';
import { killGroup, OWN_GROUP } from '../../pack/process-group.js';
import { readPackageFile } from '../../package-files.js';
import { MAX_PACKAGE_BYTES } from '../../project/limits.js';
import { isObject } from '../../project/model.js';
import { makeRunDirectory, writeFileAtomic } from '../../project/temp-file.js';
import { checkPlugin } from '../../pipelines/check-plugin.js';
import { CASES_DIR, caseFileNames } from '../../pipelines/invoke-cases.js';
import { colorFor } from '../../report/color.js';
import { junitCounts, junitDocument, junitSuite, suitesOf, type JunitCase } from '../../report/junit.js';
import { formatText } from '../../report/text.js';
import type { Io } from '../io.js';
import { refuseToReplaceReport } from '../report-file.js';
import { pluginPython, isPackageFile } from '../plugin-workspace.js';
import { INVOKE_DEPS, type InvokeDeps } from './invoke.js';
import { type StopSignals, stopSignals } from './local-run.js';
import { junitCases, runInvokeCases } from './plugin-test-cases.js';

export interface PluginTestOptions {
  python?: string;
  junit?: string;
  credentials?: string;
}

/** How long `python -c "import pytest"` may take before pytest counts as missing. */
const PROBE_TIMEOUT_MS = 30_000;
/** The end of the runner's output kept to read its summary from. */
const TAIL_CHARS = 64 * 1024;
/** The most of the runner's own results file read (its JUnit XML, the unittest driver's JSON). */
const MAX_RESULTS_BYTES = 64 * 1024 * 1024;

/** pytest's exit status when it collected no tests. */
const PYTEST_NO_TESTS = 5;

/** Counts read from the runner's last lines. */
export interface TestCounts {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
}

/** What the Python test runner did. */
interface RunnerResult {
  counts: TestCounts | undefined;
  code: number | null;
  interrupted: boolean;
  /** It ran and found no test to run. */
  collectedNone: boolean;
  /** Its JUnit `<testsuite>` elements, when a report was asked for. */
  suites: string;
}

/**
 * `dify plugin test [plugin]`: as the official plugins repository's CI does, packs the plugin
 * (or takes the package), unpacks it into a temporary directory and runs `python -m pytest`
 * there with PLUGIN_FILE_PATH naming the package (unittest when pytest cannot be imported);
 * then the `tests/*.invoke.yaml` cases against one start of the plugin (docs/commands.md).
 */
export async function pluginTestCommand(
  target: string | undefined,
  extra: string[],
  opts: PluginTestOptions,
  io: Io,
  deps: InvokeDeps = INVOKE_DEPS,
): Promise<ExitCode> {
  // A stop while checking, packing, unpacking or looking for pytest is seen between the steps
  // (the runner and the plugin, once started, are stopped by their own handlers).
  const stop = stopSignals(io.signals ?? process, () => undefined);
  try {
    return await testPlugin(target, extra, opts, io, deps, stop);
  } finally {
    stop.dispose();
  }
}

async function testPlugin(
  target: string | undefined,
  extra: string[],
  opts: PluginTestOptions,
  io: Io,
  deps: InvokeDeps,
  stop: StopSignals,
): Promise<ExitCode> {
  const junit = opts.junit === undefined ? undefined : path.resolve(io.cwd, opts.junit);
  if (junit !== undefined) refuseToReplace(junit);
  const given = target ?? '.';
  const file = path.resolve(io.cwd, given);
  const isPackage = isPackageFile(file);
  const checked = await checkPlugin(file, { strict: false, maxBytes: MAX_PACKAGE_BYTES, env: io.env, checksum: false });
  checked.path = given;
  if (!checked.ok || !checked.project) {
    io.stderr.write(formatText([checked], colorFor(io.stderr, io.env)));
    throw new UserError('the plugin has errors; fix them before testing it');
  }
  const pluginDir = isPackage ? io.cwd : file;
  const python = pluginPython(pluginDir, opts.python, io);
  if (stop.received) return EXIT.interrupted;

  const temp = makeRunDirectory(io.env.TMPDIR || tmpdir());
  const cleanUp = () => rmSync(temp, { recursive: true, force: true });
  process.once('exit', cleanUp);
  try {
    let pkg = file;
    if (!isPackage) {
      // Packed as `package` packs it: the tests see exactly what would be uploaded.
      const { writeZip } = await import('../../pack/zip-writer.js');
      pkg = path.join(temp, `${path.basename(file) || 'plugin'}.difypkg`);
      await writeZip(pkg, checked.plan!.entries, { maxBytes: MAX_PACKAGE_BYTES });
    }
    const dir = path.join(temp, 'plugin');
    await extractPackage(pkg, dir, MAX_PACKAGE_BYTES);
    if (stop.received) return EXIT.interrupted;
    const cases = caseFileNames(dir);
    const pythonTests = hasPythonFiles(path.join(dir, CASES_DIR));
    if (!cases.length && !pythonTests)
      throw new UserError(
        `no tests found: ${given} has ${statSync(path.join(dir, CASES_DIR), { throwIfNoEntry: false })?.isDirectory() ? 'no Python tests and no *.invoke.yaml cases in tests/' : 'no tests/ folder'}`,
        'put pytest or unittest tests, or *.invoke.yaml cases, in tests/ (dify plugin init writes both for tool plugins)',
      );

    const counts: TestCounts = { passed: 0, failed: 0, errors: 0, skipped: 0 };
    const add = (c: TestCounts) => {
      for (const k of ['passed', 'failed', 'errors', 'skipped'] as const) counts[k] += c[k];
    };
    const suites: string[] = [];
    let runner: RunnerResult | undefined;
    if (pythonTests) {
      const env = { ...io.env, PLUGIN_FILE_PATH: pkg };
      const pytest = await hasPytest(python.value, dir, env, stop);
      if (stop.received) return EXIT.interrupted;
      runner = await runPythonTests(
        { python: python.value, pytest, dir, extra, env, temp, report: junit !== undefined },
        io,
      );
      if (runner.interrupted || stop.received) return EXIT.interrupted;
      if (runner.counts) add(runner.counts);
      else if (!runner.collectedNone) {
        // pytest's own usage or internal errors, a crashed interpreter: one error of the run,
        // in the report too (CI reads the error counts there).
        const why = `no test results were read from the test runner (it exited with status ${runner.code})`;
        io.stdout.write(`${why}\n`);
        counts.errors++;
        const name = pytest ? 'pytest' : 'unittest';
        if (!runner.suites)
          runner.suites = junitSuite(name, [{ classname: name, name: 'the test run', outcome: 'error', message: why }]);
      }
      if (runner.suites) suites.push(runner.suites);
    } else if (extra.length) {
      io.stderr.write('warning: tests/ has no Python tests; the words after -- are not used\n');
    }
    if (cases.length) {
      const run = await runInvokeCases(
        cases,
        {
          dir,
          given,
          project: checked.project,
          python,
          credentialsDir: pluginDir,
          ...(opts.credentials !== undefined ? { credentialsFile: opts.credentials } : {}),
          storageDir: path.join(temp, 'storage'),
        },
        io,
        deps,
      );
      if (run.interrupted) return EXIT.interrupted;
      for (const o of run.outcomes)
        add({
          passed: +(o.status === 'passed'),
          failed: +(o.status === 'failed'),
          errors: +(o.status === 'error'),
          skipped: 0,
        });
      suites.push(junitSuite('invoke cases', junitCases(run.outcomes)));
    }
    if (junit !== undefined) await writeFileAtomic(junit, junitDocument(suites));

    io.stdout.write(summaryLine(counts) + '\n');
    if (counts.passed + counts.failed + counts.errors === 0) {
      // A test module that skips itself (the generated one without dify_plugin) collects nothing.
      io.stdout.write(
        counts.skipped
          ? `no test ran: every test module was skipped (are the plugin's requirements installed in ${printableLines(python.value)}?)\n`
          : 'no test ran: the test runner collected none\n',
      );
      return EXIT.failed;
    }
    const runnerOk = !runner || runner.code === 0 || runner.collectedNone;
    return runnerOk && counts.failed + counts.errors === 0 ? EXIT.ok : EXIT.failed;
  } finally {
    cleanUp();
    process.off('exit', cleanUp);
  }
}

/** Whether a folder holds a Python file (at any depth, as pytest and unittest look). */
function hasPythonFiles(dir: string): boolean {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  return entries.some(
    (e) => (e.isFile() && e.name.endsWith('.py')) || (e.isDirectory() && hasPythonFiles(path.join(dir, e.name))),
  );
}

/**
 * pytest (its JUnit report in the temporary directory when one is asked for), or, when that
 * Python cannot import it, unittest through data/unittest-results.py, which records each test's
 * outcome as it runs.
 */
async function runPythonTests(
  o: {
    python: string;
    /** Whether that Python can import pytest. */
    pytest: boolean;
    dir: string;
    extra: string[];
    env: NodeJS.ProcessEnv;
    temp: string;
    /** Whether a JUnit report is asked for. */
    report: boolean;
  },
  io: Io,
): Promise<RunnerResult> {
  const { python, dir, extra, env, temp, report } = o;
  if (o.pytest) {
    const xml = path.join(temp, 'pytest-junit.xml');
    const outcome = await runTests(
      python,
      ['-m', 'pytest', ...(report ? [`--junitxml=${xml}`] : []), ...extra],
      dir,
      env,
      io,
    );
    return {
      ...outcome,
      // `-qq` prints no summary line: the report, when there is one, still has the counts.
      counts: pytestCounts(outcome.tail) ?? (report ? junitCounts(readResults(xml)) : undefined),
      collectedNone: outcome.code === PYTEST_NO_TESTS,
      suites: report ? suitesOf(readResults(xml)) : '',
    };
  }
  io.stderr.write(`pytest is not installed in ${printableLines(python)}; running unittest\n`);
  const results = path.join(temp, 'unittest-results.json');
  const driver = readPackageFile('data/unittest-results.py').toString('utf8');
  const outcome = await runTests(python, ['-c', driver, results, ...extra], dir, env, io);
  const records = unittestRecords(readResults(results));
  const counts = records ? countsOf(records) : unittestCounts(outcome.tail);
  return {
    ...outcome,
    counts,
    collectedNone: counts !== undefined && counts.passed + counts.failed + counts.errors + counts.skipped === 0,
    suites: report && records ? junitSuite('unittest', records.map(junitCaseOf)) : '',
  };
}

/** A results file the runner wrote; '' when it wrote none (it crashed) or an unbounded one. */
function readResults(file: string): string {
  const stat = statSync(file, { throwIfNoEntry: false });
  return stat?.isFile() && stat.size <= MAX_RESULTS_BYTES ? readFileSync(file, 'utf8') : '';
}

/** One test's outcome, as data/unittest-results.py records it. */
interface UnittestRecord {
  classname: string;
  name: string;
  outcome: JunitCase['outcome'];
  seconds: number;
  message?: string;
  details?: string;
}

const OUTCOMES = new Set<unknown>(['passed', 'failed', 'error', 'skipped']);

/** The driver's records; undefined when the file is not what it writes (the tests run in that process too). */
function unittestRecords(text: string): UnittestRecord[] | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) && parsed.every((r) => isObject(r) && OUTCOMES.has(r.outcome))
      ? (parsed as UnittestRecord[])
      : undefined;
  } catch {
    return undefined;
  }
}

function countsOf(records: UnittestRecord[]): TestCounts {
  const n = (o: JunitCase['outcome']) => records.filter((r) => r.outcome === o).length;
  return { passed: n('passed'), failed: n('failed'), errors: n('error'), skipped: n('skipped') };
}

function junitCaseOf(r: UnittestRecord): JunitCase {
  return {
    classname: String(r.classname),
    name: String(r.name),
    seconds: Number(r.seconds) || 0,
    outcome: r.outcome,
    ...(r.message !== undefined ? { message: String(r.message) } : {}),
    ...(r.details !== undefined ? { details: String(r.details) } : {}),
  };
}

/** An earlier JUnit report is replaced (each CI run writes it anew); an empty file holds nothing to lose. */
function refuseToReplace(file: string): void {
  refuseToReplaceReport(
    file,
    'a JUnit report',
    (head) => head === '' || /^(?:<\?xml[^>]*\?>\s*)?<testsuites?[\s>]/.test(head),
    'choose another --junit path, or remove that file',
  );
}

/** Whether `python -c "import pytest"` succeeds; a stop ends the probe (and the answer no longer matters). */
function hasPytest(python: string, cwd: string, env: NodeJS.ProcessEnv, stop: StopSignals): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = spawn(python, ['-c', 'import pytest'], { cwd, env, stdio: 'ignore', timeout: PROBE_TIMEOUT_MS });
    void stop.signalled.then(() => probe.kill('SIGKILL'));
    probe.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new UserError(`Python interpreter not found: ${python}`, 'pass --python, or set PYTHON_INTERPRETER_PATH')
          : new UserError(`cannot start ${python}: ${err.message}`, 'pass --python, or set PYTHON_INTERPRETER_PATH'),
      ),
    );
    probe.on('close', (code) => resolve(code === 0));
  });
}

/**
 * The runner's output forwarded as it comes (made printable), the end of it kept for the
 * summary. The runner leads its own process group, so that a stop signal ends whatever it
 * started too.
 */
function runTests(
  python: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  io: Io,
): Promise<{ code: number | null; tail: string; interrupted: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: OWN_GROUP });
    let tail = '';
    const keep = (text: string) => (tail = (tail + text).slice(-TAIL_CHARS));
    const stop = stopSignals(io.signals ?? process, () => killGroup(child));
    void stop.signalled.then(() => killGroup(child, 'SIGTERM'));
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      keep(text);
      io.stdout.write(printableLines(withoutColour(text)));
    });
    // unittest writes its results to stderr.
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      keep(text);
      io.stderr.write(printableLines(withoutColour(text)));
    });
    child.on('error', (err) => {
      stop.dispose();
      reject(new UserError(`cannot start ${python}: ${err.message}`, 'pass --python, or set PYTHON_INTERPRETER_PATH'));
    });
    child.on('close', (code) => {
      stop.dispose();
      resolve({ code, tail, interrupted: stop.received });
    });
  });
}

/**
 * The runner's text without its colours: pytest colours its output when PY_COLORS=1 or
 * FORCE_COLOR=1 is set, as CI systems often do, even into a pipe; shown escaped, the codes would
 * be noise, and they would hide the summary line.
 */
function withoutColour(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/** pytest's last line: `==== 2 passed, 1 failed, 1 skipped in 0.12s ====` (without the rules with -q). */
export function pytestCounts(output: string): TestCounts | undefined {
  const lines = withoutColour(output).trimEnd().split(/\r?\n/);
  const last = lines[lines.length - 1] ?? '';
  const m = /^(?:=+ )?(\d+ \w+(?:, \d+ \w+)*) in [\d.]+s(?: \([^)]*\))?(?: =+)?$/.exec(last.trim());
  if (!m) return undefined;
  const counts: TestCounts = { passed: 0, failed: 0, errors: 0, skipped: 0 };
  for (const part of m[1]!.split(', ')) {
    const [n, word] = part.split(' ');
    const value = Number(n);
    if (word === 'passed' || word === 'xpassed') counts.passed += value;
    else if (word === 'failed') counts.failed += value;
    else if (word === 'error' || word === 'errors') counts.errors += value;
    else if (word === 'skipped' || word === 'xfailed') counts.skipped += value;
  }
  return counts;
}

/** unittest's last lines: `Ran 3 tests in 0.001s`, then `OK (skipped=1)` or `FAILED (failures=1, errors=1)`. */
export function unittestCounts(output: string): TestCounts | undefined {
  const ran = [...output.matchAll(/^Ran (\d+) tests? in /gm)].pop();
  const verdict = [...output.matchAll(/^(OK|FAILED)(?: \(([^)]*)\))?\s*$/gm)].pop();
  if (!ran || !verdict) return undefined;
  const detail = new Map<string, number>();
  for (const part of (verdict[2] ?? '').split(', ').filter(Boolean)) {
    const [k, v] = part.split('=');
    detail.set(k!, Number(v));
  }
  const failed = detail.get('failures') ?? 0;
  const errors = detail.get('errors') ?? 0;
  const skipped = (detail.get('skipped') ?? 0) + (detail.get('expected failures') ?? 0);
  const unexpected = detail.get('unexpected successes') ?? 0;
  // An error in setUpClass counts among the errors but not among the tests run.
  return {
    passed: Math.max(0, Number(ran[1]) - failed - errors - skipped),
    failed: failed + unexpected,
    errors,
    skipped,
  };
}

export function summaryLine(c: TestCounts): string {
  const parts = [`${c.passed} passed`, `${c.failed} failed`];
  if (c.errors) parts.push(`${c.errors} ${c.errors === 1 ? 'error' : 'errors'}`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  return parts.join(', ');
}
