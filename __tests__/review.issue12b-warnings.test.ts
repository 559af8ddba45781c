/**
 * Second outsider review of issue 12: the depth warning's count (change 2,
 * `TailChain.isRunning`) when the logger itself runs on the key, as a logger
 * that writes through the queue does: the slow-wait debug line is given
 * while the waiting run starts, before `isRunning` is set.
 */
import { SerialQueue, type QueueLogger } from '../lib/index.js';
import { deferred, drain } from './helpers/common.js';

interface Line {
  readonly level: string;
  readonly depth: unknown;
  readonly keyDepth: number;
}

describe('review 12b: the depth warning when the slow-wait debug line runs on the key (FR-1.4, NFR-2)', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /**
   * Head on 'log', one run waiting behind it for 50 ms (a slow wait), then the head settles: the
   * waiting run starts and its debug line makes one more run on 'log'. Only that run waits.
   */
  async function scenario(threshold: number): Promise<Line[]> {
    const lines: Line[] = [];
    // Filled in below: the logger reads the queue it is given to.
    const ref: { queue?: SerialQueue<string> } = {};
    let hasLogged = false;
    const logger: QueueLogger = {
      warn: (fields) => lines.push({ level: 'warn', depth: fields.depth, keyDepth: ref.queue!.depth('log') }),
      debug: () => {
        lines.push({ level: 'debug', depth: undefined, keyDepth: ref.queue!.depth('log') });
        if (hasLogged) return;
        hasLogged = true;
        void ref.queue!.run('log', () => 'written by the logger');
      },
    };
    const queue = new SerialQueue<string>({ slowWaitMs: 10, depthWarningThreshold: threshold, waitWarningMs: Infinity, logger });
    ref.queue = queue;
    const gate = deferred();
    void queue.run('log', () => gate.promise);
    const waiting = queue.run('log', () => 'waited');
    jest.advanceTimersByTime(50);
    gate.resolve();
    expect(await waiting).toBe('waited');
    await queue.onIdle();
    await drain();
    return lines;
  }

  test('control (holds): the debug line is given while the waiting run starts, with only that run on the key', async () => {
    const lines = await scenario(1);
    // The first line is the starting run's debug line; the run it made is the only one waiting.
    expect(lines[0]).toEqual({ level: 'debug', depth: undefined, keyDepth: 1 });
  });

  // Review finding (review-12b #6), fixed since: in #wait's reaction the wait ends (`wait!.end(true)`, which gives the
  // slow-wait debug line) before `chain.isRunning = true`. A run the logger makes on the key then
  // finds depth 2 with isRunning false and counts the starting run as waiting: "2 tasks are
  // waiting (threshold 1)" while one waits.
  test('FR-1.4: a run made by the slow-wait debug line counts only itself as waiting (no warning at threshold 1)', async () => {
    const lines = await scenario(1);
    expect(lines.filter((line) => line.level === 'warn')).toEqual([]);
  });
});
