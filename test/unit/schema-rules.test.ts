import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnosticsOf, EXAMPLE, pluginWith, REAL_FIXTURES, REPO } from '../helpers/plugin.js';
import { edit, lineOf } from '../helpers/text.js';

/** A failing fixture for schema rules of each file kind: one edit of a valid plugin. */
interface Case {
  name: string;
  base: string;
  file: string;
  edits: [string, string][];
  expect: { code: string; severity: string; line: string; hint?: RegExp; message?: RegExp };
}

const real = (name: string) => path.join(REAL_FIXTURES, name);

const cases: Case[] = [
  {
    name: 'plugin name with spaces',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['name: hello_world', 'name: Hello World']],
    expect: { code: 'manifest/name-pattern', severity: 'error', line: 'name: Hello World' },
  },
  {
    name: 'runner version read as a number',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['version: "3.12"', 'version: 3.10']],
    expect: {
      code: 'manifest/meta.runner.version-type',
      severity: 'error',
      line: 'version: 3.10',
      message: /3\.10 was read as the number 3\.1/,
      hint: /quote it: version: "3\.10"/,
    },
  },
  {
    name: 'plugin version read as a number',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['version: 0.0.1\ntype', 'version: 1.10\ntype']],
    expect: { code: 'manifest/version-type', severity: 'error', line: 'version: 1.10', hint: /quote it/ },
  },
  {
    name: 'unknown architecture',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['    - arm64', '    - x86']],
    expect: { code: 'manifest/meta.arch-enum', severity: 'error', line: '- x86' },
  },
  {
    name: 'missing label',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['label:\n  en_US: Hello World\n  zh_Hans: 你好，世界\n', '']],
    expect: { code: 'manifest/label-required', severity: 'error', line: 'version: 0.0.1' },
  },
  {
    name: 'misspelt key',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['privacy:', 'privcy:']],
    expect: { code: 'manifest/unknown-key', severity: 'warning', line: 'privcy:', hint: /did you mean "privacy"/ },
  },
  {
    name: 'unknown locale',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['  zh_Hans: 你好，世界', '  zh_Hans: 你好，世界\n  de_DE: Hallo Welt']],
    expect: { code: 'manifest/label-unknown-locale', severity: 'warning', line: 'de_DE:' },
  },
  {
    name: 'storage too small',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['permission: {}', 'permission:\n    storage:\n      enabled: true\n      size: 10']],
    expect: { code: 'manifest/resource.permission.storage.size-range', severity: 'error', line: 'size: 10' },
  },
  {
    name: 'storage without a size',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['permission: {}', 'permission:\n    storage:\n      enabled: false']],
    expect: { code: 'manifest/resource.permission.storage.size-required', severity: 'error', line: 'enabled: false' },
  },
  {
    name: 'unknown tag',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['  - utilities', '  - utilites']],
    expect: { code: 'manifest/tags-enum', severity: 'error', line: '- utilites', hint: /did you mean "utilities"/ },
  },
  {
    name: 'rag and trigger are valid tags',
    base: EXAMPLE,
    file: 'manifest.yaml',
    edits: [['  - utilities', '  - rag\n  - trigger\n  - bogus']],
    expect: { code: 'manifest/tags-enum', severity: 'error', line: '- bogus' },
  },
  {
    name: 'tool provider name with spaces',
    base: EXAMPLE,
    file: 'provider/hello_world.yaml',
    edits: [['  name: hello_world', '  name: hello world']],
    expect: { code: 'tool-provider/identity.name-pattern', severity: 'warning', line: 'name: hello world' },
  },
  {
    name: 'credentials_for_provider as a list',
    base: EXAMPLE,
    file: 'provider/hello_world.yaml',
    edits: [
      [
        'tools:\n',
        'credentials_for_provider:\n  - name: key\n    type: secret-input\n    label: {en_US: Key}\ntools:\n',
      ],
    ],
    expect: {
      code: 'tool-provider/credentials_for_provider-type',
      severity: 'error',
      line: '- name: key',
      hint: /mapping/,
    },
  },
  {
    name: 'tool parameter type from another kind',
    base: EXAMPLE,
    file: 'tools/greet.yaml',
    edits: [['    type: string', '    type: text-input']],
    expect: { code: 'tool/parameters.type-enum', severity: 'error', line: 'type: text-input' },
  },
  {
    name: 'tool without an llm description',
    base: EXAMPLE,
    file: 'tools/greet.yaml',
    edits: [['  llm: Greets', '  lm: Greets']],
    expect: { code: 'tool/description.llm-required', severity: 'error', line: 'human:' },
  },
  {
    name: 'quoted boolean',
    base: EXAMPLE,
    file: 'tools/greet.yaml',
    edits: [['    required: true', '    required: "true"']],
    expect: {
      code: 'tool/parameters.required-type',
      severity: 'error',
      line: 'required: "true"',
      hint: /remove the quotes/,
    },
  },
  {
    name: 'unknown model property',
    base: real('anthropic'),
    file: 'models/llm/claude-opus-5.yaml',
    edits: [['  mode: chat', '  mode: chat\n  colour: blue']],
    expect: { code: 'model/model_properties-key-enum', severity: 'error', line: 'colour: blue' },
  },
  {
    name: 'unknown parameter template',
    base: real('anthropic'),
    file: 'models/llm/claude-opus-5.yaml',
    edits: [['use_template: max_tokens', 'use_template: max_token']],
    expect: {
      code: 'model/parameter_rules.use_template-enum',
      severity: 'error',
      line: 'use_template: max_token',
      hint: /did you mean "max_tokens"/,
    },
  },
  {
    name: 'models as a list',
    base: real('anthropic'),
    file: 'provider/anthropic.yaml',
    edits: [
      [
        'models:\n  llm:\n    position: models/llm/_position.yaml\n    predefined:\n    - models/llm/*.yaml',
        'models:\n- model: x\n  model_type: llm\n  model_properties: {}',
      ],
    ],
    expect: { code: 'model-provider/models-type', severity: 'error', line: '- model: x' },
  },
  {
    name: 'unknown model type',
    base: real('anthropic'),
    file: 'provider/anthropic.yaml',
    edits: [['supported_model_types:\n- llm', 'supported_model_types:\n- chat']],
    expect: { code: 'model-provider/supported_model_types-enum', severity: 'error', line: '- chat' },
  },
  {
    name: 'endpoint method in lower case',
    base: real('openai_compatible'),
    file: 'endpoints/openai_compatible.yaml',
    edits: [['method: "POST"', 'method: "post"']],
    expect: { code: 'endpoint/method-enum', severity: 'warning', line: 'method:' },
  },
  {
    name: 'endpoint setting of an unknown type',
    base: real('openai_compatible'),
    file: 'group/openai_compatible.yaml',
    edits: [['    type: secret-input', '    type: password']],
    expect: { code: 'endpoint-group/settings.type-enum', severity: 'error', line: 'type: password' },
  },
  {
    name: 'agent strategy parameter type',
    base: real('self_refine_agent'),
    file: 'strategies/self_refine.yaml',
    edits: [['    type: model-selector', '    type: model']],
    expect: { code: 'agent-strategy/parameters.type-enum', severity: 'error', line: 'type: model' },
  },
  {
    name: 'agent provider with an invalid tag',
    base: real('self_refine_agent'),
    file: 'provider/self_refine.yaml',
    edits: [['  icon: icon.svg', '  icon: icon.svg\n  tags: [not-a-tag]']],
    expect: { code: 'agent-strategy-provider/identity.tags-enum', severity: 'error', line: 'tags:' },
  },
  {
    name: 'datasource provider type',
    base: real('github'),
    file: 'provider/github.yaml',
    edits: [['provider_type: online_document', 'provider_type: online_docs']],
    expect: {
      code: 'datasource-provider/provider_type-enum',
      severity: 'error',
      line: 'provider_type:',
      message: /allowed: .*"online_document"/,
    },
  },
  {
    name: 'datasource without identity name',
    base: real('github'),
    file: 'datasources/github.yaml',
    edits: [['  name: github\n', '']],
    expect: { code: 'datasource/identity.name-required', severity: 'error', line: 'author: langgenius' },
  },
  {
    name: 'trigger event without description',
    base: real('twilio_trigger'),
    file: 'events/sms_received/sms_received.yaml',
    edits: [['description:\n  en_US: Triggered when an SMS', 'summary:\n  en_US: Triggered when an SMS']],
    expect: { code: 'trigger-event/description-required', severity: 'error', line: 'identity:' },
  },
  {
    name: 'trigger provider tags',
    base: real('twilio_trigger'),
    file: 'provider/twilio.yaml',
    edits: [['  name: twilio_trigger', '  name: twilio_trigger\n  tags: [webhooks]']],
    expect: { code: 'trigger-provider/identity.tags-count', severity: 'warning', line: 'tags:' },
  },
];

