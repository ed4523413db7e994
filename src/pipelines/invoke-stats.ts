/** The figures of `dify plugin invoke --repeat`: latency percentiles and throughput. */
export interface RepeatStats {
  count: number;
  errors: number;
  concurrency: number;
  /** Nearest-rank percentiles of the request latencies, in milliseconds. */
  latency_ms: { p50: number; p95: number; p99: number; max: number };
  /** From the first request sent to the last one ended. */
  duration_ms: number;
  /** Invocations per second over `duration_ms`. */
  throughput_per_s: number;
}

/** The nearest-rank percentile `p` (0 to 100) of sorted values; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

const round = (n: number) => Math.round(n * 100) / 100;

export function repeatStats(latencies: number[], errors: number, concurrency: number, durationMs: number): RepeatStats {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    count: latencies.length,
    errors,
    concurrency,
    latency_ms: {
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.at(-1) ?? 0),
    },
    duration_ms: round(durationMs),
    throughput_per_s: durationMs > 0 ? round((latencies.length * 1000) / durationMs) : 0,
  };
}

/**
 * Runs `task` `count` times, at most `concurrency` at once, timing each with `now` (milliseconds;
 * tests give a clock of their own). Resolves with every latency and how many failed.
 */
export async function runRepeated(
  count: number,
  concurrency: number,
  task: () => Promise<boolean>,
  now: () => number,
): Promise<{ latencies: number[]; errors: number; durationMs: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = now();
  const worker = async () => {
    while (next < count) {
      next++;
      const t0 = now();
      const ok = await task();
      latencies.push(now() - t0);
      if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { latencies, errors, durationMs: now() - started };
}
