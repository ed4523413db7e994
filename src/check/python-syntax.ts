import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { findOnPath, isExecutable } from '../project/executables.js';

/** A source file to compile: its path in the plugin and its bytes. */
export interface SourceText {
  path: string;
  data: Buffer;
}

/** A file Python would not compile, where and why. */
export interface CompileError {
  path: string;
  /** 1-based; null when Python gave no position (a null byte, for example). */
  line: number | null;
  column: number | null;
  /** `SyntaxError: ...`, `IndentationError: ...` as Python words it. */
  message: string;
}

export type CompileOutcome =
  | { ran: true; interpreter: string; version: [number, number]; errors: CompileError[] }
  | { ran: false; reason: string };

/** A compile that takes longer than this is abandoned (compiling a real plugin takes milliseconds). */
export const COMPILE_TIMEOUT_MS = 15_000;
/** A reply longer than this is not one of the script's: the interpreter is abandoned. */
const MAX_REPLY_BYTES = 1024 * 1024;
const MAX_ERRORS_PER_PLUGIN = 100;

/** Separators of the reply: between errors, and between the fields of one (never in a message). */
const RECORD = '\x1e';
const FIELD = '\x1f';

/**
 * Answers each request on stdin with one line. A request is `<count>\n`, then for each file
 * `<path bytes> <content bytes>\n<path><content>`: raw bytes, so that files inside a .difypkg need
 * no temporary copies. Each file is compiled as the SDK's import would (`compile(source_bytes,
 * path, "exec")`: the encoding cookie and BOM are honoured, and compile-time errors such as
 * `return` outside a function are caught too). The reply is the version, then one record per
 * error: index, line, column (0 when unknown), message. Only builtins are used: importing json
 * would cost Python more than its start.
 */
const SCRIPT = `
import sys
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
version = "%d.%d" % sys.version_info[:2]
while True:
    header = stdin.readline()
    if not header:
        break
    records = [version]
    for index in range(int(header)):
        path_size, data_size = map(int, stdin.readline().split())
        path = stdin.read(path_size).decode("utf-8", "replace")
        data = stdin.read(data_size)
        if len(records) > ${MAX_ERRORS_PER_PLUGIN}:
            continue
        try:
            compile(data, path, "exec", dont_inherit=True)
        except SyntaxError as e:
            error = (e.lineno, e.offset, "%s: %s" % (type(e).__name__, e.msg))
        except (ValueError, MemoryError, RecursionError) as e:
            error = (None, None, "%s: %s" % (type(e).__name__, e))
        else:
            continue
        line, column, message = error
        # str.split() also splits at the separators, so none is left in the message.
        message = " ".join(str(message)[:300].split())
        records.append("%d${FIELD}%d${FIELD}%d${FIELD}%s" % (index, line or 0, column or 0, message))
    stdout.write(("${RECORD}".join(records) + "\\n").encode("utf-8", "replace"))
    stdout.flush()
`;

/**
 * The interpreter for the syntax check: PYTHON_INTERPRETER_PATH (the variable `run` honours too)
 * when it names an executable, then python3 and python on PATH. Looked up once per environment,
 * since checking many plugins asks many times.
 */
export function findPython(env: NodeJS.ProcessEnv): string | undefined {
  const key = `${env.PYTHON_INTERPRETER_PATH ?? ''}\u0000${env.PATH ?? ''}\u0000${env.PATHEXT ?? ''}`;
  if (!lookups.has(key)) lookups.set(key, lookUp(env));
  return lookups.get(key);
}

const lookups = new Map<string, string | undefined>();

function lookUp(env: NodeJS.ProcessEnv): string | undefined {
  const override = env.PYTHON_INTERPRETER_PATH;
  if (override) {
    // A bare name is looked up on PATH; a path (`./venv/bin/python`) is taken from the current
    // directory, as `run` takes it.
    const found = /[\\/]/.test(override)
      ? isExecutable(path.resolve(override))
        ? path.resolve(override)
        : undefined
      : findOnPath(override, env);
    if (found) return found;
  }
  return findOnPath('python3', env) ?? findOnPath('python', env);
}

/**
 * Compiles all `sources` (one plugin's) in a single request to a Python process. Never throws:
 * when Python cannot be found, fails or runs too long, the outcome says why instead.
 */
export async function compileSources(
  sources: readonly SourceText[],
  env: NodeJS.ProcessEnv,
  timeoutMs = COMPILE_TIMEOUT_MS,
): Promise<CompileOutcome> {
  const worker = workerFor(env);
  if (!worker) return { ran: false, reason: 'no python3 or python was found on PATH' };
  const parts: Buffer[] = [Buffer.from(`${sources.length}\n`)];
  for (const s of sources) {
    const name = Buffer.from(s.path);
    parts.push(Buffer.from(`${name.length} ${s.data.length}\n`), name, s.data);
  }
  const paths = sources.map((s) => s.path);
  return worker.compile(Buffer.concat(parts), paths, timeoutMs);
}