describe('schema rules report code, file and line', () => {
  it.each(cases)('$name → $expect.code', async ({ base, file, edits, expect: want }) => {
    const text = edit(readFileSync(path.join(base, file), 'utf8'), ...edits);
    const dir = await pluginWith({ [file]: text }, base);
    const found = (await diagnosticsOf(dir)).filter((d) => d.code === want.code);
    expect(found.map((d) => ({ file: d.file, line: d.line, severity: d.severity }))).toContainEqual({
      file,
      line: lineOf(text, want.line),
      severity: want.severity,
    });
    const d = found[0]!;
    if (want.hint) expect(d.hint).toMatch(want.hint);
    if (want.message) expect(d.message).toMatch(want.message);
  });
});

describe('string lengths count characters, not UTF-16 units', () => {
  const labelled = (label: string) =>
    edit(readFileSync(path.join(EXAMPLE, 'manifest.yaml'), 'utf8'), ['  en_US: Hello World', `  en_US: '${label}'`]);
  const lengthErrors = async (label: string) =>
    (await diagnosticsOf(await pluginWith({ 'manifest.yaml': labelled(label) }, EXAMPLE))).filter(
      (d) => d.code === 'manifest/label.en_US-length',
    );

  it('accepts 1023 emoji (2046 UTF-16 units) in a label limited to 1023 characters', async () => {
    expect(await lengthErrors('😀'.repeat(1023))).toEqual([]);
  });

  it('rejects 1024 emoji, and 1024 plain letters', async () => {
    expect(await lengthErrors('😀'.repeat(1024))).toHaveLength(1);
    expect(await lengthErrors('a'.repeat(1024))).toHaveLength(1);
  });
});

describe('published schemas', () => {
  it('carry no $id, so an editor resolves each $ref beside the (versioned) file it fetched', () => {
    const dir = path.join(REPO, 'schemas');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json'))) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      expect(JSON.parse(text), file).not.toHaveProperty('$id');
      for (const [, target] of text.matchAll(/"\$ref": "([^"#]+)#/g))
        expect(existsSync(path.join(dir, target!)), `${file} → ${target}`).toBe(true);
    }
  });
});
