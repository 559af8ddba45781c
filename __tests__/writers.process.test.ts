/**
 * Issue 9's proof with real processes: children (fixtures/writers-worker.mjs,
 * the BUILT package) share one directory and report over IPC exactly what the
 * stores acknowledged; then a fresh instance loads the files and must hold
 * exactly that. Children are synchronised by messages, never by sleeps, and
 * SIGKILLed by the harness if they outlive their bound. Run `npm run build`
 * first (npm test does).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  call, closeAll, createStores, endWorkers, forkWorker, makeTempDir, openService, registerClient, removeTempDir, requireBuild, restart, snapshotIds, sorted,
  WRITERS_KEY, type Stores, type Worker, type WorkerMessage,
} from './helpers/writers.js';

const CHILDREN = 4;
const OPERATIONS = 250;
const CHILD_TIMEOUT_MS = 90_000;
const SEED_CLIENT = 'seed-client';

interface Rotation {
  readonly from: string;
  readonly to: string | null;
  readonly own: boolean;
}

interface Report {
  readonly index: number;
  readonly sessionsCreated: string[];
  readonly sessionsDeleted: string[];
  readonly sessionsGivenAway: string[];
  readonly tokensIssued: { token: string; clientId: string }[];
  readonly rotations: Rotation[];
  readonly revoked: string[];
  readonly clientsRegistered: string[];
  readonly clientsDeleted: string[];
  readonly ownViewViolations: unknown[];
  readonly failures: unknown[];
  readonly warnings: string[];
}

beforeAll(() => requireBuild());

/** Seeds the files through a store that is closed afterwards, and writes the ids the children share to seeds.json. */
async function seedFiles(dir: string, counts: { sessions: number; rotatePool: number; revokePool: number; clients: number }) {
  const stores = await createStores(await openService(dir), dir);
  const grant = (index: number) => ({ clientId: SEED_CLIENT, userId: `seed-${index}`, scope: 'openid' });
  const seeds = {
    clientId: SEED_CLIENT,
    sessions: Array.from({ length: counts.sessions }, (_, index) => stores.sessions.createSession(`seed-${index}`).sessionId),
    rotatePool: await Promise.all(Array.from({ length: counts.rotatePool }, (_, index) => stores.tokens.generateToken(grant(index)))),
    revokePool: await Promise.all(Array.from({ length: counts.revokePool }, (_, index) => stores.tokens.generateToken(grant(1000 + index)))),
    clients: await Promise.all(Array.from({ length: counts.clients }, (_, index) => registerClient(stores, `Seed ${index}`))),
  };
  await closeAll(stores);
  fs.writeFileSync(path.join(dir, 'seeds.json'), JSON.stringify(seeds));
  return seeds;
}

async function startAll(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((worker) => worker.next('ready')));
}

