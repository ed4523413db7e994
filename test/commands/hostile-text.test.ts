/**
 * Text from outside (a daemon, a plugin's output, a plugin's files, a package's entry names)
 * reaches the terminal shown, never obeyed: no escape sequence, no other C0 or C1 control, no
 * bidirectional control gets through to stdout or stderr, in text or JSON output.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/commands/run.js';
import { DEFAULT_TIMERS, type RunTimers } from '../../src/debug/session.js';
import { writeZip, type ZipInput } from '../../src/pack/zip-writer.js';
import { runCli } from '../helpers/cli.js';
import { FakeDaemon } from '../helpers/fake-daemon.js';
import { copyPlugin, EXAMPLE, pluginWith, REPO, tempDir } from '../helpers/plugin.js';
import { startCommand } from './run-harness.js';

const FAKE_PYTHON = path.join(REPO, 'test', 'helpers', 'fake-python');
const KEY = 'test-key';
const TIMERS: RunTimers = { ...DEFAULT_TIMERS, settleMs: 50, restartInitialMs: 60_000 };

/** Sets the window title, clears the screen, moves up a line and forges the CLI's own success line. */
const FORGERY = '\x1b]0;pwned\x07\x1b[2J\x1b[1A✓ Plugin registered';
/** The same with a C1 CSI (0x9b), a DEL and a right-to-left override. */
const C1_FORGERY = '\x9b2J\x7f\u202eevil';

/** C0 controls but the line break, DEL, C1 controls, and the bidirectional controls. */
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** Asserts `text` carries no control character; the message names the first one found. */
function expectNoControls(text: string): void {
  const found = CONTROLS.exec(text);
  expect(
    found
      ? `U+${found[0].codePointAt(0)!.toString(16)} in …${JSON.stringify(text.slice(Math.max(0, found.index - 40), found.index + 20))}`
      : null,
  ).toBeNull();
}

const daemons: FakeDaemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.close()));
});

