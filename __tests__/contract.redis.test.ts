/** The async store contract on Redis: a private redis-server, a fresh key prefix per test. */
import { RedisBackend } from '../lib/redis/redis-backend.js';
import { RedisClientStore } from '../lib/redis/redis-client-store.js';
import { RedisRefreshTokenStore } from '../lib/redis/redis-refresh-token-store.js';
import { RedisSessionStore } from '../lib/redis/redis-session-store.js';
import { describeStoreContract } from './contract.suite.js';
import { connectClient, startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { createService, makeTempDir, removeTempDir } from './helpers/store-harness.js';

let server: RedisServer;
let client: Awaited<ReturnType<typeof connectClient>>;
let dir: string;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
  client = await connectClient(server.url);
  dir = makeTempDir();
});

afterAll(async () => {
  await client.close();
  await server.stop();
  removeTempDir(dir);
});

describeStoreContract('Redis', async () => {
  const backend = new RedisBackend({
    sendCommand: (args) => client.sendCommand(args),
    encryptionService: await createService(dir),
    keyPrefix: `contract-${(prefixes += 1)}:`,
  });
  return {
    sessions: new RedisSessionStore(backend),
    tokens: new RedisRefreshTokenStore(backend, { expirySeconds: 3600 }),
    clients: new RedisClientStore(backend, { allowedRedirectUris: ['https://app.example/callback'] }),
    close: async () => {},
  };
});
