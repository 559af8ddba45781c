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
let resp2: Awaited<ReturnType<typeof connectClient>>;
let dir: string;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
  client = await connectClient(server.url, 3);
  resp2 = await connectClient(server.url, 2);
  dir = makeTempDir();
});

afterAll(async () => {
  await client.close();
  await resp2.close();
  await server.stop();
  removeTempDir(dir);
});

function redisFactory(send: () => Awaited<ReturnType<typeof connectClient>>) {
  return async () => {
    const backend = new RedisBackend({
      sendCommand: (args) => send().sendCommand(args),
      encryptionService: await createService(dir),
      keyPrefix: `contract-${(prefixes += 1)}:`,
    });
    return {
      sessions: new RedisSessionStore(backend),
      tokens: new RedisRefreshTokenStore(backend, { expirySeconds: 3600 }),
      clients: new RedisClientStore(backend, { allowedRedirectUris: ['https://app.example/callback'] }),
      close: async () => {},
    };
  };
}

describeStoreContract('Redis (RESP3 replies: node-redis 6 default)', redisFactory(() => client));
// RESP2 reply shapes are what ioredis and node-redis 4 and 5 hand to sendCommand.
describeStoreContract('Redis (RESP2 replies: ioredis, node-redis 4/5)', redisFactory(() => resp2));
