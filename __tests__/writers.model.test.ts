/**
 * Issue 9's model proof: three store instances on one pair of files (two
 * share one EncryptionService, the third has its own, so they exclude each
 * other only through the cross-process lock) interleave creations,
 * deletions, issues, rotations, revocations and flushes, checked against ONE
 * sequential model of the union.
 *
 * What the model may demand: a change is acknowledged once its instance's
 * flush resolved (a rotation or revocation once it resolved). A record whose
 * last change is acknowledged is "settled": after every flush, EVERY
 * instance's lookup of a settled record must agree with the model (fresh
 * reads), and an instance's lookup of its own unacknowledged change must
 * show it (read your writes). Other instances' views of an unacknowledged
 * change are not judged (a background save may or may not have run).
 * Operations only target records that are settled or the acting instance's
 * own, so the model's order is the only order that matters. After everything
 * is flushed, a fresh instance must load exactly the model.
 */
import fc from 'fast-check';
import { CLIENT_ID, createStores, flushAll, makeTempDir, openService, removeTempDir, restart, type Stores } from './helpers/writers.js';

const INSTANCES = 3;
const OTHER_CLIENT = 'client-b';

interface RecordState {
  present: boolean;
  rotated: boolean;
  /** The instance holding an unacknowledged change of this record, or null when settled. */
  pendingIn: number | null;
  readonly clientId: string;
}

interface Model {
  readonly sessions: Map<string, RecordState>;
  readonly tokens: Map<string, RecordState>;
}

interface World {
  readonly dir: string;
  readonly instances: Stores[];
}

/** Records instance `at` may act on: settled ones and its own pending ones. */
function actionable(records: Map<string, RecordState>, at: number, filter: (state: RecordState) => boolean): string[] {
  return [...records].filter(([, state]) => (state.pendingIn === null || state.pendingIn === at) && filter(state)).map(([id]) => id);
}

const settle = (records: Map<string, RecordState>, at: number): void => {
  for (const state of records.values()) if (state.pendingIn === at) state.pendingIn = null;
};

/** Every instance's lookups against the model, for the records it is judged on. */
async function checkViews(model: Model, world: World): Promise<void> {
  const wrong: string[] = [];
  for (let at = 0; at < INSTANCES; at += 1) {
    const stores = world.instances[at]!;
    for (const [id, state] of model.sessions) {
      if (state.pendingIn !== null && state.pendingIn !== at) continue;
      const seen = stores.sessions.getSession(id) !== null;
      if (seen !== state.present) wrong.push(`instance ${at} getSession(${id.slice(0, 8)}): ${seen}, model ${state.present}${state.pendingIn === null ? '' : ' (own change)'}`);
    }
    for (const [token, state] of model.tokens) {
      if (state.pendingIn !== null && state.pendingIn !== at) continue;
      const valid = (await stores.tokens.validateToken(token, state.clientId)).valid;
      const expected = state.present && !state.rotated;
      if (valid !== expected) wrong.push(`instance ${at} validateToken(${token.slice(0, 8)}): ${valid}, model ${expected}${state.pendingIn === null ? '' : ' (own change)'}`);
    }
  }
  expect(wrong).toEqual([]);
}

type Command = fc.AsyncCommand<Model, World>;

class CreateSession implements Command {
  constructor(readonly at: number) {}
  check = (): boolean => true;
  async run(model: Model, world: World): Promise<void> {
    const { sessionId } = world.instances[this.at]!.sessions.createSession(`user-${this.at}`);
    model.sessions.set(sessionId, { present: true, rotated: false, pendingIn: this.at, clientId: '' });
  }
  toString = (): string => `createSession@${this.at}`;
}

class DeleteSession implements Command {
  constructor(readonly at: number, readonly pick: number) {}
  check = (model: Model): boolean => actionable(model.sessions, this.at, (state) => state.present).length > 0;
  async run(model: Model, world: World): Promise<void> {
    const ids = actionable(model.sessions, this.at, (state) => state.present);
    const id = ids[this.pick % ids.length]!;
    world.instances[this.at]!.sessions.deleteSession(id);
    Object.assign(model.sessions.get(id)!, { present: false, pendingIn: this.at });
  }
  toString = (): string => `deleteSession@${this.at}#${this.pick}`;
}

class IssueToken implements Command {
  constructor(readonly at: number, readonly isOtherClient: boolean) {}
  check = (): boolean => true;
  async run(model: Model, world: World): Promise<void> {
    const clientId = this.isOtherClient ? OTHER_CLIENT : CLIENT_ID;
    const token = await world.instances[this.at]!.tokens.generateToken({ clientId, userId: `user-${this.at}`, scope: 'openid' });
    model.tokens.set(token, { present: true, rotated: false, pendingIn: this.at, clientId });
  }
  toString = (): string => `generateToken@${this.at}${this.isOtherClient ? '(client-b)' : ''}`;
}

class RotateToken implements Command {
  constructor(readonly at: number, readonly pick: number, readonly isWrongClient: boolean) {}
  check = (model: Model): boolean => actionable(model.tokens, this.at, (state) => state.present).length > 0;
  async run(model: Model, world: World): Promise<void> {
    const tokens = actionable(model.tokens, this.at, (state) => state.present);
    const token = tokens[this.pick % tokens.length]!;
    const state = model.tokens.get(token)!;
    const result = await world.instances[this.at]!.tokens.rotateToken(token, this.isWrongClient ? 'someone-else' : state.clientId);
    const isExpected = !state.rotated && !this.isWrongClient;
    expect({ rotated: result !== null }).toEqual({ rotated: isExpected });
    if (result === null) return;
    // A rotation is a transaction: both records are on disk once it resolved.
    Object.assign(state, { rotated: true, pendingIn: null });
    model.tokens.set(result, { present: true, rotated: false, pendingIn: null, clientId: state.clientId });
  }
  toString = (): string => `rotateToken@${this.at}#${this.pick}${this.isWrongClient ? '(wrong client)' : ''}`;
}

