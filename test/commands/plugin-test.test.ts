import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pluginTestCommand, pytestCounts, summaryLine, unittestCounts } from '../../src/cli/commands/plugin-test.js';
import { runCli, testIo } from '../helpers/cli.js';
import { pluginWith, tempDir } from '../helpers/plugin.js';

/**
 * Tests that need no dify_plugin (not installed here): unittest.TestCase classes, which pytest
 * and unittest both run. They prove where they run: from the unpacked package (the file that
 * .difyignore leaves out is absent), with PLUGIN_FILE_PATH naming that package.
 */
const TESTS = `import os
import unittest
import zipfile


class PackageTest(unittest.TestCase):
    def test_unpacked(self):
        self.assertTrue(os.path.isfile("manifest.yaml"))
        self.assertFalse(os.path.exists("local-notes.txt"))

    def test_plugin_file_path(self):
        with zipfile.ZipFile(os.environ["PLUGIN_FILE_PATH"]) as z:
            self.assertIn("manifest.yaml", z.namelist())
`;
const FAILING = `import unittest


class Broken(unittest.TestCase):
    def test_broken(self):
        self.assertEqual(1, 2)
`;

async function testedPlugin(overrides: Record<string, string | null> = {}) {
  const base = await pluginWith({});
  const ignore = readFileSync(path.join(base, '.difyignore'), 'utf8');
  return pluginWith({
    '.difyignore': `${ignore}local-notes.txt\n`,
    'local-notes.txt': 'not packed\n',
    'tests/test_package.py': TESTS,
    // The example's own tests need dify_plugin; its invocation case is run in plugin-test-cases.test.ts.
    'tests/test_greet.py': null,
    'tests/greet.invoke.yaml': null,
    ...overrides,
  });
}

/** Where the command makes its temporary directory, to see it removed. */
async function run(args: string[], env: Record<string, string> = {}) {
  const tmp = await tempDir();
  const result = await runCli(['plugin', 'test', '--python', 'python3', ...args], { env: { TMPDIR: tmp, ...env } });
  return { ...result, leftovers: readdirSync(tmp) };
}

