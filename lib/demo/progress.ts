/** The slice of a stream the progress line needs (process.stderr fits). */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

const REDRAW_MS = 100;
const QUIET_MS = 1000;

/**
 * A one-line progress indicator, shown only on a terminal and only once a run
 * passes a second. It redraws on a timer, not on completions: the old
 * recipe's saves all finish in one burst at the end (their scrypt calls fill
 * libuv's thread pool ahead of every file operation).
 */
export class Progress {
  readonly #stream: ProgressStream;
  readonly #startedAt = performance.now();
  #line = '';
  #isDrawn = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(stream: ProgressStream) {
    this.#stream = stream;
  }

  /** Records where a part stands; the next redraw shows it. */
  update(label: string, done: number, total: number): void {
    this.#line = `${label}: ${done}/${total}`;
    if (this.#stream.isTTY !== true || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#draw(), REDRAW_MS);
    // unref: a progress line must never keep the process alive.
    this.#timer.unref?.();
  }

  /** Stops redrawing and erases the line if one was drawn. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#isDrawn) this.#stream.write('\r\x1b[2K');
    this.#isDrawn = false;
  }

  #draw(): void {
    const elapsedMs = performance.now() - this.#startedAt;
    if (elapsedMs < QUIET_MS) return;
    this.#isDrawn = true;
    this.#stream.write(`\r\x1b[2K${this.#line} (${(elapsedMs / 1000).toFixed(1)} s)`);
  }
}
