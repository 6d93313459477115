/** Rows are encoded this many characters at a time, not one call per row (each call costs ~0.3 µs). */
const PENDING_CHARS = 16384;

/**
 * A chunk's output, encoded straight into one growing byte buffer: rows do not pile up as strings
 * (which would outlive the young generation), and the bytes go to the main thread by transfer, not copy.
 */
export class OutputBuffer {
  private buf: Buffer;
  private length = 0;
  /** Rows pushed but not yet encoded (under PENDING_CHARS). */
  private pending = '';

  constructor(initialBytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(4096, initialBytes));
  }

  push(text: string): void {
    this.pending += text;
    if (this.pending.length >= PENDING_CHARS) this.flush();
  }

  private flush(): void {
    const text = this.pending;
    this.pending = '';
    const worst = text.length * 3; // UTF-8 bytes per UTF-16 unit, at most
    if (this.length + worst > this.buf.length) this.grow(this.length + worst);
    this.length += this.buf.write(text, this.length);
  }

  /**
   * Room for `bytes` more bytes written by the caller straight into the returned buffer from `end` on (pending
   * rows are encoded first, so the order holds); the caller then moves `end` past what it wrote.
   */
  reserve(bytes: number): Uint8Array {
    if (this.pending !== '') this.flush();
    if (this.length + bytes > this.buf.length) this.grow(this.length + bytes);
    return this.buf;
  }

  get end(): number {
    return this.length;
  }

  set end(at: number) {
    this.length = at;
  }

  private grow(atLeast: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, atLeast));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  /** The bytes written. Their ArrayBuffer is this object's own (never Node's shared pool: 4 KiB and up), so it can be transferred. */
  bytes(): Uint8Array {
    if (this.pending !== '') this.flush();
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.length);
  }
}
