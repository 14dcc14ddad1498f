/**
 * `bulwark/cache/redis`: the Redis L2 driver and the Redis pub/sub invalidation bus.
 *
 * ioredis is an optional peer dependency. It is only loaded when an adapter must create a client
 * (given `url` or `connection`); with `{ client }` it is never required by this module.
 */
import type { Cluster, Redis } from 'ioredis'
import { throwIfAborted, toAbortedError } from '../../core/abort.js'
import type { Clock } from '../../core/clock.js'
import { ValidationError } from '../../core/errors.js'
import { expectOptions, optionalClock, optionalNumber, optionKeys } from '../../core/validate.js'
import { kRawRead, kRawWrite, type L2Driver, type L2Entry, type RawRead, type RawWrite } from '../types.js'
import { RedisClusterStore } from './redis-cluster-store.js'
import { decodeEntry, encodeEntry } from './redis-codec.js'
import {
  closeClient,
  connectTimeoutOf,
  createOwned,
  firstReady,
  isCluster,
  l2Error,
  type RedisConnectionOptions,
  raceSignal,
  validateConnection,
} from './redis-connection.js'
import { RedisNodeStore } from './redis-node-store.js'
import { ReadBatch } from './redis-reads.js'
import { RELEASE_LOCK, runScript } from './redis-scripts.js'
import { MAX_GROUPS } from './redis-slots.js'
import type { RedisStore, RedisWrite } from './redis-store.js'

export type { RedisBusOptions } from './redis-bus.js'
export { RedisBus, redisBus } from './redis-bus.js'
export type { RedisConnectionOptions } from './redis-connection.js'

/** Options of {@link redisCacheDriver}. */
export interface RedisCacheDriverOptions extends RedisConnectionOptions {
  /**
   * Prefix of every Redis key the driver touches. Entries live under `<keyPrefix>k:`, tag sets under
   * `<keyPrefix>tag:` and locks under `<keyPrefix>lock:`, so no cache key can collide with a tag set.
   * On a cluster, entries and tag sets also carry the driver's hash tag (`<keyPrefix>{ttt}k:<key>`),
   * so the prefix may not contain `{`.
   * @default 'bulwark:'
   */
  keyPrefix?: string
  /**
   * Clock for expiry math: an entry is written with `PX staleUntil - clock.now()` and reads as absent
   * once `clock.now()` reaches its `staleUntil`. Use the cache's clock.
   * @default systemClock
   */
  clock?: Clock
  /**
   * Keys per `SCAN` page and per `UNLINK` batch in `clear`.
   * @default 500
   */
  clearBatchSize?: number
  /**
   * On a cluster only: how many slot groups (hash tags, each in its own 1/n of the slots) the entries
   * are spread over. More spreads the data and the load more finely; `deleteByTag` runs one script per
   * group. Every process sharing the cache must use the same number.
   * @default 256
   */
  slotGroups?: number
}

/**
 * The Redis L2 driver: one string per entry (compact header + value) expiring at `staleUntil`, tags
 * as Redis sets, `clear` by SCAN + UNLINK within a prefix, and SET NX PX locks. It runs on one Redis,
 * on a Sentinel-managed primary and on a Redis Cluster (where the layout keeps every script in one
 * slot and splits batches into one pipeline per master: see the cache guide). On one node, the entry
 * reads that concurrent calls ask for in one tick go out as one `MGET` (see {@link ReadBatch}).
 *
 * Errors reject with a `BulwarkError` of code `E_CACHE_L2` (the cache counts them, applies its timeout
 * and breaker, and falls back to L1 and the loader). An aborted signal rejects with `E_ABORTED`.
 *
 * @example
 * ```ts
 * const driver = redisCacheDriver({ url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:' })
 * const cache = createCache({ l2: driver, bus: redisBus({ url: 'redis://127.0.0.1:6379' }) })
 * ```
 */
export class RedisCacheDriver implements L2Driver {
  readonly name = 'redis'
  readonly #client: Redis | Cluster
  readonly #store: RedisStore
  readonly #owned: boolean
  readonly #clock: Clock
  /** On one node, the entry reads of a tick go out as one command (see {@link ReadBatch}). */
  readonly #reads: ReadBatch | undefined
  #opening: Promise<void> | undefined

