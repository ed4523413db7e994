import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonRefusesDuplicate } from '../../src/check/daemon-fields.js';
import { diagnosticsOf, pluginWith, REAL_FIXTURES } from '../helpers/plugin.js';
import { edit, exampleFile, lineOf } from '../helpers/text.js';

const ANTHROPIC = path.join(REAL_FIXTURES, 'anthropic');
const AGENT = path.join(REAL_FIXTURES, 'self_refine_agent');
const TOOL = exampleFile('tools/greet.yaml');

/** The anthropic provider with `n` fields in its model credential form (the daemon allows 32). */
function providerWithFields(n: number): string {
  const text = readFileSync(path.join(ANTHROPIC, 'provider/anthropic.yaml'), 'utf8');
  const fields = Array.from(
    { length: n },
    (_, i) => `  - label:\n      en_US: Field ${i}\n    type: text-input\n    variable: field_${i}\n`,
  ).join('');
  return text
    .replace('model_credential_schema:\n', 'model_credential_schema:\n  x_placeholder: 0\n')
    .replace(
      /(model_credential_schema:\n {2}x_placeholder: 0\n[\s\S]*? {2}credential_form_schemas:\n)/,
      (all) => all.replace('  x_placeholder: 0\n', '') + fields,
    );
}

describe('severity follows where Dify enforces a rule', () => {
  it('a limit only the daemon struct validator has is a warning that says remote debugging rejects it', async () => {
    const dir = await pluginWith({ 'provider/anthropic.yaml': providerWithFields(36) }, ANTHROPIC);
    const found = (await diagnosticsOf(dir)).filter((d) => d.code.endsWith('credential_form_schemas-count'));
    expect(found).toEqual([
      expect.objectContaining({
        severity: 'warning',
        scope: 'remote-debug',
        message:
          'remote debugging would reject this: model_credential_schema.credential_form_schemas must have at most 32 item(s) (it has 38); installing the package is not affected',
      }),
    ]);
  });

  it('an empty option value (daemon `required`) is a warning; a wrong type the SDK refuses stays an error', async () => {
    const text = edit(TOOL, [
      '    form: llm\n',
      '    form: llm\n    options:\n      - value: ""\n        label:\n          en_US: none\n',
    ]);
    const typed = edit(TOOL, ['    form: llm\n', '    form: llm\n    required: maybe\n']);
    const empty = (await diagnosticsOf(await pluginWith({ 'tools/greet.yaml': text }))).filter(
      (d) => d.code === 'tool/parameters.options.value-length',
    );
    expect(empty.map((d) => [d.severity, d.scope])).toEqual([['warning', 'remote-debug']]);
    const wrong = (await diagnosticsOf(await pluginWith({ 'tools/greet.yaml': typed }))).filter(
      (d) => d.code === 'tool/parameters.required-type',
    );
    expect(wrong.map((d) => [d.severity, d.scope])).toEqual([['error', undefined]]);
  });

  it('an enum value the SDK takes but the daemon does not is a warning; one neither takes is an error', async () => {
    const strategy = readFileSync(path.join(AGENT, 'strategies/self_refine.yaml'), 'utf8');
    const as = async (type: string) =>
      (
        await diagnosticsOf(
          await pluginWith(
            { 'strategies/self_refine.yaml': strategy.replace('type: model-selector', `type: ${type}`) },
            AGENT,
          ),
        )
      ).filter((d) => d.code === 'agent-strategy/parameters.type-enum');
    expect((await as('object')).map((d) => d.severity)).toEqual(['warning']);
    expect((await as('objekt')).map((d) => d.severity)).toEqual(['error']);
  });

  it('manifest rules stay errors: the Go CLI refuses to pack such a manifest', async () => {
    const manifest = edit(exampleFile('manifest.yaml'), ['name: hello_world', `name: ${'x'.repeat(129)}`]);
    const found = (await diagnosticsOf(await pluginWith({ 'manifest.yaml': manifest }))).filter(
      (d) => d.code === 'manifest/name-pattern',
    );
    expect(found.map((d) => [d.severity, d.scope])).toEqual([['error', undefined]]);
  });
});

describe('a key written twice', () => {
  const dupes = async (files: Record<string, string>, base?: string) =>
    (await diagnosticsOf(await pluginWith(files, base))).filter((d) => d.code.startsWith('yaml/duplicate-key'));

  it('under extra, which the daemon never decodes, is a warning naming the key and the value kept', async () => {
    const text = edit(TOOL, [
      '    source: tools/greet.py\n',
      '    source: tools/other.py\n    source: tools/greet.py\n',
    ]);
    const found = await dupes({ 'tools/greet.yaml': text });
    expect(found).toEqual([
      expect.objectContaining({
        code: 'yaml/duplicate-key-unread',
        severity: 'warning',
        line: lineOf(text, 'source: tools/greet.py'),
        path: '/extra/python/source',
      }),
    ]);
    expect(found[0]!.message).toBe(
      `"source" is written twice in extra.python (lines ${lineOf(text, 'tools/other.py')} and ${lineOf(text, 'source: tools/greet.py')}); the daemon does not check it there, and the Python SDK keeps the value of line ${lineOf(text, 'source: tools/greet.py')}`,
    );
  });

  it('in a field the daemon decodes is an error, and the rest of the file is still checked', async () => {
    const text = edit(TOOL, ['  name: greet\n', '  name: greet\n  name: greet2\n']);
    const found = await dupes({ 'tools/greet.yaml': text });
    expect(found.map((d) => [d.code, d.severity, d.line])).toEqual([['yaml/duplicate-key', 'error', 3]]);
    expect(found[0]!.message).toMatch(/^"name" is written twice in identity \(lines 2 and 3\): the daemon refuses/);
  });

  it('follows the daemon structs: known fields, maps, free-form maps, unknown keys, hand-walked maps', async () => {
    expect(await daemonRefusesDuplicate('manifest', [], 'name')).toBe(true);
    expect(await daemonRefusesDuplicate('bundle', ['dependencies', 0], 'type')).toBe(true);
    expect(await daemonRefusesDuplicate('manifest', [], 'no_such_field')).toBe(false);
    expect(await daemonRefusesDuplicate('manifest', ['label'], 'en_US')).toBe(true);
    expect(await daemonRefusesDuplicate('tool', ['output_schema', 'properties', 'x'], 'type')).toBe(true);
    expect(await daemonRefusesDuplicate('tool', ['parameters', 0], 'name')).toBe(true);
    expect(await daemonRefusesDuplicate('tool', ['extra'], 'python')).toBe(false);
    expect(await daemonRefusesDuplicate('tool', ['unknown', 'deeper'], 'x')).toBe(false);
    expect(await daemonRefusesDuplicate('tool-provider', ['credentials_for_provider'], 'api_key')).toBe(false);
    expect(await daemonRefusesDuplicate('tool-provider', ['credentials_for_provider', 'api_key'], 'type')).toBe(true);
  });
});