class RaceRotate implements Command {
  constructor(readonly first: number, readonly second: number, readonly pick: number) {}
  check = (model: Model): boolean => this.first !== this.second && actionable(model.tokens, -1, (state) => state.present).length > 0;
  async run(model: Model, world: World): Promise<void> {
    const tokens = actionable(model.tokens, -1, (state) => state.present);
    const token = tokens[this.pick % tokens.length]!;
    const state = model.tokens.get(token)!;
    const results = await Promise.all([this.first, this.second].map((at) => world.instances[at]!.tokens.rotateToken(token, state.clientId)));
    const winners = results.filter((result): result is string => result !== null);
    expect({ winners: winners.length }).toEqual({ winners: state.rotated ? 0 : 1 });
    if (winners.length === 0) return;
    state.rotated = true;
    for (const winner of winners) model.tokens.set(winner, { present: true, rotated: false, pendingIn: null, clientId: state.clientId });
  }
  toString = (): string => `raceRotate@${this.first}+${this.second}#${this.pick}`;
}

class RevokeToken implements Command {
  constructor(readonly at: number, readonly pick: number) {}
  check = (model: Model): boolean => actionable(model.tokens, this.at, (state) => state.present).length > 0;
  async run(model: Model, world: World): Promise<void> {
    const tokens = actionable(model.tokens, this.at, (state) => state.present);
    const token = tokens[this.pick % tokens.length]!;
    await world.instances[this.at]!.tokens.revokeToken(token);
    Object.assign(model.tokens.get(token)!, { present: false, pendingIn: null });
  }
  toString = (): string => `revokeToken@${this.at}#${this.pick}`;
}

class Flush implements Command {
  constructor(readonly at: number, readonly kind: 'sessions' | 'tokens') {}
  check = (): boolean => true;
  async run(model: Model, world: World): Promise<void> {
    await world.instances[this.at]![this.kind].flush();
    settle(model[this.kind], this.at);
    await checkViews(model, world);
  }
  toString = (): string => `flush@${this.at}(${this.kind})`;
}

const instance = fc.integer({ min: 0, max: INSTANCES - 1 });
const pick = fc.nat({ max: 1000 });
const commands = [
  instance.map((at) => new CreateSession(at)),
  fc.tuple(instance, pick).map(([at, index]) => new DeleteSession(at, index)),
  fc.tuple(instance, fc.boolean()).map(([at, isOther]) => new IssueToken(at, isOther)),
  fc.tuple(instance, pick, fc.boolean()).map(([at, index, isWrong]) => new RotateToken(at, index, isWrong && index % 4 === 0)),
  fc.tuple(instance, instance, pick).map(([first, second, index]) => new RaceRotate(first, second, index)),
  fc.tuple(instance, pick).map(([at, index]) => new RevokeToken(at, index)),
  fc.tuple(instance, fc.constantFrom('sessions' as const, 'tokens' as const)).map(([at, kind]) => new Flush(at, kind)),
];

describe('a fast-check model of three store instances on one file against one sequential model of the union (FR-1.1, NFR-9, NFR-10)', () => {
  test('after every flush every instance agrees with the model; after all flush, a fresh instance loads exactly the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (sequence) => {
        const dir = makeTempDir();
        const instances: Stores[] = [];
        try {
          const shared = await openService(dir);
          instances.push(await createStores(shared, dir), await createStores(shared, dir), await createStores(await openService(dir), dir));
          const model: Model = { sessions: new Map(), tokens: new Map() };
          const world: World = { dir, instances };
          await fc.asyncModelRun(() => ({ model, real: world }), sequence);

          for (let at = 0; at < INSTANCES; at += 1) await new Flush(at, 'sessions').run(model, world);
          for (let at = 0; at < INSTANCES; at += 1) await new Flush(at, 'tokens').run(model, world);
          const fresh = await restart(dir);
          instances.push(fresh);
          const sessions = [...model.sessions].filter(([, state]) => state.present).map(([id]) => id);
          const tokens = [...model.tokens].filter(([, state]) => state.present);
          expect({
            sessions: fresh.sessions.getMetrics().count,
            tokens: fresh.tokens.getMetrics().count,
            rotated: fresh.tokens.getMetrics().rotatedCount,
          }).toEqual({ sessions: sessions.length, tokens: tokens.length, rotated: tokens.filter(([, state]) => state.rotated).length });
          expect(sessions.filter((id) => fresh.sessions.getSession(id) === null)).toEqual([]);
          for (const [token, state] of tokens) expect({ token, valid: (await fresh.tokens.validateToken(token, state.clientId)).valid }).toEqual({ token, valid: !state.rotated });
        } finally {
          // Cancels the long token debounces before the directory goes.
          await Promise.allSettled(instances.map((stores) => flushAll(stores)));
          removeTempDir(dir);
        }
      }),
      // A fixed seed: the same sequences every run (print a failure's seed and path to replay it).
      { numRuns: 15, seed: 20_261_130, endOnFailure: false },
    );
  }, 120_000);
});
