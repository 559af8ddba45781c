/**
 * How the queue core (tail-queue.ts) calls a task and follows its promise:
 * a synchronous throw becomes a rejection, and a native promise is always
 * followed through the built-in `then`, never through one of its own.
 */

/**
 * The built-in `then`: a task's native promise may carry a `then` of its own (an instrumentation
 * wrapper, say) that calls back twice, which would settle a run twice and release a busy key.
 */
const builtinThen = Promise.prototype.then;
export const then = <T, R>(promise: Promise<T>, onValue: (value: T) => R, onError: (error: unknown) => R): Promise<R> =>
  builtinThen.call(promise, onValue, onError) as Promise<R>;

const passOn = <T>(value: T): T => value;
const rethrow = (error: unknown): never => {
  throw error;
};

/**
 * A waiting run's outcome follows its task's promise as the head's does, through the built-in
 * `then`: returned from a reaction as it is, a native promise with a `then` of its own would be
 * followed through that one (which may report another value, or never call back).
 */
export function ownOutcome<T>(promise: Promise<T>): Promise<T> {
  // Its own `then`, or a prototype swapped for one with another `then`. (The check only saves a
  // promise per waiting run: following every promise through the built-in `then` acts the same.)
  // Stryker disable next-line ConditionalExpression: equivalent, see above.
  return Object.getPrototypeOf(promise) !== Promise.prototype || Object.hasOwn(promise, 'then') ? then(promise, passOn, rethrow) : promise;
}

/** Calls `task`, turning a synchronous throw into a rejection. */
export function invoke<T>(task: () => T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(task());
  } catch (error) {
    return Promise.reject(error);
  }
}
