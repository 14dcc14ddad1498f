import type { EventEmitter } from 'eventemitter3'
import type { CoarseClock } from '../core/coarse-clock.js'
import { ValidationError } from '../core/errors.js'
import { type BatchLoader, getOrSetMany } from './batch.js'
import type { CacheContext } from './context.js'
import { validateKey, validateKeys, validateTags } from './keys.js'
import type { L1, L1Entry } from './l1.js'
import { getOrSetMiss, type Loader, refreshInBackground } from './miss.js'
import type { CacheEntryOptions, CacheTimeoutOptions, GetOrSetOptions, Policy, SetOptions } from './options.js'
import { getMiss, readL2 } from './read.js'
import { resolvePolicy } from './resolve-options.js'
import type { CacheEvents, CacheStats, Counters } from './stats.js'
import { clearPrefix, deleteKeys, deleteTags, setValue } from './write.js'

/** Options of one `get` or `has` call. */
export interface GetOptions {
  /** L2 timeouts for this call. */
  timeout?: CacheTimeoutOptions
}

/** Internal entry points of the decorators, so a hit allocates no loader closure. */
export const kPeek: unique symbol = Symbol('bulwark.cache.peek')
export const kResolve: unique symbol = Symbol('bulwark.cache.resolve')

/** A call of a decorated method that missed (or is due for refresh): what to run, and how to cache it. */
export interface Invocation<T> {
  method: (...args: never[]) => Promise<T>
  options: GetOrSetOptions | undefined
  self: unknown
  args: unknown[]
}

type Listener<E extends keyof CacheEvents> = EventEmitter.EventListener<CacheEvents, E>

/**
 * A two-level cache: L1 in process, L2 in a shared driver, kept coherent over a bus. Create one with
 * {@link createCache}; `namespace(name)` derives caches that share its connections.
 *
 * Reads never fail because of L2 or the bus: errors and timeouts there are counted in `stats()` and
 * the cache falls back to L1 and the loader.
 *
 * @example
 * ```ts
 * const cache = createCache({ l2: memoryCacheDriver(), ttl: '10m' })
 * const user = await cache.getOrSet(`user:${id}`, () => db.users.find(id), { tags: ['users'] })
 * await cache.deleteByTag('users')
 * ```
 */
export class Cache {
  readonly #ctx: CacheContext
  /** L1 key prefix of this namespace: `''` for the root cache, `'users:'` for `namespace('users')`. */
  readonly #prefix: string
  readonly #ready: Promise<void>
  // Copies of what the hit path reads, one property load away.
  readonly #l1: L1
  readonly #clock: CoarseClock
  readonly #counters: Counters

  /** @internal Use {@link createCache}. */
  constructor(ctx: CacheContext, prefix: string, ready: Promise<void>) {
    this.#ctx = ctx
    this.#prefix = prefix
    this.#ready = ready
    this.#l1 = ctx.l1
    this.#clock = ctx.coarseClock
    this.#counters = ctx.counters
  }

  /**
   * Returns the cached value of `key`, or calls `loader` once (however many callers miss at once),
   * caches its result and returns it. A `null`/`undefined` result is cached for `negativeTtl`. If the
   * loader fails, a stale value within `grace` is served instead of the error.
   *
   * @example
   * ```ts
   * const product = await cache.getOrSet(`product:${id}`, () => repo.find(id), { ttl: '1h', tags: ['products'] })
   * ```
   */
  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T> {
    const entry = this.#hit(key)
    if (entry === undefined) return this.#miss(key, loader, options)
    if (entry.refreshAt !== Number.POSITIVE_INFINITY) this.#maybeRefresh(key, entry, loader, options)
    return Promise.resolve(entry.value as T)
  }

