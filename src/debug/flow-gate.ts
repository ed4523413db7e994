/** The part of a readable stream the gate needs. */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

/** The part of a writable stream the gate needs: its `drain` and `close` events. */
export interface Drainable {
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * Back-pressure for one direction of the relay: when the sink's buffer is full, the source is
 * paused until the sink drains.
 *
 * - One handler is registered however many lines meet the full buffer: lines already read keep
 *   arriving after pause(), and a listener per line trips Node's MaxListenersExceededWarning.
 * - A sink that dies never emits 'drain', so the source is also resumed on the sink's 'close',
 *   and by release() when the caller knows the sink is gone or replaced (the plugin exited, the
 *   connection was re-established). Otherwise the relay would stay paused for good.
 */
export class FlowGate {
  private held: { source: Pausable; sink: Drainable; open: () => void } | undefined;

  get blocked(): boolean {
    return this.held !== undefined;
  }

  /** Pauses `source` until `sink` drains or closes; nothing more if already waiting on that pair. */
  block(source: Pausable, sink: Drainable): void {
    if (this.held?.source === source && this.held.sink === sink) return;
    this.release(); // waiting on another pair: that sink was replaced
    const open = () => {
      sink.off('drain', open);
      sink.off('close', open);
      if (this.held?.open === open) this.held = undefined;
      source.resume();
    };
    this.held = { source, sink, open };
    sink.on('drain', open);
    sink.on('close', open);
    source.pause();
  }

  /** Resumes the source now (its sink is gone or was replaced). */
  release(): void {
    this.held?.open();
  }
}
