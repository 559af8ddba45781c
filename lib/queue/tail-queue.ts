/**
 * The queue core: one tail promise per key. A run on an idle key starts its
 * task at once; a run on a busy key chains behind the key's tail. Each tail
 * swallows its task's outcome, so a failure never poisons the chain, and the
 * key is forgotten once its newest tail settles. Waiting concerns reach the
 * core through two narrow hooks, used only when a run has to wait: the
 * {@link WaitObserver} (warnings, metrics) and a per-run {@link WaitExit} (abort).
 */

import { TailIndex } from './tail-index.js';

/** A key's line as the observer sees it: live until the key goes idle, with a slot for the observer's state. */
export interface WaitingLine<S> {
  readonly waiting: number;
  watch: S | undefined;
}
/** Ends one wait, once: `true` when the task starts, `false` when the run left before its turn. */
export interface WaitEnd {
  end(hasStarted: boolean): void;
}
/** Told of every run that has to wait; never called on the uncontended path. */
export interface WaitObserver<K, S> {
  waitBegan(key: K, line: WaitingLine<S>): WaitEnd;
}
/** Lets a waiting run leave: `leave()` is false once its turn has come. Returns what the caller gets. */
export type WaitExit = <T>(outcome: Promise<T | undefined>, leave: () => boolean) => Promise<T>;

class TailChain<S> implements WaitingLine<S> {
  /** Settles, never rejects, once the newest task is done; undefined while the first task starts. */
  tail: Promise<void> | undefined = undefined;
  /** The first task's tail, for runs made from inside its synchronous start. */
  head: Promise<void> | undefined = undefined;
  /** Tasks running or waiting; a run that left no longer counts. */
  depth = 1;
  watch: S | undefined = undefined;

  get waiting(): number {
    return Math.max(0, this.depth - 1);
  }
}

/** The core behind SerialQueue: `run`, `depth`, `size`, `pending`, `onIdle`; `S` is the observer's per-key state. */
export class TailQueue<K, S> {
  // String keys in a null-prototype dictionary, others in a Map: see tail-index.ts.
  readonly #chains = new TailIndex<K, TailChain<S>>();
  readonly #observer: WaitObserver<K, S>;
  #pending = 0;
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(observer: WaitObserver<K, S>) {
    this.#observer = observer;
  }

  run<T>(key: K, task: () => T | PromiseLike<T>, exit?: WaitExit): Promise<T> {
    this.#pending += 1;
    const chain = this.#chains.get(key);
    return chain === undefined ? this.#start(key, task) : this.#wait(key, chain, task, exit);
  }

  depth(key: K): number {
    return this.#chains.get(key)?.depth ?? 0;
  }
  get size(): number {
    return this.#chains.size;
  }
  get pending(): number {
    return this.#pending;
  }

  onIdle(): Promise<void> {
    if (this.#chains.size === 0) return Promise.resolve();
    if (this.#idle === undefined) {
      let resolve!: () => void;
      this.#idle = { promise: new Promise<void>((r) => (resolve = r)), resolve };
    }
    return this.#idle.promise;
  }

  /** Idle key: the task starts inside `run` (what that buys: bench/queue.bench.mjs, "deferred start"). */
  #start<T>(key: K, task: () => T | PromiseLike<T>): Promise<T> {
    const chain = new TailChain<S>();
    this.#chains.add(key, chain);
    const result = invoke(task);
    // A run made from inside the task's synchronous start queued on `head` and stays the tail.
    const queuedMeanwhile = chain.tail;
    chain.head = this.#link(key, chain, result);
    if (queuedMeanwhile !== undefined) chain.tail = queuedMeanwhile;
    return result;
  }

  /** Busy key: the one waiting path, with or without an exit. */
  #wait<T>(key: K, chain: TailChain<S>, task: () => T | PromiseLike<T>, exit: WaitExit | undefined): Promise<T> {
    chain.depth += 1;
    const wait = this.#observer.waitBegan(key, chain);
    const turn = { state: 'waiting' as 'waiting' | 'started' | 'left' };
    // Inside the head's synchronous start there is no tail yet: wait for the head's.
    const previous = chain.tail ?? Promise.resolve().then(() => chain.head);
    // Registered now, so the task runs in the caller's async context (AsyncLocalStorage).
    const outcome = previous.then(() => {
      if (turn.state === 'left') return undefined;
      turn.state = 'started';
      wait.end(true);
      return invoke(task);
    });
    const leave = (): boolean => {
      if (turn.state !== 'waiting') return false;
      turn.state = 'left';
      this.#leave(chain);
      wait.end(false);
      return true;
    };
    // The exit registers on the outcome before the link: the caller settles before the key is handed on.
    const result = exit === undefined ? (outcome as Promise<T>) : exit(outcome, leave);
    this.#link(key, chain, outcome, turn);
    return result;
  }

  /** Makes `result` the key's tail; the tail swallows the outcome, the caller still gets it. */
  #link(key: K, chain: TailChain<S>, result: Promise<unknown>, turn?: { state: string }): Promise<void> {
    const finish = (): void => {
      if (turn?.state !== 'left') this.#leave(chain);
      if (chain.tail !== tail) return; // identity check: a newer task is the tail now
      this.#chains.delete(key);
      if (this.#chains.size === 0 && this.#idle !== undefined) {
        this.#idle.resolve();
        this.#idle = undefined;
      }
    };
    const tail = result.then(finish, finish);
    chain.tail = tail;
    return tail;
  }

  #leave(chain: TailChain<S>): void {
    chain.depth -= 1;
    this.#pending -= 1;
  }
}

/** Calls `task`, turning a synchronous throw into a rejection. */
function invoke<T>(task: () => T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(task());
  } catch (error) {
    return Promise.reject(error);
  }
}