describe('four processes x 250 mixed operations on the three stores in one directory (FR-1.1, FR-2.1, NFR-9, NFR-10)', () => {
  let dir: string;
  let seeds: Awaited<ReturnType<typeof seedFiles>>;
  let reports: Report[];
  let fresh: Stores;
  let workers: Worker[];

  beforeAll(async () => {
    dir = makeTempDir();
    seeds = await seedFiles(dir, { sessions: 40, rotatePool: 60, revokePool: 40, clients: 12 });
    workers = Array.from({ length: CHILDREN }, (_, index) =>
      forkWorker(['mixed', dir, WRITERS_KEY, String(index), String(index + 1), String(OPERATIONS)], CHILD_TIMEOUT_MS),
    );
    await startAll(workers);
    for (const worker of workers) worker.send({ type: 'go' });
    reports = (await Promise.all(workers.map((worker) => worker.next<WorkerMessage & { report: Report }>('done')))).map((message) => message.report);
    await Promise.all(workers.map((worker) => worker.exit));
    fresh = await restart(dir);
  }, 180_000);

  afterAll(async () => {
    for (const worker of workers ?? []) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    removeTempDir(dir);
  });

  test('every child ran to its end: no failed operation, no warning, and its own acknowledged records never vanished from its own view', () => {
    for (const report of reports) {
      expect({ index: report.index, failures: report.failures, warnings: report.warnings, ownViewViolations: report.ownViewViolations }).toEqual({
        index: report.index,
        failures: [],
        warnings: [],
        ownViewViolations: [],
      });
    }
  });

  test('sessions: a fresh instance holds exactly the acknowledged creations minus the acknowledged deletions', () => {
    const deleted = new Set(reports.flatMap((report) => report.sessionsDeleted));
    const expected = [...seeds.sessions, ...reports.flatMap((report) => report.sessionsCreated)].filter((id) => !deleted.has(id));
    expect(deleted.size).toBeGreaterThan(0);
    // Sessions one child created and another deleted (the deleter may never have looked them up).
    const crossDeleted = reports.flatMap((report) => report.sessionsGivenAway).filter((id) => deleted.has(id));
    expect(crossDeleted.length).toBeGreaterThan(0);
    // A failure says which kind of deletion was lost: of a seed, of an own session, or of one another child gave away.
    const given = new Set(reports.flatMap((report) => report.sessionsGivenAway));
    const seeded = new Set(seeds.sessions);
    const kindOf = (id: string): string => (given.has(id) ? 'given away by another child' : seeded.has(id) ? 'seed' : 'own');
    expect({
      missing: expected.filter((id) => fresh.sessions.getSession(id) === null).map(kindOf),
      deletedButPresent: [...deleted].filter((id) => fresh.sessions.getSession(id) !== null).map(kindOf),
    }).toEqual({ missing: [], deletedButPresent: [] });
    expect(fresh.sessions.getMetrics().count).toBe(expected.length);
  });

  test('tokens: exactly the acknowledged issues and rotation successors minus the revocations; rotated originals refuse, the rest validate', async () => {
    const revoked = new Set(reports.flatMap((report) => report.revoked));
    const clientOf = new Map<string, string>();
    for (const token of [...seeds.rotatePool, ...seeds.revokePool]) clientOf.set(token, SEED_CLIENT);
    for (const report of reports) for (const { token, clientId } of report.tokensIssued) clientOf.set(token, clientId);
    for (const report of reports) for (const { from, to } of report.rotations) if (to !== null) clientOf.set(to, clientOf.get(from)!);
    const rotated = new Set(reports.flatMap((report) => report.rotations.filter((rotation) => rotation.to !== null).map((rotation) => rotation.from)));
    const present = [...clientOf.keys()].filter((token) => !revoked.has(token));

    const wronglyValid: string[] = [];
    const wronglyInvalid: string[] = [];
    for (const token of present) {
      const isValid = (await fresh.tokens.validateToken(token, clientOf.get(token)!)).valid;
      if (isValid && rotated.has(token)) wronglyValid.push(token);
      if (!isValid && !rotated.has(token)) wronglyInvalid.push(token);
    }
    const revokedButValid: string[] = [];
    for (const token of revoked) if ((await fresh.tokens.validateToken(token, clientOf.get(token)!)).valid) revokedButValid.push(token);
    expect({ wronglyValid, wronglyInvalid, revokedButValid }).toEqual({ wronglyValid: [], wronglyInvalid: [], revokedButValid: [] });
    expect(fresh.tokens.getMetrics()).toMatchObject({ count: present.length, rotatedCount: present.filter((token) => rotated.has(token)).length });
  });

  test('every token was rotated at most once: no token has two successors, and each pool token some child tried was rotated exactly once', () => {
    const successes = new Map<string, number>();
    const tried = new Set<string>();
    for (const report of reports) {
      for (const { from, to } of report.rotations) {
        tried.add(from);
        if (to !== null) successes.set(from, (successes.get(from) ?? 0) + 1);
      }
    }
    const twice = [...successes].filter(([, count]) => count > 1).map(([token]) => token);
    expect(twice).toEqual([]);
    // Nobody revokes the pool, so the first rotation of each tried pool token must have won.
    const poolTried = seeds.rotatePool.filter((token) => tried.has(token));
    expect(poolTried.length).toBeGreaterThan(0);
    expect(poolTried.filter((token) => successes.get(token) !== 1)).toEqual([]);
  });

  test('clients: exactly the registered ones minus the deleted ones', async () => {
    const deleted = new Set(reports.flatMap((report) => report.clientsDeleted));
    const expected = [...seeds.clients, ...reports.flatMap((report) => report.clientsRegistered)].filter((id) => !deleted.has(id));
    const missing: string[] = [];
    for (const id of expected) if ((await fresh.clients.getClient(id)) === null) missing.push(id);
    const resurrected: string[] = [];
    for (const id of deleted) if ((await fresh.clients.getClient(id)) !== null) resurrected.push(id);
    expect({ missing, resurrected }).toEqual({ missing: [], resurrected: [] });
    expect(fresh.clients.getMetrics().count).toBe(expected.length);
  });

  test('FR-3.1: after a graceful close, each store file alone (what the original server reads) holds exactly the same records', async () => {
    await closeAll(fresh);
    const sessionsDeleted = new Set(reports.flatMap((report) => report.sessionsDeleted));
    const sessionsExpected = [...seeds.sessions, ...reports.flatMap((report) => report.sessionsCreated)].filter((id) => !sessionsDeleted.has(id));
    const revoked = new Set(reports.flatMap((report) => report.revoked));
    const tokensExpected = [
      ...seeds.rotatePool,
      ...seeds.revokePool,
      ...reports.flatMap((report) => report.tokensIssued.map(({ token }) => token)),
      ...reports.flatMap((report) => report.rotations.flatMap(({ to }) => (to === null ? [] : [to]))),
    ].filter((token) => !revoked.has(token));
    const clientsDeleted = new Set(reports.flatMap((report) => report.clientsDeleted));
    const clientsExpected = [...seeds.clients, ...reports.flatMap((report) => report.clientsRegistered)].filter((id) => !clientsDeleted.has(id));

    expect(sorted(await snapshotIds(dir, 'sessions'))).toEqual(sorted(sessionsExpected));
    expect(sorted(await snapshotIds(dir, 'tokens'))).toEqual(sorted(tokensExpected));
    expect(sorted(await snapshotIds(dir, 'clients'))).toEqual(sorted(clientsExpected));
  });
});

