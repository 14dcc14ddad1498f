/**
 * The Lua scripts of the Redis driver. Each one does in one atomic step what would otherwise race
 * with a concurrent writer (a tag set losing a member, a lock released by a process that lost it).
 */
import { createHash } from 'node:crypto'
import type { ChainableCommander, Cluster, Redis } from 'ioredis'

export interface LuaScript {
  readonly source: string
  readonly sha: string
}

function lua(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

/**
 * KEYS[1] the entry, KEYS[2..n] its tag sets; ARGV[1] the payload, ARGV[2] its time to live in ms
 * (0: no expiry). A new tag set (PTTL -2) gets the entry's TTL and an existing one is only ever
 * extended, so a tag set lives as long as its longest-lived member and never much longer.
 */
export const SET_TAGGED = lua(`
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl) else redis.call('SET', KEYS[1], ARGV[1]) end
for i = 2, #KEYS do
  local current = redis.call('PTTL', KEYS[i])
  redis.call('SADD', KEYS[i], KEYS[1])
  if ttl == 0 then
    redis.call('PERSIST', KEYS[i])
  elseif current == -2 or (current >= 0 and current < ttl) then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 1
`)

/**
 * KEYS the tag sets; ARGV[1] the full key prefix to stay within, ARGV[1 + i] the tag of KEYS[i].
 * Deletes the members under that prefix whose entry still carries the tag (a key written again with
 * other tags or none stays in the old tag set until now: writes never read the old tags), forgets
 * the members it looked at, leaves the others, and returns the keys it deleted. The tags are read
 * from the entry's header (`version:expiresAt:staleUntil:<tags as JSON>\n<value>`).
 */
export const DELETE_BY_TAGS = lua(`
local prefix = ARGV[1]
local deleted = {}
local function carries(raw, tag)
  local nl = string.find(raw, '\\n', 1, true)
  if not nl then return false end
  local first = string.find(raw, ':', 1, true)
  local second = first and string.find(raw, ':', first + 1, true)
  local third = second and string.find(raw, ':', second + 1, true)
  if not third or third > nl then return false end
  local ok, tags = pcall(cjson.decode, string.sub(raw, third + 1, nl - 1))
  if not ok or type(tags) ~= 'table' then return false end
  for _, t in ipairs(tags) do
    if t == tag then return true end
  end
  return false
end
for i = 1, #KEYS do
  local tag = ARGV[i + 1]
  local members = redis.call('SMEMBERS', KEYS[i])
  for _, key in ipairs(members) do
    if string.sub(key, 1, #prefix) == prefix then
      local raw = redis.call('GET', key)
      if raw and carries(raw, tag) and redis.call('UNLINK', key) == 1 then deleted[#deleted + 1] = key end
      redis.call('SREM', KEYS[i], key)
    end
  end
end
return deleted
`)

/** KEYS[1] the lock; ARGV[1] the token. Deletes the lock only if this token still holds it. */
export const RELEASE_LOCK = lua(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

/** Whether Redis answered that it does not have the script (EVALSHA of an unknown sha). */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}

/** Runs a script by its sha, sending the source only when Redis does not have it cached. */
export async function runScript(
  client: Redis | Cluster,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args)
  } catch (error) {
    if (!isNoScript(error)) throw error
    return client.eval(script.source, keys.length, ...keys, ...args)
  }
}

/**
 * Queues a script on a pipeline. The source is sent (EVAL, not EVALSHA): a pipeline cannot retry a
 * single NOSCRIPT reply, and Redis caches the compiled script by its sha either way.
 */
export function queueScript(
  pipeline: ChainableCommander,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): void {
  pipeline.eval(script.source, keys.length, ...keys, ...args)
}
