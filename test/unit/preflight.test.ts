import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { preflight, PreflightError, type PreflightOptions } from '../../src/debug/preflight.js';
import { probeInterpreter } from '../../src/debug/interpreter-probe.js';
import { findOnPath } from '../../src/project/executables.js';
import { EXAMPLE, pluginWith, REPO } from '../helpers/plugin.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');

/** The hint preflight() gives for `o`; fails the test when it passes. */
async function hintOf(o: Partial<PreflightOptions> & Pick<PreflightOptions, 'python'>): Promise<string | undefined> {
  const pluginDir = o.pluginDir ?? EXAMPLE;
  const options: PreflightOptions = {
    pluginDir,
    env: process.env,
    runnerVersion: '3.12',
    timeoutMs: 5000,
    ...o,
  };
  const error = await preflight(options).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(PreflightError);
  return (error as PreflightError).hint;
}

describe('the interpreter check: the commands in its hints', () => {
  it('installs the range pyproject.toml states when requirements.txt states another (pip would keep the refused one)', async () => {
    const dir = await pluginWith({
      'pyproject.toml':
        '[project]\nname = "x"\nrequires-python = ">=3.12"\ndependencies = ["dify_plugin>=0.10.1,<0.11.0"]\n',
      'requirements.txt': 'dify_plugin>=0.9.0,<0.11.0\n',
    });
    const hint = await hintOf({
      python: { value: FAKE_PYTHON, source: 'flag', name: '--python' },
      pluginDir: dir,
      env: { ...process.env, FAKE_SDK_VERSION: '0.9.1' },
    });
    expect(hint).toContain("-m pip install -r requirements.txt 'dify_plugin>=0.10.1,<0.11.0'");
  });

  it('on Windows, creates the venv with the py launcher and installs with its Scripts python', async () => {
    const hint = await hintOf({
      python: { value: '/nonexistent/python', source: 'default', name: 'PATH' },
      platform: 'win32',
    });
    expect(hint).toBe(
      "create the plugin's virtual environment: `py -3.12 -m venv .venv && .venv\\Scripts\\python -m pip install -r requirements.txt`",
    );
  });

  it('names the variable that chose the interpreter, and where it is set', async () => {
    const hint = await hintOf({
      python: { value: '/nonexistent/python', source: '.env', name: 'PYTHON_INTERPRETER_PATH' },
    });
    expect(hint).toMatch(/^set PYTHON_INTERPRETER_PATH in \.env to another interpreter, or leave it out/);
  });

  it("suggests the lowest Python the plugin's requires-python accepts when meta.runner.version is not one", async () => {
    const dir = await pluginWith({
      'pyproject.toml': '[project]\nname = "x"\nrequires-python = ">=3.13"\n',
    });
    const env = { ...process.env, FAKE_PYTHON_VERSION: '3.12.4' };
    const hint = await hintOf({
      python: { value: FAKE_PYTHON, source: 'flag', name: '--python' },
      pluginDir: dir,
      env,
    });
    expect(hint).toBe(
      "pass another --python for Python 3.13, or leave it out and create the plugin's virtual environment: `python3.13 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt`",
    );
  });

  it("recreates a plugin's .venv of the wrong Python with --clear", async () => {
    const dir = await pluginWith({});
    const venv = path.join(dir, '.venv-python');
    symlinkSync(FAKE_PYTHON, venv);
    const env = { ...process.env, FAKE_PYTHON_VERSION: '3.11.2' };
    writeFileSync(path.join(dir, 'pyproject.toml'), '[project]\nname = "x"\nrequires-python = ">=3.12"\n');
    const hint = await hintOf({ python: { value: venv, source: 'default', name: '.venv' }, pluginDir: dir, env });
    expect(hint).toBe(
      "create the plugin's .venv again with Python 3.12: `python3.12 -m venv --clear .venv && .venv/bin/python -m pip install -r requirements.txt`",
    );
  });
});

// The fake interpreter answers the probe itself; this runs the real script once.
const realPython = findOnPath('python3', process.env);
describe.skipIf(realPython === undefined)('the interpreter probe on a real Python', () => {
  it('reads its version and executable, and whether dify_plugin is installed, without importing it', async () => {
    const result = await probeInterpreter(realPython!, { cwd: EXAMPLE, env: process.env, timeoutMs: 15_000 });
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (!result.ok) return;
    expect(result.facts.version).toMatch(/^3\.\d+\.\d+$/);
    expect(result.facts.executable).not.toBe('');
    // Installed or not, the answer has the right shape.
    expect(
      result.facts.sdk === undefined ||
        typeof result.facts.sdk.version === 'string' ||
        result.facts.sdk.version === null,
    ).toBe(true);
  });
});