/**
 * Starts the Python that compileSources() will use, if it is not running yet: a caller that
 * knows sources are coming starts it early, so that Python starts up while the checks run.
 */
export function startPython(env: NodeJS.ProcessEnv): void {
  workerFor(env);
}

function workerFor(env: NodeJS.ProcessEnv): PythonWorker | undefined {
  const python = findPython(env);
  if (!python) return undefined;
  let worker = workers.get(python);
  if (!worker || worker.dead) workers.set(python, (worker = new PythonWorker(python, env)));
  return worker;
}

/**
 * One Python process per interpreter serves every plugin a command checks, one request after
 * the other: Python starts once (a pyenv shim alone takes longer than compiling a plugin), not
 * once per plugin. It holds the event loop only while a request is open, and ends with stdin
 * when this process exits.
 */
const workers = new Map<string, PythonWorker>();

interface Waiting {
  /** The files of the request, in order: the reply names them by index. */
  paths: string[];
  resolve: (outcome: CompileOutcome) => void;
  timer: NodeJS.Timeout;
}

class PythonWorker {
  dead = false;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Waiting[] = [];
  private pending = '';
  private stderr = '';
  private failure: string | undefined;

  constructor(
    private readonly python: string,
    env: NodeJS.ProcessEnv,
  ) {
    // -I: ignore PYTHON* variables and the user's site-packages; -S: no site import (faster);
    // -W ignore: warnings (invalid escape sequences) are no errors, and would only fill stderr.
    this.child = spawn(python, ['-I', '-S', '-W', 'ignore', '-c', SCRIPT], { env, stdio: 'pipe', windowsHide: true });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.read(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += chunk.toString('utf8');
    });
    this.child.stdin.on('error', () => {}); // a Python that exits early closes its stdin: the exit says why
    this.child.on('error', (err) => this.fail(`${python} could not be started: ${err.message}`));
    this.child.on('close', (code) => {
      const why = this.stderr.trim().split('\n').pop() || `exit code ${code}`;
      this.fail(`${python} did not run the check (${why})`);
    });
    this.hold(false);
  }

  compile(input: Buffer, paths: string[], timeoutMs: number): Promise<CompileOutcome> {
    if (this.dead) return Promise.resolve({ ran: false, reason: this.failure ?? `${this.python} stopped` });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.fail(`${this.python} took longer than ${timeoutMs / 1000} s`);
        this.child.kill('SIGKILL');
      }, timeoutMs);
      this.waiting.push({ paths, resolve, timer });
      this.hold(true);
      this.child.stdin.write(input);
    });
  }

  private read(chunk: string): void {
    this.pending += chunk;
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      const next = this.waiting[0];
      const report = next && parseReport(line, next.paths);
      if (!report) {
        this.fail(`${this.python} answered something else than the check's report`);
        this.child.kill('SIGKILL');
        return;
      }
      this.waiting.shift();
      clearTimeout(next.timer);
      next.resolve({ ran: true, interpreter: this.python, ...report });
    }
    if (this.pending.length > MAX_REPLY_BYTES) {
      this.fail(`${this.python} printed more than expected`);
      this.child.kill('SIGKILL');
    }
    this.hold(this.waiting.length > 0);
  }

  /** Ends every open request with `reason`; the next compile starts a new process. */
  private fail(reason: string): void {
    this.failure ??= reason;
    this.dead = true;
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.resolve({ ran: false, reason: this.failure });
    }
    this.hold(false);
  }

  /** Keeps this process alive for Python's answer, and only then. */
  private hold(waiting: boolean): void {
    // The pipes are sockets, which can be unreferenced; their stream types do not say so.
    const pipes = [this.child.stdin, this.child.stdout, this.child.stderr] as unknown as Refable[];
    for (const handle of [this.child, ...pipes]) {
      if (waiting) handle.ref?.();
      else handle.unref?.();
    }
  }
}

interface Refable {
  ref?: () => void;
  unref?: () => void;
}

function parseReport(line: string, paths: string[]): { version: [number, number]; errors: CompileError[] } | undefined {
  const [version, ...records] = line.split(RECORD);
  const match = /^(\d+)\.(\d+)$/.exec(version ?? '');
  if (!match) return undefined;
  const errors: CompileError[] = [];
  for (const record of records) {
    const [index, line, column, message] = record.split(FIELD);
    const path = paths[Number(index)];
    if (path === undefined || message === undefined) return undefined;
    errors.push({ path, line: positive(Number(line)), column: positive(Number(column)), message });
  }
  return { version: [Number(match[1]), Number(match[2])], errors };
}

function positive(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}
