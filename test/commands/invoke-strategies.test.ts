import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { pluginWith, REPO, tempDir } from '../helpers/plugin.js';

// `dify plugin invoke` for agent strategies and datasources, against the fake plugin, which
// answers these requests as the Python SDK's executor does (test/helpers/fake-plugin.mjs).

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');
const SECRET = 'sk-very-secret-4711';

/** The bundled example's manifest with its tool provider replaced by one provider of `list`. */
function manifest(list: 'agent_strategies' | 'datasources', provider: string): string {
  const example = readFileSync(path.join(REPO, 'examples', 'hello-world', 'manifest.yaml'), 'utf8');
  return example.replace(
    /plugins:\n {2}tools:\n {4}- provider\/hello_world\.yaml\n/,
    `plugins:\n  ${list}:\n    - ${provider}\n`,
  );
}

/** The example plugin without its tool: the files of one other provider instead. */
const WITHOUT_TOOL = { tools: null, 'provider/hello_world.yaml': null, 'provider/hello_world.py': null };

const label = (text: string) => `label:\n      en_US: ${text}`;
const parameter = (name: string, type: string, more = '') =>
  `  - name: ${name}\n    type: ${type}\n    ${label(name)}\n    description:\n      en_US: ${name}\n${more}`;

function strategy(name: string): Record<string, string> {
  return {
    [`strategies/${name}.yaml`]: `identity:
  name: ${name}
  author: test
  ${label(name).replace('\n    ', '\n  ')}
description:
  en_US: ${name}
parameters:
${parameter('model', 'model-selector', '    scope: tool-call&llm\n    required: true\n')}${parameter('tools', 'array[tools]')}${parameter('query', 'string', '    required: true\n')}${parameter('maximum_iterations', 'number', '    required: true\n    default: 3\n')}extra:
  python:
    source: strategies/${name}.py
`,
    [`strategies/${name}.py`]: `from dify_plugin.interfaces.agent import AgentStrategy\n\n\nclass S(AgentStrategy):\n    pass\n`,
  };
}

/** The SDK module and class a datasource of each provider type extends. */
const CLASSES: Record<string, [string, string]> = {
  website_crawl: ['website', 'WebsiteCrawlDatasource'],
  online_document: ['online_document', 'OnlineDocumentDatasource'],
  online_drive: ['online_drive', 'OnlineDriveDatasource'],
};

/** A datasource plugin: one provider of `type` with one datasource `name` and its parameters. */
function datasourcePlugin(provider: string, type: string, credentials: string, name: string, parameters = '') {
  const [module, base] = CLASSES[type]!;
  return pluginWith({
    ...WITHOUT_TOOL,
    'manifest.yaml': manifest('datasources', `provider/${provider}.yaml`),
    [`provider/${provider}.yaml`]: `identity:
  author: test
  name: ${provider}
  label:
    en_US: ${provider}
  description:
    en_US: ${provider}
  icon: icon.svg
provider_type: ${type}
${credentials}datasources:
  - datasources/${name}.yaml
extra:
  python:
    source: provider/${provider}.py
`,
    [`provider/${provider}.py`]: `from dify_plugin.interfaces.datasource import DatasourceProvider\n\n\nclass P(DatasourceProvider):\n    pass\n`,
    [`datasources/${name}.yaml`]: `identity:
  name: ${name}
  author: test
  label:
    en_US: ${name}
description:
  en_US: ${name}
parameters:
${parameters}extra:
  python:
    source: datasources/${name}.py
`,
    [`datasources/${name}.py`]: `from dify_plugin.interfaces.datasource.${module} import ${base}\n\n\nclass D(${base}):\n    pass\n`,
  });
}

