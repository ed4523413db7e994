import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { LineSplitter } from './line-splitter.js';
import { pluginCommand } from './python-launch.js';

export interface PluginProcessOptions {
  python: string;
  /** `meta.runner.entrypoint`: the process runs it as `<python> -m <entrypoint>` would (python-launch.ts). */
  entrypoint: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** How many of the last stderr lines to keep for the report when it exits. */
  stderrLines?: number;
}

export interface PluginExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines it wrote to stderr (a traceback, usually). */
  stderrTail: string[];
  /** Set when it could not be started at all (no such interpreter, ...). */
  spawnError?: string;
}

/**
 * The plugin's Python process in the SDK's stdio mode (`INSTALL_METHOD=local`): its first stdout
 * line is the manifest, then heartbeats, session messages and logs, one JSON object per line.
 *
 * Events: `line` (a stdout line after the first), `exit` (PluginExit). The process gets its own
 * process group, so a Ctrl-C in the terminal reaches only the CLI, which then stops it in order.
 * If the CLI dies, the kernel kills the plugin on Linux (python-launch.ts); elsewhere the SDK
 * notices it is orphaned and exits by itself.
 */
export class PluginProcess extends EventEmitter<{ line: [Buffer]; exit: [PluginExit] }> {
  private child: ChildProcessWithoutNullStreams | undefined;
  private sawManifest = false;
  private stderrTail: string[] = [];
  private exited: Promise<void> = Promise.resolve();

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
    const { python, entrypoint, cwd, env } = this.options;
    const { command, args } = pluginCommand(python, entrypoint);
    const child = spawn(command, args, {
      cwd,
      env: { ...env, INSTALL_METHOD: 'local', PYTHONUNBUFFERED: '1' },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.sawManifest = false;
    this.stderrTail = [];
    const stdoutLines = new LineSplitter();
    child.stdout.on('data', (chunk: Buffer) => {
      for (const line of stdoutLines.push(chunk)) {
        // The SDK's first stdout line is its manifest: the daemon side ignores it, and so do we.
        if (!this.sawManifest) this.sawManifest = true;
        else this.emit('line', line);
      }
    });
    const stderrLines = new LineSplitter();
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of stderrLines.push(chunk)) this.keepStderr(line.toString('utf8'));
    });
    child.stdin.on('error', () => undefined); // EPIPE when it dies mid-write: the exit is reported instead
    let spawnError: string | undefined;
    child.on('error', (err) => (spawnError = err.message));
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.child = undefined;
        const rest = stderrLines.rest();
        if (rest) this.keepStderr(rest.toString('utf8'));
        const exit: PluginExit = { code, signal, stderrTail: this.stderrTail };
        if (spawnError) exit.spawnError = spawnError;
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

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    const kill = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    signalGroup(child, 'SIGTERM');
    await this.exited;
    clearTimeout(kill);
  }

  /** For the CLI's own exit handler: no time to wait, make sure nothing outlives us. */
  killNow(): void {
    if (this.child) signalGroup(this.child, 'SIGKILL');
  }

  private keepStderr(line: string): void {
    this.stderrTail.push(line);
    const max = this.options.stderrLines ?? 20;
    if (this.stderrTail.length > max) this.stderrTail.shift();
  }
}

/** Signals the child's whole process group (it may have children of its own). */
function signalGroup(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}
