/**
 * The waits on one key for one episode (until the key goes idle), for the
 * WaitMonitor: when each waiting run began, in a ring of doubles indexed by
 * ticket, so a wait costs the monitor two clock readings and no allocation.
 * Runs start in ticket order; a run that left early is marked and skipped.
 */

/** The clock is read at call time so jest's fake timers can drive it. */
export const now = (): number => globalThis.performance.now();

const INITIAL_SLOTS = 16;

export class WaitList {
  readonly key: unknown;
  timer: ReturnType<typeof setTimeout> | undefined;
  hasWarnedDepth = false;
  hasWarnedWait = false;
  /** When each run still in the ring began waiting, at `ticket & mask`; a power-of-two ring. */
  #since = new Float64Array(INITIAL_SLOTS);
  /** 1 once that run's wait has ended. */
  #ended = new Uint8Array(INITIAL_SLOTS);
  /** The oldest ticket whose wait may not have ended, and the next ticket to hand out. */
  #oldest = 0;
  #next = 0;

  constructor(key: unknown) {
    this.key = key;
  }

  /** A run begins to wait: its ticket. */
  begin(): number {
    if (this.#next - this.#oldest === this.#since.length) this.#grow();
    const ticket = this.#next;
    this.#next += 1;
    const slot = ticket & (this.#since.length - 1);
    this.#since[slot] = now();
    this.#ended[slot] = 0;
    return ticket;
  }

  /** Ends the wait of `ticket`, once; returns how long it waited when it started, else 0. */
  end(ticket: number, hasStarted: boolean): number {
    const mask = this.#since.length - 1;
    this.#ended[ticket & mask] = 1;
    const waitedMs = hasStarted ? now() - this.#since[ticket & mask]! : 0;
    while (this.#oldest < this.#next && this.#ended[this.#oldest & mask] === 1) this.#oldest += 1;
    return waitedMs;
  }

  /** When the longest-waiting run that still waits began, or undefined when none waits. */
  oldestSince(): number | undefined {
    return this.#oldest < this.#next ? this.#since[this.#oldest & (this.#since.length - 1)] : undefined;
  }

  /** Doubles the ring, keeping each live ticket at `ticket & newMask`. */
  #grow(): void {
    const [oldSince, oldEnded] = [this.#since, this.#ended];
    const oldMask = oldSince.length - 1;
    const mask = oldSince.length * 2 - 1;
    const since = new Float64Array(mask + 1);
    const ended = new Uint8Array(mask + 1);
    for (let ticket = this.#oldest; ticket < this.#next; ticket += 1) {
      since[ticket & mask] = oldSince[ticket & oldMask]!;
      ended[ticket & mask] = oldEnded[ticket & oldMask]!;
    }
    this.#since = since;
    this.#ended = ended;
  }
}
