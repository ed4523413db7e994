import path from 'node:path';
import { diagnose, type Check, type CheckStatus } from '../../debug/doctor.js';
import { printable, printableJson } from '../../diagnostics/excerpt.js';
import { EXIT, type ExitCode } from '../../diagnostics/user-error.js';
import { colorFor, type Colors } from '../../report/color.js';
import { VERSION } from '../../version.js';
import type { Io } from '../io.js';

export interface DoctorCommandOptions {
  format?: 'text' | 'json';
}

export interface DoctorLimits {
  probeTimeoutMs: number;
  connectTimeoutMs: number;
}

/** The interpreter's probe gets what `run`'s preflight gets; the daemon a short connect. */
export const DEFAULT_DOCTOR_LIMITS: DoctorLimits = { probeTimeoutMs: 10_000, connectTimeoutMs: 2_000 };

/** How each check is named in the text output (the JSON has the ids). */
const LABELS: Record<string, string> = {
  cli: 'CLI',
  node: 'Node.js',
  plugin: 'plugin',
  python: 'Python',
  runner: 'runner',
  venv: '.venv',
  sdk: 'dify_plugin',
  env: '.env',
  url: 'daemon address',
  key: 'debug key',
  daemon: 'daemon',
  uv: 'uv',
  ignore: 'packaging',
  gitignore: 'git',
};

/**
 * `dify plugin doctor [dir]`: one line per part of the set-up `run` depends on, each ok, warning
 * or error with its fix. Exit 1 when any is an error. There are no flags for the timeouts; tests
 * pass shorter ones.
 */
export async function doctorCommand(
  target: string | undefined,
  opts: DoctorCommandOptions,
  io: Io,
  limits: DoctorLimits = DEFAULT_DOCTOR_LIMITS,
): Promise<ExitCode> {
  const checks = await diagnose({
    dir: path.resolve(io.cwd, target ?? '.'),
    env: io.env,
    cwd: io.cwd,
    cliVersion: VERSION,
    nodeVersion: process.versions.node,
    ...limits,
  });
  const ok = checks.every((c) => c.status !== 'error');
  if (opts.format === 'json') io.stdout.write(printableJson({ ok, checks }, 2) + '\n');
  else io.stdout.write(formatChecks(checks, colorFor(io.stdout, io.env)));
  return ok ? EXIT.ok : EXIT.failed;
}

/** Aligned columns: status, name, message, and the hint indented below. */
function formatChecks(checks: Check[], c: Colors): string {
  const width = Math.max(...checks.map((k) => (LABELS[k.id] ?? k.id).length));
  const lines = checks.map((k) => {
    const label = (LABELS[k.id] ?? k.id).padEnd(width);
    const line = `${statusLabel(k.status, c)} ${c.bold(label)}  ${printable(k.message)}`;
    return k.hint ? `${line}\n${' '.repeat(9 + width + 2)}${c.dim('hint:')} ${printable(k.hint)}` : line;
  });
  const count = (s: CheckStatus) => checks.filter((k) => k.status === s).length;
  const errors = count('error');
  const warnings = count('warning');
  const summary =
    errors + warnings === 0
      ? c.green('everything looks right')
      : `${errors > 0 ? c.red(plural(errors, 'error')) : '0 errors'}, ${warnings > 0 ? c.yellow(plural(warnings, 'warning')) : '0 warnings'}`;
  return `${lines.join('\n')}\n\n${summary}\n`;
}

/** Padded to the width of "warning" before colouring, so that the columns line up either way. */
function statusLabel(status: CheckStatus, c: Colors): string {
  const padded = status.padEnd(8);
  return status === 'ok' ? c.green(padded) : status === 'warning' ? c.yellow(padded) : c.red(padded);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
