import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { debugpyArguments, type DebugpyOptions } from './debugpy.js';
import { guardGroup, type GroupGuard } from './group-guard.js';
import { LineSplitter, LineTooLongError } from './line-splitter.js';

/**
 * The longest stdout line taken from the plugin, as from the daemon (daemon-link.ts): the daemon
 * takes at most 5 MiB per line from an installed plugin (`PLUGIN_RUNTIME_MAX_BUFFER_SIZE`) but
 * sets no limit on a debugging connection, to which `run` relays the lines as they are. A plugin
 * that writes more without a newline is stopped: its output can no longer be framed.
 */
export const MAX_PLUGIN_LINE_BYTES = 64 * 1024 * 1024;
/**
 * stderr is only shown, its last few lines, each cut to MAX_STDERR_LINE_CHARS: a longer line is
 * not read whole, a line of many megabytes is left out (what follows it on the same line then
 * shows as a line of its own, cut).
 */
const MAX_STDERR_LINE_BYTES = 1024 * 1024;
const MAX_STDERR_LINE_CHARS = 1000;
/** A manifest is a few kilobytes; a longer first line is not parsed to find out whether it is one. */
const MAX_MANIFEST_LINE_BYTES = 1024 * 1024;
const STDERR_LEFT_OUT = `(a line longer than ${MAX_STDERR_LINE_BYTES / 1024 / 1024} MiB, left out)`;

export interface PluginProcessOptions {
  python: string;
  /** `meta.runner.entrypoint`, run as `<python> -m <entrypoint>`. */
  entrypoint: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** How many of the last stderr lines to keep for the report when it exits. */
  stderrLines?: number;
  /**
   * The SDK's `INSTALL_METHOD`: `local` (stdio, the default) or `serverless` (an HTTP server,
   * serverless-run.ts), whose stdout carries log lines only, no manifest line to skip.
   */
  installMethod?: 'local' | 'serverless';
  /** `run --debugpy`: started under debugpy instead, on every (re)start. */
  debugpy?: DebugpyOptions;
}

export interface PluginExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines it wrote to stderr (a traceback, usually). */
  stderrTail: string[];
  /** Set when it could not be started at all (no such interpreter, ...). */
  spawnError?: string;
  /** Set when the CLI killed it for what it did (a line over MAX_PLUGIN_LINE_BYTES). */
  killedFor?: string;
}

/**
 * The plugin's Python process in the SDK's stdio mode (`INSTALL_METHOD=local`): its first stdout
 * line is the manifest, then heartbeats, session messages and logs, one JSON object per line.
 *
 * Events: `line` (a stdout line, but the SDK's manifest line), `stderr` (a stderr line, cut to
 * MAX_STDERR_LINE_CHARS, as it comes), `exit` (PluginExit).
 *
 * It is started exactly as the daemon starts it, `<python> -m <entrypoint>` (dify-plugin-daemon
 * `internal/core/local_runtime/subprocess.go`), with nothing in between, so that tracebacks, `ps`
 * and interpreter wrappers see what they would under Dify. That no plugin outlives the CLI rests
 * on the following instead of a wrapper:
 * - The process leads a process group of its own (`detached`), which every stop signals as a
 *   whole, so whatever it started dies with it; whatever is left of the group when it exits by
 *   itself is killed too. The group also keeps a Ctrl-C in the terminal away from it: the CLI
 *   stops it in order instead.
 * - The CLI's commands stop it on SIGINT, SIGTERM and SIGHUP, and kill the group when the CLI
 *   exits any other way (killNow(), from a `process.on('exit')` handler).
 * - A CLI killed outright (SIGKILL, the OOM killer) can do nothing itself: a guard process kills
 *   the group when the CLI's end of a pipe closes (group-guard.ts). The SDK's own check (its
 *   stdio mode exits once its parent process id is 1, dify-plugin-sdks
 *   `src/dify_plugin/core/server/io_server.py`) does not fire under a subreaper such as
 *   `systemd --user`, and the SDK ignores the end of its stdin.
 *
 * `run --debugpy` is the one exception, for local development only: the module then runs under
 * debugpy's command line (debugpy.ts), which runs it in the same process.
 *
 * On Windows there are no process groups to signal and no guard: only the process itself is
 * killed, and a plugin whose CLI was killed outright keeps running
 * (docs/remote-debugging.md#stdio-mode).
 */
export class PluginProcess extends EventEmitter<{ line: [Buffer]; stderr: [string]; exit: [PluginExit] }> {
  private child: ChildProcessWithoutNullStreams | undefined;
  private sawManifest = false;
  private stderrTail: string[] = [];
  private exited: Promise<void> = Promise.resolve();
  private guard: GroupGuard | undefined;

