/**
 * The two narrow hooks through which waiting concerns reach the queue core
 * (tail-queue.ts). Neither is used on the uncontended path.
 */

/** A key's line as the observer sees it: live until the key goes idle, with a slot for the observer's state. */
export interface WaitingLine<S> {
  /** Tasks running or waiting on the key. */
  readonly depth: number;
  /** Whether a task on the key runs now; none does while the key is handed from one task to the next. */
  readonly isRunning: boolean;
  watch: S | undefined;
}

/** Ends one wait, once: `true` when the task starts, `false` when the run left before its turn. */
export interface WaitEnd {
  end(hasStarted: boolean): void;
}

/** Told of every run that has to wait (warnings, metrics); never called on the uncontended path. */
export interface WaitObserver<K, S> {
  waitBegan(key: K, line: WaitingLine<S>): WaitEnd;
}

/**
 * Lets a waiting run leave (abort): `leave()` is false once its turn has come. Called before the
 * run's link is in the chain, so that the caller's reaction on `outcome` comes first; it must not
 * run user code there. What it returns: the caller's promise, and `placed`, called once the run
 * holds its place (link set, observer told), where user code may run (a signal's listener).
 */
export type WaitExit = <T>(outcome: Promise<T | undefined>, leave: () => boolean) => ExitHold<T>;

export interface ExitHold<T> {
  readonly caller: Promise<T>;
  placed(): void;
}
