import { writeFile, mkdir, truncate } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PluginProject } from '../../src/project/model.js';
import type { InvokeOutcome, PluginRequest } from '../../src/pipelines/invoke.js';
import {
  caseFileNames,
  loadCase,
  runCase,
  valueAt,
  type CaseContext,
  type InvokeCase,
} from '../../src/pipelines/invoke-cases.js';
import { Answer, MAX_ANSWER_JSON_CHARS } from '../../src/pipelines/invoke-answer.js';
import { junitDocument, junitSuite, suitesOf } from '../../src/report/junit.js';
import { checkDir, EXAMPLE, tempDir } from '../helpers/plugin.js';

let example: PluginProject;
beforeAll(async () => {
  example = (await checkDir(EXAMPLE)).project!;
});

/** A plugin's answer, as the Invoker reports it: the messages streamed, then how it ended. */
function answering(messages: Record<string, unknown>[], error?: InvokeOutcome['error'], ms = 5) {
  const sent: PluginRequest[] = [];
  const limits: number[] = [];
  let clock = 0;
  const ctx: CaseContext = {
    project: example,
    timeoutMs: 60_000,
    invoke: (request, onMessage, timeoutMs) => {
      sent.push(request);
      limits.push(timeoutMs);
      for (const m of messages) onMessage(m);
      clock += ms;
      return Promise.resolve({ messages: messages.length, ...(error ? { error } : {}) });
    },
    credentials: () => ({ api_key: 'sk-test' }),
    now: () => clock,
  };
  return { ctx, sent, limits };
}

const text = (t: string) => ({ type: 'text', message: { text: t } });
const json = (o: unknown) => ({ type: 'json', message: { json_object: o } });

function greetCase(
  expect: Partial<InvokeCase['expect']>,
  params: Record<string, unknown> = { name: 'Ada' },
): InvokeCase {
  return {
    file: 'tests/greet.invoke.yaml',
    name: 'greets',
    target: { kind: 'tool', provider: 'hello_world', name: 'greet' },
    inputs: { params },
    expect: { exit: 0, textContains: [], json: [], ...expect },
  };
}

