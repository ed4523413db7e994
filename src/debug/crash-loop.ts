import { UserError } from '../diagnostics/user-error.js';
import type { PluginExit } from './plugin-process.js';

/**
 * Counts the exits of a plugin process that came within `runMs` of its start, in a row: one that
 * keeps crashing as it starts (a missing module, an error at import) is not helped by restarts.
 * Shared by `run` and the local runner.
 */
export class QuickExits {
  private count = 0;
  private startedAt = 0;

  constructor(
    readonly runMs: number,
    private readonly limit: number,
  ) {}

  /** A process was started now. */
  started(): void {
    this.startedAt = Date.now();
  }

  /** Counts an exit; true when it makes `limit` quick ones in a row. */
  exited(): boolean {
    this.count = Date.now() - this.startedAt < this.runMs ? this.count + 1 : 0;
    return this.count >= this.limit;
  }

  get inARow(): number {
    return this.count;
  }

  /** Start counting again (its code changed: earlier crashes say nothing of it). */
  reset(): void {
    this.count = 0;
  }
}

/**
 * The plugin keeps crashing as soon as it starts: restarting it again cannot help. The message
 * ends with its last stderr lines (its traceback, usually).
 */
export class CrashLoopError extends UserError {
  readonly details: { exit_code: number | null; stderr: string[] };

  constructor(exit: PluginExit, times: number, withinMs: number, python: string, suggestWatch: boolean) {
    const how = exit.killedFor
      ? `was killed (${exit.killedFor})`
      : exit.signal
        ? `was stopped by ${exit.signal}`
        : `exited with code ${exit.code}`;
    const tail = exit.stderrTail.length ? `; its last output:\n    ${exit.stderrTail.join('\n    ')}` : '';
    const install = `install the plugin's requirements for ${python} (e.g. \`${python} -m pip install -r requirements.txt\`, or \`uv sync\` for a uv project), then run again`;
    // A module not there at all, or one there but not as the code expects (another version).
    const missing = exit.stderrTail.some((l) => /\bModuleNotFoundError\b/.test(l));
    const mismatch = !missing && exit.stderrTail.some((l) => /\bImportError\b/.test(l));
    super(
      `the plugin process ${how} within ${withinMs / 1000} s of starting, ${times} times in a row, so it is not restarted again${tail}`,
      missing
        ? `a module is missing: ${install}`
        : mismatch
          ? `an import failed, often a package of another version than the plugin needs: ${install}`
          : `fix what its output above says, then run again${suggestWatch ? ' (with --watch, a crashing plugin waits for the next saved change instead)' : ''}`,
    );
    this.details = { exit_code: exit.code, stderr: exit.stderrTail };
  }
}
