/**
 * Two SerialQueue instances (one with detectReentry) driven by random schedules over awkward
 * keys (NaN, 0/-0, "__proto__", "constructor", objects) with bursts of fresh
 * keys that push the index across its reclaiming pass (RECLAIM_AFTER), checked
 * after every step against a plain sequential model: start order per key,
 * one task at a time, what each caller got, depth/size/pending, onIdle, and
 * that a run on an idle key starts inside run().
 */
import * as fc from 'fast-check';
import { SerialQueue } from '../lib/index.js';
import { RECLAIM_AFTER } from '../lib/queue/tail-index.js';
import { deferred, drain, track, useFakeTimersLeavingNone, type Deferred } from './helpers/queue-harness.js';

useFakeTimersLeavingNone();

const OBJ_A = { name: 'a' };
const OBJ_B = { name: 'b' };
// 0 and -0 are one key (SameValueZero), as is NaN with itself.
const KEYS: readonly unknown[] = ['a', '__proto__', 'constructor', Number.NaN, 0, -0, OBJ_A, OBJ_B, 1, '1'];

type Kind = 'deferred' | 'syncValue' | 'syncThrow' | 'asyncReject' | 'nested';
type Step =
  | { readonly kind: 'run'; readonly q: number; readonly key: number; readonly task: Kind; readonly withSignal: boolean }
  | { readonly kind: 'settle'; readonly pick: number; readonly ok: boolean }
  | { readonly kind: 'abort'; readonly pick: number }
  | { readonly kind: 'burst'; readonly q: number; readonly n: number; readonly objects: boolean };

interface Run {
  readonly id: number;
  readonly q: number;
  readonly key: unknown;
  readonly task: Kind;
  state: 'waiting' | 'running' | 'done' | 'left' | 'refused';
  expected?: { ok: boolean; value: unknown };
  readonly controller?: AbortController;
  gate?: Deferred<unknown>;
  outcome: { state: 'pending' | 'fulfilled' | 'rejected'; value?: unknown };
  startedReal: boolean;
}

class Harness {
  readonly queues = [new SerialQueue<unknown>({ waitWarningMs: Infinity }), new SerialQueue<unknown>({ detectReentry: true, waitWarningMs: Infinity })];
  readonly runs: Run[] = [];
  readonly realStarts = new Map<string, number[]>();
  #nextId = 0;
  #fresh = 0;

  lineKey(q: number, key: unknown): string {
    // Per queue, SameValueZero: a Map of keys to a stable label.
    return `${q}:${this.#label(key)}`;
  }

