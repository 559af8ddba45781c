/**
 * A sequential model of SerialQueue for the property tests
 * (reliability.queue-model.test.ts). It knows nothing about promises: each
 * key is a plain FIFO array whose head is the running task, and every event
 * (enqueue, settle, abort, clock advance) is applied in one synchronous step.
 * The real queue, driven by the same schedule and drained of microtasks after
 * each step, must be observably equal to it.
 *
 * The schedule keeps the real interleaving deterministic: a step settles one
 * deferred, so only one key makes progress per step, and a task that calls
 * `run` is never settled before it starts (see PRE_SETTLEABLE).
 */

/**
 * What a task does when it starts. `reenter` calls `run` on its own key,
 * `nested` on another key (its `child`), `reenterParent` (children only) on
 * its parent's key. The sync ones finish inside the call; the others wait
 * for their deferred, which the schedule settles.
 */
export type Behaviour = 'value' | 'reject' | 'asyncThrow' | 'syncValue' | 'syncThrow' | 'reenter' | 'nested' | 'reenterParent';

export interface TaskSpec {
  readonly behaviour: Behaviour;
  /** Which of the shared AbortControllers it passes (the one in that slot now), or -1 for none. */
  readonly signal: number;
  /** The task a `nested` task starts on key `(key + 1 + offset % (keys - 1)) % keys`. */
  readonly child?: TaskSpec & { readonly offset: number };
}

/** The call a `reenter` or `reenterParent` task makes: a tracked sync task, no signal. */
export const PROBE: TaskSpec = { behaviour: 'syncValue', signal: -1 };

/**
 * The outcome a caller must see, rendered as a string so diffs read well:
 * its own value or error, `abort:<slot>.<generation>` (that controller's
 * reason), or `reentry:<key>` (a LockReentryError for that key).
 */
export type Outcome = 'value' | 'error' | `abort:${string}` | `reentry:${number}`;

export interface ModelOptions {
  readonly keys: number;
  readonly detectReentry: boolean;
  readonly depthWarningThreshold: number;
  readonly waitWarningMs: number;
  readonly slowWaitMs: number;
}

interface ModelTask {
  readonly id: string;
  readonly key: number;
  readonly spec: TaskSpec;
  /** `<slot>.<generation>`: the very controller it was given, or '' for none. */
  readonly signal: string;
  readonly parent: ModelTask | undefined;
  readonly enqueuedAt: number;
  state: 'waiting' | 'running' | 'done';
  isDeferredSettled: boolean;
}

const SYNC: ReadonlySet<Behaviour> = new Set(['syncValue', 'syncThrow']);
const FAILING: ReadonlySet<Behaviour> = new Set(['reject', 'asyncThrow', 'syncThrow']);
// Settling these before they start is unobservable to other keys; settling a
// task that calls `run` early would race its own start against the child's.
const PRE_SETTLEABLE: ReadonlySet<Behaviour> = new Set(['value', 'reject', 'asyncThrow', 'reenter']);

/** The key a `nested` task's child runs on: never the parent's own key. */
export function childKey(key: number, offset: number, keys: number): number {
  return (key + 1 + (offset % (keys - 1))) % keys;
}

export class QueueModel {
  clock = 0;
  totalWaitMs = 0;
  longestWaitMs = 0;
  readonly outcomes = new Map<string, Outcome>();
  readonly started: string[][];
  /** `depth:<key>:<waiting>` and `wait:<key>:<waiting>`, in the order they are due. */
  readonly warnings: string[] = [];
  /** `<key>:<waitedMs>` for each start after a wait longer than slowWaitMs. */
  readonly debugLines: string[] = [];
  readonly #options: ModelOptions;
  readonly #queues: ModelTask[][];
  readonly #tasks: ModelTask[] = [];
  /** Per controller slot: its generation (bumped on renewal) and whether that one is aborted. */
  readonly #slots = [0, 1, 2].map(() => ({ generation: 0, isAborted: false }));
  readonly #hasWarnedDepth: boolean[];
  readonly #hasWarnedWait: boolean[];

  constructor(options: ModelOptions) {
    this.#options = options;
    this.#queues = Array.from({ length: options.keys }, () => []);
    this.started = Array.from({ length: options.keys }, () => []);
    this.#hasWarnedDepth = Array.from({ length: options.keys }, () => false);
    this.#hasWarnedWait = Array.from({ length: options.keys }, () => false);
  }

  /** A `run` call from outside any task. */
  run(key: number, spec: TaskSpec, id: string): void {
    this.#call(undefined, key, spec, id);
  }