  constructor(private readonly options: PluginProcessOptions) {
    super();
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The stdout stream, so the relay can pause it while the daemon's socket is full. */
  get stdout(): NodeJS.ReadableStream | undefined {
    return this.child?.stdout;
  }

  start(): void {
    if (this.child) return;
    const { python, entrypoint, cwd, env, debugpy, installMethod = 'local' } = this.options;
    const args = debugpy ? debugpyArguments(debugpy, entrypoint) : ['-m', entrypoint];
    // The SDK patches the standard library with gevent at import; debugpy's tracer follows
    // greenlets only when told to (GEVENT_SUPPORT, read by pydevd's `pydevd_constants.py`). Its
    // warning about Python 3.11's frozen standard modules, four stderr lines at every start,
    // concerns breakpoints in those modules only (PYDEVD_DISABLE_FILE_VALIDATION silences it).
    const debugEnv = debugpy
      ? {
          GEVENT_SUPPORT: env.GEVENT_SUPPORT ?? 'True',
          PYDEVD_DISABLE_FILE_VALIDATION: env.PYDEVD_DISABLE_FILE_VALIDATION ?? '1',
        }
      : {};
    const child = spawn(python, args, {
      cwd,
      env: { ...env, ...debugEnv, INSTALL_METHOD: installMethod, PYTHONUNBUFFERED: '1' },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    if (child.pid !== undefined) this.guard = guardGroup(child.pid);
    this.sawManifest = installMethod !== 'local';
    this.stderrTail = [];
    let killedFor: string | undefined;
    const stdoutLines = new LineSplitter(MAX_PLUGIN_LINE_BYTES);
    child.stdout.on('data', (chunk: Buffer) => {
      if (killedFor) return;
      let lines: Buffer[];
      try {
        lines = stdoutLines.push(chunk);
      } catch (err) {
        if (!(err instanceof LineTooLongError)) throw err;
        killedFor = `it wrote a line longer than ${MAX_PLUGIN_LINE_BYTES / 1024 / 1024} MiB on stdout`;
        return signalGroup(child, 'SIGKILL');
      }
      for (const line of lines) {
        // The SDK's first line is its manifest: the daemon side ignores it, and so do we. Only
        // that: what the plugin prints before the SDK starts (at import) comes first, and is shown.
        if (!this.sawManifest && isManifestLine(line)) this.sawManifest = true;
        else this.emit('line', line);
      }
    });
    const stderrLines = new LineSplitter(MAX_STDERR_LINE_BYTES);
    child.stderr.on('data', (chunk: Buffer) => {
      try {
        for (const line of stderrLines.push(chunk)) this.stderrLine(line.toString('utf8'));
      } catch (err) {
        if (!(err instanceof LineTooLongError)) throw err;
        // The rest of that chunk goes too; a line of many megabytes says the same once.
        if (this.stderrTail.at(-1) !== STDERR_LEFT_OUT) this.stderrLine(STDERR_LEFT_OUT);
      }
    });
    child.stdin.on('error', () => undefined); // EPIPE when it dies mid-write: the exit is reported instead
    let spawnError: string | undefined;
    child.on('error', (err) => (spawnError = err.message));
    // Whatever it started and left behind (in its group) goes with it. 'exit' comes before
    // 'close', which waits for every holder of its stdout and stderr, such as those leftovers.
    child.on('exit', () => signalGroup(child, 'SIGKILL'));
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.child = undefined;
        this.guard?.release();
        this.guard = undefined;
        const rest = stderrLines.rest();
        if (rest) this.stderrLine(rest.toString('utf8'));
        const exit: PluginExit = { code, signal, stderrTail: this.stderrTail };
        if (spawnError) exit.spawnError = spawnError;
        if (killedFor) exit.killedFor = killedFor;
        this.emit('exit', exit);
        resolve();
      });
    });
  }

  /** Writes one line to its stdin; false when the pipe is full (wait for `drain` on `stdin`). */
  write(line: Buffer): boolean {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return true;
    stdin.write(line);
    return stdin.write('\n');
  }

  get stdin(): NodeJS.WritableStream | undefined {
    return this.child?.stdin;
  }

  /** SIGTERM to its process group, then SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    const kill = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    signalGroup(child, 'SIGTERM');
    await this.exited;
    clearTimeout(kill);
  }

  /** For the CLI's own exit handler (synchronous): SIGKILL to its process group, nothing outlives us. */
  killNow(): void {
    if (this.child) signalGroup(this.child, 'SIGKILL');
  }

  /** Shown as it comes (a traceback while the plugin is still up, a warning) and kept for the exit report. */
  private stderrLine(text: string): void {
    const line = text.length > MAX_STDERR_LINE_CHARS ? `${text.slice(0, MAX_STDERR_LINE_CHARS)}…` : text;
    this.stderrTail.push(line);
    const max = this.options.stderrLines ?? 20;
    if (this.stderrTail.length > max) this.stderrTail.shift();
    this.emit('stderr', line);
  }
}

/**
 * The SDK's manifest line (dify-plugin-sdks `src/dify_plugin/plugin.py`, `_launch_local_stream`):
 * a JSON object, and unlike every message after it, without an `event`.
 */
function isManifestLine(line: Buffer): boolean {
  if (line.length > MAX_MANIFEST_LINE_BYTES || line[0] !== 0x7b) return false; // '{'
  try {
    const value = JSON.parse(line.toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) && !('event' in value);
  } catch {
    return false;
  }
}

/**
 * Signals the child's whole process group (it may have children of its own). Also called once the
 * child itself has exited: the group lives on, under the same id, as long as any of its members
 * does, and the id is not reused before that.
 */
function signalGroup(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return; // never started: nothing to signal
  if (process.platform === 'win32') {
    // No process groups: kill() terminates the process alone (its children are not reached).
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return;
  }
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: every member of the group has exited. EPERM: the plugin left its group (setsid) for
    // one we may not signal; it can still be reached alone.
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}