describe('tests/*.invoke.yaml cases', () => {
  it('reads a case file, and reports what is wrong with one at file:line:col', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'tests', 'deeper'), { recursive: true });
    const write = (name: string, body: string) => writeFile(path.join(dir, 'tests', name), body);
    await write(
      'b.invoke.yaml',
      'invoke:\n  tool: hello_world/greet\n  params: {name: Ada}\nexpect:\n  text_contains: [Hello, Ada]\n  json:\n    - path: $.a[0].b\n      equals: 4\n  max_ms: 50\n',
    );
    await write('a.invoke.yaml', 'name: typo\ninvoke:\n  tool: hello_world/greet\nexpect:\n  text_contain: Hello\n');
    await write('c.invoke.yaml', 'invoke: [\n');
    await write('notes.yaml', 'not a case\n');
    await write('.invoke.yaml', 'no name\n');
    await write('deeper/d.invoke.yaml', 'not read\n');
    expect(caseFileNames(dir)).toEqual(['tests/a.invoke.yaml', 'tests/b.invoke.yaml', 'tests/c.invoke.yaml']);

    const good = await loadCase(dir, 'tests/b.invoke.yaml');
    expect(good.diagnostics).toEqual([]);
    expect(good.case).toEqual({
      file: 'tests/b.invoke.yaml',
      name: 'b',
      target: { kind: 'tool', provider: 'hello_world', name: 'greet' },
      inputs: { params: { name: 'Ada' } },
      expect: { exit: 0, textContains: ['Hello', 'Ada'], json: [{ path: '$.a[0].b', equals: 4 }], maxMs: 50 },
    });

    // A misspelt expectation would check nothing: an error, not Dify's "ignored key" warning.
    const typo = await loadCase(dir, 'tests/a.invoke.yaml');
    expect(typo.case).toBeUndefined();
    expect(typo.diagnostics).toMatchObject([
      {
        code: 'invoke-case/expect-unknown-key',
        severity: 'error',
        file: 'tests/a.invoke.yaml',
        line: 5,
        column: 3,
        message: expect.stringMatching(/unknown key "text_contain" in expect: `dify plugin test` does not know it/),
        hint: 'did you mean "text_contains"?',
      },
    ]);
    const broken = await loadCase(dir, 'tests/c.invoke.yaml');
    expect(broken.diagnostics.map((d) => [d.code, d.line])).toEqual([['yaml/syntax', 2]]);

    await write('e.invoke.yaml', '');
    await truncate(path.join(dir, 'tests', 'e.invoke.yaml'), 2 * 1024 * 1024);
    expect((await loadCase(dir, 'tests/e.invoke.yaml')).diagnostics.map((d) => d.code)).toEqual(['file/too-large']);
  });

  it('passes when every expectation holds, with the request sent as invoke sends it', async () => {
    const { ctx, sent } = answering([text('Hello, '), text('Ada!'), json({ a: [{ b: 4 }], n: '4' })]);
    const outcome = await runCase(
      greetCase({ textContains: ['Hello, Ada!'], json: [{ path: '$.a[0].b', equals: 4 }], maxMs: 10 }),
      ctx,
    );
    expect(outcome).toEqual({
      file: 'tests/greet.invoke.yaml',
      name: 'greets',
      status: 'passed',
      failures: [],
      ms: 5,
      secretValues: [],
    });
    expect(sent[0]).toEqual({
      type: 'tool',
      action: 'invoke_tool',
      request: {
        provider: 'hello_world',
        tool: 'greet',
        credentials: { api_key: 'sk-test' },
        tool_parameters: { name: 'Ada' },
      },
    });
  });

  it('says which expectation failed, quoting what came instead', async () => {
    const { ctx } = answering([text('Hello, Bob!'), json({ n: '4' }), json({ n: 5 })], undefined, 80);
    const outcome = await runCase(
      greetCase({
        textContains: ['Ada'],
        json: [
          { path: '$.n', equals: 4 }, // types count: neither "4" nor 5
          { path: '$.missing', equals: true },
        ],
        maxMs: 50,
      }),
      ctx,
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.failures).toEqual([
      'the text does not contain "Ada"; the text: "Hello, Bob!"',
      'no JSON message has $.n = 4 (found: "4", 5)',
      'no JSON message has $.missing = true',
      'took 80 ms, more than max_ms 50',
    ]);
    const none = await runCase(greetCase({ json: [{ path: '$', equals: {} }] }), answering([]).ctx);
    expect(none.failures).toEqual(['expected $ = {}, and the answer has no JSON message']);
  });

  it('takes the exit status invoke would end with: the plugin error, or parameters refused before sending', async () => {
    const error = { type: 'ValueError', message: 'city not found' };
    const expected = await runCase(greetCase({ exit: 1, textContains: ['city not found'] }), answering([], error).ctx);
    expect(expected).toMatchObject({ status: 'passed', failures: [] });
    const unexpected = await runCase(greetCase({}), answering([text('partial')], error).ctx);
    expect(unexpected.failures).toEqual(['the plugin failed: ValueError: city not found']);
    const succeeded = await runCase(greetCase({ exit: 1 }), answering([text('ok')]).ctx);
    expect(succeeded.failures).toEqual(['expected the invocation to fail (exit: 1), and it succeeded']);

    const { ctx, sent } = answering([text('never')]);
    const refused = await runCase(greetCase({}, { nmae: 'Ada' }), ctx);
    expect(sent).toEqual([]);
    expect(refused.failures).toEqual([
      expect.stringMatching(/^the invocation does not match the declaration: .*"nmae".*; .*"name"/),
    ]);
    const refusalExpected = await runCase(greetCase({ exit: 1, textContains: ['nmae'] }, { nmae: 'Ada' }), ctx);
    expect(refusalExpected.status).toBe('passed');
  });

  it('waits for an answer at most max_ms, or the default limit', async () => {
    const late = answering([text('too late')], { message: 'no answer within 50 ms', timedOut: true });
    const outcome = await runCase(greetCase({ maxMs: 50, textContains: ['late'] }), late.ctx);
    expect(late.limits).toEqual([50]);
    // The timeout says it once; what came before it still counts.
    expect(outcome.failures).toEqual(['no answer within 50 ms (max_ms)']);
    const slow = answering([], { message: 'no answer within 60000 ms', timedOut: true });
    expect((await runCase(greetCase({}), slow.ctx)).failures).toEqual(['no answer within 60000 ms']);
    expect(slow.limits).toEqual([60_000]);
  });

  it('fails a case expecting exit 1 that got no answer: a plugin that never ends is not one that failed', async () => {
    const hung = answering([], { message: 'no answer within 50 ms', timedOut: true });
    const outcome = await runCase(greetCase({ exit: 1, maxMs: 50 }), hung.ctx);
    expect(outcome).toMatchObject({ status: 'failed', failures: ['no answer within 50 ms (max_ms)'] });
  });

  it('masks the credentials in the text it quotes before cutting it (a secret across the cut is not half shown)', async () => {
    const secret = 'sk-abcdefghijklmnopqrstuvwxyz';
    const { ctx } = answering([text(`${'x'.repeat(290)}${secret} and more`)]);
    const outcome = await runCase(greetCase({ textContains: ['absent'] }), {
      ...ctx,
      credentials: () => ({ api_key: secret }),
    });
    expect(outcome.failures).toEqual([
      expect.stringMatching(/^the text does not contain "absent"; the text: "x+\*\*\*\* and m\.\.\."$/),
    ]);
    expect(outcome.failures.join('')).not.toContain(secret.slice(0, 6));
  });

  it('quotes at most the start of a big JSON value found at the path', async () => {
    const { ctx } = answering([json({ n: 'y'.repeat(100_000) })]);
    const outcome = await runCase(greetCase({ json: [{ path: '$.n', equals: 1 }] }), ctx);
    expect(outcome.failures).toEqual([
      expect.stringMatching(/^no JSON message has \$\.n = 1 \(found: "y{299}\.\.\.\)$/),
    ]);
  });

  it('reads an LLM stream and an endpoint body as text, and a JSON body as a JSON value', async () => {
    const models = { ...example, providers: { ...example.providers, models: [{ value: { provider: 'acme' } }] } };
    const chunk = (t: string) => ({ model: 'm', delta: { index: 0, message: { role: 'assistant', content: t } } });
    const llm: InvokeCase = {
      file: 'tests/llm.invoke.yaml',
      name: 'llm',
      target: { kind: 'llm', provider: 'acme', name: 'm' },
      inputs: { params: {}, prompt: 'hi' },
      expect: { exit: 0, textContains: ['Hello there'], json: [], maxMs: 1000 },
    };
    const { ctx, sent } = answering([chunk('Hello '), chunk('there')]);
    expect(await runCase(llm, { ...ctx, project: models as unknown as PluginProject })).toMatchObject({
      status: 'passed',
    });
    expect(sent[0]!.request).toMatchObject({
      prompt_messages: [{ role: 'user', content: 'hi' }],
      credentials: { api_key: 'sk-test' },
    });

    const endpoints = { ...example, providers: { ...example.providers, endpoints: [{ value: {} }] } };
    const body = Buffer.from('{"ok": true, "items": [1, 2]}').toString('hex');
    const endpoint: InvokeCase = {
      file: 'tests/hook.invoke.yaml',
      name: 'hook',
      target: { kind: 'endpoint', method: 'POST', path: '/hook' },
      inputs: { params: {}, headers: [['X-Token', 't']], body: 'ping' },
      expect: { exit: 0, textContains: ['"ok": true'], json: [{ path: '$.items[1]', equals: 2 }] },
    };
    const e = answering([{ status: 200, headers: {} }, { result: body.slice(0, 10) }, { result: body.slice(10) }]);
    expect(await runCase(endpoint, { ...e.ctx, project: endpoints as unknown as PluginProject })).toMatchObject({
      status: 'passed',
    });
    const raw = Buffer.from(String(e.sent[0]!.request.raw_http_request), 'hex').toString();
    expect(raw).toBe('POST /hook HTTP/1.1\r\nHost: localhost\r\nX-Token: t\r\nContent-Length: 4\r\n\r\nping');
    expect(e.sent[0]!.request.settings).toEqual({ api_key: 'sk-test' });
  });

  it('reads agent strategy and datasource cases, and takes the JSON of a datasource listing', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'tests'));
    await writeFile(
      path.join(dir, 'tests', 'agent.invoke.yaml'),
      'invoke:\n  agent_strategy: agent/function_calling\n  params: {query: hi}\n',
    );
    await writeFile(
      path.join(dir, 'tests', 'drive.invoke.yaml'),
      'invoke:\n  datasource: drive/files\n  action: browse\n  params: {prefix: a/}\nexpect:\n  json:\n    - path: $[0].files[0].name\n      equals: a.txt\n',
    );
    expect((await loadCase(dir, 'tests/agent.invoke.yaml')).case?.target).toEqual({
      kind: 'agent_strategy',
      provider: 'agent',
      name: 'function_calling',
    });
    const drive = (await loadCase(dir, 'tests/drive.invoke.yaml')).case!;
    expect(drive.target).toEqual({ kind: 'datasource', provider: 'drive', name: 'files', action: 'browse' });
    expect(drive.inputs).toEqual({ params: { prefix: 'a/' } });

    const listing = new Answer('result');
    listing.add({ result: [{ bucket: null, files: [{ name: 'a.txt' }] }] });
    expect(listing.jsonValues()).toEqual([[{ bucket: null, files: [{ name: 'a.txt' }] }]]);
    expect(valueAt(listing.jsonValues()[0], '$[0].files[0].name')).toEqual({ found: true, value: 'a.txt' });
  });

  it('keeps a bounded amount of what a plugin streams: JSON values by their size, not only their number', () => {
    const answer = new Answer('messages');
    const big = 'j'.repeat(1024 * 1024);
    for (let i = 0; i < 40; i++) answer.add(json({ i, big }));
    const kept = answer.jsonValues();
    expect(kept.length).toBeGreaterThan(0);
    expect(JSON.stringify(kept).length).toBeLessThanOrEqual(MAX_ANSWER_JSON_CHARS);
    // What was kept is the start of the answer.
    expect((kept.at(-1) as { i: number }).i).toBe(kept.length - 1);
  });

  it('reports a mistake in an invocation once, in the form its key picks, not once per form', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'tests'));
    const messages = async (body: string) => {
      await writeFile(path.join(dir, 'tests', 'x.invoke.yaml'), body);
      return (await loadCase(dir, 'tests/x.invoke.yaml')).diagnostics.map((d) => d.message);
    };
    expect(await messages('invoke:\n  tool: a/b\n  params: [1, 2]\n')).toEqual([
      'invoke.params must be a mapping, but it is a list',
    ]);
    expect(await messages('invoke:\n  endpoint: GET /x\n  body: 3\n')).toEqual([
      expect.stringMatching(/^invoke\.body must be text/),
    ]);
    expect(await messages('invoke:\n  tool: a/b\n  prompt: hi\n')).toEqual([
      expect.stringMatching(/^unknown key "prompt" in invoke/),
    ]);
    await writeFile(path.join(dir, 'tests', 'x.invoke.yaml'), 'invoke:\n  tol: a/b\n');
    expect((await loadCase(dir, 'tests/x.invoke.yaml')).diagnostics).toMatchObject([
      {
        message: 'invoke does not match any of the allowed forms',
        hint: 'give exactly one of tool, llm, endpoint, agent_strategy or datasource',
      },
    ]);
  });

  it('finds values by path', () => {
    const v = { a: [{ b: null }], 'x-y': 1 };
    expect(valueAt(v, '$')).toEqual({ found: true, value: v });
    expect(valueAt(v, '$.a[0].b')).toEqual({ found: true, value: null });
    expect(valueAt(v, '$.x-y')).toEqual({ found: true, value: 1 });
    expect(valueAt(v, '$.a[1]')).toEqual({ found: false });
    expect(valueAt(v, '$.a.b')).toEqual({ found: false });
    expect(valueAt(v, '$.constructor')).toEqual({ found: false });
  });
});

