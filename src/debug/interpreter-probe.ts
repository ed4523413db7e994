import { spawn } from 'node:child_process';

/** What one start of an interpreter says about itself. */
export interface InterpreterFacts {
  /** `3.12.4`: major.minor.micro. */
  version: string;
  /** `sys.executable`: where a name found on PATH, or a venv's link, leads. */
  executable: string;
  /** The installed `dify_plugin`: its version, or null when its metadata does not say; undefined when it cannot be imported. */
  sdk: { version: string | null } | undefined;
  /** The installed debugpy (for `run --debugpy`), found as `dify_plugin` is. */
  debugpy: { version: string | null } | undefined;
}

export type ProbeResult =
  | { ok: true; facts: InterpreterFacts }
  | { ok: false; problem: 'not-found' | 'not-executable' | 'failed' | 'timeout'; detail: string };

/**
 * Run by the interpreter with `-c`. Written for any Python, 2.7 included (a bare `python` may be
 * one), so that an old interpreter is reported for its version rather than for a syntax error.
 * `dify_plugin` is looked up (`find_spec`), not imported: importing the SDK loads gevent, pydantic
 * and Flask, a second or more, and patches the standard library; whether its own dependencies
 * import shows when the plugin starts. Its version comes from the installed package's metadata.
 */
const SCRIPT = `
import json, sys
r = {"version": "%d.%d.%d" % tuple(sys.version_info[:3]), "executable": sys.executable or ""}
try:
    import importlib.util
    found = importlib.util.find_spec("dify_plugin") is not None
except Exception:
    found = False
if found:
    try:
        from importlib.metadata import version
        r["sdk"] = version("dify_plugin")
    except Exception:
        r["sdk"] = None
try:
    found = importlib.util.find_spec("debugpy") is not None
except Exception:
    found = False
if found:
    try:
        from importlib.metadata import version
        r["debugpy"] = version("debugpy")
    except Exception:
        r["debugpy"] = None
sys.stdout.write(json.dumps(r) + "\\n")
`;

/** The probe's answer is one short line; anything beyond this is not it. */
const MAX_STDOUT_BYTES = 64 * 1024;
/** Of stderr (a crash of the interpreter itself) only the end is kept, for the message. */
const MAX_STDERR_BYTES = 4 * 1024;

/**
 * Starts `python` once, as the plugin would be started (same directory and environment), and
 * reads its version and those of its `dify_plugin` and debugpy. Bounded: killed after `timeoutMs`, its output
 * capped. Never rejects.
 */
export function probeInterpreter(
  python: string,
  o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const child = spawn(python, ['-c', SCRIPT], { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = Buffer.alloc(0);
    let stderr = Buffer.alloc(0);
    let settled: ProbeResult | undefined;
    const settle = (result: ProbeResult) => {
      if (settled) return;
      settled = result;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(result);
    };
    const timer = setTimeout(
      () => settle({ ok: false, problem: 'timeout', detail: `no answer within ${o.timeoutMs / 1000} s` }),
      o.timeoutMs,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = Buffer.concat([stdout, chunk]);
      if (stdout.length > MAX_STDOUT_BYTES)
        settle({ ok: false, problem: 'failed', detail: 'it wrote more than expected on stdout' });
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > MAX_STDERR_BYTES) stderr = stderr.subarray(stderr.length - MAX_STDERR_BYTES);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      const problem = err.code === 'ENOENT' ? 'not-found' : err.code === 'EACCES' ? 'not-executable' : 'failed';
      settle({ ok: false, problem, detail: err.message });
    });
    child.on('close', (code, signal) => {
      const facts = code === 0 ? parseFacts(stdout.toString('utf8')) : undefined;
      if (facts) return settle({ ok: true, facts });
      const said = lastLines(stderr.toString('utf8')) || lastLines(stdout.toString('utf8'));
      const how = signal ? `it was killed by ${signal}` : `it exited with code ${code}`;
      settle({ ok: false, problem: 'failed', detail: said ? `${how}: ${said}` : how });
    });
  });
}

function parseFacts(text: string): InterpreterFacts | undefined {
  const line = text.trim().split('\n').at(-1) ?? '';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(r.version)) return undefined;
  const installed = (field: string) =>
    !(field in r) ? undefined : { version: typeof r[field] === 'string' ? r[field] : null };
  return {
    version: r.version,
    executable: typeof r.executable === 'string' ? r.executable : '',
    sdk: installed('sdk'),
    debugpy: installed('debugpy'),
  };
}

/** The last few non-empty lines of what it wrote, on one line (its error, usually). */
function lastLines(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-3)
    .join(' | ');
}
