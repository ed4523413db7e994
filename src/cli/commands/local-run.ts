import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkPlugin } from '../../check/plugin-check.js';
import { get } from '../../check/rules/context.js';
import { LineSplitter } from '../../debug/line-splitter.js';
import { LocalRunner, LocalStartError, type RunnerClient, type RunnerMessage } from '../../debug/local-runner.js';
import { resolveSettings } from '../../debug/settings.js';
import { extractPackage } from '../../pack/extract.js';
import { colorFor } from '../../report/color.js';
import { formatText } from '../../report/text.js';
import { CliError, EXIT, UsageError, type ExitCode } from '../errors.js';
import type { Io } from '../io.js';

export interface LocalRunOptions {
  mode?: 'stdio' | 'tcp';
  responseFormat?: 'text' | 'json';
  enableLogs?: boolean;
  host?: string;
  port?: string;
  python?: string;
}

const MAX_PACKAGE_BYTES = 50 * 1024 * 1024;
const STOP_GRACE_MS = 5_000;
const RESTART_DELAY_MS = 1_000;

/**
 * `dify plugin run <file.difypkg>` (or `--local <dir>`): runs the plugin here without Dify, speaking
 * the Go CLI's `invoke_id` protocol on stdin/stdout or per TCP client (daemon.md §5.13).
 */
export async function localRunCommand(target: string, opts: LocalRunOptions, io: Io): Promise<ExitCode> {
  const file = path.resolve(io.cwd, target);
  const isPackage = statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
  const emit = (message: RunnerMessage) => io.stdout.write(render(message, opts.responseFormat ?? 'text') + '\n');
  const system = (text: string) => emit({ invoke_id: '', type: 'info', response: { info: text } });

  const checked = await checkPlugin(file, { strict: false, maxBytes: MAX_PACKAGE_BYTES, env: io.env, checksum: false });
  if (!checked.ok || !checked.project) {
    checked.path = target;
    io.stderr.write(formatText([checked], colorFor(io.stderr, io.env)));
    throw new CliError('the plugin has errors; fix them before running it');
  }
  const entrypoint = String(get(checked.project.manifest?.value, 'meta', 'runner', 'entrypoint') ?? 'main');

  // A package runs from a temporary copy that is removed however the run ends.
  const dir = isPackage ? mkdtempSync(path.join(tmpdir(), 'plugin-run-')) : file;
  const removeTemp = () => isPackage && rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeTemp);
  try {
    if (isPackage) {
      system('loading plugin');
      await extractPackage(file, dir, MAX_PACKAGE_BYTES);
    }
    const python = resolveSettings(dir, opts.python !== undefined ? { python: opts.python } : {}, io.env).python.value;
    const runner = new LocalRunner({
      plugin: { python, entrypoint, cwd: dir, env: io.env },
      onLog: (level, message) => opts.enableLogs && system(`[${level}] ${message}`),
      onExit: (exit) => system(`the plugin exited (code ${exit.code}); restarting it${exit.stderrTail.length ? `: ${exit.stderrTail.join(' | ')}` : ''}`),
      restartDelayMs: RESTART_DELAY_MS,
    });
    const killChild = () => runner.killNow();
    process.once('exit', killChild);
    try {
      await runner.start();
    } catch (err) {
      if (err instanceof LocalStartError) {
        throw new CliError(`${err.message}${err.exit.stderrTail.length ? `\n  ${err.exit.stderrTail.join('\n  ')}` : ''}`, EXIT.failed, 'pass --python with an interpreter that has the plugin\'s dependencies (dify_plugin)');
      }
      throw err;
    }
    const ended = opts.mode === 'tcp' ? serveTcp(runner, opts, system) : serveStdio(runner, io, emit);
    await ended;
    await runner.stop(STOP_GRACE_MS);
    process.off('exit', killChild);
    return EXIT.ok;
  } finally {
    removeTemp();
    process.off('exit', removeTemp);
  }
}

/** One client on stdin/stdout; ends at Ctrl-C, SIGTERM, or end of input once its requests are done. */
function serveStdio(runner: LocalRunner, io: Io, emit: (m: RunnerMessage) => void): Promise<void> {
  const client: RunnerClient = { userId: randomUUID(), send: emit };
  runner.addClient(client);
  const lines = new LineSplitter();
  return new Promise((resolve) => {
    io.stdin.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk)) runner.handle(client, line.toString('utf8'));
    });
    io.stdin.on('end', () => void runner.idle().then(() => resolve()));
    untilSignal(resolve);
  });
}

/** One client per TCP connection, on 127.0.0.1 unless --host says otherwise; ends at Ctrl-C or SIGTERM. */
function serveTcp(runner: LocalRunner, opts: LocalRunOptions, system: (text: string) => void): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port === undefined ? 0 : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port "${opts.port}" is not a port number`);
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      const client: RunnerClient = { userId: randomUUID(), send: (m) => socket.write(render(m, 'json') + '\n') };
      const lines = new LineSplitter();
      socket.on('data', (chunk: Buffer) => {
        for (const line of lines.push(chunk)) runner.handle(client, line.toString('utf8'));
      });
      socket.on('error', () => undefined);
      socket.on('close', () => runner.removeClient(client));
      runner.addClient(client);
    });
    server.once('error', (err) => reject(new CliError(`cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => {
      const address = server.address() as net.AddressInfo;
      system(`plugin is running on ${address.address}:${address.port}`);
      untilSignal(() => server.close(() => resolve()));
    });
  });
}

function untilSignal(then: () => void): void {
  const onSignal = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    then();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** `-r json`: one JSON object per line; `-r text`: `[type] <invoke id> <response>` for people. */
function render(m: RunnerMessage, format: 'text' | 'json'): string {
  if (format === 'json') return JSON.stringify(m);
  return `[${m.type}]${m.invoke_id ? ` ${m.invoke_id}` : ''} ${JSON.stringify(m.response)}`;
}