describe('dify plugin test', () => {
  it('runs pytest in the unpacked package, with PLUGIN_FILE_PATH, and writes a JUnit report', async () => {
    const dir = await testedPlugin({ 'tests/test_broken.py': FAILING });
    const reports = await tempDir();
    // Another file of the user's at the --junit path is never overwritten ...
    const mine = path.join(reports, 'notes.xml');
    await writeFile(mine, 'my notes\n');
    const refused = await run([dir, '--junit', mine]);
    expect(refused.stderr).toMatch(/error: .*notes\.xml exists and is not a JUnit report; not overwriting it/);
    expect(refused.code).toBe(1);
    expect(readFileSync(mine, 'utf8')).toBe('my notes\n');
    // ... an earlier report is replaced.
    const report = path.join(reports, 'report.xml');
    await writeFile(report, '<?xml version="1.0" encoding="utf-8"?><testsuites name="earlier"></testsuites>\n');
    const r = await run([dir, '--junit', report]);
    expect(r.stdout).toMatch(/test_broken/);
    expect(r.stdout).toMatch(/\n2 passed, 1 failed\n$/);
    expect(r.code).toBe(1);
    const xml = readFileSync(report, 'utf8');
    expect(xml).not.toMatch(/earlier/);
    expect(xml).toMatch(/<testsuite [^>]*failures="1"[^>]*tests="3"/);
    expect(r.leftovers).toEqual([]);
  });

  it('reads the counts from the last lines of pytest and unittest', () => {
    expect(pytestCounts('x\n==== 1 failed, 2 passed, 1 skipped, 1 xfailed, 2 errors in 0.12s ====\n')).toEqual({
      passed: 2,
      failed: 1,
      errors: 2,
      skipped: 2,
    });
    expect(pytestCounts('1 passed, 1 deselected in 0.56s\n')).toEqual({ passed: 1, failed: 0, errors: 0, skipped: 0 });
    expect(pytestCounts('==== no tests ran in 0.01s ====')).toBeUndefined();
    // PY_COLORS=1 or FORCE_COLOR=1, as CI systems set them, color pytest's lines even into a pipe.
    const colored = '\x1b[32m==== \x1b[32m\x1b[1m1 passed\x1b[0m\x1b[32m in 0.62s\x1b[0m\x1b[32m ====\x1b[0m\n';
    expect(pytestCounts(colored)).toEqual({ passed: 1, failed: 0, errors: 0, skipped: 0 });
    const unittest = 'Ran 5 tests in 0.001s\n\nFAILED (failures=1, errors=1, skipped=1)\n';
    expect(unittestCounts(unittest)).toEqual({ passed: 2, failed: 1, errors: 1, skipped: 1 });
    expect(unittestCounts('Ran 1 test in 0.000s\n\nOK\n')).toEqual({ passed: 1, failed: 0, errors: 0, skipped: 0 });
    // setUpClass raised: an error, and no test ran
    expect(unittestCounts('Ran 0 tests in 0.000s\n\nFAILED (errors=1)\n')).toEqual({
      passed: 0,
      failed: 0,
      errors: 1,
      skipped: 0,
    });
    expect(summaryLine({ passed: 2, failed: 1, errors: 1, skipped: 0 })).toBe('2 passed, 1 failed, 1 error');
  });

  it('takes a .difypkg, and passes the words after -- to pytest, colours and all', async () => {
    const dir = await testedPlugin({ 'tests/test_broken.py': FAILING });
    const pkg = path.join(await tempDir(), 'p.difypkg');
    expect((await runCli(['plugin', 'package', dir, '-o', pkg])).code).toBe(0);
    const r = await run([pkg, '--', '-k', 'not broken']);
    expect(r.stdout).toMatch(/\n2 passed, 0 failed\n$/);
    expect(r.code).toBe(0);
    // Colours forced (as CI systems often do) are not shown as escapes; -qq prints no summary
    // line, and the counts come from the JUnit report instead.
    const quiet = await run([pkg, '--junit', path.join(await tempDir(), 'r.xml'), '--', '-qq'], { PY_COLORS: '1' });
    expect(quiet.stdout).not.toMatch(/\\u\{1b\}|\x1b/);
    expect(quiet.stdout).toMatch(/\n2 passed, 1 failed\n$/);
    expect(quiet.code).toBe(1);
  });

  it('falls back to unittest when pytest cannot be imported, with a JUnit report of its own', async () => {
    const dir = await testedPlugin({
      'tests/test_broken.py': FAILING,
      'tests/test_skipped.py':
        'import unittest\n\n\n@unittest.skip("not today")\nclass Later(unittest.TestCase):\n    def test_later(self):\n        pass\n',
    });
    const blocker = await tempDir();
    await writeFile(path.join(blocker, 'pytest.py'), 'raise ImportError("no pytest here")\n');
    const report = path.join(blocker, 'r.xml');
    const r = await run([dir, '--junit', report, '--', '-v'], { PYTHONPATH: blocker });
    expect(r.stderr).toMatch(/pytest is not installed in python3; running unittest/);
    expect(r.stderr).toMatch(/test_broken \(test_broken\.Broken\.test_broken\) \.\.\. FAIL/); // -v reached unittest
    expect(r.stderr).toMatch(/FAILED \(failures=1, skipped=1\)/);
    expect(r.stdout).toBe('2 passed, 1 failed, 1 skipped\n');
    expect(r.code).toBe(1);
    const xml = readFileSync(report, 'utf8');
    expect(xml).toMatch(/<testsuite name="unittest" tests="4" failures="1" errors="0" skipped="1"/);
    expect(xml).toMatch(/<testcase classname="test_package\.PackageTest" name="test_unpacked" time="[\d.]+" \/>/);
    expect(xml).toMatch(
      /<testcase classname="test_broken\.Broken" name="test_broken"[^>]*><failure message="1 != 2">Traceback[^<]*AssertionError: 1 != 2/,
    );
    expect(xml).toMatch(/<skipped message="not today">/);
    expect(r.leftovers).toEqual([]);
  });

  it("reads unittest's own summary when the driver's results file is not what the driver wrote", async () => {
    // The tests run in the driver's process: one that rewrites the file at exit breaks nothing.
    const dir = await testedPlugin({
      'tests/test_atexit.py': `import atexit\nimport sys\n\natexit.register(lambda: open(sys.argv[1], "w").write("[null]"))\n`,
    });
    const blocker = await tempDir();
    await writeFile(path.join(blocker, 'pytest.py'), 'raise ImportError("no pytest here")\n');
    const r = await run([dir], { PYTHONPATH: blocker });
    expect(r.stderr).not.toContain('internal error');
    expect(r.stdout).toBe('2 passed, 0 failed\n');
    expect(r.code).toBe(0);
  });

  it("names unittest's subtests, class and module set-up errors and import errors in the JUnit report as unittest does", async () => {
    const dir = await testedPlugin({
      'tests/test_package.py': null,
      'tests/test_odd.py': `import unittest


class Sub(unittest.TestCase):
    def test_values(self):
        for x in (0.5, 1.5):
            with self.subTest(x=x):
                self.assertLess(x, 1)


class Setup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("no fixture")

    def test_never(self):
        pass
`,
      'tests/test_missing.py': 'import no_such_module_here\n',
    });
    const blocker = await tempDir();
    await writeFile(path.join(blocker, 'pytest.py'), 'raise ImportError("no pytest here")\n');
    const report = path.join(blocker, 'r.xml');
    const r = await run([dir, '--junit', report], { PYTHONPATH: blocker });
    expect(r.stdout).toBe('0 passed, 1 failed, 2 errors\n');
    const xml = readFileSync(report, 'utf8');
    const cases = [...xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"/g)].map((m) => `${m[1]} | ${m[2]}`);
    expect(cases.sort()).toEqual([
      'test_odd.Setup | setUpClass',
      'test_odd.Sub | test_values (x=1.5)',
      // unittest's own name for a module it could not import
      'unittest.loader._FailedTest | test_missing',
    ]);
  });

  it('reports a runner that ended without results as an error in the JUnit report too', async () => {
    const dir = await testedPlugin();
    const report = path.join(await tempDir(), 'r.xml');
    const r = await run([dir, '--junit', report, '--', '--no-such-option']);
    expect(r.stdout).toBe(
      'no test results were read from the test runner (it exited with status 4)\n0 passed, 0 failed, 1 error\n',
    );
    expect(r.code).toBe(1);
    expect(readFileSync(report, 'utf8')).toMatch(
      /<testsuite name="pytest" tests="1" failures="0" errors="1" skipped="0" time="0.000">\n<testcase classname="pytest" name="the test run" time="0.000"><error message="no test results were read from the test runner \(it exited with status 4\)">/,
    );
  });

  it('stops before running anything when the plugin has errors', async () => {
    const dir = await testedPlugin({ 'tools/greet.yaml': null });
    const r = await run([dir]);
    expect(r.stderr).toMatch(/error: the plugin has errors; fix them before testing it/);
    expect(r.stdout).not.toMatch(/passed|test session/);
    expect(r.code).toBe(1);
  });

  it('exits 1 when no test ran: every module skipped itself, as the generated test does without dify_plugin', async () => {
    const r = await run([
      await testedPlugin({
        'tests/test_package.py':
          'import pytest\n\npytest.importorskip("no_such_module_4711")\n\n\ndef test_x():\n    pass\n',
      }),
    ]);
    expect(r.stdout).toMatch(/\n0 passed, 0 failed, 1 skipped\nno test ran: every test module was skipped/);
    expect(r.code).toBe(1);
  });

  it('says so when the plugin has no tests/ folder', async () => {
    const r = await run([await pluginWith({ 'tests/greet.invoke.yaml': null, 'tests/test_greet.py': null })]);
    expect(r.stderr).toMatch(/error: no tests found: .* has no tests\/ folder/);
    expect(r.stderr).toMatch(/hint: put pytest or unittest tests, or \*\.invoke\.yaml cases, in tests\//);
    expect(r.code).toBe(1);
    expect(r.leftovers).toEqual([]);
  });

  it('on Ctrl-C while it checks the plugin, exits 130 without packing or running anything', async () => {
    const dir = await testedPlugin();
    const tmp = await tempDir();
    let output = '';
    const { io, signals } = testIo({
      cwd: dir,
      env: { TMPDIR: tmp },
      stdout: (s) => (output += s),
      stderr: (s) => (output += s),
    });
    const ended = pluginTestCommand(undefined, [], { python: 'python3' }, io);
    signals.emit('SIGINT');
    expect(await ended).toBe(130);
    expect(output).toBe('');
    expect(readdirSync(tmp)).toEqual([]);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('says so in one line when the plugin path runs through a file', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'notes.txt'), 'x');
    const r = await run([path.join(dir, 'notes.txt', 'x')]);
    expect(r.stderr).toMatch(/plugin\/not-found .*notes\.txt\/x does not exist/);
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(1);
  });

  it('on Ctrl-C stops the test run, removes its directory and exits 130', async () => {
    const dir = await testedPlugin({
      'tests/test_slow.py': `import time\nimport unittest\n\n\nclass Slow(unittest.TestCase):\n    def test_slow(self):\n        print("SLOW STARTED", flush=True)\n        time.sleep(60)\n`,
    });
    const tmp = await tempDir();
    let stdout = '';
    const { io, signals } = testIo({
      cwd: dir,
      env: { TMPDIR: tmp },
      stdout: (s) => {
        stdout += s;
        if (s.includes('SLOW STARTED')) signals.emit('SIGINT');
      },
    });
    const started = Date.now();
    const code = await pluginTestCommand(undefined, ['-s', '-k', 'slow'], { python: 'python3' }, io);
    expect(stdout).toMatch(/SLOW STARTED/);
    expect(code).toBe(130);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });
});
