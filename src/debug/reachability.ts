import { connect } from 'node:net';

export type Reachability =
  { ok: true } | { ok: false; problem: 'refused' | 'unknown-host' | 'timeout' | 'failed'; detail: string };

/**
 * Whether something accepts TCP connections at host:port: a connection is opened and closed at
 * once, nothing is sent (the daemon would take any bytes for the start of a handshake). Bounded
 * by `timeoutMs`, the host name lookup included. Never rejects.
 */
export function tcpReachable(host: string, port: number, timeoutMs: number): Promise<Reachability> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const settle = (result: Reachability) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => settle({ ok: false, problem: 'timeout', detail: `no answer within ${timeoutMs / 1000} s` }),
      timeoutMs,
    );
    socket.once('connect', () => settle({ ok: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const problem =
        err.code === 'ECONNREFUSED'
          ? 'refused'
          : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
            ? 'unknown-host'
            : 'failed';
      settle({ ok: false, problem, detail: err.code ?? err.message });
    });
  });
}
