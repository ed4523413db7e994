import { describe, expect, it } from 'vitest';
import { buildRegistration, RegistrationError, type RegistrationMessage } from '../../src/debug/registration/index.js';
import { DirectorySource } from '../../src/project/directory-source.js';
import { loadProject } from '../../src/project/load.js';
import { pluginWith, type Overrides } from '../helpers/plugin.js';

const KEY = '00000000-0000-0000-0000-000000000000';

async function registrationOf(dir: string): Promise<RegistrationMessage[]> {
  return buildRegistration(await loadProject(await DirectorySource.open(dir)), KEY);
}

/** The example plugin with some files replaced, registered. */
async function registrationWith(overrides: Overrides): Promise<RegistrationMessage[]> {
  return registrationOf(await pluginWith(overrides));
}

function dataOf(messages: RegistrationMessage[], type: string): any {
  return messages.find((m) => m.type === type)?.data;
}

// What the seven real plugins register is compared with what the Python SDK sends through the
// CLI, `run --dry-run`, in test/commands/run.test.ts.

const TOOL_WITH_OPTIONS = `
identity:
  name: greet
  author: dify-plugin-cli
  label:
    en_US: Greet
description:
  human:
    en_US: Says hello.
  llm: Greets.
parameters:
  - name: count
    type: select
    form: form
    label:
      en_US: Count
    human_description:
      en_US: How many.
    default: 1
    options:
      - value: 1
        label:
          en_US: One
      - value: 2.5
        label:
          en_US: Two and a half
      - value: 3.0
        label:
          en_US: Three
      - value: true
        label:
          en_US: Yes
      - value: "4"
        label:
          en_US: Four
        show_on:
          - variable: mode
            value: advanced
unknown_key: dropped
extra:
  python:
    source: tools/greet.py
`;

describe('tool declarations', () => {
  it('turns option values into Python text and fills every field the SDK defines', async () => {
    const tools = dataOf(await registrationWith({ 'tools/greet.yaml': TOOL_WITH_OPTIONS }), 'tool_declaration');
    const tool = tools[0].tools[0];
    expect(Object.keys(tool)).toEqual([
      'identity',
      'parameters',
      'description',
      'extra',
      'has_runtime_parameters',
      'output_schema',
    ]);
    const parameter = tool.parameters[0];
    expect(parameter.options.map((o: { value: unknown }) => o.value)).toEqual(['1', '2.5', '3.0', 'True', '4']);
    expect(parameter.options[0]).toEqual({
      value: '1',
      label: { zh_Hans: 'One', pt_BR: 'One', ja_JP: 'One', en_US: 'One' },
      icon: null,
      show_on: [],
    });
    expect(parameter.options[4].show_on).toEqual([{ variable: 'mode', value: 'advanced' }]);
    expect(parameter).toMatchObject({
      default: 1,
      required: false,
      multiple: false,
      llm_description: null,
      show_on: [],
    });
    expect(tool.has_runtime_parameters).toBe(false);
  });

  it('fills the missing locales of an I18n object from en_US and drops the others', async () => {
    const tools = dataOf(
      await registrationWith({
        'provider/hello_world.yaml': `
identity:
  author: a
  name: hello_world
  label: {en_US: Hello, zh_Hans: 你好, de_DE: Hallo, ja_JP: ""}
  description: {en_us: by field name}
  icon: icon.svg
tools: [tools/greet.yaml]
extra: {python: {source: provider/hello_world.py}}
`,
      }),
      'tool_declaration',
    );
    expect(tools[0].identity.label).toEqual({ zh_Hans: '你好', pt_BR: 'Hello', ja_JP: 'Hello', en_US: 'Hello' });
    expect(tools[0].identity.description).toEqual({
      zh_Hans: 'by field name',
      pt_BR: 'by field name',
      ja_JP: 'by field name',
      en_US: 'by field name',
    });
    expect(tools[0].identity).toMatchObject({ icon_dark: null, tags: [] });
  });

  it('sends credentials_for_provider as the list credentials_schema, each with its name', async () => {
    const tools = dataOf(
      await registrationWith({
        'provider/hello_world.yaml': `
identity: {author: a, name: hello_world, label: {en_US: Hello}, description: {en_US: Hi}, icon: icon.svg}
credentials_for_provider:
  api_key:
    type: secret-input
    required: true
    label: {en_US: API key}
  region:
    name: ignored
    type: select
    label: {en_US: Region}
    options:
      - value: eu
        label: {en_US: Europe}
credentials_schema:
  ignored: {type: text-input, label: {en_US: Ignored}}
tools: [tools/greet.yaml]
extra: {python: {source: provider/hello_world.py}}
`,
      }),
      'tool_declaration',
    );
    const [apiKey, region] = tools[0].credentials_schema;
    expect(tools[0].credentials_schema).toHaveLength(2);
    expect(apiKey).toEqual({
      name: 'api_key',
      type: 'secret-input',
      scope: null,
      required: true,
      default: null,
      options: null,
      multiple: false,
      label: { zh_Hans: 'API key', pt_BR: 'API key', ja_JP: 'API key', en_US: 'API key' },
      help: null,
      url: null,
      placeholder: null,
    });
    expect(region.name).toBe('region');
    expect(region.options).toEqual([
      { value: 'eu', label: { zh_Hans: 'Europe', pt_BR: 'Europe', ja_JP: 'Europe', en_US: 'Europe' } },
    ]);
    expect(tools[0].oauth_schema).toBeNull();
  });
});

