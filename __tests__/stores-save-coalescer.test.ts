import { SaveCoalescer } from '../lib/stores/save-coalescer.js';
import { deferred, drain, track, type Deferred } from './helpers/queue-harness.js';

/** A coalescer over a counter, whose writes finish when the test says so. */
function harness(): { saves: SaveCoalescer; writes: { snapshot: string; done: Deferred }[]; change(): void } {
  let state = 0;
  const writes: { snapshot: string; done: Deferred }[] = [];
  // Each write records the state it was called with: what a save that starts then carries.
  const saves = new SaveCoalescer(() => {
    const done = deferred();
    writes.push({ snapshot: `state ${state}`, done });
    return done.promise;
  });
  return { saves, writes, change: () => {
    state += 1;
    saves.markChanged();
  } };
}

describe('SaveCoalescer: at most one save runs and one waits (FR-1.1, FR-1.2)', () => {
  test('changes during a running save are carried by one waiting save that snapshots when it starts', async () => {
    const { saves, writes, change } = harness();
    change();
    const first = saves.save();
    const joined = [];
    for (let index = 0; index < 999; index += 1) {
      change();
      joined.push(saves.save());
    }
    expect(new Set(joined).size).toBe(1);
    expect(writes.map((write) => write.snapshot)).toEqual(['state 1']);
    // A change made after the last save() call but before the waiting save starts is carried too.
    change();
    writes[0]!.done.resolve();
    await first;
    await drain();
    expect(writes.map((write) => write.snapshot)).toEqual(['state 1', 'state 1001']);
    const waiting = track(joined[0]!);
    expect(waiting.isSettled).toBe(false);
    writes[1]!.done.resolve();
    await joined[0];
    expect(saves.isDirty).toBe(false);
    expect(saves.isSaving).toBe(false);
  });

  test('FR-4: isSaving holds from a save\'s start until the last queued save settles, also between the running save\'s end and the waiting one\'s start', async () => {
    const { saves, writes, change } = harness();
    expect(saves.isSaving).toBe(false);
    change();
    const first = saves.save();
    // Running, nothing waiting.
    expect(saves.isSaving).toBe(true);
    change();
    const second = saves.save();
    // Registered after the waiting save's own reaction to `first`: runs once the running save
    // has ended and before the waiting one starts, when only the waiting save is left.
    const between = first.then(() => saves.isSaving);
    writes[0]!.done.resolve();
    await expect(between).resolves.toBe(true);
    await drain();
    expect(writes).toHaveLength(2);
    expect(saves.isSaving).toBe(true);
    writes[1]!.done.resolve();
    await second;
    expect(saves.isSaving).toBe(false);
  });

  test('a save with nothing new to write resolves without writing', async () => {
    const { saves, writes, change } = harness();
    await saves.save();
    expect(writes).toHaveLength(0);
    change();
    const running = saves.save();
    const waiting = saves.save();
    writes[0]!.done.resolve();
    await Promise.all([running, waiting]);
    expect(writes).toHaveLength(1);
  });

  test('a failed save rejects its callers with its error, leaves the store dirty, and the next save retries', async () => {
    const { saves, writes, change } = harness();
    change();
    const failing = saves.save();
    const failure = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    writes[0]!.done.reject(failure);
    await expect(failing).rejects.toBe(failure);
    expect(saves.isDirty).toBe(true);
    const retry = saves.save();
    expect(writes.map((write) => write.snapshot)).toEqual(['state 1', 'state 1']);
    writes[1]!.done.resolve();
    await retry;
    expect(saves.isDirty).toBe(false);
  });

  test('a waiting save still runs after the running one failed', async () => {
    const { saves, writes, change } = harness();
    change();
    const running = saves.save();
    change();
    const waiting = saves.save();
    writes[0]!.done.reject(new Error('EIO'));
    await expect(running).rejects.toThrow('EIO');
    await drain();
    expect(writes).toHaveLength(2);
    writes[1]!.done.resolve();
    await waiting;
    expect(saves.isDirty).toBe(false);
  });

  test('saveInBackground reports each failed save once, however many changes joined it', async () => {
    const { saves, writes, change } = harness();
    const errors: unknown[] = [];
    for (let index = 0; index < 50; index += 1) {
      change();
      saves.saveInBackground((error) => errors.push(error));
    }
    writes[0]!.done.reject(new Error('first'));
    await drain();
    writes[1]!.done.reject(new Error('second'));
    await drain();
    expect(errors.map((error) => (error as Error).message)).toEqual(['first', 'second']);
  });

  test('a write that throws rejects the save instead of throwing', async () => {
    const saves = new SaveCoalescer(() => {
      throw new TypeError('cannot serialise');
    });
    saves.markChanged();
    await expect(saves.save()).rejects.toThrow(TypeError);
    expect(saves.isSaving).toBe(false);
  });
});
