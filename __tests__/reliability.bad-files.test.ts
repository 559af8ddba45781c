/**
 * Bad files (issue 6, part 5; issue 3 behaviour 7, issue 4 behaviour 5): each
 * kind of damaged or misplaced file, read by decryptFromFile and by every
 * store's loadFromStorage, gets the outcome the issues specify, and nothing
 * is ever overwritten or lost:
 * - decryptFromFile rejects with DecryptionError (ERR_DECRYPT) or keeps the
 *   file system's code, and leaves the file as it was; a payload that
 *   decrypts is returned as is, whatever its plaintext.
 * - a store moves an unreadable file aside to `<file>.corrupt-<timestamp>`
 *   byte for byte, logs it and starts empty; a newer `version` rejects with
 *   ERR_STORE_VERSION, and a directory or ENOTDIR rejects with the file
 *   system's code, both leaving everything where it was.
 * stores-load.test.ts covers some rows for the stores in more detail; the
 * table here is complete so every kind meets every reader.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { PersistentClientStore } from '../lib/stores/client-store.js';
import { PersistentRefreshTokenStore } from '../lib/stores/refresh-token-store.js';
import { PersistentSessionStore } from '../lib/stores/session-store.js';
import type { RecordField } from '../lib/stores/store-file.js';
import { makeTempDir, recordingStoreLogger, removeTempDir, TEST_KEY } from './helpers/store-harness.js';

const HOUR = 3_600_000;
const now = Date.now();
const RECORDS: Record<RecordField, unknown> = {
  sessions: { sessionId: 'a1'.repeat(32), userId: 'user-1', createdAt: now, expiresAt: now + HOUR },
  tokens: { token: 'b2'.repeat(32), client_id: 'client-a', user_id: 'user-1', scope: 'openid', created_at: now, expires_at: now + HOUR, rotated: false },
  clients: {
    client_id: 'c3c3c3c3-0000-4000-8000-000000000000', client_name: 'App', redirect_uris: ['https://app.example/cb'], response_types: ['code'],
    grant_types: ['authorization_code'], token_endpoint_auth_method: 'none', client_id_issued_at: Math.floor(now / 1000),
  },
};
const FIELDS: RecordField[] = ['sessions', 'tokens', 'clients'];

let service: EncryptionService;
let otherKey: EncryptionService;
let dir: string;

beforeAll(async () => {
  service = new EncryptionService({ encryptionKey: TEST_KEY, keyStoragePath: '/nonexistent/key', durable: false });
  otherKey = new EncryptionService({ encryptionKey: 'another-key-entirely', keyStoragePath: '/nonexistent/key', durable: false });
  await Promise.all([service.initialize(), otherKey.initialize()]);
});
beforeEach(() => (dir = makeTempDir()));
afterEach(() => removeTempDir(dir));

/** A valid store file of one record; the damaged kinds start from it, so only the damage makes them unreadable. */
const validPlaintext = (field: RecordField): string => JSON.stringify({ version: 1, [field]: [RECORDS[field]] });
const validPayload = async (field: RecordField): Promise<string[]> => (await service.encrypt(validPlaintext(field))).split(':');

/** Replaces one hex digit of the ciphertext with another hex digit. */
function flipOneByte([salt, iv, tag, data]: string[]): string {
  const at = Math.floor(data!.length / 2);
  return [salt, iv, tag, data!.slice(0, at) + (data![at] === 'f' ? 'e' : 'f') + data!.slice(at + 1)].join(':');
}

/** salt:iv:tag of a real payload and 50 MB of hex ciphertext: parsed and authenticated in full, then refused. */
async function fiftyMegabytes(field: RecordField): Promise<string> {
  const [salt, iv, tag] = await validPayload(field);
  return `${salt}:${iv}:${tag}:${randomBytes(25 * 1024 * 1024).toString('hex')}`;
}

/** Rejects with `code`, or resolves with exactly the plaintext that was encrypted. */
type DecryptOutcome = { code: string } | { plaintext: (field: RecordField) => string };
type StoreOutcome = 'loads' | 'moved aside' | 'bad records dropped, a copy kept' | { code: string };

interface Kind {
  /** Writes the damage at `file` (or around it) and returns the path to read. */
  setup(file: string, field: RecordField): Promise<string>;
  decrypt: DecryptOutcome;
  store: StoreOutcome;
}