const MODEL_MANIFEST = `
version: 0.0.1
type: plugin
author: a
name: demo
label: {en_US: Demo}
description: {en_US: Demo}
icon: icon.svg
resource: {memory: 1048576}
plugins:
  models: [provider/demo.yaml]
meta: {version: 0.0.1, arch: [amd64], runner: {language: python, version: "3.12", entrypoint: main}}
created_at: 2024-09-20T08:03:44.658609186Z
`;

const MODEL_PROVIDER = `
provider: demo
label: {en_US: Demo}
icon_small: {en_US: icon.svg}
supported_model_types: [llm]
configurate_methods: [predefined-model]
provider_credential_schema:
  credential_form_schemas:
    - variable: api_key
      label: {en_US: API key}
      type: select
      options:
        - value: a
models:
  llm:
    position: models/order.yaml
    predefined: ["models/llm/*.yaml"]
extra: {python: {provider_source: provider/demo.py}}
`;

const MODEL = `
model: demo-1
model_type: llm
model_properties: {mode: chat, context_size: 8192}
parameter_rules:
  - name: temperature
    use_template: temperature
  - name: max_tokens
    use_template: max_tokens
    max: 4096
    default: null
  - name: custom
    type: int
  - name: unknown_template
    use_template: no_such_template
    type: string
pricing:
  input: 0.000001
  output: 5.0
  unit: "0.000001"
  currency: USD
`;

