// The wait for a plugin started in serverless mode (src/debug/serverless-health.ts), with a
// stand-in plugin in Python: what it is started with, and each way the wait ends.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ServerlessStartError, startServerless } from '../../src/debug/serverless-health.js';
import { tempDir } from '../helpers/plugin.js';

/** A module answering GET /health with `status`, after printing the environment it was given. */
const PLUGIN = (status: number) => `import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
print("mode", os.environ["INSTALL_METHOD"], os.environ["SERVERLESS_HOST"], flush=True)
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(${status} if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
HTTPServer((os.environ["SERVERLESS_HOST"], int(os.environ["SERVERLESS_PORT"])), H).serve_forever()
`;

async function pluginDir(main: string): Promise<string> {
  const dir = await tempDir();
  writeFileSync(path.join(dir, 'main.py'), main);
  return dir;
}

describe.skipIf(process.platform === 'win32')('startServerless', () => {
  it('resolves once GET /health answers 200, with the serverless environment, and stops the plugin', async () => {
    const cwd = await pluginDir(PLUGIN(200));
    const plugin = await startServerless({ python: 'python3', entrypoint: 'main', cwd, env: process.env });
    expect(plugin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${plugin.url}/health`)).status).toBe(200);
    await plugin.stop();
    expect(plugin.output()).toContain('mode serverless 127.0.0.1');
    await expect(fetch(`${plugin.url}/health`)).rejects.toThrow();
  });

  it('waits 60 s by default, as run --serverless does (the clock moved on, not waited for)', async () => {
    const cwd = await pluginDir(PLUGIN(503));
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: start });
    try {
      const started = startServerless({
        python: 'python3',
        entrypoint: 'main',
        cwd,
        env: process.env,
        pollMs: 20,
      }).then(
        () => new Error('started'),
        (err: Error) => err,
      );
      const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
      await settle();
      vi.setSystemTime(start + 59_000);
      await settle();
      expect(await Promise.race([started, 'still waiting'])).toBe('still waiting');
      vi.setSystemTime(start + 61_000);
      const err = await started;
      expect(err).toBeInstanceOf(ServerlessStartError);
      expect(err.message).toBe('did not answer GET /health with 200 within 60 s');
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives up after the time limit when /health never answers 200', async () => {
    const cwd = await pluginDir(PLUGIN(503));
    const start = startServerless({ python: 'python3', entrypoint: 'main', cwd, env: process.env, timeoutMs: 600 });
    const err = await start.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerlessStartError);
    expect((err as ServerlessStartError).message).toBe('did not answer GET /health with 200 within 0.6 s');
  });

  it('tries another port when the chosen one was taken before the plugin could bind it', async () => {
    // The first start fails as Python does on a taken port; the next one serves.
    const cwd = await pluginDir(
      `import os, sys
flag = os.path.join(os.getcwd(), "tried")
if not os.path.exists(flag):
    open(flag, "w").close()
    raise OSError(98, "Address already in use")
` + PLUGIN(200),
    );
    const plugin = await startServerless({ python: 'python3', entrypoint: 'main', cwd, env: process.env });
    expect((await fetch(`${plugin.url}/health`)).status).toBe(200);
    await plugin.stop();
    // Any other early exit is not retried.
    const once = await pluginDir(
      'import os\nopen(os.path.join(os.getcwd(), "ran"), "a").write("x")\nraise SystemExit(1)\n',
    );
    await expect(
      startServerless({ python: 'python3', entrypoint: 'main', cwd: once, env: process.env }),
    ).rejects.toThrow(ServerlessStartError);
    expect(readFileSync(path.join(once, 'ran'), 'utf8')).toBe('x');
  });

  it('fails at once when the plugin exits or cannot be started', async () => {
    const cwd = await pluginDir('raise SystemExit("boom")\n');
    await expect(startServerless({ python: 'python3', entrypoint: 'main', cwd, env: process.env })).rejects.toThrow(
      /exited \(code 1\) before \/health answered/,
    );
    await expect(
      startServerless({ python: path.join(cwd, 'no-python'), entrypoint: 'main', cwd, env: process.env }),
    ).rejects.toThrow(/could not be started/);
  });
});