const plugins = { agent: '', crawler: '', docs: '', drive: '' };
beforeAll(async () => {
  plugins.agent = await pluginWith({
    ...WITHOUT_TOOL,
    'manifest.yaml': manifest('agent_strategies', 'provider/agent.yaml'),
    'provider/agent.yaml': `identity:
  author: test
  name: agent
  label:
    en_US: Agent
  description:
    en_US: Agent
  icon: icon.svg
strategies:
  - strategies/echo.yaml
  - strategies/ask_model.yaml
`,
    ...strategy('echo'),
    ...strategy('ask_model'),
  });
  plugins.crawler = await datasourcePlugin(
    'crawler',
    'website_crawl',
    `credentials_schema:\n  - name: api_key\n    type: secret-input\n    required: true\n    ${label('API key').replace('\n    ', '\n      ')}\n`,
    'crawl',
    parameter('url', 'string', '    required: true\n') +
      parameter('limit', 'number', '    default: 10\n') +
      parameter('subpages', 'boolean'),
  );
  plugins.docs = await datasourcePlugin(
    'docs',
    'online_document',
    `oauth_schema:\n  client_schema: []\n  credentials_schema:\n    - name: access_token\n      type: secret-input\n      ${label('Token').replace('\n    ', '\n        ')}\n`,
    'pages',
  );
  plugins.drive = await datasourcePlugin('drive', 'online_drive', '', 'files');
});

/** `dify plugin invoke <plugin> <args>` with the fake interpreter; `sent` is the request line's data. */
async function invoke(plugin: string | null, args: string[], env: Record<string, string> = {}, cwd?: string) {
  const work = cwd ?? (await tempDir());
  const log = path.join(work, 'received.log');
  const r = await runCli(['plugin', 'invoke', ...(plugin === null ? [] : [plugin]), ...args, '--python', FAKE_PYTHON], {
    cwd: work,
    env: { FAKE_HEARTBEAT_MS: '200', TMPDIR: work, FAKE_LOG_FILE: log, ...env },
  });
  const lines = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  const sent = lines.map((l) => (JSON.parse(l) as { data: Record<string, unknown> }).data);
  return { ...r, cwd: work, sent: sent[0] };
}

const MODEL = {
  provider: 'langgenius/openai/openai',
  model: 'gpt-4o',
  model_type: 'llm',
  mode: 'chat',
  completion_params: {},
};