  #labels = new Map<unknown, number>();
  #label(key: unknown): number {
    let label = this.#labels.get(key);
    if (label === undefined) {
      label = this.#labels.size;
      this.#labels.set(key, label);
    }
    return label;
  }

  /** Runs on q/key the model counts (waiting or running), in call order. */
  line(q: number, key: unknown): Run[] {
    const tag = this.lineKey(q, key);
    return this.runs.filter((run) => this.lineKey(run.q, run.key) === tag && (run.state === 'waiting' || run.state === 'running'));
  }

  run(q: number, key: unknown, task: Kind, withSignal: boolean, isNested = false): Run {
    const isIdle = this.line(q, key).length === 0;
    const controller = withSignal ? new AbortController() : undefined;
    const record: Run = { id: this.#nextId++, q, key, task, state: 'waiting', controller, outcome: { state: 'pending' }, startedReal: false };
    this.runs.push(record);
    const body = (): unknown => {
      record.startedReal = true;
      const tag = this.lineKey(q, key);
      const starts = this.realStarts.get(tag) ?? [];
      starts.push(record.id);
      this.realStarts.set(tag, starts);
      // One task at a time per key: nothing else on this line is running.
      expect(this.runs.filter((other) => other !== record && this.lineKey(other.q, other.key) === tag && other.state === 'running')).toEqual([]);
      record.state = 'running';
      switch (task) {
        case 'syncValue':
          record.state = 'done';
          record.expected = { ok: true, value: `v${record.id}` };
          return `v${record.id}`;
        case 'syncThrow': {
          record.state = 'done';
          const error = new Error(`e${record.id}`);
          record.expected = { ok: false, value: error };
          throw error;
        }
        case 'asyncReject': {
          record.state = 'done';
          const error = new Error(`r${record.id}`);
          record.expected = { ok: false, value: error };
          return Promise.reject(error);
        }
        case 'nested': {
          // A run on the same key from inside the task's synchronous start.
          this.run(q, key, 'syncValue', false, true);
          record.gate = deferred<unknown>();
          return record.gate.promise;
        }
        case 'deferred':
          record.gate = deferred<unknown>();
          return record.gate.promise;
      }
    };
    // detectReentry (queue 1) refuses a run on the key from inside its holder's start.
    const held = q === 1 && isNested;
    const promise = this.queues[q]!.run(key, body, controller === undefined ? undefined : { signal: controller.signal });
    promise.then(
      (value) => (record.outcome = { state: 'fulfilled', value }),
      (value: unknown) => (record.outcome = { state: 'rejected', value }),
    );
    if (held) {
      record.state = 'refused';
      record.expected = { ok: false, value: 'ERR_LOCK_REENTRY' };
    } else if (isIdle) {
      // FR-1: on an idle key the task starts inside run().
      expect(record.startedReal).toBe(true);
    }
    return record;
  }

  burst(q: number, n: number, objects: boolean): void {
    for (let i = 0; i < n; i += 1) {
      const key = objects ? { fresh: i } : `fresh-${this.#fresh++}`;
      let started = false;
      void this.queues[q]!.run(key, () => {
        started = true;
      });
      expect(started).toBe(true);
    }
  }

  settle(pick: number, ok: boolean): void {
    const running = this.runs.filter((run) => run.state === 'running' && run.gate !== undefined);
    if (running.length === 0) return;
    const run = running[pick % running.length]!;
    run.state = 'done';
    run.expected = { ok, value: ok ? `d${run.id}` : new Error(`d${run.id}`) };
    if (ok) run.gate!.resolve(`d${run.id}`);
    else run.gate!.reject(run.expected.value);
  }

  abort(pick: number): void {
    const signalled = this.runs.filter((run) => run.controller !== undefined && !run.controller.signal.aborted);
    if (signalled.length === 0) return;
    const run = signalled[pick % signalled.length]!;
    const reason = new Error(`abort${run.id}`);
    if (run.state === 'waiting') {
      run.state = 'left';
      run.expected = { ok: false, value: reason };
    }
    run.controller!.abort(reason);
  }

  /** After a drain: what the model says, against what the queues say. */
  check(): void {
    for (const run of this.runs) {
      if (run.state === 'waiting') expect({ id: run.id, started: run.startedReal }).toEqual({ id: run.id, started: false });
      if (run.expected === undefined) {
        expect({ id: run.id, outcome: run.outcome.state }).toEqual({ id: run.id, outcome: 'pending' });
      } else if (run.state === 'refused') {
        expect((run.outcome.value as { code?: string } | undefined)?.code).toBe('ERR_LOCK_REENTRY');
      } else {
        expect({ id: run.id, outcome: run.outcome }).toEqual({
          id: run.id,
          outcome: { state: run.expected.ok ? 'fulfilled' : 'rejected', value: run.expected.value },
        });
      }
    }
    for (let q = 0; q < 2; q += 1) {
      const queue = this.queues[q]!;
      const counted = this.runs.filter((run) => run.q === q && (run.state === 'waiting' || run.state === 'running'));
      const lines = new Set(counted.map((run) => this.lineKey(q, run.key)));
      expect({ q, size: queue.size, pending: queue.metrics().pending, activeKeys: queue.metrics().activeKeys }).toEqual({
        q,
        size: lines.size,
        pending: counted.length,
        activeKeys: lines.size,
      });
      for (const key of KEYS) expect({ q, key: String(key), depth: queue.depth(key) }).toEqual({ q, key: String(key), depth: this.line(q, key).length });
    }
    // The first counted run of each line has started; no other has.
    const firsts = new Map<string, Run>();
    for (const run of this.runs) {
      if (run.state !== 'waiting' && run.state !== 'running') continue;
      const tag = this.lineKey(run.q, run.key);
      if (!firsts.has(tag)) firsts.set(tag, run);
    }
    for (const run of firsts.values()) expect({ id: run.id, started: run.startedReal }).toEqual({ id: run.id, started: true });
    // Per key, tasks started in call order (skipping runs that left or were refused).
    for (const [tag, starts] of this.realStarts) {
      expect({ tag, starts }).toEqual({ tag, starts: [...starts].sort((a, b) => a - b) });
    }
  }
}

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('run' as const),
      q: fc.integer({ min: 0, max: 1 }),
      key: fc.nat(KEYS.length - 1),
      task: fc.constantFrom<Kind>('deferred', 'deferred', 'syncValue', 'syncThrow', 'asyncReject', 'nested'),
      withSignal: fc.boolean(),
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(20), ok: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat(20) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('burst' as const),
      q: fc.integer({ min: 0, max: 1 }),
      n: fc.oneof(fc.constantFrom(RECLAIM_AFTER - 2, RECLAIM_AFTER - 1, RECLAIM_AFTER), fc.integer({ min: 1, max: RECLAIM_AFTER + 3 })),
      objects: fc.boolean(),
    }),
  },
);

async function replay(steps: readonly Step[]): Promise<void> {
  const harness = new Harness();
  const idles: Promise<void>[] = [];
  for (const step of steps) {
    switch (step.kind) {
      case 'run':
        harness.run(step.q, KEYS[step.key], step.task, step.withSignal);
        break;
      case 'settle':
        harness.settle(step.pick, step.ok);
        break;
      case 'abort':
        harness.abort(step.pick);
        break;
      case 'burst':
        harness.burst(step.q, step.n, step.objects);
        break;
    }
    idles.push(harness.queues[0]!.onIdle(), harness.queues[1]!.onIdle());
    await drain();
    harness.check();
    // Nothing moves between steps: an onIdle asked now settles iff its queue has nothing running or waiting.
    const now = harness.queues.map((queue) => track(queue.onIdle()));
    await drain();
    expect(now.map((idle) => idle.isSettled)).toEqual(harness.queues.map((queue) => queue.size === 0));
  }
  // Settle everything; every onIdle must then resolve and both queues be empty.
  for (let guard = 0; guard < 200 && harness.runs.some((run) => run.state === 'running' || run.state === 'waiting'); guard += 1) {
    harness.settle(0, guard % 2 === 0);
    await drain();
    harness.check();
  }
  let idleCount = 0;
  for (const idle of idles) void idle.then(() => (idleCount += 1));
  await drain();
  expect(idleCount).toBe(idles.length);
  expect([harness.queues[0]!.size, harness.queues[1]!.size, harness.queues[0]!.metrics().pending, harness.queues[1]!.metrics().pending]).toEqual([0, 0, 0, 0]);
}

describe('two queues against a sequential model (FR-1, FR-2, FR-4.1, NFR-3)', () => {
  test('random schedules over NaN, 0/-0, "__proto__", "constructor", object keys and reclaiming bursts agree with the model', async () => {
    await fc.assert(fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 40 }), replay), { numRuns: 100 });
  });
});
