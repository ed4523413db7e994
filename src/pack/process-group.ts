import type { ChildProcess } from 'node:child_process';

/**
 * pip, uv and a plugin each start processes of their own (builds, workers, the plugin's server):
 * spawned with this, a child leads its own process group, so that one signal to the group reaches
 * all of them. Windows has no process groups.
 */
export const OWN_GROUP = process.platform !== 'win32';

/** A signal (SIGKILL unless told) to the child's process group (or to the child alone where there is none). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    if (OWN_GROUP) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    child.kill(signal); // the group is gone, or not ours to signal
  }
}

/** Kills the child's group when `signal` aborts (the user pressed Ctrl-C); returns the undo. */
export function killOnAbort(child: ChildProcess, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const kill = () => killGroup(child);
  if (signal.aborted) kill();
  else signal.addEventListener('abort', kill, { once: true });
  return () => signal.removeEventListener('abort', kill);
}
