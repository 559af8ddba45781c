import path from 'node:path';
import { EncryptionService } from '../encryption/encryption-service.js';
import { PersistentClientStore } from '../stores/client-store.js';
import { PersistentRefreshTokenStore } from '../stores/refresh-token-store.js';
import { PersistentSessionStore } from '../stores/session-store.js';
import { shutdown } from '../stores/shutdown.js';
import { CountingEncryptionService } from './counting-service.js';
import { countFailures, summariseWaits, totalOf, type PartResult } from './part-result.js';
import type { Progress } from './progress.js';
import { WaitRecorder } from './wait-recorder.js';

const CLIENT_ID_FOR_TOKENS = 'demo-client';
const REDIRECT_URI = 'https://app.example/callback';

interface Stores {
  sessions: PersistentSessionStore;
  tokens: PersistentRefreshTokenStore;
  clients: PersistentClientStore;
}

async function openStores(service: EncryptionService, dir: string, ops: number): Promise<Stores> {
  const stores: Stores = {
    sessions: new PersistentSessionStore(service, path.join(dir, 'oauth_sessions.enc'), { maxSessions: ops }),
    tokens: new PersistentRefreshTokenStore({ expirySeconds: 3600 }, service, path.join(dir, 'oauth_refresh_tokens.enc')),
    clients: new PersistentClientStore({ allowedRedirectUris: [REDIRECT_URI] }, service, path.join(dir, 'oauth_clients.enc')),
  };
  await Promise.all([stores.sessions.loadFromStorage(), stores.tokens.loadFromStorage(), stores.clients.loadFromStorage()]);
  return stores;
}

/** How many changes of each kind the store burst makes for `ops`: the table's legend explains its row with it. */
export function storeBurstShape(ops: number): { sessions: number; deletedSessions: number; tokens: number; clients: number; total: number } {
  const clients = Math.max(1, Math.ceil(ops / 10));
  return { sessions: ops, deletedSessions: Math.floor(ops / 5), tokens: ops, clients, total: ops * 2 + clients };
}

/**
 * Part 3: a mixed burst on the three stores (sessions created, refresh tokens
 * issued, clients registered, some of each removed again), the graceful
 * shutdown path, then fresh instances load the files as a restarted server
 * would. Every acknowledged change must be there, and every removal too.
 */
export async function runStorePart(dir: string, secret: string, ops: number, progress: Progress): Promise<PartResult> {
  const storeDir = path.join(dir, 'stores');
  const recorder = new WaitRecorder();
  const service = new CountingEncryptionService({
    encryptionKey: secret,
    keyStoragePath: path.join(storeDir, 'oauth_encryption_key'),
    queue: { slowWaitMs: 0, logger: recorder },
  });
  await service.initialize();
  const stores = await openStores(service, storeDir, ops);
  const { clients: clientCount, total } = storeBurstShape(ops);
  const acknowledged = { sessions: [] as string[], deletedSessions: [] as string[], tokens: [] as string[], clients: [] as string[] };
  let done = 0;
  const tick = (): void => progress.update('store burst', ++done, total);

  const started = performance.now();
  const work: Promise<unknown>[] = [];
  for (let index = 0; index < ops; index += 1) {
    const session = stores.sessions.createSession(`user-${index}`);
    if (index % 5 === 4) {
      stores.sessions.deleteSession(session.sessionId);
      acknowledged.deletedSessions.push(session.sessionId);
    } else {
      acknowledged.sessions.push(session.sessionId);
    }
    tick();
    work.push(
      stores.tokens
        .generateToken({ clientId: CLIENT_ID_FOR_TOKENS, userId: `user-${index}`, scope: 'openid' })
        .then((token) => acknowledged.tokens.push(token))
        .finally(tick),
    );
  }
  for (let index = 0; index < clientCount; index += 1) {
    work.push(
      stores.clients
        .registerClient({ client_name: `demo client ${index}`, redirect_uris: [REDIRECT_URI] })
        .then((result) => {
          if (result.success && result.client !== undefined) acknowledged.clients.push(result.client.client_id);
          else throw Object.assign(new Error('registration refused'), { code: result.error ?? 'ERR_UNKNOWN' });
        })
        .finally(tick),
    );
  }
  const outcomes = await Promise.allSettled(work);
  const shutdownOutcome = await Promise.allSettled([shutdown([stores.sessions, stores.tokens, stores.clients], service)]);
  const wallMs = performance.now() - started;

  const restarted = new EncryptionService({ encryptionKey: secret, keyStoragePath: path.join(storeDir, 'oauth_encryption_key') });
  await restarted.initialize();
  const reloaded = await openStores(restarted, storeDir, ops);
  const missing =
    acknowledged.sessions.filter((id) => reloaded.sessions.getSession(id) === null).length +
    (await Promise.all(acknowledged.tokens.map((token) => reloaded.tokens.validateToken(token, CLIENT_ID_FOR_TOKENS)))).filter(
      (result) => !result.valid,
    ).length +
    (await Promise.all(acknowledged.clients.map((id) => reloaded.clients.getClient(id)))).filter((client) => client === null).length;
  const resurrected = acknowledged.deletedSessions.filter((id) => reloaded.sessions.getSession(id) !== null).length;
  await shutdown([reloaded.sessions, reloaded.tokens, reloaded.clients], restarted);

  const failures = countFailures([...outcomes, ...shutdownOutcome]);
  const survived = acknowledged.sessions.length + acknowledged.tokens.length + acknowledged.clients.length - missing;
  const isOk = Object.keys(failures).length === 0 && missing === 0 && resurrected === 0;
  return {
    id: 'stores',
    name: '3 stores',
    operations: total,
    failed: totalOf(failures),
    failures,
    writes: service.writes,
    lockWait: summariseWaits(recorder.waits(service.writes)),
    wallMs,
    isOk,
    isExpectedToHold: true,
    detail:
      `${ops} sessions created (${acknowledged.deletedSessions.length} deleted again), ${ops} refresh tokens issued ` +
      `and ${clientCount} clients registered at once, then a shutdown and a restart. ` +
      `${survived} acknowledged records are back, ${missing} missing; ` +
      `${resurrected} of ${acknowledged.deletedSessions.length} deleted sessions came back. ` +
      `The stores coalesce their saves: ${total} changes, ${service.writes} file writes.`,
  };
}
