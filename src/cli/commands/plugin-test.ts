import { spawn, spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { printableLines } from '../../diagnostics/excerpt.js';
import { EXIT, type ExitCode, UserError } from '../../diagnostics/user-error.js';
import { extractPackage } from '../../pack/extract.js';
import { MAX_PACKAGE_BYTES } from '../../project/limits.js';
import { makeRunDirectory } from '../../project/temp-file.js';
import { checkPlugin } from '../../pipelines/check-plugin.js';
import { colorFor } from '../../report/color.js';
import { formatText } from '../../report/text.js';
import type { Io } from '../io.js';
import { refuseToReplaceReport } from '../report-file.js';
import { killGroup, OWN_GROUP } from '../../pack/process-group.js';
import { pluginPython } from '../plugin-workspace.js';
import { stopSignals } from './local-run.js';

export interface PluginTestOptions {
  python?: string;
  junit?: string;
}

/** How long `python -c "import pytest"` may take before pytest counts as missing. */
const PROBE_TIMEOUT_MS = 30_000;
/** The end of the runner's output kept to read its summary from. */
const TAIL_CHARS = 64 * 1024;

/** pytest's exit status when it collected no tests. */
const PYTEST_NO_TESTS = 5;

/** Counts read from the runner's last lines. */
export interface TestCounts {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
}

/**
 * `dify plugin test [plugin]`: as the official plugins repository's CI does, packs the plugin
 * (or takes the package), unpacks it into a temporary directory and runs `python -m pytest`
 * there with PLUGIN_FILE_PATH naming the package; `python -m unittest discover -s tests` when
 * pytest cannot be imported (docs/commands.md).
 */
export async function pluginTestCommand(
  target: string | undefined,
  extra: string[],
  opts: PluginTestOptions,
  io: Io,
): Promise<ExitCode> {
  const junit = opts.junit === undefined ? undefined : path.resolve(io.cwd, opts.junit);
  if (junit !== undefined) refuseToReplace(junit);
  const given = target ?? '.';
  const file = path.resolve(io.cwd, given);
  const isPackage = statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
  const checked = await checkPlugin(file, { strict: false, maxBytes: MAX_PACKAGE_BYTES, env: io.env, checksum: false });
  checked.path = given;
  if (!checked.ok || !checked.project) {
    io.stderr.write(formatText([checked], colorFor(io.stderr, io.env)));
    throw new UserError('the plugin has errors; fix them before testing it');
  }
  const python = pluginPython(isPackage ? io.cwd : file, opts.python, io).value;

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
    if (!statSync(path.join(dir, 'tests'), { throwIfNoEntry: false })?.isDirectory())
      throw new UserError(
        `no tests found: ${given} has no tests/ folder`,
        'put pytest or unittest tests in tests/ (dify plugin init writes tests/ for tool plugins)',
      );

    const env = { ...io.env, PLUGIN_FILE_PATH: pkg };
    const pytest = hasPytest(python, dir, env);
    if (!pytest && junit !== undefined)
      throw new UserError(
        `--junit needs pytest, which ${python} cannot import`,
        `install it: ${python} -m pip install pytest`,
      );
    const args = pytest
      ? ['-m', 'pytest', ...(junit !== undefined ? [`--junitxml=${junit}`] : []), ...extra]
      : ['-m', 'unittest', 'discover', '-s', 'tests', ...extra];
    if (!pytest) io.stderr.write(`pytest is not installed in ${printableLines(python)}; running unittest\n`);
    const outcome = await runTests(python, args, dir, env, io);
    if (outcome.interrupted) return EXIT.interrupted;
    const counts = pytest ? pytestCounts(outcome.tail) : unittestCounts(outcome.tail);
    if (pytest && outcome.code === PYTEST_NO_TESTS) {
      // A test module that skips itself (the generated one without dify_plugin) collects nothing.
      if (counts?.skipped) io.stdout.write(summaryLine(counts) + '\n');
      io.stdout.write(
        counts?.skipped
          ? `no test ran: every test module was skipped (are the plugin's requirements installed in ${printableLines(python)}?)\n`
          : 'no test ran: pytest collected none\n',
      );
      return EXIT.failed;
    }
    if (!counts) {
      io.stdout.write(`no test results were read (the test runner exited with status ${outcome.code})\n`);
      return EXIT.failed;
    }
    io.stdout.write(summaryLine(counts) + '\n');
    return outcome.code === 0 && counts.failed + counts.errors === 0 ? EXIT.ok : EXIT.failed;
  } finally {
    cleanUp();
    process.off('exit', cleanUp);
  }
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

function hasPytest(python: string, cwd: string, env: NodeJS.ProcessEnv): boolean {
  const probe = spawnSync(python, ['-c', 'import pytest'], { cwd, env, stdio: 'ignore', timeout: PROBE_TIMEOUT_MS });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new UserError(`Python interpreter not found: ${python}`, 'pass --python, or set PYTHON_INTERPRETER_PATH');
  return probe.status === 0;
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
      io.stdout.write(printableLines(text));
    });
    // unittest writes its results to stderr.
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      keep(text);
      io.stderr.write(printableLines(text));
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

/** pytest's last line: `==== 2 passed, 1 failed, 1 skipped in 0.12s ====` (without the rules with -q). */
export function pytestCounts(output: string): TestCounts | undefined {
  const lines = output.trimEnd().split(/\r?\n/);
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
  return { passed: Number(ran[1]) - failed - errors - skipped, failed: failed + unexpected, errors, skipped };
}

export function summaryLine(c: TestCounts): string {
  const parts = [`${c.passed} passed`, `${c.failed} failed`];
  if (c.errors) parts.push(`${c.errors} ${c.errors === 1 ? 'error' : 'errors'}`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  return parts.join(', ');
}
