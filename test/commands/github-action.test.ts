// The GitHub Action (action.yml) run as a runner runs a composite action, offline: its `run:`
// steps, read from the file, each in `bash --noprofile --norc -eo pipefail` with the step's `env:`
// (its `${{ }}` expressions evaluated here), GITHUB_ACTIONS=true and fresh GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files per step. `npm` is a stand-in on PATH that records its arguments and
// "installs" this checkout, so the action runs the locally built bin/dify.js.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, rename } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { REPO, pluginWith, tempDir } from '../helpers/plugin.js';

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
  run?: string;
}

interface Action {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

const ACTION = parse(readFileSync(path.join(REPO, 'action.yml'), 'utf8')) as Action;
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  summary: string;
  /** The action's outputs, as its `outputs:` maps them from the steps' ones. */
  outputs: Record<string, string>;
  /** The arguments `npm` was called with, or null when it was not called. */
  npm: string[] | null;
  /** The `uses:` steps a runner would have run, by name, with their `with:` evaluated. */
  uses: Map<string, Record<string, string>>;
}

/** Runs the action's steps in `workspace` with `inputs` as a workflow's `with:` would give them. */
async function runAction(workspace: string, inputs: Record<string, string>): Promise<Run> {
  const temp = await tempDir('dify-action-');
  const runnerTemp = path.join(temp, 'runner-temp');
  const fakeBin = path.join(temp, 'bin');
  mkdirSync(runnerTemp);
  mkdirSync(fakeBin);
  const npmLog = path.join(temp, 'npm-args');
  writeFileSync(
    path.join(fakeBin, 'npm'),
    `#!/usr/bin/env bash
printf '%s\\n' "$@" > "$FAKE_NPM_LOG"
while [ $# -gt 0 ]; do [ "$1" = --prefix ] && prefix="$2"; shift; done
mkdir -p "$prefix/node_modules" && ln -s "$FAKE_NPM_PACKAGE" "$prefix/node_modules/dify-plugin-cli"
`,
  );
  chmodSync(path.join(fakeBin, 'npm'), 0o755);

  const given = (name: string): string => {
    if (!(name in ACTION.inputs)) throw new Error(`action.yml has no input ${name}`);
    return inputs[name] ?? ACTION.inputs[name]!.default ?? '';
  };
  const stepOutputs = new Map<string, Record<string, string>>();
  const evaluate = (text: string): string =>
    text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
      let m;
      if ((m = /^inputs\.([\w-]+)$/.exec(expr))) return given(m[1]!);
      if (expr === 'github.action_path') return REPO;
      if ((m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr))) return stepOutputs.get(m[1]!)?.[m[2]!] ?? '';
      throw new Error(`the test does not evaluate \${{ ${expr} }}`);
    });
  for (const name of Object.keys(inputs)) given(name);

  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(GITHUB_|RUNNER_|INPUT_)/.test(k)) base[k] = v;
  const run: Run = { code: 0, stdout: '', stderr: '', summary: '', outputs: {}, npm: null, uses: new Map() };
  for (const [i, step] of ACTION.runs.steps.entries()) {
    if (step.uses !== undefined) {
      run.uses.set(step.name!, Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, evaluate(v)])));
      continue;
    }
    expect(step.if, 'a run step runs whatever the inputs').toBeUndefined();
    expect(step.shell).toBe('bash');
    const files = { output: path.join(temp, `output-${i}`), summary: path.join(temp, `summary-${i}`) };
    writeFileSync(files.output, '');
    writeFileSync(files.summary, '');
    const script = path.join(temp, `step-${i}.sh`);
    writeFileSync(script, step.run!);
    const env = {
      ...base,
      PATH: `${fakeBin}${path.delimiter}${process.env.PATH}`,
      NO_COLOR: '1',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: runnerTemp,
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      FAKE_NPM_LOG: npmLog,
      FAKE_NPM_PACKAGE: REPO,
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(v)])),
    };
    const { code, stdout, stderr } = await runStep(script, workspace, env);
    run.stdout += stdout;
    run.stderr += stderr;
    run.summary += readFileSync(files.summary, 'utf8');
    if (step.id) stepOutputs.set(step.id, parseOutputs(readFileSync(files.output, 'utf8')));
    if (code !== 0) {
      run.code = code;
      break; // a failed step ends a composite action
    }
  }
  for (const [name, { value }] of Object.entries(ACTION.outputs)) run.outputs[name] = evaluate(value);
  if (existsSync(npmLog)) run.npm = readFileSync(npmLog, 'utf8').trimEnd().split('\n');
  return run;
}