const writeAt = (content: string | Buffer) => async (file: string): Promise<string> => {
  fs.writeFileSync(file, content);
  return file;
};
const encryptedAt = (plaintext: (field: RecordField) => string) => async (file: string, field: RecordField): Promise<string> =>
  writeAt(await service.encrypt(plaintext(field)))(file);

const nonJson = (): string => 'version: 1 (not JSON)';
const wrongShape = (field: RecordField): string =>
  JSON.stringify({ version: 1, [field]: [{ ...(RECORDS[field] as object), expiresAt: 'soon', expires_at: 'soon', client_name: 7 }] });
const newerVersion = (field: RecordField): string => JSON.stringify({ version: 2, [field]: [RECORDS[field]] });

const KINDS: Record<string, Kind> = {
  'a valid file (the control)': { setup: encryptedAt(validPlaintext), decrypt: { plaintext: validPlaintext }, store: 'loads' },
  'an empty file': { setup: writeAt(''), decrypt: { code: 'ERR_DECRYPT' }, store: 'moved aside' },
  'a truncated payload': {
    setup: async (file, field) => {
      const [salt, iv, tag, data] = await validPayload(field);
      return writeAt([salt, iv, tag, data!.slice(0, 2 * Math.floor(data!.length / 3))].join(':'))(file);
    },
    decrypt: { code: 'ERR_DECRYPT' },
    // Well formed but not authentic: indistinguishable from another key, so never moved aside.
    store: { code: 'ERR_DECRYPT' },
  },
  'one flipped byte': { setup: async (file, field) => writeAt(flipOneByte(await validPayload(field)))(file), decrypt: { code: 'ERR_DECRYPT' }, store: { code: 'ERR_DECRYPT' } },
  'three parts instead of four': {
    setup: async (file, field) => writeAt((await validPayload(field)).slice(1).join(':'))(file),
    decrypt: { code: 'ERR_DECRYPT' },
    store: 'moved aside',
  },
  'non-hex text': { setup: writeAt('not:hex:text:at all\n'), decrypt: { code: 'ERR_DECRYPT' }, store: 'moved aside' },
  'another key': {
    setup: async (file, field) => writeAt(await otherKey.encrypt(validPlaintext(field)))(file),
    decrypt: { code: 'ERR_DECRYPT' },
    // A peer started with another key must not wipe the store for the instances that hold the right one.
    store: { code: 'ERR_DECRYPT' },
  },
  'valid ciphertext of non-JSON': { setup: encryptedAt(nonJson), decrypt: { plaintext: nonJson }, store: 'moved aside' },
  // Issue 9 item 5: a record the loader refuses costs only itself, no longer the whole file.
  'JSON of the wrong shape': { setup: encryptedAt(wrongShape), decrypt: { plaintext: wrongShape }, store: 'bad records dropped, a copy kept' },
  'a newer version': { setup: encryptedAt(newerVersion), decrypt: { plaintext: newerVersion }, store: { code: 'ERR_STORE_VERSION' } },
  'a directory where the file should be': {
    setup: async (file) => {
      fs.mkdirSync(file);
      fs.writeFileSync(path.join(file, 'inside'), 'kept');
      return file;
    },
    decrypt: { code: 'EISDIR' },
    store: { code: 'EISDIR' },
  },
  'a path under a regular file (ENOTDIR)': {
    setup: async (file) => {
      fs.writeFileSync(file, 'a regular file');
      return path.join(file, 'store.enc');
    },
    decrypt: { code: 'ENOTDIR' },
    store: { code: 'ENOTDIR' },
  },
  'a 50 MB file': { setup: async (file, field) => writeAt(await fiftyMegabytes(field))(file), decrypt: { code: 'ERR_DECRYPT' }, store: { code: 'ERR_DECRYPT' } },
};

/** Every entry under `dir` with a digest of its bytes (or 'dir'), so any overwrite, move or loss shows. */
function tree(root: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (relative: string): void => {
    for (const name of fs.readdirSync(path.join(root, relative))) {
      const entry = path.join(relative, name);
      if (fs.statSync(path.join(root, entry)).isDirectory()) {
        entries[entry] = 'dir';
        walk(entry);
      } else {
        entries[entry] = createHash('sha256').update(fs.readFileSync(path.join(root, entry))).digest('hex');
      }
    }
  };
  walk('');
  return entries;
}

