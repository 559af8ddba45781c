/**
 * The queue core: one tail promise per key. A run on an idle key starts its
 * task at once; a run on a busy key chains behind the key's tail. Each tail
 * swallows its task's outcome, so a failure never poisons the chain, and the
 * key is released once no run on it is running or waiting (depth 0). Waiting
 * concerns reach the core through the hooks of wait-hooks.ts, used only when
 * a run has to wait: the observer (warnings, metrics) and a per-run exit (abort).
 */
import { newTailChain, type TailChain } from './tail-chain.js';
import { invoke, ownOutcome, then } from './task-promise.js';
import { TailIndex } from './tail-index.js';
import type { WaitEnd, WaitExit, WaitObserver } from './wait-hooks.js';

type Turn = 'waiting' | 'started' | 'left';

/** The core behind SerialQueue: `run`, `depth`, `size`, `pending`, `onIdle`; `S` is the observer's per-key state. */
export class TailQueue<K, S> {
  readonly #chains = new TailIndex<K, TailChain<K, S>>();
  readonly #observer: WaitObserver<K, S>;
  #pending = 0;
  // Typed on `unknown` state so that a TailQueue<K, S> stays a TailQueue<K, unknown> (the abort layer's view).
  readonly #settleHead = (chain: TailChain<K, unknown>): void => this.#settle(chain.key, chain as TailChain<K, S>, true);
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(observer: WaitObserver<K, S>) {
    this.#observer = observer;
  }

  run<T>(key: K, task: () => T | PromiseLike<T>, exit?: WaitExit): Promise<T> {
    this.#pending += 1;
    const chain = this.#chains.get(key);
    return chain === undefined || chain.isIdle ? this.#start(key, chain, task) : this.#wait(key, chain, task, exit);
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
  #start<T>(key: K, idle: TailChain<K, S> | undefined, task: () => T | PromiseLike<T>): Promise<T> {
    const chain = idle ?? this.#newChain(key);
    if (idle !== undefined) this.#chains.revive(chain);
    chain.depth = 1;
    chain.isRunning = true;
    // One promise for the caller and the key: its handlers settle the run (and open the gate of
    // a run waiting behind it, see #wait), then pass the outcome on, so a failure the caller
    // drops is still an unhandled rejection (NFR-8).
    return then(invoke(task), chain.passValue, chain.passError) as Promise<T>;
  }

  #newChain(key: K): TailChain<K, S> {
    const chain = newTailChain<K, S>(key, this.#settleHead);
    this.#chains.add(key, chain);
    return chain;
  }

  /** Busy key: the one waiting path, with or without an exit. */
  #wait<T>(key: K, chain: TailChain<K, S>, task: () => T | PromiseLike<T>, exit: WaitExit | undefined): Promise<T> {
    chain.depth += 1;
    let turn: Turn = 'waiting';
    let wait: WaitEnd | undefined = undefined;
    // Dropped when the run leaves: the link it keeps in the chain then holds nothing of the caller's (NFR-3).
    let job: typeof task | undefined = task;
    // The first run to wait goes behind a gate that the head's handler opens (TailChain.wake)
    // before the head's caller's promise settles; `.then()` adds the hop that lets that caller
    // resume first.
    const previous = chain.tail ?? new Promise<void>((open) => (chain.wake = open)).then();
    // Registered now, so the task runs in the caller's async context (AsyncLocalStorage).
    const outcome = previous.then(() => {
      if (turn === 'left') return undefined;
      // Stryker disable next-line StringLiteral: equivalent, any value but 'waiting' and 'left' acts the same.
      turn = 'started';
      // Running before the observer hears of the start: a run its logger makes on this key is not waiting behind one.
      chain.isRunning = true;
      // Told of this wait synchronously in #wait, long before any turn can come.
      wait!.end(true);
      return ownOutcome(invoke(job!));
    });
    // The caller's promise (or the exit's) is derived before the tail: it settles before the key is handed on.
    const hold = exit?.(outcome, () => {
      if (turn !== 'waiting') return false;
      turn = 'left';
      job = undefined;
      this.#uncount(chain);
      wait?.end(false); // undefined while the observer is being told of this wait: ended just below
      // The runs ahead may all have settled already: then the key is released now, not when this
      // run's link in the chain settles a few ticks later.
      this.#settle(key, chain, false);
      return true;
    });
    const result = hold === undefined ? (outcome.then() as Promise<T>) : hold.caller;
    // The tail swallows the outcome (the caller still gets it), so a failure never poisons the chain.
    const finish = (): void => {
      // Only a run that started ran: a link of a run that left may settle after the key has a new head.
      if (turn === 'started') chain.isRunning = false;
      this.#settle(key, chain, turn !== 'left');
    };
    chain.tail = outcome.then(finish, finish);
    // Told once the run holds its place: a run the observer makes (a logger on this key) queues behind it.
    wait = this.#observer.waitBegan(key, chain);
    if ((turn as Turn) === 'left') wait.end(false);
    // The exit's user code runs last: a run it makes on this key queues behind this one.
    hold?.placed();
    return result;
  }

  /** A task's tail has settled: uncount its run (unless it left) and release the key once no run counts. */
  #settle(key: K, chain: TailChain<K, S>, isCounted: boolean): void {
    if (isCounted) this.#uncount(chain);
    // Runs still behind this tail that left never start: they do not hold the key.
    if (chain.depth > 0 || chain.isIdle) return;
    chain.tail = chain.wake = chain.watch = undefined;
    this.#chains.release(key, chain);
    if (this.#chains.size === 0 && this.#idle !== undefined) {
      // The head's handler releases its key before its caller's promise settles: `onIdle()` is
      // resolved a tick later, so its callers resume after the last caller has (a native
      // promise job, which jest's fake timers leave alone, unlike queueMicrotask).
      void Promise.resolve().then(this.#idle.resolve);
      this.#idle = undefined;
    }
  }

  #uncount(chain: TailChain<K, S>): void {
    chain.depth -= 1;
    this.#pending -= 1;
  }
}
