/**
 * One 'abort' listener per signal per queue, fanning out to every waiting
 * run that carries that signal. Node's EventTarget scans its whole listener
 * list on each add, so a listener per run made N waiting runs on one shared
 * signal (a server's shutdown signal, say) cost O(N²) and tripped
 * MaxListenersExceededWarning from the 11th. Internal to SerialQueue.
 */
interface Subscription {
  readonly handlers: Set<() => void>;
  readonly listener: () => void;
}

export class AbortFanout {
  readonly #subscriptions = new Map<AbortSignal, Subscription>();

  /** Calls `onAbort` once if `signal` aborts before {@link remove} is called with it. */
  add(signal: AbortSignal, onAbort: () => void): void {
    let subscription = this.#subscriptions.get(signal);
    if (subscription === undefined) {
      const handlers = new Set<() => void>();
      const listener = (): void => {
        this.#subscriptions.delete(signal);
        for (const handler of handlers) handler();
      };
      subscription = { handlers, listener };
      // Kept only once the listener is added: a signal that refuses it keeps nothing here.
      signal.addEventListener('abort', listener, { once: true });
      this.#subscriptions.set(signal, subscription);
    }
    subscription.handlers.add(onAbort);
  }

  remove(signal: AbortSignal, onAbort: () => void): void {
    const subscription = this.#subscriptions.get(signal);
    if (subscription === undefined || !subscription.handlers.delete(onAbort) || subscription.handlers.size > 0) return;
    // The last waiter on this signal has gone: the signal keeps nothing of ours.
    this.#subscriptions.delete(signal);
    signal.removeEventListener('abort', subscription.listener);
  }
}