describe('model declarations', () => {
  const modelPlugin = (extra: Overrides = {}) =>
    registrationWith({
      'manifest.yaml': MODEL_MANIFEST,
      'provider/demo.yaml': MODEL_PROVIDER,
      'models/llm/demo-1.yaml': MODEL,
      'models/llm/_position.yaml': '- demo-1\n',
      'models/order.yaml': '- other\n',
      'provider/hello_world.yaml': null,
      ...extra,
    });

  it('expands parameter-rule templates, YAML keys overriding them', async () => {
    const [provider] = dataOf(await modelPlugin(), 'model_declaration');
    const [temperature, maxTokens, custom, unknown] = provider.models[0].parameter_rules;
    expect(temperature).toEqual({
      name: 'temperature',
      use_template: 'temperature',
      label: { zh_Hans: '温度', pt_BR: 'Temperature', ja_JP: 'Temperature', en_US: 'Temperature' },
      type: 'float',
      help: expect.objectContaining({ en_US: expect.stringMatching(/^Controls randomness\./) }),
      required: false,
      default: 0,
      min: 0,
      max: 1,
      precision: 2,
      options: [],
    });
    expect(maxTokens).toMatchObject({ type: 'int', min: 1, max: 4096, default: null, precision: 0 });
    expect(custom).toMatchObject({ label: { en_US: 'custom', zh_Hans: 'custom' }, help: null, min: null, options: [] });
    expect(unknown).toMatchObject({
      use_template: 'no_such_template',
      type: 'string',
      label: { en_US: 'unknown_template' },
      help: null,
    });
  });

  it('sends prices as Decimal text, the model label and the defaults of a model', async () => {
    const [provider] = dataOf(await modelPlugin(), 'model_declaration');
    const model = provider.models[0];
    expect(model.pricing).toEqual({ input: '0.000001', output: '5.0', unit: '0.000001', currency: 'USD' });
    expect(model).toMatchObject({
      label: { en_US: 'demo-1', zh_Hans: 'demo-1' },
      features: null,
      fetch_from: 'predefined-model',
      deprecated: false,
    });
  });

  it('takes positions from _position.yaml files the globs match, not from the position key', async () => {
    const [provider] = dataOf(await modelPlugin(), 'model_declaration');
    expect(provider.position).toEqual({
      llm: ['demo-1'],
      text_embedding: [],
      rerank: [],
      tts: [],
      speech2text: [],
      moderation: [],
    });
    expect(provider.models.map((m: { model: string }) => m.model)).toEqual(['demo-1']);
    const form = provider.provider_credential_schema.credential_form_schemas[0];
    expect(form).toMatchObject({ required: true, max_length: 0, show_on: [], placeholder: null, default: null });
    expect(form.options).toEqual([
      { label: { zh_Hans: 'a', pt_BR: 'a', ja_JP: 'a', en_US: 'a' }, value: 'a', show_on: [] },
    ]);
    expect(provider).toMatchObject({ description: null, icon_large: null, help: null, model_credential_schema: null });
    expect(provider.extra).toEqual({ python: { provider_source: 'provider/demo.py', model_sources: [] } });
  });

  it('leaves position null when no glob matches a _position.yaml', async () => {
    const [provider] = dataOf(await modelPlugin({ 'models/llm/_position.yaml': null }), 'model_declaration');
    expect(provider.position).toBeNull();
  });
});

describe('created_at', () => {
  const createdAt = async (written: string) => {
    const manifest = MODEL_MANIFEST.replace(/^created_at: .*$/m, `created_at: ${written}`);
    return dataOf(await registrationWith({ 'manifest.yaml': manifest }), 'manifest_declaration').created_at;
  };

  it.each([
    ['2024-09-20T08:03:44.658609186Z', '2024-09-20T08:03:44.658609Z'],
    ['"2025-01-15T16:00:00.000000+08:00"', '2025-01-15T16:00:00+08:00'],
    ['2024-09-20', '2024-09-20T00:00:00'],
    ['2024-09-20T08:03:44', '2024-09-20T08:03:44'],
    ['2024-09-20 08:03:44.5 -05:30', '2024-09-20T08:03:44.500000-05:30'],
    ['2024-09-20T08:03:44+00:00', '2024-09-20T08:03:44Z'],
    ['not a date', 'not a date'],
  ])('%s → %s', async (written, sent) => {
    expect(await createdAt(written)).toBe(sent);
  });
});

describe('manifest', () => {
  it('drops keys the SDK model lacks and fills its defaults', async () => {
    const manifest = dataOf(await registrationWith({}), 'manifest_declaration');
    expect(manifest).not.toHaveProperty('tags');
    expect(manifest).not.toHaveProperty('privacy');
    expect(manifest).toMatchObject({ repo: null, icon_dark: null });
    expect(manifest.resource.permission).toEqual({
      tool: null,
      model: null,
      node: null,
      endpoint: null,
      app: null,
      storage: null,
    });
    expect(manifest.plugins).toEqual({
      tools: ['provider/hello_world.yaml'],
      models: [],
      endpoints: [],
      agent_strategies: [],
      datasources: [],
      triggers: [],
    });
  });
});

/** The example's manifest, declaring `plugins` as given instead of its tool. */
function manifestWith(plugins: string): string {
  return MODEL_MANIFEST.replace(/^plugins:\n.*\n/m, `plugins:\n${plugins}\n`);
}

