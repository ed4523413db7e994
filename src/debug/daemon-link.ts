import { EventEmitter } from 'node:events';
import net from 'node:net';
import { LineSplitter, LineTooLongError } from './line-splitter.js';

/** Why a connection could not be made; all but `aborted` are worth retrying. */
export class ConnectError extends Error {
  constructor(
    readonly reason: 'refused' | 'timeout' | 'reset' | 'unreachable' | 'aborted',
    message: string,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

/**
 * Opens a TCP connection, or fails with a ConnectError after `timeoutMs`, or at once when `signal`
 * aborts (Ctrl-C, or a newer registration superseding this one).
 */
export function connect(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const aborted = () => new ConnectError('aborted', `connecting to ${host}:${port} was cancelled`);
    if (signal?.aborted) return reject(aborted());
    const socket = net.connect({ host, port });
    const settle = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      settle();
      socket.destroy();
      reject(aborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      settle();
      socket.destroy();
      reject(new ConnectError('timeout', `no answer from ${host}:${port} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once('connect', () => {
      settle();
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      settle();
      const reason = err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' ? 'reset' : 'unreachable';
      reject(new ConnectError(reason, `${host}:${port}: ${err.code ?? err.message}`));
    });
  });
}

export type Acceptance =
  | { accepted: true }
  | { accepted: false; reply: string }
  | { accepted: false; closed: true }
  /** The daemon read none of the registration for `stallMs` (it accepted the connection only). */
  | { accepted: false; stalledMs: number };

/**
 * The longest line taken from the daemon. Its TCP decoder has no limit of its own, and what it
 * sends is one request per line, user input included (an LLM prompt may carry images inline as
 * base64), so the cap is generous: four times the 15 MiB request line of the Go CLI's local runner
 * (`bufio.Scanner` grown to 15 MiB, dify-plugin-daemon `cmd/commandline/run`) and over ten times
 * the 5 MiB line the daemon accepts from a plugin's stdout (`PLUGIN_RUNTIME_MAX_BUFFER_SIZE`).
 * Anything longer is not a daemon's message, and without a cap a server that never sends `\n`
 * would grow the CLI's memory until it crashes.
 */
export const MAX_DAEMON_LINE_BYTES = 64 * 1024 * 1024;

/** Plain-text lines kept for the report; a server that is not a daemon may send a whole page. */
const MAX_TEXT_LINES = 20;

/**
 * One registered TCP session with the daemon: newline-framed JSON both ways. The daemon never
 * acknowledges a registration; it answers a failure with plain-text lines and closes. So after
 * sending, a non-JSON line means rejection (read until the close: some replies span two lines),
 * a JSON line (a request) or a quiet `settleMs` means acceptance.
 *
 * A busy daemon may still answer after the quiet period, so plain text followed by the close is a
 * rejection even after acceptance: the `close` event then carries it. Plain text is never passed on
 * as a `line`; only JSON lines are.
 *
 * Events: `line` (a JSON line from the daemon, from begin() on), `close` (with the plain-text reply
 * the daemon sent before closing, if any). A line longer than MAX_DAEMON_LINE_BYTES closes the
 * connection; `lineTooLong` then says so.
 */
export class DaemonLink extends EventEmitter<{ line: [Buffer]; close: [reply: string | undefined] }> {
  private readonly splitter = new LineSplitter(MAX_DAEMON_LINE_BYTES);
  private overLimit = false;
  private accepted = false;
  private relaying = false;
  /** JSON lines received before begin(): requests that came with (or right after) the acceptance. */
  private early: Buffer[] = [];
  private rejectionText: string[] = [];
  private lateText: string[] = [];
  private closedFlag = false;
  /** While registering: called on the first JSON line, which proves acceptance. */
  private onFirstJson: (() => void) | undefined;

  constructor(readonly socket: net.Socket) {
    super();
    socket.on('data', (chunk: Buffer) => {
      let lines: Buffer[];
      try {
        lines = this.splitter.push(chunk);
      } catch (err) {
        if (!(err instanceof LineTooLongError)) throw err;
        this.overLimit = true;
        return void socket.destroy(); // its `close` reports it
      }
      for (const line of lines) this.receive(line);
    });
    socket.on('error', () => undefined); // a reset is seen as `close`
    socket.on('close', () => {
      this.closedFlag = true;
      const rest = this.splitter.rest();
      if (rest) this.receive(rest);
      this.emit(
        'close',
        this.accepted && this.lateText.length > 0 ? this.lateText.join('\n').trim() || undefined : undefined,
      );
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** True once the daemon sent a line over MAX_DAEMON_LINE_BYTES (and the connection was closed). */
  get lineTooLong(): boolean {
    return this.overLimit;
  }

  /**
   * Sends the registration, one JSON line each, and waits for the daemon's verdict. The quiet
   * period starts once the last line has been handed to the system (its write callback), not when
   * write() returned: a large registration (assets) may sit in our buffer for longer than the
   * period, and the daemon can only answer what it has read.
   *
   * A daemon that stops reading (it accepted the connection, then hung) would keep that callback
   * from ever coming: when nothing moves on the connection for `stallMs`, neither our bytes out
   * nor any byte in, the registration has failed. A slow link only makes it slow: the socket's
   * idle timeout counts the progress of a large write as activity (Node `lib/net.js`,
   * `Socket.prototype._onTimeout` compares the handle's write queue size), which the callbacks of
   * the lines cannot tell, as Node hands lines queued together to the system as one write.
   */
  register(messages: readonly unknown[], settleMs: number, stallMs: number): Promise<Acceptance> {
    return new Promise((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (result: Acceptance) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.socket.setTimeout(0);
        this.socket.off('timeout', onStall);
        this.off('close', onClose);
        this.onFirstJson = undefined;
        if (result.accepted) this.accepted = true;
        resolve(result);
      };
      const rejected = (): Acceptance | undefined => {
        const reply = this.rejectionText.join('\n').trim();
        return reply ? { accepted: false, reply } : undefined;
      };
      const onClose = () => finish(rejected() ?? { accepted: false, closed: true });
      const onStall = () => {
        const reply = rejected();
        this.close();
        finish(reply ?? { accepted: false, stalledMs: stallMs });
      };
      // Quiet for settleMs: accepted, unless a reply came and the close is just late.
      const settle = () => {
        if (done) return;
        this.socket.setTimeout(0); // all sent: the quiet period decides from here
        timer = setTimeout(() => {
          const reply = rejected();
          if (reply) this.close();
          finish(reply ?? { accepted: true });
        }, settleMs);
      };
      this.on('close', onClose);
      this.socket.setTimeout(stallMs);
      this.socket.once('timeout', onStall);
      this.onFirstJson = () => finish({ accepted: true });
      messages.forEach((m, i) => {
        const last = i === messages.length - 1;
        // A failed write is followed by `close`, which decides.
        this.socket.write(JSON.stringify(m) + '\n', last ? (err) => !err && settle() : undefined);
      });
      if (messages.length === 0) settle();
      if (this.closedFlag) onClose();
    });
  }

  /**
   * Starts delivering the daemon's lines, those that came with the acceptance first. Called once
   * the registration has been reported, so that no request is shown before it.
   */
  begin(): void {
    this.relaying = true;
    const early = this.early;
    this.early = [];
    for (const line of early) this.emit('line', line);
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
    // After plain text, even a JSON-looking line is part of the reply (a web server's body).
    if (line[0] !== 0x7b /* { */ || (!this.accepted && this.rejectionText.length > 0)) {
      // Plain text: a rejection, before acceptance or (late) after it; never for the plugin.
      const text = this.accepted ? this.lateText : this.rejectionText;
      if (text.length < MAX_TEXT_LINES) text.push(line.toString('utf8'));
      return;
    }
    if (this.relaying) {
      this.emit('line', line);
      return;
    }
    this.early.push(line);
    const first = this.onFirstJson;
    this.onFirstJson = undefined;
    first?.();
  }
}
