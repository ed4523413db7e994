import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { INVOKE_DEPS } from '../../src/cli/commands/invoke.js';
import { pluginTestCommand } from '../../src/cli/commands/plugin-test.js';
import { isAlive, runCli, testIo } from '../helpers/cli.js';
import { EXAMPLE, pluginWith, tempDir } from '../helpers/plugin.js';
import { hasSdk } from '../helpers/python-sdk.js';
import { FAKE_PYTHON, mixedPython, param, provider, tool } from '../helpers/tool-plugin.js';

const SECRET = 'sk-case-secret-0815';

let MIXED_PYTHON = '';
beforeAll(async () => {
  MIXED_PYTHON = mixedPython(await tempDir());
});

const ENV = { FAKE_HEARTBEAT_MS: '200', FAKE_GREET_AS_EXAMPLE: '1' };

async function test(args: string[], env: Record<string, string> = {}) {
  const tmp = await tempDir();
  const r = await runCli(['plugin', 'test', ...args], { env: { TMPDIR: tmp, ...ENV, ...env } });
  return { ...r, leftovers: readdirSync(tmp) };
}

describe('dify plugin test: tests/*.invoke.yaml cases', () => {
  it("runs the example's pytest tests, then its invocation case, into one summary and one JUnit report", async () => {
    const report = path.join(await tempDir(), 'report.xml');
    const r = await test([EXAMPLE, '--python', MIXED_PYTHON, '--junit', report]);
    // The example's pytest module skips itself without dify_plugin; the case runs against the plugin.
    expect(r.stdout).toMatch(/1 skipped/);
    expect(r.stdout).toMatch(
      /\nPASSED tests\/greet\.invoke\.yaml: greets by name \(\d+ ms\)\n1 passed, 0 failed, 1 skipped\n$/,
    );
    expect(r.code).toBe(0);
    const xml = readFileSync(report, 'utf8');
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="utf-8"\?>\n<testsuites>\n<testsuite name="pytest" [^>]*skipped="1"/,
    );
    expect(xml).toMatch(
      /<testsuite name="invoke cases" tests="1" failures="0" errors="0" skipped="0" time="[\d.]+">\n<testcase classname="tests\.greet\.invoke\.yaml" name="greets by name" time="[\d.]+" \/>/,
    );
    expect(r.leftovers).toEqual([]);
  });

  it('reports each case: passed, failed with the reason, and a broken case file at file:line:col; secrets masked', async () => {
    const dir = await pluginWith({
      'provider/hello_world.yaml': provider(['greet', 'rich', 'error', 'hang']),
      ...tool('rich', param('name', 'string', 'required')),
      ...tool('hang'),
      'tests/slow.invoke.yaml': 'invoke:\n  tool: hello_world/hang\nexpect:\n  max_ms: 300\n',
      ...tool('error', param('detail', 'string')),
      '.env': `DIFY_CREDENTIAL_API_KEY=${SECRET}\n`,
      'tests/test_greet.py': null,
      'tests/rich.invoke.yaml': `name: sees its credentials
invoke:
  tool: hello_world/rich
  params: {name: Ada}
expect:
  text_contains: 'echo: {"name":"Ada"}'
  json:
    - path: $.credentials.api_key
      equals: ${SECRET}
`,
      'tests/wrong.invoke.yaml': `invoke:
  tool: hello_world/rich
  params: {name: Ada}
expect:
  json:
    - path: $.credentials.api_key
      equals: something else
`,
      'tests/error.invoke.yaml': `invoke:
  tool: hello_world/error
  params: {detail: no such city}
expect:
  exit: 1
  text_contains: "ValueError: boom: no such city"
`,
      'tests/typo.invoke.yaml': 'invoke:\n  tool: hello_world/greet\nexpect:\n  exits: 1\n',
    });
    const report = path.join(await tempDir(), 'r.xml');
    const r = await test([dir, '--python', FAKE_PYTHON, '--junit', report]);
    expect(r.stderr).toMatch(
      /tests\/typo\.invoke\.yaml:4:3 error invoke-case\/expect-unknown-key unknown key "exits" in expect: `dify plugin test` does not know it\n +hint: did you mean "exit"\?/,
    );
    expect(r.stdout.replace(/ \(\d+ ms\)/g, '')).toBe(
      [
        'ERROR tests/typo.invoke.yaml: typo',
        '  - the case file has errors (above)',
        'PASSED tests/error.invoke.yaml: error',
        'PASSED tests/greet.invoke.yaml: greets by name',
        'PASSED tests/rich.invoke.yaml: sees its credentials',
        'FAILED tests/slow.invoke.yaml: slow', // and the plugin answers the next case
        '  - no answer within 300 ms (max_ms)',
        'FAILED tests/wrong.invoke.yaml: wrong',
        '  - no JSON message has $.credentials.api_key = "something else" (found: "****")',
        '3 passed, 2 failed, 1 error',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(1);
    const xml = readFileSync(report, 'utf8');
    expect(xml).toMatch(/<testsuite name="invoke cases" tests="6" failures="2" errors="1"/);
    expect(xml).toMatch(/<error message="the case file has errors \(above\)">/);
    expect(r.stdout + r.stderr + xml).not.toContain(SECRET);
  });

  it('counts the cases after the plugin exited as errors: a case expecting exit 1 did not pass against no plugin', async () => {
    const dir = await pluginWith({
      'provider/hello_world.yaml': provider(['crash', 'error'], { credentials: false }),
      ...tool('crash'),
      ...tool('error', param('detail', 'string')),
      'tests/test_greet.py': null,
      'tests/greet.invoke.yaml': null,
      'tests/a.invoke.yaml': 'invoke:\n  tool: hello_world/crash\n',
      'tests/b.invoke.yaml': 'invoke:\n  tool: hello_world/error\nexpect:\n  exit: 1\n',
    });
    const r = await test([dir, '--python', FAKE_PYTHON]);
    expect(r.stdout.replace(/ \(\d+ ms\)/g, '')).toMatch(
      /^FAILED tests\/a\.invoke\.yaml: a\n {2}- the plugin failed: the plugin process exited \(code 3\)\nERROR tests\/b\.invoke\.yaml: b\n {2}- the plugin exited during an earlier case \(above\)\n0 passed, 1 failed, 1 error\n$/,
    );
    expect(r.code).toBe(1);
  });

  it('warns once of a required credential that is not given, and the cases still run', async () => {
    const dir = await pluginWith({
      'provider/hello_world.yaml': provider(['greet']),
      'tests/test_greet.py': null,
      'tests/again.invoke.yaml': 'invoke:\n  tool: hello_world/greet\n  params: {name: Bob}\n',
    });
    const r = await test([dir, '--python', FAKE_PYTHON]);
    expect(r.stderr).toBe(
      'warning: the provider requires the credential "api_key", which is not given (set DIFY_CREDENTIAL_API_KEY in .env, or pass --credentials)\n',
    );
    expect(r.stdout).toMatch(/\n2 passed, 0 failed\n$/);
    expect(r.code).toBe(0);
  });

  it('counts a broken test runner, and every case when the plugin cannot start, as errors, and says why', async () => {
    const r = await test([EXAMPLE, '--python', FAKE_PYTHON, '--', '-x'], { FAKE_SDK_VERSION: 'none' });
    expect(r.stderr).toMatch(/the invocation cases cannot run: .*dify_plugin \(the Dify plugin SDK\) is not installed/);
    expect(r.stderr).toMatch(/hint: .*pip install/);
    // The fake interpreter is no pytest either: the example's pytest module ends the runner with status 2.
    expect(r.stdout).toBe(
      [
        'no test results were read from the test runner (it exited with status 2)',
        'ERROR tests/greet.invoke.yaml: greets by name',
        '  - the plugin did not start (above)',
        '0 passed, 0 failed, 2 errors',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(1);
    expect(r.leftovers).toEqual([]);
  });

  it('on Ctrl-C between cases stops the plugin, removes its directory and exits 130', async () => {
    const work = await tempDir();
    const spy = path.join(work, 'spy.json');
    const dir = await pluginWith({
      'tests/test_greet.py': null,
      'tests/second.invoke.yaml': 'invoke:\n  tool: hello_world/greet\n  params: {name: Bob}\n',
    });
    let stdout = '';
    const { io, signals } = testIo({
      cwd: dir,
      env: { TMPDIR: work, ...ENV, FAKE_SPY_FILE: spy },
      stdout: (s) => {
        stdout += s;
        if (s.startsWith('PASSED')) signals.emit('SIGINT');
      },
    });
    const code = await pluginTestCommand(undefined, [], { python: FAKE_PYTHON }, io, {
      ...INVOKE_DEPS,
      stopGraceMs: 2000,
    });
    expect(code).toBe(130);
    expect(stdout).toMatch(/^PASSED tests\/greet\.invoke\.yaml: greets by name \(\d+ ms\)\n$/); // the second never ran
    const { pid } = JSON.parse(readFileSync(spy, 'utf8')) as { pid: number };
    expect(isAlive(pid)).toBe(false);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    expect(readdirSync(work)).toEqual(['spy.json']);
    expect(existsSync(dir)).toBe(true);
  });

  it.skipIf(!hasSdk)(
    "with the real SDK: a generated tool plugin's tests and case pass, and the example's",
    async () => {
      const work = await tempDir();
      const init = await runCli(
        [
          'plugin',
          'init',
          '--quick',
          '--name',
          'weather',
          '--author',
          'acme',
          '--description',
          'Weather',
          '--category',
          'tool',
        ],
        { cwd: work },
      );
      expect(init.code).toBe(0);
      for (const dir of [path.join(work, 'weather'), EXAMPLE]) {
        const r = await test([dir, '--python', 'python3']);
        expect(r.stdout).toMatch(/\n3 passed, 0 failed\n$/); // two pytest tests and one case
        expect(r.code).toBe(0);
      }
    },
  );
});