describe('endpoint, agent strategy, datasource and trigger declarations', () => {
  it('reads endpoints from files and inline mappings alike', async () => {
    const messages = await registrationWith({
      'manifest.yaml': manifestWith('  endpoints: [group/demo.yaml]'),
      'group/demo.yaml': `
settings:
  - {name: token, type: secret-input, required: yes, label: {en_US: Token}}
endpoints:
  - endpoints/get.yaml
  - {path: /inline, method: post, hidden: true, extra: {python: {source: endpoints/inline.py}}}
`,
      'endpoints/get.yaml': 'path: /items/<id>\nmethod: GET\nextra: {python: {source: endpoints/get.py}}\n',
    });
    expect(messages.map((m) => m.type)).toEqual([
      'handshake',
      'manifest_declaration',
      'endpoint_declaration',
      'asset_chunk',
      'end',
    ]);
    const [group] = dataOf(messages, 'endpoint_declaration');
    expect(group.settings[0]).toMatchObject({ name: 'token', required: true, multiple: false });
    expect(group.endpoints).toEqual([
      { path: '/items/<id>', method: 'GET', hidden: false, extra: { python: { source: 'endpoints/get.py' } } },
      { path: '/inline', method: 'post', hidden: true, extra: { python: { source: 'endpoints/inline.py' } } },
    ]);
  });

  it('sends agent strategies with the fields the SDK computes itself', async () => {
    const messages = await registrationWith({
      'manifest.yaml': manifestWith('  agent_strategies: [provider/agent.yaml]'),
      'provider/agent.yaml': `
identity: {author: a, name: agent, label: {en_US: Agent}, description: {en_US: An agent}, icon: icon.svg}
strategies: [strategies/react.yaml]
extra: {python: {source: provider/agent.py}}
`,
      'strategies/react.yaml': `
identity: {author: a, name: react, label: {en_US: ReAct}}
description: {en_US: Reason and act}
output_schema: {type: object}
parameters:
  - {name: rounds, type: number, label: {en_US: Rounds}, default: true, min: "1", max: 10}
extra: {python: {source: strategies/react.py}}
`,
    });
    const [provider] = dataOf(messages, 'agent_strategy_declaration');
    expect(provider).not.toHaveProperty('extra');
    const strategy = provider.strategies[0];
    expect(strategy).toMatchObject({ has_runtime_parameters: false, output_schema: null, features: [] });
    expect(strategy.parameters[0]).toMatchObject({
      default: 1,
      min: 1,
      max: 10,
      required: false,
      help: null,
      options: null,
    });
  });

  it('sends datasources with their defaults', async () => {
    const messages = await registrationWith({
      'manifest.yaml': manifestWith('  datasources: [provider/ds.yaml]'),
      'provider/ds.yaml': `
identity: {author: a, name: ds, label: {en_US: DS}, description: {en_US: A source}, icon: icon.svg}
provider_type: website_crawl
credentials_schema:
  - {name: key, type: secret-input, label: {en_US: Key}}
datasources: [datasources/crawl.yaml]
extra: {python: {source: provider/ds.py}}
`,
      'datasources/crawl.yaml': `
identity: {author: a, name: crawl, label: {en_US: Crawl}}
description: {en_US: Crawls}
parameters:
extra: {python: {source: datasources/crawl.py}}
`,
    });
    const [provider] = dataOf(messages, 'datasource_declaration');
    expect(provider.identity.tags).toEqual([]);
    expect(provider.credentials_schema[0].name).toBe('key');
    expect(provider.datasources[0]).toMatchObject({ parameters: [], output_schema: {}, identity: { icon: null } });
  });

  it('sends triggers with their subscription constructor', async () => {
    const messages = await registrationWith({
      'manifest.yaml': manifestWith('  triggers: [provider/trigger.yaml]'),
      'provider/trigger.yaml': `
identity: {author: a, name: hook, label: {en_US: Hook}, description: {en_US: Hooks}, icon: icon.svg}
credentials_schema: {dropped: {type: text-input, label: {en_US: Dropped}}}
subscription_constructor:
  credentials_schema:
    - {name: token, type: secret-input, label: {en_US: Token}}
  oauth_schema:
    client_schema:
      - {name: client_id, type: text-input, label: {en_US: Client ID}}
  extra: {python: {source: provider/trigger.py}}
events: [events/ping.yaml]
extra: {python: {source: provider/trigger.py}}
`,
      'events/ping.yaml': `
identity: {author: a, name: ping, label: {en_US: Ping}}
description: {en_US: A ping}
parameters:
  - {name: kind, type: select, label: {en_US: Kind}, options: [{value: 7, label: {en_US: Seven}}]}
extra: {python: {source: events/ping.py}}
`,
    });
    const [provider] = dataOf(messages, 'trigger_declaration');
    expect(provider).not.toHaveProperty('credentials_schema');
    expect(provider.subscription_schema).toEqual([]);
    expect(provider.subscription_constructor.credentials_schema[0].name).toBe('token');
    expect(provider.subscription_constructor.oauth_schema.client_schema[0].name).toBe('client_id');
    expect(provider.subscription_constructor.oauth_schema.credentials_schema).toEqual([]);
    expect(provider.subscription_constructor.parameters).toEqual([]);
    const parameter = provider.events[0].parameters[0];
    expect(parameter).toMatchObject({ multiple: false, description: null, default: null });
    expect(parameter.options).toEqual([
      { value: '7', label: { zh_Hans: 'Seven', pt_BR: 'Seven', ja_JP: 'Seven', en_US: 'Seven' }, icon: null },
    ]);
    expect(provider.events[0].output_schema).toBeNull();
  });

  it('passes values of unexpected shapes through instead of failing', async () => {
    const messages = await registrationWith({
      'provider/hello_world.yaml': `
identity: just text
credentials_for_provider: [{name: listed, type: text-input, label: {en_US: Listed}}]
oauth_schema: 3
tools: [tools/greet.yaml]
extra: null
`,
      'tools/greet.yaml': `
identity: {author: a, name: greet, label: [not, i18n]}
parameters: {not: a list}
description: {human: {en_US: Hi}, llm: 42}
extra: {python: {source: tools/greet.py}}
`,
    });
    const [provider] = dataOf(messages, 'tool_declaration');
    expect(provider).toMatchObject({ identity: 'just text', oauth_schema: 3, extra: null });
    expect(provider.credentials_schema[0].name).toBe('listed');
    expect(provider.tools[0]).toMatchObject({
      identity: { label: ['not', 'i18n'] },
      parameters: { not: 'a list' },
      description: { llm: 42 },
    });
  });
});

