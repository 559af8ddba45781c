/**
 * The wait monitor's per-key ring of wait start times (lib/queue/wait-list.ts):
 * every ticket keeps its own start time through growth and wrap-around, runs
 * that left are skipped, and the oldest still waiting is the one the wait
 * warning watches (FR-1.4, NFR-2).
 */
import { WaitList } from '../lib/queue/wait-list.js';
import { useFakeTimersLeavingNone } from './helpers/queue-harness.js';

useFakeTimersLeavingNone();

/** Begins `count` waits, one fake millisecond apart; returns [ticket, began-at] pairs. */
function beginAll(list: WaitList, count: number): [number, number][] {
  return Array.from({ length: count }, () => {
    jest.advanceTimersByTime(1);
    return [list.begin(), performance.now()];
  });
}

describe('WaitList (FR-1.4, NFR-2)', () => {
  test('tickets count up from 0 and an empty list has no oldest', () => {
    const list = new WaitList('k');
    expect(list.oldestSince()).toBeUndefined();
    expect(beginAll(list, 3).map(([ticket]) => ticket)).toEqual([0, 1, 2]);
  });

  test('a started run gets its own wait, measured from its own begin, across growth and wrap-around', () => {
    const list = new WaitList('k');
    const first = beginAll(list, 10);
    // The oldest moves to ticket 8, so the next tickets wrap around the 16-slot ring, then grow it twice.
    for (const [ticket] of first.slice(0, 8)) list.end(ticket, true);
    const later = beginAll(list, 50);
    jest.advanceTimersByTime(1000);
    const waits = [...first.slice(8), ...later].map(([ticket, began]) => [list.end(ticket, true), performance.now() - began]);
    for (const [measured, expected] of waits) expect(measured).toBe(expected);
    expect(list.oldestSince()).toBeUndefined();
  });

  test('a run that left is skipped: the oldest is the oldest run still waiting, and leaving measures nothing', () => {
    const list = new WaitList('k');
    const runs = beginAll(list, 40);
    // Runs 1..29 leave, out of order, while run 0 still waits: nothing is skipped yet.
    for (let i = 29; i >= 1; i -= 1) expect(list.end(runs[i]![0], false)).toBe(0);
    expect(list.oldestSince()).toBe(runs[0]![1]);
    // The ring grows while those left runs sit behind run 0: growth keeps their marks.
    const more = beginAll(list, 40);
    list.end(runs[0]![0], true);
    expect(list.oldestSince()).toBe(runs[30]![1]);
    for (const [ticket] of runs.slice(30)) list.end(ticket, true);
    expect(list.oldestSince()).toBe(more[0]![1]);
    for (const [ticket] of more) list.end(ticket, true);
    expect(list.oldestSince()).toBeUndefined();
  });
});
