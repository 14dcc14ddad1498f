import { sleep } from '../core/abort.js'
import type { CacheContext } from './context.js'
import { fromL2, type Read } from './entries.js'
import type { L1Entry } from './l1.js'
import { L2_FAILED, type L2Gateway, L2Read } from './l2.js'
import type { Policy } from './options.js'
import { acceptL2, hitL2, readL2, servable, serveStale, staleInL1 } from './read.js'
import { type DeadlineGroup, type Expiring, TIMED_OUT } from './timeouts.js'
import type { L2Entry } from './types.js'
import { storeLoaded } from './write.js'

/** Produces the value of a missing key. */
export type Loader<T> = () => T | Promise<T>

/** A `getOrSet` that missed L1: the L1 key, its loader and how to cache the result. */
export interface MissRequest<T> {
  readonly key: string
  readonly loader: Loader<T>
  readonly policy: Policy
}

/**
 * A miss being resolved: since `start` (see `Fence`), with the best stale value known so far, and the
 * deadline its L2 calls before the loader share (one hard timeout for the read and the lock).
 */
interface MissState<T> extends MissRequest<T>, Read {
  stale: L1Entry | undefined
  readonly deadline: number
  /** Its flight, for a miss that is one (it lands itself when it ends). */
  readonly promise: Promise<T> | undefined
}

/** `cache.getOrSet` past an L1 miss, single-flight: concurrent misses of a key share one resolution. */
export function getOrSetMiss<T>(ctx: CacheContext, request: MissRequest<T>): Promise<T> {
  const flights = ctx.flights
  const inFlight = flights.get(request.key)
  if (inFlight !== undefined) return inFlight as Promise<T>
  if (ctx.l2 === undefined) {
    const miss: MissState<T> & { promise: Promise<T> | undefined } = {
      key: request.key,
      loader: request.loader,
      policy: request.policy,
      start: ctx.fence.begin(),
      stale: staleInL1(ctx, request.key),
      deadline: ctx.deadline(request.policy),
      promise: undefined,
    }
    miss.promise = loadMissed(ctx, miss)
    flights.start(request.key, miss.promise)
    return miss.promise
  }
  const now = ctx.clock.now()
  const miss = new Miss(ctx, ctx.l2, request, now)
  flights.start(request.key, miss.promise)
  miss.read(now)
  return miss.promise
}

/**
 * A miss with an L2 to read first. The L2 hit path is this object, the caller's promise, and one `then`
 * on the driver's promise (the read's handlers are the only closures): no async frame, no promise of its
 * own per layer. Whatever answers first, L2 or the soft timeout, decides; a fresh entry resolves the
 * caller, anything else goes on to the loader.
 */
class Miss<T> extends L2Read implements MissState<T> {
  readonly key: string
  readonly loader: Loader<T>
  readonly policy: Policy
  readonly start: number
  stale: L1Entry | undefined
  readonly deadline: number
  readonly promise: Promise<T>
  readonly #ctx: CacheContext
  #resolve!: (value: T | PromiseLike<T>) => void
  #reject!: (error: unknown) => void
  /** Still waiting for L2: neither its answer nor the soft timeout has come. */
  #waiting = true
  #soft: DeadlineGroup | undefined = undefined

  /** `now`: the clock's time, read once for the deadline and the start of the read. */
  constructor(ctx: CacheContext, l2: L2Gateway, request: MissRequest<T>, now: number) {
    super(l2, ctx.rootPrefix + request.key)
    // The fence is open from here until the miss ends.
    this.key = request.key
    this.loader = request.loader
    this.policy = request.policy
    this.start = ctx.fence.begin()
    this.stale = staleInL1(ctx, request.key)
    this.deadline = now + request.policy.hard
    this.#ctx = ctx
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  /** Starts the L2 read (and the soft timeout, if any) at `now`. */
  read(now: number): void {
    this.gateway.start(this, this.deadline, now)
    if (this.policy.soft > 0 && this.#waiting) {
      this.#soft = this.#ctx.softDeadlines.join(now + this.policy.soft, new SoftTimeout(this), now)
    }
  }

  protected answer(found: L2Entry | undefined | typeof L2_FAILED | typeof TIMED_OUT): void {
    if (!this.#waiting) return
    this.#waiting = false
    if (found !== TIMED_OUT) this.#soft?.leave()
    try {
      this.#decide(found)
    } catch (error) {
      // A listener threw (on `hit` or `miss`): the caller gets the error, as from any step of the miss.
      this.#end()
      this.#reject(error)
    }
  }

  /** The soft timeout passed before L2 answered: go on to the loader (the read runs on to its deadline). */
  softTimedOut(): void {
    this.answer(TIMED_OUT)
  }

  #decide(found: L2Entry | undefined | typeof L2_FAILED | typeof TIMED_OUT): void {
    const ctx = this.#ctx
    const entry = typeof found === 'object' ? fromL2(ctx, found, this.policy) : undefined
    if (entry !== undefined) {
      const now = ctx.clock.now()
      if (now < entry.expiresAt) {
        hitL2(ctx, this, entry)
        this.#end()
        this.#resolve(entry.value as T)
        return
      }
      const stale = servable(entry, now)
      if (stale !== undefined && (this.stale === undefined || stale.version > this.stale.version)) this.stale = stale
    }
    this.#resolve(loadMissed(ctx, this))
  }

  /** Ends a miss answered from L2 (a load ends itself: see `loadMissed`). */
  #end(): void {
    this.#ctx.fence.end()
    this.#ctx.flights.land(this.key, this.promise)
  }
}

