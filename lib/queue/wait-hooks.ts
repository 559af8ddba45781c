/**
 * The two narrow hooks through which waiting concerns reach the queue core
 * (tail-queue.ts). Neither is used on the uncontended path.
 */

/** A key's line as the observer sees it: live until the key goes idle, with a slot for the observer's state. */
export interface WaitingLine<S> {
  readonly waiting: number;
  watch: S | undefined;
}

/** Told of every run that has to wait (warnings, metrics); never called on the uncontended path. */
export interface WaitObserver<K, S> {
  /** A run begins to wait on `key`; returns a ticket for {@link waitEnded}. */
  waitBegan(key: K, line: WaitingLine<S>): number;
  /** The run's wait ends, once: `hasStarted` when its task starts, not when it left before its turn. */
  waitEnded(key: K, line: WaitingLine<S>, ticket: number, hasStarted: boolean): void;
}

/** Lets a waiting run leave (abort): `leave()` is false once its turn has come. Returns what the caller gets. */
export type WaitExit = <T>(outcome: Promise<T | undefined>, leave: () => boolean) => Promise<T>;
