/**
 * A fast-check model of three session-store instances (each on its own
 * EncryptionService) sharing one file, interleaving creations, deletions,
 * lookups and (concurrent) flushes while background saves run, checked
 * against one sequential model of the union (issue 9 proof, FR-1, NFR-9).
 * Whatever one instance flushed, every instance sees; at the end every
 * instance and a fresh load agree with the model exactly.
 */
import fc from 'fast-check';
import path from 'node:path';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { createService, makeTempDir, removeTempDir } from './helpers/store-harness.js';

type Op =
  | { readonly kind: 'create'; readonly store: number }
  | { readonly kind: 'delete' | 'get'; readonly store: number; readonly pick: number }
  | { readonly kind: 'flush'; readonly store: number }
  | { readonly kind: 'flushTwo'; readonly store: number; readonly other: number };

const STORES = 3;
const store = fc.integer({ min: 0, max: STORES - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), store }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), store, pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('get' as const), store, pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flush' as const), store }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flushTwo' as const), store, other: store }) },
);

/** The sequential model: which ids live, who changed each last, and whether that change was flushed. */
class Model {
  readonly created: string[] = [];
  readonly live = new Set<string>();
  readonly lastBy = new Map<string, number>();
  readonly flushed = new Set<string>();

  change(id: string, by: number, isLive: boolean): void {
    if (isLive) this.live.add(id);
    else this.live.delete(id);
    this.lastBy.set(id, by);
    this.flushed.delete(id);
  }

  flush(by: number): void {
    for (const [id, writer] of this.lastBy) if (writer === by) this.flushed.add(id);
  }

  /** What instance `by` must answer for `id`, or undefined when a background save may or may not have landed. */
  expected(id: string, by: number): boolean | undefined {
    return this.flushed.has(id) || this.lastBy.get(id) === by ? this.live.has(id) : undefined;
  }
}

async function run(ops: readonly Op[]): Promise<void> {
  const dir = makeTempDir();
  const services = await Promise.all(Array.from({ length: STORES }, () => createService(dir)));
  try {
    const file = path.join(dir, 'oauth_sessions.enc');
    const stores = services.map((service) => new PersistentSessionStore(service, file, { maxSessions: 1_000_000 }));
    const model = new Model();
    const check = (id: string, by: number, step: number): void => {
      const expected = model.expected(id, by);
      if (expected !== undefined) expect({ step, by, visible: stores[by]!.getSession(id) !== null }).toEqual({ step, by, visible: expected });
    };
    for (const [step, next] of ops.entries()) {
      const target = stores[next.store]!;
      if (next.kind === 'create') {
        const id = target.createSession(`user-${step}`).sessionId;
        model.created.push(id);
        model.change(id, next.store, true);
      } else if ((next.kind === 'delete' || next.kind === 'get') && model.created.length > 0) {
        const id = model.created[next.pick % model.created.length]!;
        check(id, next.store, step);
        if (next.kind === 'delete' && target.getSession(id) !== null) {
          target.deleteSession(id);
          model.change(id, next.store, false);
        }
      } else if (next.kind === 'flush') {
        await target.flush();
        model.flush(next.store);
      } else if (next.kind === 'flushTwo') {
        await Promise.all([target.flush(), stores[next.other]!.flush()]);
        model.flush(next.store);
        model.flush(next.other);
      }
    }
    for (const [index, each] of stores.entries()) {
      await each.flush();
      model.flush(index);
    }
    for (const id of model.created) for (let by = 0; by < STORES; by += 1) check(id, by, ops.length);
    const fresh = new PersistentSessionStore(await createService(dir), file, { maxSessions: 1_000_000 });
    await fresh.loadFromStorage();
    expect(fresh.getMetrics().count).toBe(model.live.size);
    for (const id of model.live) expect(fresh.getSession(id)).not.toBeNull();
  } finally {
    await Promise.all(services.map((service) => service.waitForPendingWrites()));
    removeTempDir(dir);
  }
}

describe('three store instances against one sequential model of the union (FR-1.1, NFR-9)', () => {
  test('interleaved creations, deletions, lookups and flushes: flushed changes are seen everywhere, and the end state is the model\'s', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), run), { numRuns: 12 });
  }, 120_000);
});