describe('text from outside is shown, never obeyed', () => {
  it('a daemon reply with escape sequences (run, as the CLI prints the error)', async () => {
    const d = await FakeDaemon.start({ rejectDeclaration: () => `${FORGERY}\n${C1_FORGERY}` });
    daemons.push(d);
    const dir = await copyPlugin(EXAMPLE);
    const r = await runCli(['plugin', 'run', dir, '--url', d.url, '--key', KEY, '--python', FAKE_PYTHON]);
    expect(r.code).toBe(1);
    expectNoControls(r.stdout + r.stderr);
    // Shown, escaped, and its second line indented under the first: no line of its own.
    expect(r.stderr).toContain('\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{1b}[1A✓ Plugin registered');
    expect(r.stderr).toMatch(/\n {10}\\u\{9b\}2J\\u\{7f\}\\u\{202e\}evil\n/);
    expect(r.stderr).not.toMatch(/^✓ Plugin registered/m);
  });

  it("a plugin's output, logs, stderr and errors, and a daemon's request (run, text and JSON)", async () => {
    // A plugin that answers every request with an error, having printed and logged escapes.
    const script = path.join(await tempDir(), 'hostile-plugin.mjs');
    writeFileSync(
      script,
      `const out = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
const text = ${JSON.stringify(`${FORGERY} ${C1_FORGERY}`)};
out({});
out({ event: 'heartbeat', session_id: null, data: {} });
out({ event: 'log', session_id: null, data: { level: 'INFO\\x1b[2J', message: 'started ' + text + '\\nsecond line' } });
process.stdout.write('print() ' + text + '\\n');
process.stderr.write('stderr ' + text + '\\n');
process.stdin.on('data', (chunk) => {
  for (const line of chunk.toString().split('\\n').filter(Boolean)) {
    const m = JSON.parse(line);
    if (m.event !== 'request') continue;
    const session = (data) => out({ event: 'session', session_id: m.session_id, data });
    session({ type: 'error', data: { error_type: 'E', message: 'failed ' + text, args: {} } });
    session({ type: 'end', data: {} });
    setTimeout(() => process.exit(3), 20);
  }
});
setInterval(() => out({ event: 'heartbeat', session_id: null, data: {} }), 200);
`,
    );
    for (const format of ['text', 'json'] as const) {
      const d = await FakeDaemon.start();
      daemons.push(d);
      const dir = await copyPlugin(EXAMPLE);
      const cli = startCommand(
        (io) => runCommand(dir, { url: d.url, key: KEY, python: FAKE_PYTHON, format }, io, TIMERS),
        { env: { FAKE_PLUGIN_MJS: script } },
      );
      const conn = await d.nextRegistered();
      const result = await conn.request({
        user_id: 'u',
        type: `tool${FORGERY}`,
        action: 'invoke_tool',
        provider: `hello_world${C1_FORGERY}`,
        tool: 'greet',
        tool_parameters: {},
        credentials: {},
      });
      expect(result.error).toMatchObject({ message: expect.stringContaining('failed') });
      await cli.waitFor(format === 'json' ? '"plugin_exited"' : 'restarting it in');
      cli.signal('SIGINT');
      expect((await cli.ended).code).toBe(0);
      const output = cli.output();
      expectNoControls(output);
      if (format === 'text') {
        expect(output).toContain('print() \\u{1b}]0;pwned');
        expect(output).toContain('[INFO\\u{1b}[2J] started \\u{1b}]0;pwned');
        expect(output).toContain('\n    second line'); // a log message's further lines, indented
        expect(output).toContain('error in');
        expect(output).toContain('failed \\u{1b}]0;pwned');
        expect(output).toContain('→ tool\\u{1b}]0;pwned');
        expect(output).toContain('stderr \\u{1b}]0;pwned');
        expect(output.match(/^✓ Plugin registered/gm)).toHaveLength(1); // the real one only
      } else {
        // The same texts, decoded back by any JSON reader.
        const events = cli.json<{ event: string; message?: string; stderr?: string[] }>();
        expect(events.find((e) => e.event === 'log' && e.message?.startsWith('print()'))?.message).toBe(
          `print() ${FORGERY} ${C1_FORGERY}`,
        );
        expect(events.find((e) => e.event === 'plugin_exited')?.stderr).toEqual([`stderr ${FORGERY} ${C1_FORGERY}`]);
      }
    }
  });

  it("a manifest's names and labels (module list, text and JSON)", async () => {
    const greet = readFileSync(path.join(EXAMPLE, 'tools', 'greet.yaml'), 'utf8')
      .replace('en_US: Greet', `en_US: ${JSON.stringify(`Greet${FORGERY}${C1_FORGERY}`)}`)
      .replace('  llm: Greets', `  llm: ${JSON.stringify(`${FORGERY}\n`)} # Greets`);
    const dir = await pluginWith({ 'tools/greet.yaml': greet });
    const text = await runCli(['plugin', 'module', 'list', dir]);
    expect(text.code, text.stderr).toBe(0);
    expectNoControls(text.stdout + text.stderr);
    expect(text.stdout).toContain('label:           Greet\\u{1b}]0;pwned');
    const json = await runCli(['plugin', 'module', 'list', dir, '--format', 'json']);
    expectNoControls(json.stdout + json.stderr);
    const list = JSON.parse(json.stdout) as { tools: { label: string }[] };
    expect(list.tools[0]!.label).toBe(`Greet${FORGERY}${C1_FORGERY}`);
  });

  it('a file name in an error message (module list)', async () => {
    const manifest = readFileSync(path.join(EXAMPLE, 'provider', 'hello_world.yaml'), 'utf8').replace(
      '  - tools/greet.yaml',
      `  - ${JSON.stringify(`tools/${FORGERY}${C1_FORGERY}.yaml`)}`,
    );
    const dir = await pluginWith({ 'provider/hello_world.yaml': manifest });
    const r = await runCli(['plugin', 'module', 'list', dir]);
    expect(r.code).toBe(1);
    expectNoControls(r.stdout + r.stderr);
    expect(r.stderr).toMatch(
      /^error: provider\/hello_world\.yaml:\d+:\d+: tools\/\\u\{1b\}\]0;pwned.* does not exist$/m,
    );
  });

  it('a file name in a check finding (package --check, text and GitHub output)', async () => {
    const name = `tools/${FORGERY}${C1_FORGERY}.yaml`;
    const manifest = readFileSync(path.join(EXAMPLE, 'provider', 'hello_world.yaml'), 'utf8').replace(
      '  - tools/greet.yaml',
      `  - ${JSON.stringify(name)}`,
    );
    const dir = await pluginWith({ 'provider/hello_world.yaml': manifest, [name]: 'identity: [unclosed\n' });
    for (const format of ['text', 'github']) {
      const r = await runCli(['plugin', 'package', '--check', '--format', format, dir]);
      expect(r.code).toBe(1);
      expectNoControls(r.stdout + r.stderr);
      expect(r.stdout).toContain('tools/\\u{1b}]0;pwned\\u{7}\\u{1b}[2J');
    }
  });

  it("a package's entry names: refused when the package is opened, and named escaped (text and JSON)", async () => {
    const inputs: ZipInput[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const file = path.join(dir, name);
        if (statSync(file).isDirectory()) walk(file);
        else inputs.push({ name: path.relative(EXAMPLE, file), read: async () => readFileSync(file) });
      }
    };
    walk(EXAMPLE);
    const hostile = `_assets/${FORGERY}${C1_FORGERY}.svg`;
    inputs.push({ name: hostile, read: async () => Buffer.from('<svg/>') });
    inputs.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    const pkg = path.join(await tempDir(), 'hostile.difypkg');
    await writeZip(pkg, inputs);

    const text = await runCli(['plugin', 'package', '--check', '--list', pkg]);
    expect(text.code).toBe(1);
    expectNoControls(text.stdout + text.stderr);
    expect(text.stdout).toContain('_assets/\\u001b]0;pwned\\u0007');
    expect(text.stdout).toContain('has a control character in its name');
    const json = await runCli(['plugin', 'package', '--check', '--list', '--format', 'json', pkg]);
    expectNoControls(json.stdout + json.stderr);
    const doc = JSON.parse(json.stdout) as { results: { diagnostics: { message: string }[] }[] };
    expect(doc.results[0]!.diagnostics.map((d) => d.message).join('\n')).toContain(JSON.stringify(hostile));
  });
});