describe('two processes rotating the same tokens concurrently (FR-1.1, NFR-9)', () => {
  const ROUNDS = 100;
  let dir: string;

  beforeEach(() => {
    dir = makeTempDir();
  });

  afterEach(() => {
    removeTempDir(dir);
  });

  test(`${ROUNDS} rounds, both processes rotate the round's token at the same moment: exactly one succeeds per token, and the file agrees`, async () => {
    const seeds = await seedFiles(dir, { sessions: 0, rotatePool: ROUNDS, revokePool: 0, clients: 0 });
    const workers = [0, 1].map((index) => forkWorker(['rotate', dir, WRITERS_KEY, String(index)], CHILD_TIMEOUT_MS));
    try {
      await startAll(workers);
      const winners: (string | null)[][] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        // Both children get the round before either answers: their rotations overlap.
        for (const worker of workers) worker.send({ type: 'round', round, token: seeds.rotatePool[round], clientId: SEED_CLIENT });
        const answers = await Promise.all(workers.map((worker) => worker.next<WorkerMessage & { round: number; result: string | null }>('rotated')));
        winners.push(answers.map((answer) => answer.result));
      }
      for (const worker of workers) worker.send({ type: 'end' });
      const ended = await Promise.all(workers.map((worker) => worker.next<WorkerMessage & { failures: unknown[]; warnings: string[] }>('ended')));
      await Promise.all(workers.map((worker) => worker.exit));
      expect(ended.map(({ failures, warnings }) => ({ failures, warnings }))).toEqual([{ failures: [], warnings: [] }, { failures: [], warnings: [] }]);

      // "round:winners" for every round without exactly one winner (readable when many fail).
      const wrongRounds = winners.flatMap((results, round) => {
        const wins = results.filter((result) => result !== null).length;
        return wins === 1 ? [] : [`${round}:${wins}`];
      });
      expect(wrongRounds).toEqual([]);

      const after = await restart(dir);
      expect(after.tokens.getMetrics()).toMatchObject({ count: 2 * ROUNDS, rotatedCount: ROUNDS });
      const invalidWinners: string[] = [];
      for (const results of winners) for (const result of results) if (result !== null && !(await after.tokens.validateToken(result, SEED_CLIENT)).valid) invalidWinners.push(result);
      expect(invalidWinners).toEqual([]);
      await closeAll(after);
    } finally {
      for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    }
  }, 120_000);
});