  /** Settles the pick-th settleable deferred (creation order); returns its task id. */
  settle(pick: number): string | undefined {
    const candidates = this.#tasks.filter(
      (t) => !t.isDeferredSettled && (t.state === 'running' || (t.state === 'waiting' && PRE_SETTLEABLE.has(t.spec.behaviour))),
    );
    return this.#settle(candidates[pick % Math.max(1, candidates.length)]);
  }

  /** Settles the oldest running task, to drain the schedule at the end; returns its id. */
  settleOldestRunning(): string | undefined {
    return this.#settle(this.#tasks.find((t) => t.state === 'running'));
  }

  /**
   * Aborts the controller in `slot` (a no-op if it already is), then, when
   * `renew`, puts a fresh one in the slot. Returns whether it aborted.
   */
  abort(slot: number, renew: boolean): boolean {
    const state = this.#slots[slot]!;
    const isAborting = !state.isAborted;
    const label = `${slot}.${state.generation}`;
    state.isAborted = true;
    for (const queue of this.#queues) {
      for (const task of queue.filter((t) => t.state === 'waiting' && t.signal === label)) {
        queue.splice(queue.indexOf(task), 1);
        task.state = 'done';
        this.outcomes.set(task.id, `abort:${label}`);
      }
    }
    if (renew) this.#slots[slot] = { generation: state.generation + 1, isAborted: false };
    return isAborting;
  }

  advance(ms: number): void {
    this.clock += ms;
    this.#queues.forEach((queue, key) => {
      const oldest = queue[1];
      if (oldest === undefined || this.#hasWarnedWait[key]) return;
      if (this.clock - oldest.enqueuedAt < this.#options.waitWarningMs) return;
      this.#hasWarnedWait[key] = true;
      this.warnings.push(`wait:${key}:${queue.length - 1}`);
    });
  }

  depth(key: number): number {
    return this.#queues[key]!.length;
  }

  get pending(): number {
    return this.#queues.reduce((sum, queue) => sum + queue.length, 0);
  }

  get activeKeys(): number {
    return this.#queues.filter((queue) => queue.length > 0).length;
  }

  get isIdle(): boolean {
    return this.activeKeys === 0;
  }

  /** One wait-warning timer per key that has a waiter and has not warned yet. */
  get expectedTimers(): number {
    return this.#queues.filter((queue, key) => queue.length > 1 && !this.#hasWarnedWait[key]).length;
  }

  #call(caller: ModelTask | undefined, key: number, spec: TaskSpec, id: string): void {
    const slot = this.#slots[spec.signal];
    const signal = slot === undefined ? '' : `${spec.signal}.${slot.generation}`;
    if (slot?.isAborted === true) {
      this.outcomes.set(id, `abort:${signal}`);
      return;
    }
    if (this.#options.detectReentry && this.#holds(caller, key)) {
      this.outcomes.set(id, `reentry:${key}`);
      return;
    }
    const task: ModelTask = { id, key, spec, signal, parent: caller, enqueuedAt: this.clock, state: 'waiting', isDeferredSettled: false };
    this.#tasks.push(task);
    const queue = this.#queues[key]!;
    queue.push(task);
    const waiting = queue.length - 1;
    if (waiting > this.#options.depthWarningThreshold && !this.#hasWarnedDepth[key]) {
      this.#hasWarnedDepth[key] = true;
      this.warnings.push(`depth:${key}:${waiting}`);
    }
    this.#pump(key);
  }

  /** Re-entry: the caller or one of the tasks that started it still runs on `key`. */
  #holds(caller: ModelTask | undefined, key: number): boolean {
    for (let t = caller; t !== undefined; t = t.parent) if (t.state === 'running' && t.key === key) return true;
    return false;
  }

  #settle(task: ModelTask | undefined): string | undefined {
    if (task === undefined) return undefined;
    task.isDeferredSettled = true;
    if (task.state === 'running') {
      this.#finish(task);
      this.#pump(task.key);
    }
    return task.id;
  }

  #pump(key: number): void {
    const queue = this.#queues[key]!;
    while (queue[0]?.state === 'waiting') this.#start(queue[0]);
  }

  #start(task: ModelTask): void {
    task.state = 'running';
    this.started[task.key]!.push(task.id);
    const waitedMs = this.clock - task.enqueuedAt;
    this.totalWaitMs += waitedMs;
    this.longestWaitMs = Math.max(this.longestWaitMs, waitedMs);
    if (waitedMs > this.#options.slowWaitMs) this.debugLines.push(`${task.key}:${waitedMs}`);
    const { behaviour, child } = task.spec;
    if (behaviour === 'reenter') this.#call(task, task.key, PROBE, `${task.id}.r`);
    if (behaviour === 'nested' && child !== undefined) {
      this.#call(task, childKey(task.key, child.offset, this.#options.keys), child, `${task.id}.c`);
    }
    if (behaviour === 'reenterParent' && task.parent !== undefined) this.#call(task, task.parent.key, PROBE, `${task.id}.g`);
    if (SYNC.has(behaviour) || task.isDeferredSettled) this.#finish(task);
  }

  #finish(task: ModelTask): void {
    task.state = 'done';
    this.outcomes.set(task.id, FAILING.has(task.spec.behaviour) ? 'error' : 'value');
    const queue = this.#queues[task.key]!;
    queue.shift();
    if (queue.length === 0) {
      // The chain drained: the next episode may warn again.
      this.#hasWarnedDepth[task.key] = false;
      this.#hasWarnedWait[task.key] = false;
    }
  }
}