/** The soft timeout of one miss, under a deadline it shares with others. */
class SoftTimeout implements Expiring {
  constructor(readonly miss: { softTimedOut(): void }) {}

  expire(): void {
    this.miss.softTimedOut()
  }
}

/** A miss that L2 did not answer: counted, loaded (under the lock if configured); ends the fence and lands its flight. */
async function loadMissed<T>(ctx: CacheContext, miss: MissState<T>): Promise<T> {
  try {
    ctx.counters.misses++
    ctx.events.emit('miss', miss.key)
    if (miss.policy.lock && ctx.options.lock !== undefined && ctx.l2?.driver.acquireLock !== undefined) {
      return await loadWithLock(ctx, miss)
    }
    return await load(ctx, miss, false)
  } finally {
    ctx.fence.end()
    ctx.flights.land(miss.key, miss.promise)
  }
}

/**
 * Calls the loader and stores its result. On failure, serves the stale value within its grace period
 * or rethrows. `awaitL2` waits for the L2 write (a lock holder must write before it releases).
 */
async function load<T>(ctx: CacheContext, miss: MissState<T>, awaitL2: boolean): Promise<T> {
  const { key, stale } = miss
  ctx.counters.loads++
  let value: T
  try {
    value = await miss.loader()
  } catch (error) {
    ctx.counters.loadErrors++
    ctx.events.emit('loadError', key, error)
    if (stale !== undefined && ctx.clock.now() < stale.staleUntil) return serveStale(ctx, key, stale) as T
    throw error
  }
  ctx.events.emit('load', key)
  const written = storeLoaded(ctx, miss, value)
  if (written !== undefined) {
    if (awaitL2) await written
    else ctx.background.track(written)
  }
  return value
}

async function loadWithLock<T>(ctx: CacheContext, miss: MissState<T>): Promise<T> {
  const l2 = ctx.l2 as L2Gateway
  const lock = ctx.options.lock as NonNullable<CacheContext['options']['lock']>
  const { key, policy } = miss
  // Outside the namespace prefix, so `clear()` never removes a lock another process holds.
  const lockKey = `lock:${ctx.rootPrefix}${key}`
  const token = ctx.lockToken()
  const acquired = await l2.call('acquireLock', miss.deadline, (d, signal) =>
    (d.acquireLock as NonNullable<typeof d.acquireLock>)(lockKey, token, lock.ttl, signal),
  )
  if (acquired === true) {
    try {
      return await load(ctx, miss, true)
    } finally {
      // Raced by the gateway: `releaseLock` takes no signal.
      const release = () => (l2.driver.releaseLock as NonNullable<typeof l2.driver.releaseLock>)(lockKey, token)
      ctx.background.track(
        l2.guard(ctx.deadline(policy), release).then(undefined, (error: unknown) => l2.failed('releaseLock', error)),
      )
    }
  }
  if (acquired === false) {
    const deadline = ctx.clock.now() + lock.wait
    for (let now = ctx.clock.now(); now < deadline; now = ctx.clock.now()) {
      await sleep(Math.min(lock.pollInterval, deadline - now), { clock: ctx.clock })
      const found = await readL2(ctx, key, policy, ctx.deadline(policy))
      if (found === L2_FAILED) break
      const { fresh } = acceptL2(ctx, miss, found)
      if (fresh !== undefined) return fresh.value as T
    }
  }
  // No lock (L2 failed), or the holder did not deliver in time: load anyway.
  return load(ctx, miss, false)
}

/**
 * Refresh-ahead: a hit past `refreshAt` starts one background load of the key. The entry is marked
 * first, so however many callers hit it, one refresh starts; a miss meanwhile joins it.
 */
export function refreshInBackground<T>(ctx: CacheContext, request: MissRequest<T>, entry: L1Entry): void {
  entry.refreshAt = Number.POSITIVE_INFINITY
  if (ctx.flights.get(request.key) !== undefined) return
  ctx.counters.refreshes++
  ctx.events.emit('refresh', request.key)
  const refresh: MissState<T> = {
    ...request,
    start: ctx.fence.begin(),
    stale: undefined,
    deadline: ctx.deadline(request.policy),
    promise: undefined,
  }
  const refreshed = ctx.flights.fly(request.key, load(ctx, refresh, true))
  const end = () => ctx.fence.end()
  ctx.background.track(refreshed.then(end, end))
}