  /**
   * Returns the values of `keys`, aligned with them. What L1 lacks is read from L2 in one round trip;
   * what L2 lacks is loaded by one call of `loader` with only those keys.
   *
   * @example
   * ```ts
   * const users = await cache.getOrSetMany(ids.map((id) => `user:${id}`), (missing) => repo.findMany(missing))
   * ```
   */
  async getOrSetMany<T>(
    keys: readonly string[],
    loader: BatchLoader<T>,
    options?: GetOrSetOptions,
  ): Promise<(T | undefined)[]> {
    const ctx = this.#ctx
    validateKeys(keys, ctx.options.maxKeyLength)
    expectLoader(loader)
    return getOrSetMany(ctx, keys, { prefix: this.#prefix, loader, policy: this.#policy(options) })
  }

  /**
   * Returns the fresh value of `key` from L1 or L2, or `undefined`. If L2 fails, a stale L1 value
   * within its grace period is returned.
   *
   * @example
   * ```ts
   * const session = await cache.get<Session>(`session:${token}`)
   * ```
   */
  async get<T = unknown>(key: string, options?: GetOptions): Promise<T | undefined> {
    const entry = this.#hit(key)
    if (entry !== undefined) return entry.value as T
    const ctx = this.#ctx
    validateKey(key, ctx.options.maxKeyLength)
    return (await getMiss(ctx, this.#prefix + key, this.#policy(options))) as T | undefined
  }

  /**
   * Whether a fresh value of `key` is in L1 or L2. Counts nothing in `stats()`.
   *
   * @example
   * ```ts
   * if (!(await cache.has('config'))) await cache.set('config', await loadConfig())
   * ```
   */
  async has(key: string, options?: GetOptions): Promise<boolean> {
    const ctx = this.#ctx
    validateKey(key, ctx.options.maxKeyLength)
    const l1Key = this.#prefix + key
    const entry = ctx.l1.peek(l1Key)
    if (entry !== undefined && ctx.clock.now() < entry.expiresAt) return true
    if (ctx.l2 === undefined) return false
    const policy = this.#policy(options)
    const found = await readL2(ctx, l1Key, policy, ctx.deadline(policy))
    return typeof found === 'object' && ctx.clock.now() < found.expiresAt
  }

  /**
   * Writes `value` to L1 and L2 and tells the other processes to drop their copy. Resolves once L2 and
   * the bus answered or timed out; throws only when the value cannot be serialized.
   *
   * @example
   * ```ts
   * await cache.set(`user:${user.id}`, user, { ttl: '1h', tags: ['users'] })
   * ```
   */
  set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    // Not async: the write's own promise is the caller's.
    const ctx = this.#ctx
    try {
      validateKey(key, ctx.options.maxKeyLength)
      return setValue(ctx, this.#prefix + key, this.#policy(options), value)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Deletes `key` from every level and every process. Resolves to whether a level held it.
   *
   * @example
   * ```ts
   * await cache.delete(`user:${id}`)
   * ```
   */
  async delete(key: string): Promise<boolean> {
    const ctx = this.#ctx
    validateKey(key, ctx.options.maxKeyLength)
    return deleteKeys(ctx, [this.#prefix + key])
  }

  /**
   * Deletes every entry of this namespace carrying one of the tags, in every process.
   *
   * @example
   * ```ts
   * await cache.deleteByTag(['products', 'catalog'])
   * ```
   */
  async deleteByTag(tags: string | readonly string[]): Promise<void> {
    const ctx = this.#ctx
    const list = validateTags(tags, ctx.options.maxKeyLength, 'tags')
    await deleteTags(ctx, this.#prefix, list)
  }

  /**
   * Deletes every entry of this namespace (and of the namespaces below it) in every process. Keys
   * outside the namespace are never touched: this never flushes a whole Redis database.
   *
   * @example
   * ```ts
   * await cache.namespace('sessions').clear()
   * ```
   */
  async clear(): Promise<void> {
    await clearPrefix(this.#ctx, this.#prefix)
  }

  /**
   * A cache whose keys live under `<namespace>:<name>:`, sharing this cache's L1, L2, bus, breaker and
   * stats. `clear()` on it clears only its keys.
   *
   * @example
   * ```ts
   * const users = cache.namespace('users')
   * await users.set('42', user) // L2 key 'bulwark:users:42'
   * ```
   */
  namespace(name: string): Cache {
    validateKey(name, this.#ctx.options.maxKeyLength, 'name')
    return new Cache(this.#ctx, `${this.#prefix}${name}:`, this.#ready)
  }

  /**
   * A snapshot of the counters (shared with every namespace of this cache).
   *
   * @example
   * ```ts
   * const { l1Hits, l2Hits, misses, l2Errors } = cache.stats()
   * ```
   */
  stats(): CacheStats {
    const { counters, l1 } = this.#ctx
    return { ...counters, l1Entries: l1.size, l1Bytes: l1.bytes }
  }

  /**
   * Listens to a cache event (see {@link CacheEvents}).
   *
   * @example
   * ```ts
   * cache.on('l2Error', (operation, error) => logger.warn({ operation, error }, 'cache L2 unavailable'))
   * ```
   */
  on<E extends keyof CacheEvents>(event: E, listener: Listener<E>): this {
    this.#ctx.events.on(event, listener)
    return this
  }

  /** Listens to the next occurrence of a cache event. */
  once<E extends keyof CacheEvents>(event: E, listener: Listener<E>): this {
    this.#ctx.events.once(event, listener)
    return this
  }

  /** Stops listening. */
  off<E extends keyof CacheEvents>(event: E, listener: Listener<E>): this {
    this.#ctx.events.off(event, listener)
    return this
  }

  /**
   * Resolves once the bus subscription is active (at once without a bus); rejects if subscribing failed.
   *
   * @example
   * ```ts
   * const cache = createCache({ l2, bus: redisBus({ url }) })
   * await cache.ready() // invalidations from other processes now reach this one
   * ```
   */
  ready(): Promise<void> {
    return this.#ready
  }

  /**
   * Resolves once background work (L2 writes after loads, refreshes, lock releases) has finished.
   *
   * @example
   * ```ts
   * await cache.getOrSet('k', load)
   * await cache.settled() // the loaded value is in L2 now
   * ```
   */
  settled(): Promise<void> {
    return this.#ctx.background.settled()
  }

  /**
   * Waits for background work, then closes the bus and the L2 driver (a client passed in by the user
   * is left open by the driver). Shared by every namespace of the cache.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => cache.close())
   * ```
   */
  close(): Promise<void> {
    return this.#ctx.close()
  }

  /** @internal The decorators' hit path: the fresh L1 entry of `key` (counted as a hit), or `undefined`. */
  [kPeek](key: unknown): L1Entry | undefined {
    return this.#hit(key)
  }

  /** @internal The decorators' other path: a miss (`entry` undefined) or a hit due for refresh-ahead. */
  [kResolve]<T>(key: string, entry: L1Entry | undefined, call: Invocation<T>): Promise<T> {
    const loader = () => call.method.apply(call.self, call.args as never[])
    if (entry === undefined) return this.#miss(key, loader, call.options)
    this.#maybeRefresh(key, entry, loader, call.options)
    return Promise.resolve(entry.value as T)
  }

  /** The fresh L1 entry of `key`, counted as a hit; the cache's hot path. */
  #hit(key: unknown): L1Entry | undefined {
    if (typeof key !== 'string') return undefined
    const entry = this.#l1.get(this.#prefix === '' ? key : this.#prefix + key)
    if (entry === undefined || this.#clock.now() >= entry.expiresAt) return undefined
    this.#counters.l1Hits++
    return entry
  }

  // Not async: the miss's own promise is the caller's, without a wrapper around it.
  #miss<T>(key: string, loader: Loader<T>, options: GetOrSetOptions | undefined): Promise<T> {
    const ctx = this.#ctx
    let policy: Policy
    try {
      validateKey(key, ctx.options.maxKeyLength)
      expectLoader(loader)
      policy = this.#policy(options)
    } catch (error) {
      return Promise.reject(error)
    }
    return getOrSetMiss(ctx, { key: this.#prefix + key, loader, policy })
  }

  #maybeRefresh<T>(key: string, entry: L1Entry, loader: Loader<T>, options: GetOrSetOptions | undefined): void {
    const ctx = this.#ctx
    if (ctx.clock.now() < entry.refreshAt || typeof loader !== 'function') return
    let policy: Policy
    try {
      policy = this.#policy(options)
    } catch {
      // Bad options must not make a hit throw; the next miss reports them.
      return
    }
    refreshInBackground(ctx, { key: this.#prefix + key, loader, policy }, entry)
  }

  #policy(options: CacheEntryOptions | undefined): Policy {
    return resolvePolicy(this.#ctx.policy, options, this.#ctx.options.maxKeyLength)
  }
}

function expectLoader(loader: unknown): void {
  if (typeof loader !== 'function')
    throw new ValidationError('loader', 'a function', loader, { code: 'E_INVALID_ARGUMENT' })
}
