import { existsSync, readFileSync } from 'node:fs';
import { vi } from 'vitest';
import { isAlive } from './cli.js';

/**
 * Whether a process runs: exists, and is not a zombie. An orphan's exit is reaped by whichever
 * process adopted it, possibly a good while later; until then signal 0 still reaches it.
 */
export function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return !existsSync('/proc'); // gone meanwhile; or no /proc to tell, and signal 0 has to do
  }
}

/** Nothing tells this process when one it did not start is gone: look until it is. */
export async function gone(pid: number, timeoutMs = 5000): Promise<boolean> {
  await vi.waitUntil(() => !isRunning(pid), { timeout: timeoutMs, interval: 20 }).catch(() => undefined);
  return !isRunning(pid);
}
