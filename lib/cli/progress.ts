/** The slice of a stream the progress line needs (process.stderr fits). */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** A one-line progress indicator, shown only on a terminal and only once a run passes a second. */
export class Progress {
  readonly #stream: ProgressStream;
  readonly #startedAt = performance.now();
  #lastDrawnAt = 0;
  #isDrawn = false;

  constructor(stream: ProgressStream) {
    this.#stream = stream;
  }

  /** Redraws at most ten times a second; no timer, so nothing can keep the process alive. */
  update(label: string, done: number, total: number): void {
    if (this.#stream.isTTY !== true) return;
    const now = performance.now();
    if (now - this.#startedAt < 1000 || now - this.#lastDrawnAt < 100) return;
    this.#lastDrawnAt = now;
    this.#isDrawn = true;
    this.#stream.write(`\r\x1b[2K${label}: ${done}/${total}`);
  }

  /** Erases the line if one was drawn. */
  stop(): void {
    if (this.#isDrawn) this.#stream.write('\r\x1b[2K');
    this.#isDrawn = false;
  }
}
