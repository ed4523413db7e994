// `plugin package --check --marketplace`: the Marketplace's pull-request pre-check run locally
// (langgenius/dify-plugins .github/workflows/pre-check-plugin.yaml), on fixtures built here from
// the example plugin, each breaking one rule.
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requirementOf } from '../../src/check/marketplace-requirements.js';
import { versionPublished } from '../../src/pipelines/marketplace.js';
import { run } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';
import { gone } from '../helpers/processes.js';
import { startCommand, within } from './run-harness.js';
import { EXAMPLE, pluginWith, REPO, tempDir, type Overrides } from '../helpers/plugin.js';

const MANIFEST = readFileSync(path.join(EXAMPLE, 'manifest.yaml'), 'utf8');

/** The example as a Marketplace submission would be: its own author (the example's contains "dify"). */
function manifest(edit: (text: string) => string = (t) => t): string {
  return edit(MANIFEST.replace(/^author: .*$/m, 'author: acme'));
}

function cleanPlugin(overrides: Overrides = {}): Promise<string> {
  return pluginWith({ 'manifest.yaml': manifest(), ...overrides });
}

interface Finding {
  code: string;
  severity: string;
  file: string | null;
  line: number | null;
  column: number | null;
  message: string;
}

async function check(
  dir: string,
  ...flags: string[]
): Promise<{ code: number | null; findings: Finding[]; stderr: string }> {
  const r = await runCli(['plugin', 'package', '--check', '--format', 'json', ...flags, dir]);
  const report = JSON.parse(r.stdout) as { results: { diagnostics: Finding[] }[] };
  return { code: r.code, findings: report.results.flatMap((p) => p.diagnostics), stderr: r.stderr };
}

const marketplaceOnly = (findings: Finding[]) => findings.filter((f) => f.code.startsWith('marketplace/'));
const codes = (findings: Finding[]) => marketplaceOnly(findings).map((f) => f.code);

/** The Go CLI's default icon (dify-plugin-daemon cmd/commandline/bundle/templates/icon.svg), re-indented. */
const GO_DEFAULT_ICON = `<svg width="100" height="100" xmlns="http://www.w3.org/2000/svg">
\t<path d="M20 20 V80 M20 20 H60 Q80 20 80 40 T60 60 H20"
\t      fill="none" stroke="black" stroke-width="5"/>
</svg>
`;

