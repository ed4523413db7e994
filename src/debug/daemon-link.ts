import { EventEmitter } from 'node:events';
import net from 'node:net';
import { LineSplitter } from './line-splitter.js';

/** Why a connection could not be made; all of these are worth retrying. */
export class ConnectError extends Error {
  constructor(
    readonly reason: 'refused' | 'timeout' | 'reset' | 'unreachable',
    message: string,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

/** Opens a TCP connection, or fails with a ConnectError after `timeoutMs`. */
export function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectError('timeout', `no answer from ${host}:${port} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const reason = err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' ? 'reset' : 'unreachable';
      reject(new ConnectError(reason, `${host}:${port}: ${err.code ?? err.message}`));
    });
  });
}

export type Acceptance = { accepted: true } | { accepted: false; reply: string } | { accepted: false; closed: true };

/**
 * One registered TCP session with the daemon: newline-framed JSON both ways. The daemon never
 * acknowledges a registration; it answers a failure with plain-text lines and closes. So after
 * sending, a non-JSON line means rejection (read until the close: some replies span two lines),
 * a JSON line (a request) or a quiet `settleMs` means acceptance.
 *
 * Events: `line` (a daemon line, from acceptance on: attach the listener before registering),
 * `close`.
 */
export class DaemonLink extends EventEmitter<{ line: [Buffer]; close: [] }> {
  private readonly splitter = new LineSplitter();
  private accepted = false;
  private early: Buffer[] = [];
  private rejectionText: string[] = [];
  private closedFlag = false;
  /** While registering: called on the first JSON line, which proves acceptance. */
  private onFirstJson: (() => void) | undefined;

  constructor(readonly socket: net.Socket) {
    super();
    socket.on('data', (chunk: Buffer) => {
      for (const line of this.splitter.push(chunk)) this.receive(line);
    });
    socket.on('error', () => undefined); // a reset is seen as `close`
    socket.on('close', () => {
      this.closedFlag = true;
      const rest = this.splitter.rest();
      if (rest) this.receive(rest);
      this.emit('close');
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Sends the registration, one JSON line each, and waits for the daemon's verdict. */
  async register(messages: readonly unknown[], settleMs: number): Promise<Acceptance> {
    for (const m of messages) this.socket.write(JSON.stringify(m) + '\n');
    return new Promise((resolve) => {
      const finish = (result: Acceptance) => {
        clearTimeout(timer);
        this.off('close', onClose);
        if (result.accepted) {
          this.accepted = true;
          const early = this.early;
          this.early = [];
          for (const line of early) this.emit('line', line); // requests that came with the acceptance
        }
        resolve(result);
      };
      const rejected = (): Acceptance | undefined => {
        const reply = this.rejectionText.join('\n').trim();
        return reply ? { accepted: false, reply } : undefined;
      };
      const onClose = () => finish(rejected() ?? { accepted: false, closed: true });
      // Quiet for settleMs: accepted — unless a reply came and the close is just late.
      const timer = setTimeout(() => {
        const reply = rejected();
        if (reply) this.close();
        finish(reply ?? { accepted: true });
      }, settleMs);
      this.on('close', onClose);
      this.onFirstJson = () => finish({ accepted: true });
      if (this.closedFlag) onClose();
    });
  }

  /** Writes one line; false when the socket's buffer is full (wait for its `drain`). */
  write(line: Buffer | string): boolean {
    if (this.closedFlag) return true;
    this.socket.write(line);
    return this.socket.write('\n');
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private receive(line: Buffer): void {
    if (this.accepted) {
      this.emit('line', line);
      return;
    }
    if (line[0] === 0x7b /* { */) {
      this.early.push(line);
      const first = this.onFirstJson;
      this.onFirstJson = undefined;
      first?.();
    } else {
      this.rejectionText.push(line.toString('utf8'));
    }
  }
}
