/**
 * The real side of the queue property tests: runs a SerialQueue<number> on the
 * schedule's tasks and records what callers and tasks observe, in the same
 * shapes as QueueModel so the two compare with one `toEqual`.
 */
import { getEventListeners } from 'node:events';
import { LockReentryError, SerialQueue, type SerialQueueOptions } from '../../lib/index.js';
import { childKey, PROBE, type Outcome, type TaskSpec } from './queue-model.js';
import { deferred, drain, type Deferred } from '../helpers/common.js';

/** Runs every promise reaction that can run without a timer: one real macrotask turn. */
export const flush = drain;

/** A deferred whose rejection, when its task was aborted and never awaited, is not an error here. */
function quietDeferred(): Deferred<unknown> {
  const handoff = deferred<unknown>();
  handoff.promise.catch(() => undefined);
  return handoff;
}

interface Tracked {
  readonly spec: TaskSpec;
  readonly value: object;
  readonly error: Error;
  readonly deferred: Deferred<unknown>;
  settled?: PromiseSettledResult<unknown>;
}

export class QueueDriver {
  readonly queue: SerialQueue<number>;
  /** The controller in each slot now; renewed slots get a fresh one. */
  readonly controllers = [new AbortController(), new AbortController(), new AbortController()];
  /** Every controller ever used, labelled `<slot>.<generation>` as the model labels them. */
  readonly #labelled = new Map<string, AbortController>(this.controllers.map((c, slot) => [`${slot}.0`, c]));
  readonly #generations = [0, 0, 0];
  readonly started: string[][];
  readonly warnings: string[] = [];
  readonly debugLines: string[] = [];
  /** Anything that must never happen: overlapping tasks, malformed log fields. */
  readonly violations: string[] = [];
  readonly #keys: number;
  readonly #tasks = new Map<string, Tracked>();
  readonly #inUse = new Set<number>();

  constructor(keys: number, options: Omit<SerialQueueOptions, 'logger'>) {
    this.#keys = keys;
    this.started = Array.from({ length: keys }, () => []);
    this.queue = new SerialQueue<number>({
      ...options,
      logger: {
        warn: (fields) => {
          const kind = 'threshold' in fields ? 'depth' : 'wait';
          if (kind === 'wait' && !(Number(fields.waitedMs) >= (options.waitWarningMs ?? 5000))) {
            this.violations.push(`early wait warning ${JSON.stringify(fields)}`);
          }
          this.warnings.push(`${kind}:${String(fields.key)}:${String(fields.depth)}`);
        },
        debug: (fields) => void this.debugLines.push(`${String(fields.key)}:${Math.round(Number(fields.waitedMs))}`),
      },
    });
  }

  /** Calls `run` now, from whatever task (async context) is current. */
  run(key: number, spec: TaskSpec, id: string, parentKey = -1): void {
    const tracked: Tracked = { spec, value: { id }, error: new Error(`task ${id} failed`), deferred: quietDeferred() };
    this.#tasks.set(id, tracked);
    const signal = spec.signal >= 0 ? this.controllers[spec.signal]!.signal : undefined;
    this.queue.run(key, this.#task(key, id, tracked, parentKey), { signal }).then(
      (value) => (tracked.settled = { status: 'fulfilled', value }),
      (reason: unknown) => (tracked.settled = { status: 'rejected', reason }),
    );
  }

  settle(id: string): void {
    const tracked = this.#tasks.get(id)!;
    if (tracked.spec.behaviour === 'reject') tracked.deferred.reject(tracked.error);
    else tracked.deferred.resolve(tracked.value);
  }

  abort(slot: number, options: { readonly isAborting: boolean; readonly withReason: boolean; readonly renew: boolean }): void {
    const aborter = this.controllers[slot]!;
    if (options.isAborting) {
      if (options.withReason) aborter.abort(new Error(`aborted ${slot}`));
      else aborter.abort();
    }
    if (!options.renew) return;
    const generation = (this.#generations[slot] ?? 0) + 1;
    this.#generations[slot] = generation;
    this.controllers[slot] = new AbortController();
    this.#labelled.set(`${slot}.${generation}`, this.controllers[slot]!);
  }

  /** Listeners left on any controller ever used. */
  listenerCount(): number {
    return [...this.#labelled.values()].reduce((sum, c) => sum + getEventListeners(c.signal, 'abort').length, 0);
  }

  /** What each settled caller got, classified by identity against what it may get. */
  outcomes(): Map<string, Outcome | string> {
    const seen = new Map<string, Outcome | string>();
    for (const [id, tracked] of this.#tasks) {
      if (tracked.settled !== undefined) seen.set(id, this.#classify(tracked, tracked.settled));
    }
    return seen;
  }

  #classify(tracked: Tracked, settled: PromiseSettledResult<unknown>): Outcome | string {
    if (settled.status === 'fulfilled') return settled.value === tracked.value ? 'value' : `wrong value ${String(settled.value)}`;
    const { reason } = settled;
    if (reason === tracked.error) return 'error';
    for (const [label, c] of this.#labelled) if (c.signal.aborted && c.signal.reason === reason) return `abort:${label}`;
    if (reason instanceof LockReentryError && reason.code === 'ERR_LOCK_REENTRY') return `reentry:${String(reason.key)}`;
    return `wrong reason ${String(reason)}`;
  }

  #task(key: number, id: string, tracked: Tracked, parentKey: number): () => unknown {
    const enter = (): void => {
      this.started[key]!.push(id);
      // The probe: an in-use flag per key, set on entry, cleared on exit.
      if (this.#inUse.has(key)) this.violations.push(`task ${id} started while key ${key} was in use`);
      this.#inUse.add(key);
    };
    const exit = (): void => void this.#inUse.delete(key);
    const { behaviour, child } = tracked.spec;
    switch (behaviour) {
      case 'syncValue':
        return () => {
          enter();
          exit();
          return tracked.value;
        };
      case 'syncThrow':
        return () => {
          enter();
          exit();
          throw tracked.error;
        };
      case 'asyncThrow':
        return async () => {
          enter();
          try {
            await tracked.deferred.promise;
            throw tracked.error;
          } finally {
            exit();
          }
        };
      default:
        return async () => {
          enter();
          if (behaviour === 'reenter') this.run(key, PROBE, `${id}.r`);
          if (behaviour === 'nested' && child !== undefined) this.run(childKey(key, child.offset, this.#keys), child, `${id}.c`, key);
          if (behaviour === 'reenterParent') this.run(parentKey, PROBE, `${id}.g`);
          try {
            return await tracked.deferred.promise;
          } finally {
            exit();
          }
        };
    }
  }
}
