/**
 * Ports of the cache: the L2 driver (shared store, Redis in production) and the invalidation bus.
 *
 * Both have an in-memory adapter (`memoryCacheDriver`, `memoryBus`) that passes the same conformance
 * suite as the Redis ones (`cacheDriverSuite` / `cacheBusSuite` from `bulwark/testing`).
 */

/**
 * What the cache stores in L2 for one key. The value is already serialized by the cache's serializer;
 * the driver stores the envelope as it is and never looks inside `value`.
 */
export interface L2Entry {
  /** The serialized value. */
  value: string
  /**
   * Monotonic version of this key's value (the cache uses the writer's clock and a counter). Used to
   * refuse an older value over a newer one in L1.
   */
  version: number
  /** Epoch ms after which the entry is stale (fresh until then). */
  expiresAt: number
  /** Epoch ms after which the entry may no longer be served even as stale (`expiresAt + grace`). */
  staleUntil: number
  /** Tags of the entry, for `deleteByTag`. */
  tags?: readonly string[]
}

/**
 * The L2 store. Keys arrive fully qualified (namespace already applied). Every method takes an
 * optional `AbortSignal`, which the cache aborts at its L2 timeout: a driver should stop waiting then
 * (it may not be able to cancel the command on the server). The cache bounds every call by that
 * timeout on its own, and calls `get` and `set` (its hot paths) without a signal.
 */
export interface L2Driver {
  /** A short name for stats and errors, such as `'redis'`. */
  readonly name: string
  /** Reads one entry; `undefined` when absent or past `staleUntil`. */
  get(key: string, signal?: AbortSignal): Promise<L2Entry | undefined>
  /** Reads many entries in one round trip; the result is index-aligned with `keys`. */
  getMany(keys: readonly string[], signal?: AbortSignal): Promise<(L2Entry | undefined)[]>
  /**
   * Writes an entry that lives until `entry.staleUntil` (the driver sets its own expiry from it), and
   * records the key under each of `entry.tags`.
   */
  set(key: string, entry: L2Entry, signal?: AbortSignal): Promise<void>
  /** Writes many entries in one round trip. */
  setMany(entries: readonly (readonly [key: string, entry: L2Entry])[], signal?: AbortSignal): Promise<void>
  /** Deletes keys; resolves to how many existed. */
  delete(keys: readonly string[], signal?: AbortSignal): Promise<number>
  /** Deletes every key recorded under any of `tags` (within `prefix`); resolves to the deleted keys. */
  deleteByTags(prefix: string, tags: readonly string[], signal?: AbortSignal): Promise<string[]>
  /** Deletes every key that starts with `prefix`, and nothing else. Never flushes a whole database. */
  clear(prefix: string, signal?: AbortSignal): Promise<void>
  /**
   * Optional distributed lock for cross-process single-flight: set `key` to `token` if absent, for `ttlMs`.
   * Resolves to whether the lock was taken.
   */
  acquireLock?(key: string, token: string, ttlMs: number, signal?: AbortSignal): Promise<boolean>
  /** Releases a lock only if it still holds `token`. */
  releaseLock?(key: string, token: string): Promise<void>
  /** Closes connections the driver opened itself (a client passed in by the user is left open). */
  close(): Promise<void>
}

/**
 * @internal A driver's single-key read in two halves, for the cache's L2 hit path: `get` resolves with
 * what the store holds, undecoded, and the cache calls `decode` in its own handler, which spares a
 * promise and a microtask per hit over `L2Driver.get`. `decode` returns the entry even past `staleUntil`
 * (the cache checks the times itself) and `undefined` for anything that is not an entry; `error` turns
 * a failure of `get`'s own call into the error `L2Driver.get` would reject with. The Redis driver has it;
 * any other driver is read through `get`.
 */
export const kRawRead: unique symbol = Symbol.for('bulwark.cache.rawRead')

/** @internal See {@link kRawRead}. */
export interface RawRead {
  get(key: string, signal?: AbortSignal): Promise<unknown>
  decode(raw: unknown): L2Entry | undefined
  error(error: unknown): unknown
}

/**
 * @internal `L2Driver.set` in two halves, for every `cache.set`: `set` resolves once the store has the
 * entry (with whatever the store answered) and `error` turns a failure of its own call into the error
 * `L2Driver.set` would reject with. Spares a promise and a microtask per write. The Redis driver has it.
 */
export const kRawWrite: unique symbol = Symbol.for('bulwark.cache.rawWrite')

/** @internal See {@link kRawWrite}. */
export interface RawWrite {
  set(key: string, entry: L2Entry, signal?: AbortSignal): Promise<unknown>
  error(error: unknown): unknown
}

/**
 * @internal `CacheBus.publish` in two halves, as {@link kRawWrite} for the driver: `publish` resolves
 * once the message is sent, `error` turns a failure of its own call into the error `publish` would
 * reject with. The Redis bus has it.
 */
export const kRawPublish: unique symbol = Symbol.for('bulwark.cache.rawPublish')

/** @internal See {@link kRawPublish}. */
export interface RawPublish {
  publish(channel: string, message: BusMessage): Promise<unknown>
  error(error: unknown, channel: string): unknown
}

/** An invalidation message. Each process ignores messages whose `source` is its own id. */
export type BusMessage =
  | { source: string; type: 'set'; keys: string[]; versions: number[] }
  | { source: string; type: 'delete'; keys: string[] }
  | { source: string; type: 'deleteByTags'; prefix: string; tags: string[] }
  | { source: string; type: 'clear'; prefix: string }

/** Events a bus reports about its own connection. */
export interface BusConnectionHandlers {
  /** A message from any process (including this one: the cache filters by `source`). */
  message(message: BusMessage): void
  /**
   * The subscriber's own `source`: a bus may skip the messages it published itself before decoding them
   * (every message a cache publishes comes back to it; the cache ignores those anyway).
   * @default undefined (every message is delivered)
   */
  readonly source?: string
  /** The connection was lost; messages may be lost until `reconnected`. */
  disconnected?(): void
  /** The connection came back after a loss: messages sent meanwhile are gone, so L1 must be flushed. */
  reconnected?(): void
}

/** Carries invalidations between processes. */
export interface CacheBus {
  /** Starts listening on `channel`. Resolves once messages published after it will be delivered. */
  subscribe(channel: string, handlers: BusConnectionHandlers): Promise<void>
  /** Publishes a message on `channel`. */
  publish(channel: string, message: BusMessage): Promise<void>
  /** Stops listening and closes connections the bus opened itself. */
  close(): Promise<void>
}

/** Turns values into strings for L2 and back. The default is JSON, hardened against `__proto__` keys. */
export interface Serializer {
  serialize(value: unknown): string
  deserialize(raw: string): unknown
}