interface LoadableStore {
  loadFromStorage(): Promise<void>;
  getMetrics(): { count: number };
}
type Logger = ReturnType<typeof recordingStoreLogger>;
const STORES: Record<RecordField, (file: string, logger: Logger) => LoadableStore> = {
  sessions: (file, logger) => new PersistentSessionStore(service, file, { logger }),
  tokens: (file, logger) => new PersistentRefreshTokenStore({ expirySeconds: 3600, logger }, service, file),
  clients: (file, logger) => new PersistentClientStore({ allowedRedirectUris: ['*'], logger }, service, file),
};

describe.each(Object.entries(KINDS))('%s (part 5)', (_kind, { setup, decrypt, store: storeOutcome }) => {
  test(`decryptFromFile: ${'code' in decrypt ? `rejects with ${decrypt.code}` : 'returns the plaintext'}, and the file is left as it was`, async () => {
    const target = await setup(path.join(dir, 'sessions.enc'), 'sessions');
    const before = tree(dir);
    const outcome = await service.decryptFromFile(target).then(
      (plaintext) => ({ plaintext }),
      (error: unknown) => ({ error }),
    );
    if ('plaintext' in decrypt) {
      expect(outcome).toEqual({ plaintext: decrypt.plaintext('sessions') });
    } else {
      expect(outcome).toEqual({ error: expect.objectContaining({ code: decrypt.code }) });
      if (decrypt.code === 'ERR_DECRYPT') expect(outcome).toEqual({ error: expect.objectContaining({ name: 'DecryptionError', filePath: target }) });
    }
    expect(tree(dir)).toEqual(before);
  });

  const storeTitle = typeof storeOutcome === 'string' ? storeOutcome : `rejects with ${storeOutcome.code}, nothing moved`;
  test.each(FIELDS)(`the %s store's loadFromStorage: ${storeTitle}`, async (field) => {
    const file = path.join(dir, `${field}.enc`);
    const target = await setup(file, field);
    const before = tree(dir);
    const logger = recordingStoreLogger();
    const store = STORES[field](target, logger);
    const outcome = await store.loadFromStorage().then(
      () => 'resolved',
      (error: unknown) => error,
    );
    const after = tree(dir);
    if (storeOutcome === 'loads') {
      expect({ outcome, count: store.getMetrics().count, after, log: logger.entries }).toEqual({ outcome: 'resolved', count: 1, after: before, log: [] });
    } else if (storeOutcome === 'moved aside') {
      const name = path.basename(file);
      const aside = Object.keys(after).filter((entry) => entry.startsWith(`${name}.corrupt-`));
      expect(aside).toEqual([expect.stringMatching(new RegExp(`^${name.replace('.', '\\.')}\\.corrupt-\\d+$`))]);
      const { [name]: moved, ...untouched } = before;
      expect({ outcome, count: store.getMetrics().count, after }).toEqual({ outcome: 'resolved', count: 0, after: { ...untouched, [aside[0]!]: moved } });
      expect(logger.entries).toEqual([
        { level: 'warn', fields: expect.objectContaining({ filePath: target, movedTo: path.join(dir, aside[0]!) }), message: expect.any(String) },
      ]);
    } else if (storeOutcome === 'bad records dropped, a copy kept') {
      const name = path.basename(file);
      const copies = Object.keys(after).filter((entry) => entry.startsWith(`${name}.corrupt-`));
      expect({ outcome, count: store.getMetrics().count, copies: copies.map((copy) => after[copy]) }).toEqual({ outcome: 'resolved', count: 0, copies: [before[name]] });
      expect(after[name]).not.toEqual(before[name]);
      expect(logger.entries).toEqual([
        { level: 'warn', fields: expect.objectContaining({ filePath: target, copiedTo: path.join(dir, copies[0]!), keptRecords: 0, droppedRecords: 1 }), message: expect.any(String) },
      ]);
    } else {
      expect({ outcome, count: store.getMetrics().count, after, log: logger.entries }).toEqual({
        outcome: expect.objectContaining({ code: storeOutcome.code }), count: 0, after: before, log: [],
      });
    }
  });
});
