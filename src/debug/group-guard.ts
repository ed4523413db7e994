import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

export interface GroupGuard {
  /** The group is gone by other means: the guard must not act (its id could be reused). */
  release(): void;
}

// `$0` is the group id; `read` returns at the end of its input, which comes when the CLI is gone.
const SCRIPT = 'read _; kill -s KILL -- "-$0" 2>/dev/null';

/**
 * A sibling of the plugin that kills the plugin's process group once the CLI is gone, however it
 * went: it reads a pipe whose only writer is the CLI, and the kernel closes that pipe when the CLI
 * dies, even by SIGKILL or the OOM killer, which no handler of ours survives. The SDK's stdio mode
 * does not exit at the end of its own stdin, and its orphan check fails under a subreaper
 * (docs/remote-debugging.md#stdio-mode); this does not wrap the plugin, which still runs as
 * `<python> -m <entrypoint>`. A POSIX `sh` in its own process group (so a Ctrl-C in the terminal
 * or a stop of the plugin's group leaves it alone); not on Windows, which has no process groups.
 */
export function guardGroup(pgid: number): GroupGuard | undefined {
  if (process.platform === 'win32') return undefined;
  let guard: ReturnType<typeof spawn>;
  try {
    guard = spawn('/bin/sh', ['-c', SCRIPT, String(pgid)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  } catch {
    return undefined; // no /bin/sh: the other means (signals, the exit handler) still apply
  }
  guard.on('error', () => undefined);
  guard.stdin?.on('error', () => undefined);
  // Neither the guard nor its pipe keeps the CLI running.
  guard.unref();
  (guard.stdin as Socket | null)?.unref();
  return {
    release: () => {
      if (guard.exitCode === null && guard.signalCode === null) guard.kill('SIGKILL');
    },
  };
}
