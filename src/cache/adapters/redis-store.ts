/**
 * What the Redis driver needs from a key layout: a narrow backend that only reads and writes. The
 * driver (`redis.ts`) is the shell: it validates, encodes entries, handles signals, first connection
 * and error mapping. One backend serves one node (also through Sentinel), one serves a cluster.
 */
import type { ChainableCommander } from 'ioredis'
import { queueScript, SET_TAGGED } from './redis-scripts.js'

/** One write: the encoded entry and its time to live in ms (0: none; negative: already dead). */
export interface RedisWrite {
  readonly key: string
  readonly payload: string
  readonly ttl: number
  readonly tags: readonly string[] | undefined
}

export interface RedisStore {
  /** The Redis key of a cache key's entry (on the hot path: no allocation beyond the string). */
  entryKey(key: string): string
  /** The Redis key of a cache key's lock. */
  lockKey(key: string): string
  getMany(keys: readonly string[]): Promise<(string | null)[]>
  set(write: RedisWrite): Promise<unknown>
  setMany(writes: readonly RedisWrite[]): Promise<void>
  delete(keys: readonly string[]): Promise<number>
  /** Resolves to the cache keys (not Redis keys) it deleted. */
  deleteByTags(prefix: string, tags: readonly string[]): Promise<string[]>
  /** Deletes every entry whose cache key starts with `prefix` (SCAN pages; stops waiting when `signal` aborts). */
  clear(prefix: string, signal: AbortSignal | undefined): Promise<void>
}

/** Queues one write on a pipeline: its entry key and, when tagged, the tag sets (all in one slot). */
export function queueWrite(pipeline: ChainableCommander, full: string, write: RedisWrite, tagKeys: string[]): void {
  if (write.ttl < 0) pipeline.unlink(full)
  else if (tagKeys.length > 0) queueScript(pipeline, SET_TAGGED, [full, ...tagKeys], [write.payload, write.ttl])
  else if (write.ttl === 0) pipeline.set(full, write.payload)
  else pipeline.set(full, write.payload, 'PX', write.ttl)
}
