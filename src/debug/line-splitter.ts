const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines at `\n`. Works on bytes, so a multi-byte UTF-8 character split
 * across chunks is never broken (no byte of such a character is 0x0a), and keeps the pieces of an
 * unfinished line in a list, so a line of many megabytes costs one copy, not one per chunk.
 * Empty lines (and a `\r` before `\n`) are dropped, as the daemon and the SDK drop them.
 */
export class LineSplitter {
  private pieces: Buffer[] = [];
  private pending = 0;

  /** `maxLineBytes`: a longer line (or unfinished line) makes `push` throw LineTooLongError. */
  constructor(private readonly maxLineBytes = Infinity) {}

  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      this.take(chunk.subarray(start, nl));
      const line = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces);
      this.pieces = [];
      this.pending = 0;
      start = nl + 1;
      const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
      if (end > 0) lines.push(line.subarray(0, end));
    }
    if (start < chunk.length) this.take(chunk.subarray(start));
    return lines;
  }

  private take(piece: Buffer): void {
    this.pending += piece.length;
    if (this.pending > this.maxLineBytes) {
      this.pieces = [];
      this.pending = 0;
      throw new LineTooLongError(this.maxLineBytes);
    }
    this.pieces.push(piece);
  }

  /** Bytes of an unfinished last line (a stream that ended without `\n`). */
  rest(): Buffer | undefined {
    if (this.pieces.length === 0) return undefined;
    const line = Buffer.concat(this.pieces);
    this.pieces = [];
    this.pending = 0;
    return line.length > 0 ? line : undefined;
  }
}

/** A line over the splitter's limit: input that would otherwise grow memory without bound. */
export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`a line is longer than ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}
