/**
 * Crash consistency of the journal and its checkpoints (issue 15 item 2,
 * NFR-6): a writer keeping a journal beside a growing session store (300
 * sessions created and 300 deleted per durable flush, so checkpoints come
 * often) is SIGKILLed at a random point, again and again, each round's
 * writer continuing from the files the last one left. After every kill a
 * fresh load holds every acknowledged session not being deleted, and no
 * session whose deletion was acknowledged. Runs against the BUILT package.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import { requireBuild, startFixture } from './helpers/reliability-harness.js';
import { createService, makeTempDir, removeTempDir, TEST_KEY } from './helpers/store-harness.js';

const FIXTURE = 'stores-journal-writer.mjs';
const ROUNDS = 10;
const CHILD_TIMEOUT_MS = 20_000;
let dir: string;
beforeAll(requireBuild);
beforeEach(() => (dir = makeTempDir()));
afterEach(() => removeTempDir(dir));

describe('a journal writer killed with SIGKILL at random points, during appends and checkpoints (NFR-6)', () => {
  test(`after each of ${ROUNDS} kills nothing acknowledged is lost and nothing acknowledged as deleted comes back`, async () => {
    const file = path.join(dir, 'oauth_sessions.enc');
    const alive = new Set<string>();
    const deleted = new Set<string>();
    let checkpoints = 0;
    let killsWithTemp = 0;
    for (let round = 1; round <= ROUNDS; round += 1) {
      const killAfter = randomInt(2, 14);
      let acks = 0;
      const snapshotBefore = fs.existsSync(file) ? fs.statSync(file).ino : undefined;
      const inFlightDeletes = new Set<string>();
      const { exit } = startFixture(FIXTURE, [dir, TEST_KEY], {
        timeoutMs: CHILD_TIMEOUT_MS,
        onLine: (line, writer) => {
          const [kind, list = ''] = line.split(' ');
          const ids = list === '' ? [] : list.split(',');
          if (kind === 'del') for (const id of ids) inFlightDeletes.add(id);
          if (kind !== 'ack') return;
          for (const id of inFlightDeletes) {
            alive.delete(id);
            deleted.add(id);
          }
          inFlightDeletes.clear();
          for (const id of ids) alive.add(id);
          acks += 1;
          // A random moment inside the next round: its appends, or a checkpoint it starts.
          if (acks === killAfter) setTimeout(() => writer.kill('SIGKILL'), randomInt(0, 40));
        },
      });
      const { signal, isTimedOut, stderr } = await exit;
      expect({ round, signal, isTimedOut, stderr }).toEqual({ round, signal: 'SIGKILL', isTimedOut: false, stderr: '' });
      if (fs.readdirSync(dir).some((name) => name.endsWith('.tmp'))) killsWithTemp += 1;
      // The dead writer's lock entry would hold everyone off for the 10 s stale bound (proved in
      // stores.processes.test.ts); aged past it here, so each round costs seconds, not tens of them.
      const lock = `${file}.lock`;
      if (fs.existsSync(lock)) fs.utimesSync(lock, new Date(Date.now() - 11_000), new Date(Date.now() - 11_000));
      if (snapshotBefore !== undefined && fs.statSync(file).ino !== snapshotBefore) checkpoints += 1;

      const store = new PersistentSessionStore(await createService(dir), file, { maxSessions: 1_000_000 });
      await store.loadFromStorage();
      const lost = [...alive].filter((id) => !inFlightDeletes.has(id) && store.getSession(id) === null).length;
      const resurrected = [...deleted].filter((id) => store.getSession(id) !== null).length;
      expect({ round, lost, resurrected }).toEqual({ round, lost: 0, resurrected: 0 });
      // A deletion in flight at the kill may or may not have landed.
      for (const id of inFlightDeletes) {
        if (store.getSession(id) !== null) continue;
        alive.delete(id);
        deleted.add(id);
      }
    }
    // The kills landed in checkpoints as well as in appends.
    expect(checkpoints).toBeGreaterThan(0);
    expect(killsWithTemp + checkpoints).toBeGreaterThan(0);
  }, 120_000);
});