describe('plugin package --check --marketplace: static rules', () => {
  it('finds nothing on a marketplace-clean plugin, and runs only with --marketplace', async () => {
    const clean = await cleanPlugin();
    const r = await check(clean, '--marketplace');
    expect(r.code).toBe(0);
    expect(marketplaceOnly(r.findings)).toEqual([]);
    // The example itself (author dify-plugin-cli) is fine for Dify: the profile is off by default.
    const plain = await check(EXAMPLE);
    expect(plain.code).toBe(0);
    expect(codes(plain.findings)).toEqual([]);
    expect(codes((await check(EXAMPLE, '--marketplace')).findings)).toEqual(['marketplace/author-reserved']);
  });

  it.each([
    ['langgenius', true],
    ['difyfan', true],
    ['my-dify-tools', true],
    // The workflow's grep is case-sensitive.
    ['Dify', false],
    ['acme', false],
  ])('author %s: refused %s', async (author, refused) => {
    const dir = await pluginWith({ 'manifest.yaml': manifest((t) => t.replace('author: acme', `author: ${author}`)) });
    const found = marketplaceOnly((await check(dir, '--marketplace')).findings);
    if (!refused) return expect(found).toEqual([]);
    expect(found).toMatchObject([
      { code: 'marketplace/author-reserved', severity: 'error', file: 'manifest.yaml', line: 3, column: 9 },
    ]);
    expect(found[0]!.message).toContain('substring');
  });

  it('refuses a missing icon, a template icon (at the marker) and the Go CLI default icon', async () => {
    const missing = await cleanPlugin({ '_assets/icon.svg': null });
    expect(marketplaceOnly((await check(missing, '--marketplace')).findings)).toMatchObject([
      { code: 'marketplace/icon-missing', file: 'manifest.yaml', line: 11 },
    ]);
    const placeholder = await cleanPlugin({
      '_assets/icon.svg':
        '<svg xmlns="http://www.w3.org/2000/svg">\n  <!-- DIFY_MARKETPLACE_TEMPLATE_ICON_DO_NOT_USE -->\n</svg>\n',
    });
    expect(marketplaceOnly((await check(placeholder, '--marketplace')).findings)).toMatchObject([
      { code: 'marketplace/icon-placeholder', file: '_assets/icon.svg', line: 2, column: 8 },
    ]);
    const goDefault = await cleanPlugin({ '_assets/icon.svg': GO_DEFAULT_ICON });
    expect(marketplaceOnly((await check(goDefault, '--marketplace')).findings)).toMatchObject([
      { code: 'marketplace/icon-default', file: '_assets/icon.svg', line: 1 },
    ]);
  });

  it('gives every template icon of dify plugin init the placeholder marker', () => {
    const icons = readdirSync(path.join(REPO, 'templates'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      /(^|\/)_assets\/[^/]+\.svg$/.test(f.split(path.sep).join('/')),
    );
    expect(icons.length).toBeGreaterThan(10);
    for (const icon of icons)
      expect(readFileSync(path.join(REPO, 'templates', icon), 'utf8'), icon).toContain(
        'DIFY_MARKETPLACE_TEMPLATE_ICON_DO_NOT_USE',
      );
  });

  it('an init-ed project checks clean without --marketplace and fails it on the template icon only', async () => {
    const cwd = await tempDir();
    const init = await runCli(
      [
        'plugin',
        'init',
        '--quick',
        '--name',
        'demo',
        '--author',
        'acme',
        '--description',
        'Demo',
        '--category',
        'tool',
      ],
      { cwd },
    );
    expect(init.code).toBe(0);
    const dir = path.join(cwd, 'demo');
    const plain = await check(dir);
    expect(plain.code).toBe(0);
    expect(plain.findings.filter((f) => f.severity === 'error')).toEqual([]);
    const r = await check(dir, '--marketplace');
    expect(r.code).toBe(1);
    // Errors: the icon. The README and privacy policy still hold the template text (warnings,
    // as without --marketplace: they block only with --strict).
    expect(r.findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.file])).toEqual([
      ['marketplace/icon-placeholder', '_assets/icon.svg'],
    ]);
    expect(r.findings.filter((f) => f.severity === 'warning').map((f) => f.code)).toEqual([
      'template/text-left',
      'template/text-left',
    ]);
  });

  it('asks for a requirements.txt that requires dify_plugin 0.5.0 or later, pointing at its line', async () => {
    const none = await cleanPlugin({ 'requirements.txt': null, 'pyproject.toml': '[project]\nname = "x"\n' });
    expect(codes((await check(none, '--marketplace')).findings)).toEqual(['marketplace/requirements-missing']);
    const old = await cleanPlugin({ 'requirements.txt': '# deps\nrequests>=2\n  dify-plugin==0.4.2  # pinned\n' });
    const found = marketplaceOnly((await check(old, '--marketplace')).findings);
    expect(found).toMatchObject([{ code: 'marketplace/sdk-too-old', file: 'requirements.txt', line: 3, column: 3 }]);
    expect(found[0]!.message).toContain('dify-plugin==0.4.2');
    const absent = await cleanPlugin({ 'requirements.txt': 'requests>=2\n' });
    expect(codes((await check(absent, '--marketplace')).findings)).toEqual(['marketplace/sdk-too-old']);
  });

  it('reads the requirements.txt generated from uv.lock when the plugin has none', async () => {
    const lock = (version: string) => `version = 1
requires-python = ">=3.12"

[[package]]
name = "demo"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "dify-plugin" }]

[package.metadata]
requires-dist = [{ name = "dify-plugin", specifier = ">=0.4.0" }]

[[package]]
name = "dify-plugin"
version = "${version}"
source = { registry = "https://pypi.org/simple" }
`;
    const pyproject = '[project]\nname = "demo"\nversion = "0.1.0"\ndependencies = ["dify-plugin>=0.4.0"]\n';
    // The native export (no uv): UV_PATH names nothing.
    const env = { UV_PATH: path.join(await tempDir(), 'no-uv') };
    for (const [version, expected] of [
      ['0.4.2', ['marketplace/sdk-too-old']],
      ['0.9.1', []],
    ] as const) {
      const dir = await cleanPlugin({
        'requirements.txt': null,
        'pyproject.toml': pyproject,
        'uv.lock': lock(version),
      });
      const r = await runCli(['plugin', 'package', '--check', '--marketplace', '--format', 'json', dir], { env });
      const found = marketplaceOnly(
        (JSON.parse(r.stdout) as { results: { diagnostics: Finding[] }[] }).results[0]!.diagnostics,
      );
      expect(found.map((f) => [f.code, f.file])).toEqual(expected.map((c) => [c, 'pyproject.toml']));
      if (found[0]) expect(found[0].message).toContain('generated from uv.lock requires dify-plugin==0.4.2');
    }
    // A uv.lock that cannot be exported: that is the finding, and the other rules still run.
    const broken = await pluginWith({
      'manifest.yaml': manifest((t) => t.replace('author: acme', 'author: difyfan')),
      'requirements.txt': null,
      'pyproject.toml': pyproject,
      'uv.lock': 'version = [\n',
    });
    const r = await check(broken, '--marketplace');
    expect(r.findings.filter((f) => f.severity === 'error').map((f) => f.code)).toEqual([
      'marketplace/author-reserved',
      'pack/requirements-failed',
    ]);
    // In the pre-check table, the requirements.txt check did not run.
    const md = await runCli(['plugin', 'package', '--check', '--marketplace', '--format', 'markdown', broken]);
    expect(md.stdout).toContain('| requirements.txt | ⏭️ Skipped |');
  });

  it.each([
    ['dify_plugin>=0.5.0,<0.6.0', true],
    ['dify_plugin~=0.5', true],
    ['dify_plugin==0.9.1', true],
    ['dify-plugin[extra] >= 0.9 ; python_version >= "3.11"', true],
    ['Dify.Plugin (>=0.6)', true],
    ['dify_plugin>=0.5.0rc1', true],
    ['dify_plugin==0.5.*', true],
    ['dify-plugin==0.4.2', false],
    ['dify_plugin>=0.4,<0.6', false],
    ['dify_plugin>0.4.9', false],
    ['dify_plugin<0.9', false],
    ['dify_plugin', false],
    ['dify_plugin @ https://example.com/dify_plugin-0.9.0.whl', false],
  ])('requirement %s accepted: %s', (line, accepted) => {
    expect(requirementOf(`-r base.txt\n${line}\n`)).toMatchObject({ line: 2, accepted });
  });

  it('reads a hashed requirements.txt (pip-compile --generate-hashes): continued lines, --hash options', () => {
    const hashed =
      'anyio==4.4.0 \\\n    --hash=sha256:aaaa\n' +
      'dify-plugin==0.9.1 \\\n    --hash=sha256:bbbb \\\n    --hash=sha256:cccc\n    # via -r requirements.in\n' +
      'httpx==0.27.0 --hash=sha256:dddd\n';
    expect(requirementOf(hashed)).toMatchObject({
      text: 'dify-plugin==0.9.1',
      line: 3,
      column: 1,
      lowest: '0.9.1',
      accepted: true,
    });
    expect(requirementOf('dify_plugin>=0.9 --config-settings=x=y\n')).toMatchObject({ lowest: '0.9', accepted: true });
  });

  it('asks for PRIVACY.md and a manifest privacy field naming it', async () => {
    const missing = await cleanPlugin({ 'PRIVACY.md': null });
    expect(codes((await check(missing, '--marketplace')).findings)).toEqual(['marketplace/privacy-missing']);
    const empty = await cleanPlugin({ 'PRIVACY.md': '\n  \n' });
    expect(codes((await check(empty, '--marketplace')).findings)).toEqual(['marketplace/privacy-missing']);
    const unlisted = await pluginWith({ 'manifest.yaml': manifest((t) => t.replace(/^privacy: .*\n/m, '')) });
    expect(codes((await check(unlisted, '--marketplace')).findings)).toEqual(['marketplace/privacy-unlinked']);
    const other = await pluginWith({
      'manifest.yaml': manifest((t) => t.replace(/^privacy: .*$/m, 'privacy: docs/privacy.md')),
      'docs/privacy.md': '# Privacy\n',
    });
    expect(marketplaceOnly((await check(other, '--marketplace')).findings)).toMatchObject([
      { code: 'marketplace/privacy-unlinked', file: 'manifest.yaml', line: 29 },
    ]);
  });

  it('refuses CJK text in README.md at its first character, outside code fences', async () => {
    const readme = (line: string) => `# Hello\n\n\`\`\`json\n{"greeting": "你好"}\n\`\`\`\n\nIntro.\n${line}\n`;
    for (const [text, column] of [
      ['Say 你好 to it.', 5],
      ['Dans la langue: こんにちは', 17],
      ['  카타 text', 3],
    ] as const) {
      const dir = await cleanPlugin({ 'README.md': readme(text) });
      expect(marketplaceOnly((await check(dir, '--marketplace')).findings)).toMatchObject([
        { code: 'marketplace/readme-cjk', file: 'README.md', line: 8, column },
      ]);
    }
    // Only in the fence, or only in a translation: accepted.
    const fenced = await cleanPlugin({ 'README.md': readme('All English.'), 'readme/README_zh_Hans.md': '# 你好\n' });
    expect(codes((await check(fenced, '--marketplace')).findings)).toEqual([]);
    const inList = '# Hello\n\n1. Send:\n\n        ```json\n        {"greeting": "你好"}\n        ```\n\n2. Done.\n';
    const listed = await cleanPlugin({ 'README.md': inList });
    expect(codes((await check(listed, '--marketplace')).findings)).toEqual([]);
  });

  it('checks a .difypkg the same way', async () => {
    const dir = await pluginWith({ 'manifest.yaml': manifest((t) => t.replace('author: acme', 'author: difyfan')) });
    const out = path.join(await tempDir(), 'p.difypkg');
    expect((await runCli(['plugin', 'package', dir, '-o', out])).code).toBe(0);
    const r = await check(out, '--marketplace');
    expect(r.code).toBe(1);
    expect(codes(r.findings)).toEqual(['marketplace/author-reserved']);
  });

  it('says that several plugins are separate submissions, and honours --strict', async () => {
    const a = await cleanPlugin();
    const b = await cleanPlugin();
    const r = await runCli(['plugin', 'package', '--check', '--marketplace', '--format', 'json', a, b]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { results: { diagnostics: Finding[] }[] };
    expect(report.results.map((p) => p.diagnostics.map((d) => [d.code, d.severity]))).toEqual([
      [['marketplace/separate-submission', 'info']],
      [['marketplace/separate-submission', 'info']],
    ]);
    expect(report.results[1]!.diagnostics[0]!.message).toContain(a);
    // With many plugins, each message names three others and counts the rest.
    const many = await runCli(['plugin', 'package', '--check', '--marketplace', '--format', 'json', a, b, a, b, a]);
    const first = (JSON.parse(many.stdout) as typeof report).results[0]!.diagnostics[0]!.message;
    expect(first).toContain('plugin 1 of 5');
    expect(first).toMatch(/, 1 more$/);
    const refused = await cleanPlugin({ 'PRIVACY.md': null });
    expect((await runCli(['plugin', 'package', '--check', '--marketplace', '--strict', refused])).code).toBe(1);
  });

  it('refuses --online, --install-test and --python without --marketplace', async () => {
    for (const flags of [['--online'], ['--install-test'], ['--marketplace', '--python', 'python3']]) {
      const r = await runCli(['plugin', 'package', '--check', ...flags, EXAMPLE]);
      expect(r.code).toBe(2);
    }
  });
});