  constructor(options: RedisCacheDriverOptions = {}) {
    const o = expectOptions(
      'options',
      options,
      optionKeys<RedisCacheDriverOptions>({
        keyPrefix: true,
        clock: true,
        clearBatchSize: true,
        slotGroups: true,
        client: true,
        url: true,
        connection: true,
        cluster: true,
      }),
    )
    validateConnection(o)
    const keyPrefix = o.keyPrefix ?? 'bulwark:'
    if (typeof keyPrefix !== 'string') throw new ValidationError('keyPrefix', 'a string', keyPrefix)
    this.#clock = optionalClock('clock', o.clock)
    const batch = optionalNumber('clearBatchSize', o.clearBatchSize, 500, { min: 1, integer: true })
    const groups = optionalNumber('slotGroups', o.slotGroups, 256, { min: 1, max: MAX_GROUPS, integer: true })
    const onCluster = o.cluster !== undefined || (o.client !== undefined && isCluster(o.client))
    if (onCluster && keyPrefix.includes('{')) {
      throw new ValidationError(
        'keyPrefix',
        'a prefix without `{` on a cluster (the driver adds its hash tag)',
        keyPrefix,
      )
    }
    this.#owned = o.client === undefined
    this.#client = o.client ?? createOwned(o)
    const client = this.#client
    if (isCluster(client)) {
      this.#store = new RedisClusterStore(client, keyPrefix, groups, batch)
    } else {
      this.#store = new RedisNodeStore(client, keyPrefix, batch)
      this.#reads = new ReadBatch(
        (key) => client.get(key),
        (keys) => client.mget(keys),
      )
    }
    if (this.#owned) {
      const opening = firstReady(this.#client, connectTimeoutOf(this.#client))
      this.#opening = opening?.then(() => {
        this.#opening = undefined
      })
    }
  }

  /** The ioredis client in use (the one given, or the one the driver created): a `Redis` or a `Cluster`. */
  get client(): Redis | Cluster {
    return this.#client
  }

  /** @internal The cache's L2 hit path (see {@link kRawRead}): the GET reply, decoded by the caller. */
  readonly [kRawRead]: RawRead = {
    get: (key, signal) => {
      if (signal?.aborted) return Promise.reject(toAbortedError(signal))
      if (this.#opening) return this.#afterOpening(signal).then(() => this[kRawRead].get(key, signal))
      const full = this.#store.entryKey(key)
      return raceSignal(this.#reads === undefined ? this.#client.get(full) : this.#reads.get(full), signal)
    },
    decode: (raw) => (typeof raw === 'string' ? decodeEntry(raw) : undefined),
    error: (error) => l2Error('GET', error),
  }

  get(key: string, signal?: AbortSignal): Promise<L2Entry | undefined> {
    return this[kRawRead].get(key, signal).then(this.#decodeOne, this.#failedGet)
  }

  getMany(keys: readonly string[], signal?: AbortSignal): Promise<(L2Entry | undefined)[]> {
    if (signal?.aborted) return Promise.reject(toAbortedError(signal))
    if (keys.length === 0) return Promise.resolve([])
    if (this.#opening) return this.#afterOpening(signal).then(() => this.getMany(keys, signal))
    return raceSignal(this.#store.getMany(keys), signal, this.#decodeAll, this.#failedMget)
  }

  /** @internal Every `cache.set` (see {@link kRawWrite}): the SET's own promise, its failure mapped by the caller. */
  readonly [kRawWrite]: RawWrite = {
    set: (key, entry, signal) => {
      if (signal?.aborted) return Promise.reject(toAbortedError(signal))
      if (this.#opening) return this.#afterOpening(signal).then(() => this[kRawWrite].set(key, entry, signal))
      let sent: Promise<unknown>
      try {
        sent = this.#store.set(this.#write(key, entry))
      } catch (error) {
        sent = Promise.reject(error)
      }
      return raceSignal(sent, signal)
    },
    error: (error) => l2Error('SET', error),
  }

  set(key: string, entry: L2Entry, signal?: AbortSignal): Promise<void> {
    return this[kRawWrite].set(key, entry, signal).then(toVoid, this.#failedSet)
  }

  async setMany(entries: readonly (readonly [key: string, entry: L2Entry])[], signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal)
    if (entries.length === 0) return
    if (this.#opening) await raceSignal(this.#opening, signal)
    try {
      await raceSignal(this.#store.setMany(entries.map(([key, entry]) => this.#write(key, entry))), signal)
    } catch (error) {
      throw l2Error('MULTI', error)
    }
  }

  async delete(keys: readonly string[], signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal)
    if (keys.length === 0) return 0
    if (this.#opening) await raceSignal(this.#opening, signal)
    try {
      return await raceSignal(this.#store.delete(keys), signal)
    } catch (error) {
      throw l2Error('UNLINK', error)
    }
  }

  async deleteByTags(prefix: string, tags: readonly string[], signal?: AbortSignal): Promise<string[]> {
    throwIfAborted(signal)
    if (tags.length === 0) return []
    if (this.#opening) await raceSignal(this.#opening, signal)
    try {
      return await raceSignal(this.#store.deleteByTags(prefix, tags), signal)
    } catch (error) {
      throw l2Error('deleteByTags', error)
    }
  }

  async clear(prefix: string, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal)
    if (this.#opening) await raceSignal(this.#opening, signal)
    try {
      await this.#store.clear(prefix, signal)
    } catch (error) {
      throw l2Error('clear', error)
    }
  }

  async acquireLock(key: string, token: string, ttlMs: number, signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal)
    if (!(ttlMs >= 1)) throw new ValidationError('ttlMs', 'a number >= 1', ttlMs, { code: 'E_INVALID_ARGUMENT' })
    if (this.#opening) await raceSignal(this.#opening, signal)
    try {
      const reply = await raceSignal(
        this.#client.set(this.#store.lockKey(key), token, 'PX', Math.ceil(ttlMs), 'NX'),
        signal,
      )
      return reply === 'OK'
    } catch (error) {
      throw l2Error('acquireLock', error)
    }
  }

  async releaseLock(key: string, token: string): Promise<void> {
    if (this.#opening) await this.#opening
    try {
      await runScript(this.#client, RELEASE_LOCK, [this.#store.lockKey(key)], [token])
    } catch (error) {
      throw l2Error('releaseLock', error)
    }
  }

  async close(): Promise<void> {
    if (this.#owned) await closeClient(this.#client)
  }

  #write(key: string, entry: L2Entry): RedisWrite {
    return { key, payload: encodeEntry(entry), ttl: this.#ttl(entry), tags: entry.tags }
  }

  /** Time to live in ms for `PX`: 0 for no expiry, -1 when the entry is already dead. */
  #ttl(entry: L2Entry): number {
    if (entry.staleUntil === Number.POSITIVE_INFINITY) return 0
    const ttl = Math.ceil(entry.staleUntil - this.#clock.now())
    return ttl > 0 ? ttl : -1
  }

  /** A stored string as `get` answers it: `undefined` when absent, not an entry, or past `staleUntil`. */
  readonly #decodeOne = (raw: unknown): L2Entry | undefined => {
    const entry = this[kRawRead].decode(raw)
    return entry && entry.staleUntil > this.#clock.now() ? entry : undefined
  }

  readonly #decodeAll = (raws: (string | null)[]): (L2Entry | undefined)[] => raws.map(this.#decodeOne)

  readonly #failedGet = (error: unknown): never => {
    throw l2Error('GET', error)
  }

  readonly #failedSet = (error: unknown): never => {
    throw l2Error('SET', error)
  }

  readonly #failedMget = (error: unknown): never => {
    throw l2Error('MGET', error)
  }

  /** Waits (within the signal) for the first connection of an owned client. */
  #afterOpening(signal: AbortSignal | undefined): Promise<void> {
    return raceSignal(this.#opening ?? Promise.resolve(), signal)
  }
}

function toVoid(): void {}

/**
 * Creates a {@link RedisCacheDriver}: give it a ready ioredis client (left open on `close`), or a
 * `url` / ioredis `connection` options for a client it creates with fail-fast settings and closes.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { createCache } from 'bulwark/cache'
 * import { redisCacheDriver } from 'bulwark/cache/redis'
 *
 * const redis = new Redis(process.env.REDIS_URL!)
 * const cache = createCache({ l2: redisCacheDriver({ client: redis }) })
 * ```
 */
export function redisCacheDriver(options: RedisCacheDriverOptions = {}): RedisCacheDriver {
  return new RedisCacheDriver(options)
}
