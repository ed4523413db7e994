/**
 * Delays between restarts of a crashing plugin process: doubling from `initialMs` up to `maxMs`,
 * back to `initialMs` once a process has run for `healthyRunMs` (a crash after a long healthy
 * run is not a crash loop), so a broken plugin is not restarted, and reported, every second.
 */
export interface BackoffTimes {
  initialMs: number;
  maxMs: number;
  healthyRunMs: number;
}

/** Shared by `run` and the local runner: a second after a crash, doubling to 30 s, reset after a minute. */
export const RESTART_DEFAULTS: BackoffTimes = { initialMs: 1_000, maxMs: 30_000, healthyRunMs: 60_000 };

export class RestartBackoff {
  private next: number;
  private startedAt = 0;

  constructor(private readonly o: BackoffTimes) {
    this.next = o.initialMs;
  }

  /** A process was started now. */
  started(): void {
    this.startedAt = Date.now();
  }

  /** The delay before restarting the process that just exited. */
  delayAfterExit(): number {
    if (Date.now() - this.startedAt >= this.o.healthyRunMs) this.next = this.o.initialMs;
    const delay = this.next;
    this.next = Math.min(this.next * 2, this.o.maxMs);
    return delay;
  }

  /** Start again from the shortest delay (the process was replaced on purpose). */
  reset(): void {
    this.next = this.o.initialMs;
  }
}