/** A local Marketplace: answers each request with `reply`, recording the paths asked for. */
async function fakeMarketplace(
  reply: (res: http.ServerResponse) => void,
): Promise<{ url: string; paths: string[]; close: () => void }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    reply(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    paths,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const servers: { close: () => void }[] = [];
afterAll(() => servers.forEach((s) => s.close()));

describe('plugin package --check --marketplace --online', () => {
  const json = (status: number, body: unknown) => (res: http.ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  it('refuses a published version, asking GET /api/v1/plugins/<author>/<name>/<version>', async () => {
    const market = await fakeMarketplace(json(200, { code: 0, data: { plugin: {} } }));
    servers.push(market);
    const dir = await cleanPlugin();
    const r = await runCli(['plugin', 'package', '--check', '--marketplace', '--online', '--format', 'json', dir], {
      env: { DIFY_MARKETPLACE_URL: market.url },
    });
    expect(r.code).toBe(1);
    expect(market.paths).toEqual(['/api/v1/plugins/acme/hello_world/0.0.1']);
    const found = (JSON.parse(r.stdout) as { results: { diagnostics: Finding[] }[] }).results[0]!.diagnostics;
    expect(found).toMatchObject([
      { code: 'marketplace/version-published', file: 'manifest.yaml', line: 1, column: 10 },
    ]);
  });

  it.each([
    ['404', json(404, { code: -1 }), []],
    ['200 with another code', json(200, { code: 404, msg: 'not found' }), []],
    ['500', json(500, {}), ['marketplace/online-unavailable']],
    ['403', json(403, { code: -1 }), ['marketplace/online-unavailable']],
    ['429', json(429, {}), ['marketplace/online-unavailable']],
    ['not JSON', (res: http.ServerResponse) => res.end('<html>'), ['marketplace/online-unavailable']],
    ['a dropped connection', (res: http.ServerResponse) => res.destroy(), ['marketplace/online-unavailable']],
    [
      'an answer over 1 MiB',
      (res: http.ServerResponse) => res.end(`{"code": 0, "pad": "${'x'.repeat(1024 * 1024)}"}`),
      ['marketplace/online-unavailable'],
    ],
  ])('%s: %j', async (_, reply, expected) => {
    const market = await fakeMarketplace(reply);
    servers.push(market);
    const found = await versionPublished('acme', 'hello_world', '0.0.1', { DIFY_MARKETPLACE_URL: market.url });
    expect(found.map((d) => [d.code, d.severity])).toEqual(expected.map((c) => [c, 'info']));
  });

  it('never fails a run when the Marketplace cannot be asked, --strict included', async () => {
    const market = await fakeMarketplace(json(503, {}));
    servers.push(market);
    const r = await runCli(
      ['plugin', 'package', '--check', '--strict', '--marketplace', '--online', await cleanPlugin()],
      {
        env: { DIFY_MARKETPLACE_URL: market.url },
      },
    );
    expect(r.stdout).toContain('marketplace/online-unavailable');
    expect(r.code).toBe(0);
  });

  it('gives up after the time limit with a note, never a false error', async () => {
    const market = await fakeMarketplace(() => {}); // never answers
    servers.push(market);
    const found = await versionPublished('acme', 'x', '1.0.0', { DIFY_MARKETPLACE_URL: market.url }, 200);
    expect(found).toMatchObject([{ code: 'marketplace/online-unavailable', severity: 'info' }]);
    expect(found[0]!.message).toContain('no answer within 0.2 s');
  });

  it('refuses a DIFY_MARKETPLACE_URL that is not http(s)', async () => {
    const r = await runCli(['plugin', 'package', '--check', '--marketplace', '--online', await cleanPlugin()], {
      env: { DIFY_MARKETPLACE_URL: 'file:///etc/passwd' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DIFY_MARKETPLACE_URL');
  });
});

/**
 * A Python stand-in for the install test: `-m venv DIR` makes DIR/bin/python (this script again),
 * `-m pip ...` is logged (FAKE_PIP_FAIL makes it fail), anything else runs the real python3, which
 * starts the test plugin's main.py. No package index is needed.
 */
async function fakePython(): Promise<{ python: string; log: string }> {
  const dir = await tempDir();
  const python = path.join(dir, 'python');
  const log = path.join(dir, 'pip.log');
  writeFileSync(
    python,
    `#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && ln -s "${python}" "$3/bin/python"; exit $?; fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ] && [ -n "$FAKE_PIP_HANG" ]; then sleep 20 & echo "$$ $!" > "$FAKE_PIP_HANG.part"; mv "$FAKE_PIP_HANG.part" "$FAKE_PIP_HANG"; wait; fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$@" >> "${log}"; [ -z "$FAKE_PIP_FAIL" ] || { echo "no matching distribution" >&2; exit 1; }; exit 0; fi
exec python3 "$@"
`,
  );
  chmodSync(python, 0o755);
  return { python, log };
}

/** A plugin main.py serving GET /health on SERVERLESS_HOST:SERVERLESS_PORT, as the SDK's serverless mode does. */
const SERVERLESS_MAIN = `import os
from http.server import BaseHTTPRequestHandler, HTTPServer

assert os.environ["INSTALL_METHOD"] == "serverless"

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

HTTPServer((os.environ["SERVERLESS_HOST"], int(os.environ["SERVERLESS_PORT"])), Health).serve_forever()
`;

describe.skipIf(process.platform === 'win32')('plugin package --check --marketplace --install-test', () => {
  it('installs requirements.txt in a new venv and waits for /health', async () => {
    const { python, log } = await fakePython();
    const dir = await cleanPlugin({ 'main.py': SERVERLESS_MAIN });
    const r = await runCli([
      'plugin',
      'package',
      '--check',
      '--marketplace',
      '--install-test',
      '--python',
      python,
      dir,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(log, 'utf8')).toMatch(/^-m pip install -r .*\/requirements\.txt\n$/);
    // A .difypkg: its files are unpacked and started the same way.
    const pkg = path.join(await tempDir(), 'p.difypkg');
    expect((await runCli(['plugin', 'package', dir, '-o', pkg])).code).toBe(0);
    const packed = await runCli([
      'plugin',
      'package',
      '--check',
      '--marketplace',
      '--install-test',
      '--python',
      python,
      pkg,
    ]);
    expect(packed.stderr).toBe('');
    expect(packed.code).toBe(0);
  });

  it('uses uv when it is found (UV_PATH, or PATH)', async () => {
    const { python } = await fakePython();
    const dir = await tempDir();
    const uv = path.join(dir, 'uv');
    const log = path.join(dir, 'uv.log');
    writeFileSync(
      uv,
      `#!/bin/sh
echo "$@" >> "${log}"
if [ "$1" = "venv" ]; then mkdir -p "$4/bin" && ln -s "$3" "$4/bin/python"; fi
`,
    );
    chmodSync(uv, 0o755);
    const plugin = await cleanPlugin({ 'main.py': SERVERLESS_MAIN });
    const r = await runCli(
      ['plugin', 'package', '--check', '--marketplace', '--install-test', '--python', python, plugin],
      {
        env: { UV_PATH: uv },
      },
    );
    expect(r.code).toBe(0);
    const [venv, install] = readFileSync(log, 'utf8').trim().split('\n');
    expect(venv).toMatch(new RegExp(`^venv --python ${python} .*/venv$`));
    expect(install).toMatch(/^pip install --python .*\/venv\/bin\/python -r .*\/requirements\.txt$/);
  });

  it('names the failed step and prints the plugin output', async () => {
    const { python } = await fakePython();
    const crash = await cleanPlugin({
      'main.py': 'import sys\nprint("booting")\nsys.exit("no credentials\\x1b[31m")\n',
    });
    const r = await runCli([
      'plugin',
      'package',
      '--check',
      '--marketplace',
      '--install-test',
      '--python',
      python,
      crash,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('marketplace/install-failed');
    expect(r.stdout).toContain('step "start the plugin"');
    expect(r.stderr).toContain('booting');
    expect(r.stderr).toContain('no credentials');
    expect(r.stderr).not.toContain('\x1b');

    const pip = await runCli(
      ['plugin', 'package', '--check', '--marketplace', '--install-test', '--python', python, await cleanPlugin()],
      { env: { FAKE_PIP_FAIL: '1' } },
    );
    expect(pip.code).toBe(1);
    expect(pip.stdout).toContain('step "install requirements.txt"');
    expect(pip.stderr).toContain('no matching distribution');
  });
});

describe.skipIf(process.platform === 'win32')('plugin package --marketplace --install-test stopped by Ctrl-C', () => {
  /** Runs the install test in-process until `pids` names the processes to stop; then Ctrl-C. */
  async function interrupt(plugin: string, env: Record<string, string>, pids: string) {
    const { python } = await fakePython();
    const tmp = await tempDir();
    const command = startCommand(
      (io) =>
        run(
          [
            'node',
            'dify',
            'plugin',
            'package',
            '--check',
            '--marketplace',
            '--install-test',
            '--python',
            python,
            plugin,
          ],
          io,
        ),
      { env: { ...env, TMPDIR: tmp } },
    );
    const deadline = Date.now() + 10_000;
    while (!existsSync(pids) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const started = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    // Its work directory is under TMPDIR, as every temporary directory of the CLI.
    expect(readdirSync(tmp)).toEqual([expect.stringMatching(/^dify-install-test-/)]);
    command.signal('SIGINT');
    const ended = await within(command.ended, 5000, 'the command to end after Ctrl-C');
    for (const pid of started) expect(await gone(pid)).toBe(true);
    expect(readdirSync(tmp)).toEqual([]);
    return { ended, command };
  }

  it('kills pip and what it started, removes the work directory, exit 130', async () => {
    const pids = path.join(await tempDir(), 'pids');
    const { ended, command } = await interrupt(await cleanPlugin(), { FAKE_PIP_HANG: pids }, pids);
    expect(ended.code).toBe(130);
    expect(command.stdout()).not.toContain('marketplace/install-failed');
  });

  it('kills the plugin and what it started while waiting for /health', async () => {
    const pids = path.join(await tempDir(), 'pids');
    const main = `import os, subprocess, time\nchild = subprocess.Popen(["sleep", "20"])\nopen(${JSON.stringify(pids + '.part')}, "w").write(f"{os.getpid()} {child.pid}")\nos.rename(${JSON.stringify(pids + '.part')}, ${JSON.stringify(pids)})\ntime.sleep(20)\n`;
    const { ended } = await interrupt(await cleanPlugin({ 'main.py': main }), {}, pids);
    expect(ended.code).toBe(130);
  });
});

describe('plugin package --check --marketplace --format markdown', () => {
  it('writes the pre-check table: passed, failed and skipped checks', async () => {
    const dir = await cleanPlugin({ 'README.md': '# 你好\n' });
    const r = await runCli(['plugin', 'package', '--check', '--marketplace', '--format', 'markdown', dir]);
    expect(r.code).toBe(1);
    const table = r.stdout.slice(r.stdout.indexOf('#### Marketplace pre-check'));
    expect(table.trim().split('\n').slice(2)).toEqual([
      '| Check | Status |',
      '| --- | --- |',
      '| **Overall Status** | ❌ **Failed** |',
      '| Manifest author | ✅ Passed |',
      '| Icon | ✅ Passed |',
      '| requirements.txt | ✅ Passed |',
      '| PRIVACY.md | ✅ Passed |',
      '| README language | ❌ Failed |',
      '| Version not yet published | ⏭️ Skipped |',
      '| Installation | ⏭️ Skipped |',
    ]);
    // Without --marketplace, no such table.
    const plain = await runCli(['plugin', 'package', '--check', '--format', 'markdown', dir]);
    expect(plain.stdout).not.toContain('Marketplace pre-check');
  });
});
