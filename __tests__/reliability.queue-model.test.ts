/**
 * Model check of SerialQueue (issue 6, part 8): fast-check draws random
 * schedules of runs, sync and async throws, aborts (before the call, while
 * waiting, after the start), deferreds settled in random order, re-entries and
 * clock advances on 2–4 keys. After every step the real queue, drained of
 * microtasks, must agree with a sequential model (support/queue-model.ts) on
 * who started in which order, what each caller got, depths, counters, log
 * lines and live timers; at the end nothing may be left behind.
 */
import * as fc from 'fast-check';
import { flush, QueueDriver } from './support/queue-driver.js';
import { QueueModel, type Behaviour, type TaskSpec } from './support/queue-model.js';

type Step =
  | { readonly kind: 'run'; readonly key: number; readonly task: TaskSpec }
  | { readonly kind: 'settle'; readonly pick: number }
  | { readonly kind: 'abort'; readonly slot: number; readonly withReason: boolean; readonly renew: boolean }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'idle' };

interface Schedule {
  readonly keys: number;
  readonly steps: readonly Step[];
}

// Small thresholds so depth warnings, wait warnings and slow-wait lines happen often.
const THRESHOLDS = { depthWarningThreshold: 2, waitWarningMs: 1000, slowWaitMs: 100 };
const PLAIN: readonly Behaviour[] = ['value', 'reject', 'asyncThrow', 'syncValue', 'syncThrow'];

const signalArb = fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 }));
const childArb = fc.record({
  behaviour: fc.constantFrom<Behaviour>(...PLAIN, 'reenter', 'reenterParent'),
  signal: signalArb,
  offset: fc.nat(5),
});
const taskArb: fc.Arbitrary<TaskSpec> = fc.record({
  behaviour: fc.constantFrom<Behaviour>(...PLAIN, 'reenter', 'nested'),
  signal: signalArb,
  child: childArb,
});
// Exact thresholds too: 100 ms is not a slow wait, 1000 ms is a due wait warning.
const advanceArb = fc.oneof(fc.constantFrom(1, 100, 101, 999, 1000), fc.integer({ min: 0, max: 1500 }));
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 7, arbitrary: fc.record({ kind: fc.constant('run' as const), key: fc.nat(3), task: taskArb }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(40) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('abort' as const), slot: fc.integer({ min: 0, max: 2 }), withReason: fc.boolean(), renew: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: advanceArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('idle' as const) }) },
);
const scheduleArb: fc.Arbitrary<Schedule> = fc.record({
  keys: fc.integer({ min: 2, max: 4 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 60, size: 'max' }),
});

/** One schedule, run against the model and the real queue side by side. */
class Replay {
  readonly model: QueueModel;
  readonly driver: QueueDriver;
  readonly #keys: number;
  readonly #idles: { isResolved: boolean; isDue: boolean }[] = [];

  constructor(keys: number, detectReentry: boolean) {
    this.#keys = keys;
    this.model = new QueueModel({ keys, detectReentry, ...THRESHOLDS });
    this.driver = new QueueDriver(keys, { detectReentry, ...THRESHOLDS });
  }

  apply(step: Step, index: number): void {
    switch (step.kind) {
      case 'run': {
        const key = step.key % this.#keys;
        this.model.run(key, step.task, `t${index}`);
        this.driver.run(key, step.task, `t${index}`);
        break;
      }
      case 'settle': {
        const id = this.model.settle(step.pick);
        if (id !== undefined) this.driver.settle(id);
        break;
      }
      case 'abort':
        this.driver.abort(step.slot, { ...step, isAborting: this.model.abort(step.slot, step.renew) });
        break;
      case 'advance':
        this.model.advance(step.ms);
        jest.advanceTimersByTime(step.ms);
        break;
      case 'idle': {
        const idle = { isResolved: false, isDue: false };
        void this.driver.queue.onIdle().then(() => (idle.isResolved = true));
        this.#idles.push(idle);
        break;
      }
    }
  }

  /** Settles the oldest running task until nothing runs or waits. */
  async drain(): Promise<void> {
    for (let id = this.model.settleOldestRunning(); id !== undefined; id = this.model.settleOldestRunning()) {
      this.driver.settle(id);
      await flush();
      this.expectAgreement();
    }
  }

  expectAgreement(): void {
    const { model, driver } = this;
    if (model.isIdle) for (const idle of this.#idles) idle.isDue = true;
    const keys = [...Array(this.#keys).keys()];
    const metrics = driver.queue.metrics();
    expect(driver.violations).toEqual([]);
    expect({
      started: driver.started,
      outcomes: Object.fromEntries([...driver.outcomes()].sort()),
      depths: keys.map((key) => driver.queue.depth(key)),
      pending: metrics.pending,
      activeKeys: metrics.activeKeys,
      size: driver.queue.size,
      warnings: [...driver.warnings].sort(),
      warningCounts: [metrics.queueDepthWarnings, metrics.waitWarnings],
      debugLines: [...driver.debugLines].sort(),
      waits: [metrics.totalWaitTimeMs, metrics.longestWaitMs],
      timers: jest.getTimerCount(),
      idles: this.#idles.map((idle) => idle.isResolved),
    }).toEqual({
      started: model.started,
      outcomes: Object.fromEntries([...model.outcomes].sort()),
      depths: keys.map((key) => model.depth(key)),
      pending: model.pending,
      activeKeys: model.activeKeys,
      size: model.activeKeys,
      warnings: [...model.warnings].sort(),
      warningCounts: ['depth', 'wait'].map((kind) => model.warnings.filter((w) => w.startsWith(kind)).length),
      debugLines: [...model.debugLines].sort(),
      waits: [model.totalWaitMs, model.longestWaitMs],
      timers: model.expectedTimers,
      idles: this.#idles.map((idle) => idle.isDue),
    });
  }

  /** Nothing left behind: no chain, no count, no timer, no listener; idle resolves. */
  async expectNothingLeft(): Promise<void> {
    const { queue } = this.driver;
    let isIdle = false;
    void queue.onIdle().then(() => (isIdle = true));
    await flush();
    expect({
      size: queue.size,
      pending: queue.metrics().pending,
      timers: jest.getTimerCount(),
      isIdle,
      listeners: this.driver.listenerCount(),
    }).toEqual({ size: 0, pending: 0, timers: 0, isIdle: true, listeners: 0 });
    const aborted = [...this.model.outcomes].filter(([, outcome]) => outcome.startsWith('abort')).map(([id]) => id);
    expect(this.driver.started.flat().filter((id) => aborted.includes(id))).toEqual([]);
  }
}

async function replay(schedule: Schedule, detectReentry: boolean): Promise<void> {
  // Real setImmediate keeps flush() working; only timers and the clock are fake.
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'clearImmediate', 'nextTick', 'queueMicrotask'] });
  try {
    const run = new Replay(schedule.keys, detectReentry);
    for (const [index, step] of schedule.steps.entries()) {
      run.apply(step, index);
      await flush();
      run.expectAgreement();
    }
    await run.drain();
    await run.expectNothingLeft();
  } finally {
    jest.useRealTimers();
  }
}

describe('SerialQueue against a sequential model (FR-1.1–1.4, FR-2.1, NFR-2, NFR-3, NFR-8)', () => {
  test('random schedules with detectReentry: exclusion, per-key FIFO, own outcomes, re-entry rejected, nothing left', async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArb, (schedule) => replay(schedule, true)),
      { numRuns: 300 },
    );
  });

  test('random schedules with default options: the same, and re-entrant calls simply queue', async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArb, (schedule) => replay(schedule, false)),
      { numRuns: 200 },
    );
  });
});