describe('JUnit reports', () => {
  it('escapes what a plugin wrote, and drops what XML cannot carry', () => {
    const suite = junitSuite('invoke cases', [
      { classname: 'tests.a.invoke.yaml', name: 'ok', seconds: 0.012, outcome: 'passed' },
      {
        classname: 'tests.b.invoke.yaml',
        name: 'quotes "<&>"',
        outcome: 'failed',
        message: 'line one\nline two',
        details: 'bell \u0007 and <tag> & \ud800',
      },
      { classname: 'tests.c.invoke.yaml', name: 'broken', outcome: 'error', message: 'cannot run' },
    ]);
    expect(suite).toBe(
      [
        '<testsuite name="invoke cases" tests="3" failures="1" errors="1" skipped="0" time="0.012">',
        '<testcase classname="tests.a.invoke.yaml" name="ok" time="0.012" />',
        '<testcase classname="tests.b.invoke.yaml" name="quotes &quot;&lt;&amp;&gt;&quot;" time="0.000"><failure message="line one&#10;line two">bell \ufffd and &lt;tag&gt; &amp; \ufffd</failure></testcase>',
        '<testcase classname="tests.c.invoke.yaml" name="broken" time="0.000"><error message="cannot run"></error></testcase>',
        '</testsuite>',
      ].join('\n'),
    );
    const doc = junitDocument([
      suitesOf(
        '<?xml version="1.0"?>\n<testsuites name="pytest tests"><testsuite name="pytest" tests="0"></testsuite></testsuites>\n',
      ),
      suite,
    ]);
    expect(doc).toMatch(
      /^<\?xml version="1.0" encoding="utf-8"\?>\n<testsuites>\n<testsuite name="pytest" tests="0"><\/testsuite>\n<testsuite name="invoke cases"/,
    );
    expect(suitesOf('<testsuite name="old pytest"></testsuite>')).toBe('<testsuite name="old pytest"></testsuite>');
    expect(suitesOf('not xml')).toBe('');
  });
});
