import net from 'node:net';
import { UsageError, UserError } from '../diagnostics/user-error.js';
import { DEBUGPY_DEFAULT_PORT, DEBUGPY_HOST, VSCODE_ATTACH_NAME } from './debugpy-defaults.js';

export { DEBUGPY_DEFAULT_PORT, DEBUGPY_HOST, VSCODE_ATTACH_NAME };

/** `run --debugpy[=PORT] [--debugpy-wait]`: start the plugin under debugpy, listening here. */
export interface DebugpyOptions {
  host: string;
  port: number;
  /** `--wait-for-client`: the plugin's code runs only once a debugger has attached. */
  waitForClient: boolean;
}

/**
 * The flags, checked before anything starts (exit 2). `--debugpy-wait` alone implies `--debugpy`.
 * `--debugpy` takes an optional value, so `--debugpy ./plugin` reads the directory as the port:
 * the hint says to write `--debugpy=PORT`.
 */
export function debugpyOptions(
  value: string | boolean | undefined,
  wait: boolean | undefined,
): DebugpyOptions | undefined {
  if (value === undefined && !wait) return undefined;
  let port = DEBUGPY_DEFAULT_PORT;
  if (typeof value === 'string') {
    port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
    if (!(port >= 1 && port <= 65535))
      throw new UsageError(
        `--debugpy "${value}" is not a port number (1 to 65535)`,
        `write the port with an equals sign, --debugpy=${DEBUGPY_DEFAULT_PORT}, and the plugin directory before the flags`,
      );
  }
  return { host: DEBUGPY_HOST, port, waitForClient: Boolean(wait) };
}

/**
 * The interpreter's arguments: debugpy's command line (`python -m debugpy --listen HOST:PORT
 * [--wait-for-client] -m MODULE`, microsoft/debugpy `src/debugpy/server/cli.py`) around the
 * module the daemon would run.
 */
export function debugpyArguments(o: DebugpyOptions, entrypoint: string): string[] {
  return [
    '-m',
    'debugpy',
    '--listen',
    `${o.host}:${o.port}`,
    ...(o.waitForClient ? ['--wait-for-client'] : []),
    '-m',
    entrypoint,
  ];
}

/**
 * debugpy itself reports a port in use with a traceback, after the plugin's start has been
 * announced; a listen-and-close here says it first, in one line. Another process may still take
 * the port in between: then debugpy's own error shows with the plugin's exit.
 */
export function ensurePortFree(o: DebugpyOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'it is already in use (another debugging session, or another program)'
          : err.code === 'EACCES'
            ? 'permission denied'
            : err.message;
      reject(
        new UserError(
          `debugpy cannot listen on ${o.host}:${o.port}: ${why}`,
          `pick another port, e.g. --debugpy=${o.port === 65535 ? o.port - 1 : o.port + 1}, and the same "port" in .vscode/launch.json`,
        ),
      );
    });
    server.listen({ host: o.host, port: o.port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Where it listens (`127.0.0.1:5678`, and whether the plugin waits), then how to attach: one line each. */
export function attachInstructions(o: DebugpyOptions): { listening: string; ides: string[] } {
  const port = o.port === DEBUGPY_DEFAULT_PORT ? '' : ` (set its "port" to ${o.port})`;
  return {
    listening: `${o.host}:${o.port}${o.waitForClient ? '; the plugin starts once a debugger attaches' : ''}`,
    ides: [
      `VS Code: Run and Debug → "${VSCODE_ATTACH_NAME}" (.vscode/launch.json, written by dify plugin init)${port}`,
      "PyCharm: its debugger cannot attach to a debugpy port; run without --debugpy and use Run → Attach to Process… on the plugin's python process",
    ],
  };
}