describe('read-merge-write and fresh reads across processes, the parent choosing the interleaving (FR-1.1, FR-3.3, NFR-9)', () => {
  let dir: string;
  let workers: Worker[] = [];

  beforeEach(() => {
    dir = makeTempDir();
  });

  afterEach(() => {
    for (const worker of workers.splice(0)) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    removeTempDir(dir);
  });

  async function serveWorkers(count: number): Promise<Worker[]> {
    workers = Array.from({ length: count }, (_, index) => forkWorker(['serve', dir, WRITERS_KEY, String(index)], CHILD_TIMEOUT_MS));
    await startAll(workers);
    return workers;
  }

  test('a logout served by another process that never looked the session up: deleted for both, and after a restart', async () => {
    const [a, b] = await serveWorkers(2);
    const sessionId = await call<string>(a!, 'createSession', { userId: 'user-1' });
    await call(a!, 'flush', { kind: 'sessions' });
    await call(b!, 'deleteSession', { sessionId });
    await call(b!, 'flush', { kind: 'sessions' });

    expect(await call<boolean>(a!, 'getSession', { sessionId })).toBe(false);
    expect(await call<boolean>(b!, 'getSession', { sessionId })).toBe(false);
    expect(await endWorkers(workers)).toEqual([{ failures: [], warnings: [] }, { failures: [], warnings: [] }]);
    const after = await restart(dir);
    expect(after.sessions.getSession(sessionId)).toBeNull();
  });

  test('FR-1.1: two processes each append 20 saves of 40 tokens at once (past the journal bound): a fresh load and, after close, the store file alone hold all 1,600', async () => {
    const pair = await serveWorkers(2);
    const issued: string[] = [];
    for (let round = 0; round < 20; round += 1) {
      const batches = await Promise.all(
        pair.map(async (worker) => {
          const tokens = await call<string[]>(worker, 'generateTokens', { count: 40, clientId: SEED_CLIENT });
          await call(worker, 'flush', { kind: 'tokens' });
          return tokens;
        }),
      );
      issued.push(...batches.flat());
    }
    // Fresh reads across checkpoints: each process validates every token, most of them written by the other.
    expect(await Promise.all(pair.map((worker) => call<number>(worker, 'countValid', { tokens: issued, clientId: SEED_CLIENT })))).toEqual([issued.length, issued.length]);
    expect(await endWorkers(workers)).toEqual([{ failures: [], warnings: [] }, { failures: [], warnings: [] }]);

    // Issue 15 item 2: ~900 KB of entries outgrow the journal bound, so the store file alone already holds tokens before any close.
    expect((await snapshotIds(dir, 'tokens')).length).toBeGreaterThan(0);
    const after = await restart(dir);
    expect(after.tokens.getMetrics().count).toBe(issued.length);
    const invalid: string[] = [];
    for (const token of issued) if (!(await after.tokens.validateToken(token, SEED_CLIENT)).valid) invalid.push(token);
    expect(invalid).toEqual([]);
    await closeAll(after);
    expect(sorted(await snapshotIds(dir, 'tokens'))).toEqual(sorted(issued));
  }, 120_000);

  test('a writer SIGKILLed while it saves (3 rounds): the other process keeps saving, and a fresh load holds everything acknowledged, whole', async () => {
    const acknowledged: string[] = [];
    let unacknowledged = 0;
    const survivor = forkWorker(['serve', dir, WRITERS_KEY, 'survivor'], CHILD_TIMEOUT_MS);
    workers = [survivor];
    await startAll([survivor]);
    for (let round = 0; round < 3; round += 1) {
      const victim = forkWorker(['serve', dir, WRITERS_KEY, `victim-${round}`], CHILD_TIMEOUT_MS);
      workers.push(victim);
      await startAll([victim]);
      acknowledged.push(...(await call<string[]>(victim, 'generateTokens', { count: 40, clientId: SEED_CLIENT })));
      await call(victim, 'flush', { kind: 'tokens' });
      await call<string[]>(victim, 'generateTokens', { count: 40, clientId: SEED_CLIENT });
      unacknowledged += 40;
      // The kill lands somewhere in this save: before, during or after its append (the point varies run to run).
      victim.send({ type: 'call', id: -1, op: 'flush', kind: 'tokens' });
      victim.child.kill('SIGKILL');
      await victim.exit;
      acknowledged.push(...(await call<string[]>(survivor, 'generateTokens', { count: 40, clientId: SEED_CLIENT })));
      await call(survivor, 'flush', { kind: 'tokens' });
    }
    expect(await call<number>(survivor, 'countValid', { tokens: acknowledged, clientId: SEED_CLIENT })).toBe(acknowledged.length);
    expect(await endWorkers([survivor])).toEqual([{ failures: [], warnings: [] }]);

    const after = await restart(dir);
    const invalid: string[] = [];
    for (const token of acknowledged) if (!(await after.tokens.validateToken(token, SEED_CLIENT)).valid) invalid.push(token);
    expect(invalid).toEqual([]);
    const { count } = after.tokens.getMetrics();
    expect(count).toBeGreaterThanOrEqual(acknowledged.length);
    expect(count).toBeLessThanOrEqual(acknowledged.length + unacknowledged);
  }, 120_000);
});
