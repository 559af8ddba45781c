/**
 * The server-side scripts that make token issue, rotation and revocation
 * atomic. Values are encrypted, so no script reads a record: a token key is a
 * hash with `v` (the sealed record), `c` (the digest of its client id) and,
 * once rotated, `r` = '1'. Each client has a set `ti:<digest>` of its token
 * keys. Only standalone Redis (or a primary with replicas): the revocation
 * scripts reach the index key through `c`, which Redis Cluster would refuse.
 */
import { LuaScript } from './lua-script.js';

// Writes token KEYS[tk] into index KEYS[ik]; the index lives as long as its longest-lived token.
const ISSUE_INTO = `
local function issue(tk, ik, sealed, digest, expiresAt, rotated)
  redis.call('HSET', tk, 'v', sealed, 'c', digest)
  if rotated == '1' then redis.call('HSET', tk, 'r', '1') end
  redis.call('PEXPIREAT', tk, expiresAt)
  local ttl = redis.call('PTTL', tk)
  if ttl < 0 then return 0 end
  redis.call('SADD', ik, tk)
  local indexTtl = redis.call('PTTL', ik)
  if indexTtl < ttl then redis.call('PEXPIRE', ik, ttl) end
  return 1
end
`;

/**
 * KEYS: token, index. ARGV: sealed, client digest, expiresAt (ms), onlyIfAbsent ('1'|'0'), rotated ('1'|'0').
 * Returns 1 when written, 0 when skipped (present and onlyIfAbsent, or already expired).
 */
export const ISSUE = new LuaScript(`${ISSUE_INTO}
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return issue(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[5])
`);

/**
 * KEYS: old token, new token, index. ARGV: client digest, sealed new record, its expiresAt (ms).
 * Returns 1 when this call rotated the token, 0 when it is gone, expired, another client's or already rotated.
 */
export const ROTATE = new LuaScript(`${ISSUE_INTO}
if redis.call('HGET', KEYS[1], 'c') ~= ARGV[1] then return 0 end
if redis.call('HSETNX', KEYS[1], 'r', '1') == 0 then return 0 end
issue(KEYS[2], KEYS[3], ARGV[2], ARGV[1], ARGV[3], '0')
return 1
`);

/** KEYS: token. ARGV: index key prefix. Deletes the token and its index entry; returns 1 if it existed. */
export const REVOKE = new LuaScript(`
local digest = redis.call('HGET', KEYS[1], 'c')
if not digest then return redis.call('DEL', KEYS[1]) end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[1] .. digest, KEYS[1])
return 1
`);

/** KEYS: index. Deletes every token of the client and the index; returns how many tokens went. */
export const REVOKE_ALL = new LuaScript(`
local removed = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do removed = removed + redis.call('DEL', key) end
redis.call('DEL', KEYS[1])
return removed
`);

/**
 * KEYS: index. ARGV: token key prefix. Deletes the client's rotated tokens and
 * forgets expired ones; returns how many rotated tokens went. A key that is
 * not a set, or a member outside this prefix's token keys, is someone else's
 * (another application, a nested prefix): never touched.
 */
export const PRUNE_INDEX = new LuaScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'set' then return 0 end
local removed = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if string.sub(key, 1, #ARGV[1]) == ARGV[1] then
    if redis.call('HGET', key, 'r') == '1' then
      redis.call('DEL', key)
      redis.call('SREM', KEYS[1], key)
      removed = removed + 1
    elseif redis.call('EXISTS', key) == 0 then
      redis.call('SREM', KEYS[1], key)
    end
  end
end
return removed
`);
