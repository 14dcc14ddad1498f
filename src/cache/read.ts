import { sleep } from '../core/abort.js'
import type { CacheContext } from './context.js'
import { fillL1, fromL2, type Read } from './entries.js'
import type { L1Entry } from './l1.js'
import { L2_FAILED } from './l2.js'
import type { Policy } from './options.js'
import { raceSoft, TIMED_OUT } from './timeouts.js'
import type { L2Entry } from './types.js'
import { storeLoaded } from './write.js'

/** Produces the value of a missing key. */
export type Loader<T> = () => T | Promise<T>

/** What an L2 read resolves with: the entry, `undefined` when absent, or why there is no answer. */
export type L2Read = L2Entry | undefined | typeof L2_FAILED | typeof TIMED_OUT

/**
 * Reads one key from L2 until `deadline`: gives up on it after the soft timeout (the call runs on to
 * the deadline).
 */
export function readL2(ctx: CacheContext, key: string, policy: Policy, deadline: number): Promise<L2Read> {
  const l2 = ctx.l2 as NonNullable<CacheContext['l2']>
  const work = l2
    .get(ctx.rootPrefix + key, deadline)
    .then<L2Entry | undefined, typeof L2_FAILED>(undefined, (error: unknown) => l2.failed('get', error))
  return softly(ctx, work, policy)
}

/** Applies the soft timeout of `policy` to an L2 call. */
export function softly<T>(ctx: CacheContext, work: Promise<T>, policy: Policy): Promise<T | typeof TIMED_OUT> {
  return policy.soft > 0 ? raceSoft(work, policy.soft, ctx.clock) : work
}

/** An entry that may still be served as stale now, if any. */
export function servable(entry: L1Entry | undefined, now: number): L1Entry | undefined {
  return entry !== undefined && now < entry.staleUntil ? entry : undefined
}

/** The stale-but-servable L1 entry of `key`; an entry past its grace is dropped (it can never serve again). */
export function staleInL1(ctx: CacheContext, key: string): L1Entry | undefined {
  const entry = ctx.l1.peek(key)
  if (entry === undefined) return undefined
  const stale = servable(entry, ctx.clock.now())
  if (stale === undefined) ctx.l1.delete(key)
  return stale
}

/**
 * Makes an L2 answer usable: a fresh entry (counted as an L2 hit and put into L1 unless newer state is
 * known) or a stale one still within its grace period.
 */
export function acceptL2(ctx: CacheContext, read: Read, found: L2Read): { fresh?: L1Entry; stale?: L1Entry } {
  if (typeof found !== 'object') return {}
  const entry = fromL2(ctx, found, read.policy)
  if (entry === undefined) return {}
  const now = ctx.clock.now()
  if (now < entry.expiresAt) {
    ctx.counters.l2Hits++
    ctx.events.emit('hit', read.key)
    fillL1(ctx, read, entry)
    return { fresh: entry }
  }
  return { stale: servable(entry, now) }
}

export function serveStale(ctx: CacheContext, key: string, stale: L1Entry): unknown {
  ctx.counters.staleServed++
  ctx.events.emit('staleServed', key)
  return stale.value
}

/** `cache.get` past an L1 miss: L2, then a stale L1 value if L2 failed and grace allows. */
export async function getMiss(ctx: CacheContext, key: string, policy: Policy): Promise<unknown> {
  if (ctx.l2 !== undefined) {
    const start = ctx.fence.begin()
    try {
      const found = await readL2(ctx, key, policy, ctx.deadline(policy))
      const { fresh } = acceptL2(ctx, { key, policy, start }, found)
      if (fresh !== undefined) return fresh.value
      const failed = found === L2_FAILED || found === TIMED_OUT
      const stale = failed ? staleInL1(ctx, key) : undefined
      if (stale !== undefined) return serveStale(ctx, key, stale)
    } finally {
      ctx.fence.end()
    }
  }
  ctx.counters.misses++
  ctx.events.emit('miss', key)
  return undefined
}

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
interface Miss<T> extends MissRequest<T>, Read {
  stale: L1Entry | undefined
  readonly deadline: number
  /** Its flight, for a miss that is one (it lands itself when it ends). */
  promise: Promise<T> | undefined
}

/** `cache.getOrSet` past an L1 miss, single-flight: concurrent misses of a key share one resolution. */
export function getOrSetMiss<T>(ctx: CacheContext, request: MissRequest<T>): Promise<T> {
  const flights = ctx.flights
  const inFlight = flights.get(request.key)
  if (inFlight !== undefined) return inFlight as Promise<T>
  const miss: Miss<T> = {
    key: request.key,
    loader: request.loader,
    policy: request.policy,
    start: ctx.fence.begin(),
    stale: staleInL1(ctx, request.key),
    deadline: ctx.deadline(request.policy),
    promise: undefined,
  }
  // The miss lands itself when it ends (no `then` per flight): see `resolveMiss`.
  const promise = resolveMiss(ctx, miss)
  miss.promise = promise
  flights.start(request.key, promise)
  return promise
}

/** Resolves a miss that `getOrSetMiss` began (fence open); ends the fence and lands its flight. */
async function resolveMiss<T>(ctx: CacheContext, miss: Miss<T>): Promise<T> {
  const { key, policy } = miss
  try {
    if (ctx.l2 !== undefined) {
      let found: L2Read
      if (policy.soft > 0) found = await readL2(ctx, key, policy, miss.deadline)
      else {
        // Awaited here rather than through readL2: no promise of its own on the L2 hit path.
        const l2 = ctx.l2
        try {
          found = await l2.get(ctx.rootPrefix + key, miss.deadline)
        } catch (error) {
          found = l2.failed('get', error)
        }
      }
      const answer = acceptL2(ctx, miss, found)
      if (answer.fresh !== undefined) return answer.fresh.value as T
      if (answer.stale !== undefined && (miss.stale === undefined || answer.stale.version > miss.stale.version)) {
        miss.stale = answer.stale
      }
    }
    ctx.counters.misses++
    ctx.events.emit('miss', key)
    if (policy.lock && ctx.options.lock !== undefined && ctx.l2?.driver.acquireLock !== undefined) {
      return await loadWithLock(ctx, miss)
    }
    return await load(ctx, miss, false)
  } finally {
    ctx.fence.end()
    ctx.flights.land(key, miss.promise)
  }
}

/**
 * Calls the loader and stores its result. On failure, serves the stale value within its grace period
 * or rethrows. `awaitL2` waits for the L2 write (a lock holder must write before it releases).
 */
async function load<T>(ctx: CacheContext, miss: Miss<T>, awaitL2: boolean): Promise<T> {
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

async function loadWithLock<T>(ctx: CacheContext, miss: Miss<T>): Promise<T> {
  const l2 = ctx.l2 as NonNullable<CacheContext['l2']>
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
  if (ctx.flights.has(request.key)) return
  ctx.counters.refreshes++
  ctx.events.emit('refresh', request.key)
  const refresh: Miss<T> = {
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