describe('message order and assets', () => {
  it('sends the handshake first, declarations that exist, assets, then end', async () => {
    const messages = await registrationWith({});
    expect(messages.map((m) => m.type)).toEqual([
      'handshake',
      'manifest_declaration',
      'tool_declaration',
      'asset_chunk',
      'end',
    ]);
    expect(messages[0]).toEqual({ type: 'handshake', data: { key: KEY } });
    expect(messages.at(-1)).toEqual({ type: 'end', data: {} });
  });

  it('splits an asset into 8192-byte chunks, end only on the last, and skips empty files', async () => {
    const big = Buffer.alloc(20000, 0);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 256;
    const messages = await registrationWith({
      '_assets/big.bin': big,
      '_assets/empty.txt': '',
      '_assets/sub/nested.svg': '<svg/>',
    });
    const chunks = messages
      .filter((m) => m.type === 'asset_chunk')
      .map((m) => m.data as { filename: string; data: string; end: boolean });
    expect(chunks.map((c) => [c.filename, c.end])).toEqual([
      ['big.bin', false],
      ['big.bin', false],
      ['big.bin', true],
      ['icon.svg', true],
    ]);
    const decoded = chunks.filter((c) => c.filename === 'big.bin').map((c) => Buffer.from(c.data, 'base64'));
    expect(decoded.map((b) => b.length)).toEqual([8192, 8192, 3616]);
    expect(Buffer.concat(decoded).equals(big)).toBe(true);
  });

  it('refuses a plugin without _assets/', async () => {
    const dir = await pluginWith({ _assets: null });
    await expect(registrationOf(dir)).rejects.toThrow(RegistrationError);
    await expect(registrationOf(dir)).rejects.toThrow(/_assets/);
  });
});