describe('dify plugin invoke agent_strategy', () => {
  it('sends the strategy request with its parameters and renders its messages', async () => {
    const work = await tempDir();
    await writeFile(path.join(work, 'p.yaml'), `model: ${JSON.stringify(MODEL)}\ntools: []\n`);
    const r = await invoke(
      plugins.agent,
      ['agent_strategy', 'agent/echo', '--params', 'p.yaml', '--param', 'query=hi'],
      {},
      work,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const params = { model: MODEL, tools: [], query: 'hi', maximum_iterations: 3 };
    expect(r.stdout).toBe(
      ['log [start] ROUND 1', 'strategy agent/echo', JSON.stringify(params, null, 2), ''].join('\n'),
    );
    // AgentInvokeRequest: no credentials, the declared default filled in
    expect(r.sent).toEqual({
      user_id: expect.any(String) as unknown,
      type: 'agent_strategy',
      action: 'invoke_agent_strategy',
      agent_strategy_provider: 'agent',
      agent_strategy: 'echo',
      agent_strategy_params: params,
    });
  });

  it('reads a selector given as JSON text in --param', async () => {
    const r = await invoke(plugins.agent, [
      'agent_strategy',
      'agent/echo',
      '--param',
      `model=${JSON.stringify(MODEL)}`,
      '--param',
      'query=hi',
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect(r.sent?.agent_strategy_params).toEqual({ model: MODEL, query: 'hi', maximum_iterations: 3 });
    // --format json: the AgentInvokeMessage lines as streamed
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.type)).toEqual(['log', 'text', 'json']);
    expect(lines[1]).toEqual({ type: 'text', message: { text: 'strategy agent/echo' }, meta: null });
  });

  it('fails with the clear error of the model call it made without Dify', async () => {
    const r = await invoke(plugins.agent, [
      'agent_strategy',
      'agent/ask_model',
      '--param',
      `model=${JSON.stringify(MODEL)}`,
      '--param',
      'query=hi',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('log [start] ROUND 1\n');
    expect(r.stderr).toContain(
      'error: the plugin failed: InvokeError: model invocation is not available without Dify (backwards invocation "llm"',
    );
  });

  const findings: [string, string[], string, string][] = [
    ['a required parameter missing', ['agent/echo', '--param', 'query=hi'], 'invoke/missing-parameter', '"model"'],
    [
      'a selector not JSON',
      ['agent/echo', '--param', 'model=gpt-4o', '--param', 'query=hi'],
      'invoke/wrong-type',
      'not a JSON object',
    ],
    [
      'tools not a list',
      ['agent/echo', '--param', 'model={}', '--param', 'tools={}', '--param', 'query=q'],
      'invoke/wrong-type',
      'not a JSON list',
    ],
    ['an unknown strategy', ['agent/ehco'], 'invoke/unknown-agent-strategy', 'did you mean "echo"?'],
    ['an unknown provider', ['agnet/echo'], 'invoke/unknown-agent-strategy', 'its agent strategy providers: agent'],
  ];
  it.each(findings)('refuses %s before starting anything', async (_, args, code, text) => {
    const r = await invoke(plugins.agent, ['agent_strategy', ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(code);
    expect(r.stderr).toContain(text);
    expect(r.stderr).toContain('nothing was started');
    expect(r.sent).toBeUndefined();
  });
});

describe('dify plugin invoke datasource', () => {
  it('website crawl: the declared parameters, the credentials, the progress and the pages', async () => {
    const r = await invoke(plugins.crawler, ['datasource', 'crawler/crawl', '--param', 'url=https://example.com'], {
      DIFY_CREDENTIAL_API_KEY: SECRET,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const page = {
      source_url: 'https://example.com',
      content: '# https://example.com',
      title: 'Fake page',
      description: 'crawled by the fake plugin',
    };
    expect(r.stdout).toBe(
      ['crawl processing: 0 of 1 pages', 'crawl completed: 1 of 1 pages', JSON.stringify([page], null, 2), ''].join(
        '\n',
      ),
    );
    expect(r.sent).toEqual({
      user_id: expect.any(String) as unknown,
      type: 'datasource',
      action: 'invoke_website_datasource_get_crawl',
      provider: 'crawler',
      datasource: 'crawl',
      credentials: { api_key: SECRET },
      datasource_parameters: { url: 'https://example.com', limit: 10 },
    });
  });

  it('website crawl: --format json prints the crawl messages; a missing credential is warned about', async () => {
    const r = await invoke(plugins.crawler, [
      'datasource',
      'crawler/crawl',
      'crawl',
      '--param',
      'url=u',
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: the provider requires the credential "api_key"');
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { result: { status: string } });
    expect(lines.map((l) => l.result.status)).toEqual(['processing', 'completed']);
  });

  it('online document pages, with the OAuth credential under its declared name', async () => {
    const r = await invoke(plugins.docs, ['datasource', 'docs/pages', 'pages'], {
      DIFY_CREDENTIAL_ACCESS_TOKEN: SECRET,
    });
    expect(r.code).toBe(0);
    expect(r.sent).toMatchObject({
      action: 'invoke_online_document_datasource_get_pages',
      credentials: { access_token: SECRET },
      datasource_parameters: {},
    });
    const result = JSON.parse(r.stdout) as Array<{ workspace_name: string; pages: Array<{ page_id: string }> }>;
    expect(result[0]?.workspace_name).toBe('Fake');
    expect(result[0]?.pages[0]?.page_id).toBe('p1');
  });

  it("online document content: the page's fields, the content as variables", async () => {
    const args = ['datasource', 'docs/pages', 'content', '--param', 'workspace_id=w1', '--param', 'page_id=p1'];
    const r = await invoke(plugins.docs, [...args, '--param', 'type=page']);
    expect(r.code).toBe(0);
    expect(r.sent).toMatchObject({
      action: 'invoke_online_document_datasource_get_page_content',
      page: { workspace_id: 'w1', page_id: 'p1', type: 'page' },
    });
    expect(r.stdout).toBe(
      'variable content = "content of p1"\nvariable page_id = "p1"\nvariable workspace_id = "w1"\n',
    );

    const missing = await invoke(plugins.docs, args);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('invoke/missing-parameter');
    expect(missing.stderr).toContain('the required parameter "type"');
    expect(missing.sent).toBeUndefined();
  });

  it('online drive browse: the request as the daemon fills it', async () => {
    const r = await invoke(plugins.drive, ['datasource', 'drive/files', 'browse', '--param', 'prefix=docs/']);
    expect(r.code).toBe(0);
    expect(r.sent).toMatchObject({
      action: 'invoke_online_drive_browse_files',
      request: { bucket: null, prefix: 'docs/', max_keys: 20, next_page_parameters: null },
    });
    expect(JSON.parse(r.stdout)).toEqual([
      {
        bucket: null,
        files: [{ id: 'docs/a.txt', name: 'a.txt', size: 5, type: 'file' }],
        is_truncated: false,
        next_page_parameters: null,
      },
    ]);
  });

  it('online drive download: the file saved under its name (implicit plugin directory)', async () => {
    const r = await invoke(
      null,
      [
        'datasource',
        'drive/files',
        'download',
        '--param',
        'id=report.txt',
        '--save-dir',
        path.join(await tempDir(), 'out'),
      ],
      {},
      plugins.drive,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.sent).toMatchObject({
      action: 'invoke_online_drive_download_file',
      request: { bucket: null, id: 'report.txt' },
    });
    const saved = /^saved (.+) \(23 bytes\)\n$/.exec(r.stdout);
    expect(saved?.[1]).toMatch(/report\.txt$/);
    expect(readFileSync(path.resolve(plugins.drive, saved![1]!), 'utf8')).toBe('contents of report.txt\n');
  });

  const usage: [string, string[], string][] = [
    [
      'an action the provider type lacks',
      ['crawler/crawl', 'browse'],
      'the datasource "crawler/crawl" (website_crawl) has no action "browse"',
    ],
    [
      'no action for a type with two',
      ['docs/pages'],
      'the datasource "docs/pages" (online_document) takes an action: pages or content',
    ],
    ['an unknown action word', ['crawler/crawl', 'fetch'], 'unknown datasource action "fetch"'],
  ];
  it.each(usage)('refuses %s (exit 2)', async (_, args, text) => {
    const plugin = args[0]!.startsWith('crawler') ? plugins.crawler : plugins.docs;
    const r = await invoke(plugin, ['datasource', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(text);
    expect(r.sent).toBeUndefined();
  });

  const findings: [string, string[], string, string][] = [
    [
      'an unknown datasource',
      ['crawler/crawll', '--param', 'url=u'],
      'invoke/unknown-datasource',
      'did you mean "crawl"?',
    ],
    ['an unknown provider', ['crawl/crawl'], 'invoke/unknown-datasource', 'its datasource providers: crawler'],
    [
      'a parameter of the wrong type',
      ['crawler/crawl', '--param', 'url=u', '--param', 'limit=many'],
      'invoke/wrong-type',
      '"many" is not a number',
    ],
    [
      'an undeclared parameter',
      ['crawler/crawl', '--param', 'url=u', '--param', 'depth=2'],
      'invoke/unknown-parameter',
      'the datasource has no parameter "depth"',
    ],
  ];
  it.each(findings)('refuses %s before starting anything', async (_, args, code, text) => {
    const r = await invoke(plugins.crawler, ['datasource', ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(code);
    expect(r.stderr).toContain(text);
    expect(r.sent).toBeUndefined();
  });
});
