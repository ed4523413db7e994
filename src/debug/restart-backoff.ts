/**
 * Delays between attempts: doubling from `initialMs` up to `maxMs`. Restarts of a crashing plugin
 * process also go back to `initialMs` once a process has run for `healthyRunMs` (a crash after a
 * long healthy run is not a crash loop), so a broken plugin is not restarted, and reported, every
 * second. Reconnections to the daemon use the same doubling, without `healthyRunMs`.
 */
export interface BackoffTimes {
  initialMs: number;
  maxMs: number;
  /** Only for restarts: a process that ran this long was healthy. */
  healthyRunMs?: number;
}

/** Shared by `run` and the local runner: a second after a crash, doubling to 30 s, reset after a minute. */
export const RESTART_DEFAULTS: Required<BackoffTimes> = { initialMs: 1_000, maxMs: 30_000, healthyRunMs: 60_000 };

export class RestartBackoff {
  private delay: number;
  private startedAt = 0;

  constructor(private readonly o: BackoffTimes) {
    this.delay = o.initialMs;
  }

  /** A process was started now. */
  started(): void {
    this.startedAt = Date.now();
  }

  /** The next delay: `initialMs` first, then twice the one before, up to `maxMs`. */
  next(): number {
    const delay = this.delay;
    this.delay = Math.min(delay * 2, this.o.maxMs);
    return delay;
  }

  /** The delay before restarting the process that just exited. */
  delayAfterExit(): number {
    const { healthyRunMs } = this.o;
    if (healthyRunMs !== undefined && Date.now() - this.startedAt >= healthyRunMs) this.reset();
    return this.next();
  }

  /** Start again from the shortest delay (the process was replaced on purpose). */
  reset(): void {
    this.delay = this.o.initialMs;
  }
}