/** One `run:` step as a runner runs a bash step. */
function runStep(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd, env }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    ),
  );
}

/** GITHUB_OUTPUT's two forms: `name=value` and `name<<DELIMITER` ... `DELIMITER`. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([\w-]+)<<(.+)$/.exec(lines[i]!);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      outputs[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i]!.includes('=')) {
      const at = lines[i]!.indexOf('=');
      outputs[lines[i]!.slice(0, at)] = lines[i]!.slice(at + 1);
    }
  }
  return outputs;
}

/** A workspace holding the example plugin as `dir`, with `overrides` applied. */
async function workspaceWith(dir: string, overrides: Record<string, string | null> = {}): Promise<string> {
  const plugin = await pluginWith(overrides);
  const workspace = path.dirname(plugin);
  await rename(plugin, path.join(workspace, dir));
  return workspace;
}

describe('the GitHub Action', () => {
  it('is a composite action whose inputs reach its scripts through env only', () => {
    expect(ACTION.runs.using).toBe('composite');
    for (const step of ACTION.runs.steps) if (step.run) expect(step.run, step.name).not.toMatch(/\$\{\{/);
  });

  it('installs the CLI of its own version, packs a clean plugin whose path has a space, and uploads it', async () => {
    const workspace = await workspaceWith('my plugin');
    const r = await runAction(workspace, { path: 'my plugin', package: 'true' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.npm).toEqual([
      'install',
      '--prefix',
      expect.stringMatching(/runner-temp\/dify-plugin-cli$/),
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      `dify-plugin-cli@${VERSION}`,
    ]);
    expect(r.stdout).not.toMatch(/^::/m);
    expect(r.outputs).toMatchObject({ errors: '0', warnings: '0' });
    const packages = r.outputs.packages!.split('\n');
    expect(packages).toEqual([path.join(r.outputs['package-dir']!, 'my plugin.difypkg')]);
    expect(readFileSync(packages[0]!).subarray(0, 4)).toEqual(Buffer.from('PK\x03\x04', 'latin1'));
    expect(r.uses.get('Upload the packages')).toEqual({
      name: 'dify-plugins',
      path: r.outputs['package-dir'],
      'if-no-files-found': 'error',
    });
    expect(r.summary).toMatch(
      /\| ✓ \| dify-plugin-cli\/hello\\_world \| 0\.0\.1 \| my plugin \| 0 \| 0 \| my plugin\.difypkg \| [\d.]+ KB \|/,
    );
  });

  it('annotates, summarises and fails on a broken plugin among several, one path per line', async () => {
    const workspace = await workspaceWith('broken', { 'manifest.yaml': 'version: [oops\n' });
    await cp(path.join(REPO, 'examples', 'hello-world'), path.join(workspace, 'clean one'), { recursive: true });
    const r = await runAction(workspace, { path: '\r\n  clean one \r\nbroken\n\n', version: '9.9.9' });
    expect(r.code).toBe(1);
    expect(r.npm).toContain('dify-plugin-cli@9.9.9');
    expect(r.stdout).toMatch(/^::error file=broken\/manifest\.yaml,line=2,col=1,title=yaml\/syntax::/m);
    expect(r.stdout).toMatch(/^clean one \(dify-plugin-cli\/hello_world:0\.0\.1, tool\)\n {2}✓ no problems$/m);
    expect(r.summary).toMatch(/\| ✓ \| dify-plugin-cli\/hello\\_world \| 0\.0\.1 \| clean one \| 0 \| 0 \|\n\| ✖ \|/);
    expect(r.summary).toMatch(/\| ✖ error \| broken\/manifest\.yaml:2:1 \| yaml\/syntax \|/);
    expect(r.outputs).toMatchObject({ errors: '1', warnings: '0', packages: '', 'package-dir': '' });
    const report = JSON.parse(readFileSync(r.outputs.report!, 'utf8')) as { results: { path: string; ok: boolean }[] };
    expect(report.results.map((x) => [x.path, x.ok])).toEqual([
      ['clean one', true],
      ['broken', false],
    ]);
  });

  it('passes on warnings, and fails on them with strict: true', async () => {
    const workspace = await workspaceWith('warned', { 'README.md': null });
    const lenient = await runAction(workspace, { path: 'warned', cli: path.join(REPO, 'bin', 'dify.js') });
    expect(lenient.npm).toBeNull(); // the cli input is run as it is
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/^::warning file=warned\/README\.md,title=readme\/missing::/m);
    const strict = await runAction(workspace, {
      path: 'warned',
      cli: path.join(REPO, 'bin', 'dify.js'),
      strict: 'true',
    });
    expect(strict.code).toBe(1);
    expect([lenient.outputs.warnings, strict.outputs.warnings, strict.outputs.errors]).toEqual(['1', '1', '0']);
    expect(strict.stdout).toMatch(
      /^::error title=dify plugin package::warned: 1 warning failing because of --strict$/m,
    );
    expect(strict.summary).toMatch(/\| ✖ \(--strict\) \| dify-plugin-cli\/hello\\_world \|/);
  });

  it("gives the workflow init writes the report it reads the plugin's name, version and author from", async () => {
    const cwd = await tempDir();
    const init = ['plugin', 'init', '--quick', '--name', 'demo', '--author', 'acme', '--description', 'A plugin'];
    expect((await runCli(init, { cwd })).code).toBe(0);
    const workspace = path.join(cwd, 'demo');
    const r = await runAction(workspace, { package: 'true', cli: path.join(REPO, 'bin', 'dify.js') });
    expect(r.code).toBe(0);
    expect(r.outputs.packages).toBe(path.join(r.outputs['package-dir']!, 'demo.difypkg'));

    const workflow = parse(
      readFileSync(path.join(workspace, '.github', 'workflows', 'plugin-publish.yml'), 'utf8'),
    ) as {
      jobs: { publish: { steps: Step[] } };
    };
    const steps = workflow.jobs.publish.steps;
    const action = steps.find((s) => s.uses?.includes('/dify-plugin-cli@'))!;
    const read = steps.find((s) => s.id === 'plugin')!;
    expect(read.env).toEqual({ REPORT: `\${{ steps.${action.id}.outputs.report }}` });
    const temp = await tempDir();
    const script = path.join(temp, 'read.sh');
    writeFileSync(script, read.run!);
    const output = path.join(temp, 'output');
    writeFileSync(output, '');
    const env = { ...process.env, GITHUB_OUTPUT: output, REPORT: r.outputs.report };
    expect((await runStep(script, workspace, env)).code).toBe(0);
    expect(parseOutputs(readFileSync(output, 'utf8'))).toEqual({ name: 'demo', version: '0.0.1', author: 'acme' });
  });

  it('refuses a boolean input that is neither true nor false, naming the input and not its value', async () => {
    const workspace = await workspaceWith('p');
    const r = await runAction(workspace, {
      path: 'p',
      strict: 'yes; rm -rf /',
      cli: path.join(REPO, 'bin', 'dify.js'),
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('::error title=dify-plugin-cli action::the strict input must be true or false\n');
  });
});
