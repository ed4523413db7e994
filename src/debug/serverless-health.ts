import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { killGroup, killOnAbort, OWN_GROUP } from '../pack/process-group.js';

/**
 * A plugin started in the Python SDK's serverless mode (`INSTALL_METHOD=serverless`: an HTTP
 * server on SERVERLESS_HOST:SERVERLESS_PORT answering `GET /health`, dify-plugin-sdks
 * src/dify_plugin/core/server/serverless/), and the wait for it to be ready.
 */
export interface ServerlessStartOptions {
  /** The interpreter: the plugin runs as `<python> -m <entrypoint>` in `cwd`. */
  python: string;
  entrypoint: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  host?: string;
  /** Default: a free port. */
  port?: number;
  /** How long the plugin has to answer `/health` with 200 (default HEALTH_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Between two `/health` requests. */
  pollMs?: number;
  /** Aborted (Ctrl-C): the plugin's process group is killed and the start fails at once. */
  signal?: AbortSignal;
}

export interface ServerlessPlugin {
  url: string;
  /** What the plugin printed so far (stdout and stderr, interleaved; its last 64 KiB). */
  output(): string;
  /** Stops it: SIGTERM, then SIGKILL after 2 s. */
  stop(): Promise<void>;
}

export class ServerlessStartError extends Error {
  constructor(
    message: string,
    /** What the plugin printed before it failed. */
    readonly output: string,
  ) {
    super(message);
  }
}

const OUTPUT_LIMIT = 64 * 1024;

/**
 * How long a plugin has to become healthy, in the install test as in `run --serverless`: the SDK
 * imports every provider before it listens, which takes tens of seconds for a large plugin.
 */
export const HEALTH_TIMEOUT_MS = 60_000;

/** A TCP port nothing listens on now (the kernel's choice), on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the plugin in serverless mode and resolves once `GET /health` answers 200; rejects with
 * a ServerlessStartError (and stops the plugin) if it exits first or the time runs out.
 */
export async function startServerless(o: ServerlessStartOptions): Promise<ServerlessPlugin> {
  if (o.port !== undefined) return startOn(o, o.port);
  // A port free when asked can be taken before the plugin binds it (by any other program
  // choosing a port the same way): then the plugin fails at once, and another port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(o, await freePort(o.host ?? '127.0.0.1'));
    } catch (err) {
      if (!(err instanceof ServerlessStartError) || attempt === 3 || !PORT_TAKEN.test(err.output)) throw err;
    }
  }
}

/** How Python says its server's port is taken (Linux, macOS, Windows). */
const PORT_TAKEN = /Address already in use|\[Errno (?:98|48)\]|WinError 10048/;

async function startOn(o: ServerlessStartOptions, port: number): Promise<ServerlessPlugin> {
  const host = o.host ?? '127.0.0.1';
  const child = spawn(o.python, ['-m', o.entrypoint], {
    cwd: o.cwd,
    env: { ...o.env, INSTALL_METHOD: 'serverless', SERVERLESS_HOST: host, SERVERLESS_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: OWN_GROUP,
  });
  const undo = killOnAbort(child, o.signal);
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`could not be started: ${err.message}`));
    child.once('exit', (code, signal) => resolve(`exited (${signal ?? `code ${code}`}) before /health answered`));
  });
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let gone = false;
  const plugin: ServerlessPlugin = { url, output: () => output, stop: () => (gone ? Promise.resolve() : stop(child)) };
  const deadline = Date.now() + (o.timeoutMs ?? HEALTH_TIMEOUT_MS);
  let failure: string | undefined;
  void exited.then((reason) => {
    gone = true;
    failure ??= reason;
  });
  void exited.then(undo);
  while (failure === undefined) {
    if (o.signal?.aborted) {
      failure = 'was interrupted';
      break;
    }
    if ((await health(`${url}/health`)) === 200) return plugin;
    if (failure !== undefined) break;
    if (Date.now() >= deadline) {
      failure = `did not answer GET /health with 200 within ${(o.timeoutMs ?? HEALTH_TIMEOUT_MS) / 1000} s`;
      break;
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
  }
  await plugin.stop();
  throw new ServerlessStartError(failure, output);
}

/** The status of one `GET`, or 0 when nothing answered (within a second). */
function health(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      res.resume(); // the body is not needed
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => killGroup(child), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
