/**
 * The queue's key index (lib/queue/tail-index.ts): a released key keeps its
 * chain, idle, for its next run, and every RECLAIM_AFTER releases the keys
 * still idle are deleted, so idle chains stay bounded (NFR-3).
 */
import { SerialQueue } from '../lib/index.js';
import { newTailChain } from '../lib/queue/tail-chain.js';
import { RECLAIM_AFTER, TailIndex } from '../lib/queue/tail-index.js';
import { drain } from './helpers/common.js';

interface Slot {
  isIdle: boolean;
  isNoted: boolean;
  readonly id: number;
}

/** Adds `count` keys made by `keyOf`, each with a fresh live slot. */
function addAll<K>(index: TailIndex<K, Slot>, keys: readonly K[]): Slot[] {
  return keys.map((key, id) => {
    const slot = { isIdle: false, isNoted: false, id };
    index.add(key, slot);
    return slot;
  });
}

/** How many of `keys` the index still holds a value for, live or idle. */
function held<K>(index: TailIndex<K, Slot>, keys: readonly K[]): number {
  return keys.filter((key) => index.get(key) !== undefined).length;
}

const strings = (count: number, prefix = 'file-'): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);
const objects = (count: number): object[] => Array.from({ length: count }, () => ({}));

describe('TailIndex: released keys keep their chain, bounded (NFR-3)', () => {
  test('a released key returns its value, idle, until the key is revived', () => {
    const index = new TailIndex<string, Slot>();
    const [slot] = addAll(index, ['k']);
    index.release('k', slot!);
    expect(index.size).toBe(0);
    expect(index.get('k')).toBe(slot);
    expect(slot!.isIdle).toBe(true);
    index.revive(slot!);
    expect(slot!.isIdle).toBe(false);
    expect(index.size).toBe(1);
  });

  test.each([
    ['string keys', strings(3 * RECLAIM_AFTER + 7)],
    ['non-string keys', objects(3 * RECLAIM_AFTER + 7)],
  ])('with %s, idle values never reach RECLAIM_AFTER once nothing is live', (_, keys: readonly unknown[]) => {
    const index = new TailIndex<unknown, Slot>();
    const slots = addAll(index, keys);
    for (const [i, slot] of slots.entries()) index.release(keys[i], slot);
    expect(index.size).toBe(0);
    // What the last pass left: the releases since it, fewer than RECLAIM_AFTER.
    expect(held(index, keys)).toBe(keys.length % RECLAIM_AFTER);
  });

  test('a pass runs every RECLAIM_AFTER releases, drops only what is still idle, never a live or revived value', () => {
    const index = new TailIndex<string, Slot>();
    const live = strings(10, 'live-');
    const liveSlots = addAll(index, live);
    const churn = strings(RECLAIM_AFTER - 1, 'churn-');
    const churnSlots = addAll(index, churn);
    churnSlots.forEach((slot, i) => index.release(churn[i]!, slot));
    // One release short of a pass: every released key still holds its idle value.
    expect(held(index, churn)).toBe(churn.length);

    // The first churned key is taken again before the pass: it survives it, live.
    index.revive(churnSlots[0]!);
    const [last] = addAll(index, ['last']);
    index.release('last', last!);
    expect(held(index, churn)).toBe(1);
    expect(index.get(churn[0]!)).toBe(churnSlots[0]);
    expect(index.get('last')).toBeUndefined();
    expect(live.map((key) => index.get(key))).toEqual(liveSlots);
    expect(index.size).toBe(live.length + 1);
  });

  test('a key live during a pass is noted again when released after it, and the next pass deletes it', () => {
    const index = new TailIndex<string, Slot>();
    const [hot] = addAll(index, ['hot']);
    index.release('hot', hot!);
    index.revive(hot!);
    // A pass while the key is live: it stays, and it is no longer on the pass's list.
    const churn = strings(RECLAIM_AFTER, 'churn-');
    addAll(index, churn).forEach((slot, i) => index.release(churn[i]!, slot));
    expect(index.get('hot')).toBe(hot);

    index.release('hot', hot!);
    const more = strings(RECLAIM_AFTER - 1, 'more-');
    addAll(index, more).forEach((slot, i) => index.release(more[i]!, slot));
    expect(index.get('hot')).toBeUndefined();
    expect(index.size).toBe(0);
  });

  test('a new chain is not noted yet, so its first release puts its key on the next pass', () => {
    const chain = newTailChain<string, unknown>('k', () => undefined);
    expect(chain).toMatchObject({ isIdle: false, isNoted: false, depth: 0 });
  });

  test('one key released RECLAIM_AFTER times in a row is deleted once by the pass, and found absent after', () => {
    const index = new TailIndex<string, Slot>();
    const [slot] = addAll(index, ['k']);
    index.release('k', slot!);
    for (let i = 1; i < RECLAIM_AFTER; i += 1) {
      index.revive(slot!);
      index.release('k', slot!);
    }
    expect(index.get('k')).toBeUndefined();
    expect(index.size).toBe(0);
  });

  test('"__proto__" and inherited names are ordinary string keys', () => {
    const index = new TailIndex<string, Slot>();
    expect(index.get('toString')).toBeUndefined();
    const [proto, ctor] = addAll(index, ['__proto__', 'constructor']);
    expect(index.get('__proto__')).toBe(proto);
    expect(index.get('constructor')).toBe(ctor);
    expect(index.size).toBe(2);
  });
});

describe('SerialQueue over many keys (NFR-3)', () => {
  test('keys run once each are released: size 0, depth 0, and a key run again starts at once', async () => {
    const queue = new SerialQueue();
    const keys = strings(3 * RECLAIM_AFTER);
    for (const key of keys) await queue.run(key, () => undefined);
    await drain();
    expect(queue.size).toBe(0);
    expect(keys.every((key) => queue.depth(key) === 0)).toBe(true);

    let started = false;
    const again = queue.run(keys[0]!, () => {
      started = true;
      return 'again';
    });
    expect(started).toBe(true);
    expect(queue.depth(keys[0]!)).toBe(1);
    await expect(again).resolves.toBe('again');
  });

  test('a reused chain starts a fresh episode: a run waiting behind it waits once, then the key is idle', async () => {
    const queue = new SerialQueue();
    await queue.run('k', () => undefined);
    await drain();
    const order: string[] = [];
    const first = queue.run('k', async () => {
      order.push('first');
    });
    const second = queue.run('k', () => order.push('second'));
    expect(queue.depth('k')).toBe(2);
    await Promise.all([first, second]);
    await drain();
    expect(order).toEqual(['first', 'second']);
    expect(queue.depth('k')).toBe(0);
    expect(queue.metrics()).toMatchObject({ activeKeys: 0, pending: 0 });
  });
});
