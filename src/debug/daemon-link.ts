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
  | { accepted: false; stalledMs: number }
  /** The daemon had not read the whole registration after `tooSlowMs`, however steadily it read. */
  | { accepted: false; tooSlowMs: number };

/** How many times per stall period the bytes still to send are looked at. */
const STALL_SAMPLES = 4;

/**
 * How much of ours the system has not taken yet: the bytes in the socket's own buffer plus what is
 * left of the write under way. Node hands lines queued together to the system as one write, so the
 * buffer alone shrinks only when that whole write completes, however much of it went out; the
 * handle's `writeQueueSize` (libuv's `write_queue_size`) shrinks as the peer reads. It is not
 * public API, but Node's own idle timeout reads it for the same purpose (`lib/net.js`,
 * `Socket.prototype._onTimeout`, which also compares it with its last value). The write under way
 * is counted twice (in the buffer and in the queue), so the sum is no byte count: it even grows
 * when a write completes and the lines queued behind it go to the system as the next one. But once
 * all lines have been written (register() writes them at once), it changes only when bytes went
 * out, which is all it is used for. Undefined when the field cannot be read (a Node that changed
 * it): progress is then unknown, never taken for a stall, and only the overall limit applies. A
 * closed socket has no handle; its `close` decides.
 */
function unsentBytes(socket: net.Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { writeQueueSize?: unknown } | null })._handle;
  if (!handle) return socket.writableLength;
  return typeof handle.writeQueueSize === 'number' ? socket.writableLength + handle.writeQueueSize : undefined;
}

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
   * from ever coming. So while the registration is being sent, the bytes still to go out are
   * sampled: when they have not moved for `stallMs`, the registration has failed. Only our
   * bytes leaving count: a byte received proves nothing about our registration, and a server that
   * reads nothing but writes a byte now and then would otherwise hold the CLI for ever (as it would
   * a socket idle timeout, which any byte in resets). A slow reader only makes it slow, up to
   * `maxMs` for the whole registration: one byte read every `stallMs` is progress, yet 16 MB of
   * assets would take years at that pace.
   */
  register(messages: readonly unknown[], settleMs: number, stallMs: number, maxMs: number): Promise<Acceptance> {
    return new Promise((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const stopWatching = () => {
        clearInterval(sampler);
        clearTimeout(ceiling);
      };
      const finish = (result: Acceptance) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        stopWatching();
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
      const giveUp = (result: Acceptance) => {
        const reply = rejected();
        this.close();
        finish(reply ?? result);
      };
      // Sampled STALL_SAMPLES times per stallMs: a stall is seen within 1¼ stallMs. Any change
      // of the unsent bytes is progress (see unsentBytes: the sum may grow as bytes go out).
      let previous: number | undefined;
      let samplesWithout = 0;
      const sampler = setInterval(() => {
        const unsent = unsentBytes(this.socket);
        if (unsent === undefined || unsent === 0 || unsent !== previous) {
          previous = unsent;
          samplesWithout = 0;
        } else if (++samplesWithout >= STALL_SAMPLES) giveUp({ accepted: false, stalledMs: stallMs });
      }, stallMs / STALL_SAMPLES);
      const ceiling = setTimeout(() => giveUp({ accepted: false, tooSlowMs: maxMs }), maxMs);
      // Quiet for settleMs: accepted, unless a reply came and the close is just late.
      const settle = () => {
        if (done) return;
        stopWatching(); // all sent: the quiet period decides from here
        timer = setTimeout(() => {
          const reply = rejected();
          if (reply) this.close();
          finish(reply ?? { accepted: true });
        }, settleMs);
      };
      this.on('close', onClose);
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
