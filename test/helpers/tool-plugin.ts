import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './plugin.js';

/** The fake interpreter: answers the interpreter probe and runs fake-plugin.mjs for `-m <entrypoint>`. */
export const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');

/**
 * Writes `<dir>/python`: an interpreter that is the fake plugin's where the plugin is concerned
 * (the interpreter probe, `-m main`) and the machine's python3 for the rest (pytest, unittest),
 * for both halves of `dify plugin test` in one run without the SDK.
 */
export function mixedPython(dir: string): string {
  const file = path.join(dir, 'python');
  writeFileSync(
    file,
    `#!/bin/sh\ncase "$1:$2" in\n  -m:main | -c:*find_spec*) exec "${FAKE_PYTHON}" "$@" ;;\nesac\nexec python3 "$@"\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

/** A tool declaration for the fake plugin, whose behaviour follows the tool's name. */
export function tool(name: string, parameters = ''): Record<string, string> {
  return {
    [`tools/${name}.yaml`]: `identity:
  name: ${name}
  author: test
  label:
    en_US: ${name}
description:
  human:
    en_US: ${name}
  llm: ${name}
${parameters ? `parameters:\n${parameters}` : ''}extra:
  python:
    source: tools/${name}.py
`,
    [`tools/${name}.py`]: `from dify_plugin import Tool\n\n\nclass T(Tool):\n    pass\n`,
  };
}

/** One entry of a tool's `parameters:`; `extra` holds `required` and/or more YAML lines. */
export const param = (name: string, type: string, extra = '') => `  - name: ${name}
    type: ${type}
    required: ${extra.includes('required') ? 'true' : 'false'}
    label:
      en_US: ${name}
    human_description:
      en_US: ${name}
    llm_description: ${name}
    form: llm
${extra.replace('required', '').trim() ? `    ${extra.replace('required', '').trim()}\n` : ''}`;

/** The example's provider listing `tools`, with a required `api_key` credential unless told otherwise. */
export function provider(tools: string[], o: { credentials?: boolean } = {}): string {
  const credentials = `credentials_for_provider:
  api_key:
    type: secret-input
    required: true
    label:
      en_US: API key
`;
  return `identity:
  author: dify-plugin-cli
  name: hello_world
  label:
    en_US: Hello World
  description:
    en_US: Greets.
  icon: icon.svg
${o.credentials === false ? '' : credentials}tools:
${tools.map((t) => `  - tools/${t}.yaml\n`).join('')}extra:
  python:
    source: provider/hello_world.py
`;
}
