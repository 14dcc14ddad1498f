import type { CacheContext } from './context.js'
import { fillL1, fromL2, type Read } from './entries.js'
import type { L1Entry } from './l1.js'
import { L2_FAILED, type L2Gateway, L2Read } from './l2.js'
import type { Policy } from './options.js'
import { TIMED_OUT } from './timeouts.js'
import type { L2Entry } from './types.js'

/** What an L2 read resolves with: the entry, `undefined` when absent, or why there is no answer. */
export type L2Answer = L2Entry | undefined | typeof L2_FAILED | typeof TIMED_OUT

/**
 * Reads one key from L2 until `deadline`: gives up on it after the soft timeout (the call runs on to
 * the deadline). Never rejects.
 */
export function readL2(ctx: CacheContext, key: string, policy: Policy, deadline: number): Promise<L2Answer> {
  const l2 = ctx.l2 as L2Gateway
  const read = new PromisedRead(l2, ctx.rootPrefix + key)
  l2.start(read, deadline)
  return softly(ctx, read.promise, policy)
}

/** An L2 read whose outcome is a promise (`cache.get`, `has`, lock polling). */
class PromisedRead extends L2Read {
  readonly promise: Promise<L2Entry | undefined | typeof L2_FAILED>
  #resolve!: (found: L2Entry | undefined | typeof L2_FAILED) => void

  constructor(gateway: L2Gateway, l2Key: string) {
    super(gateway, l2Key)
    this.promise = new Promise((resolve) => {
      this.#resolve = resolve
    })
  }

  protected answer(found: L2Entry | undefined | typeof L2_FAILED): void {
    this.#resolve(found)
  }
}

/** Applies the soft timeout of `policy` to an L2 call that never rejects. */
export function softly<T>(ctx: CacheContext, work: Promise<T>, policy: Policy): Promise<T | typeof TIMED_OUT> {
  return policy.soft > 0 ? ctx.softDeadlines.race(work, ctx.clock.now() + policy.soft) : work
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
export function acceptL2(ctx: CacheContext, read: Read, found: L2Answer): { fresh?: L1Entry; stale?: L1Entry } {
  const entry = typeof found === 'object' ? fromL2(ctx, found, read.policy) : undefined
  if (entry === undefined) return {}
  const now = ctx.clock.now()
  if (now < entry.expiresAt) return { fresh: hitL2(ctx, read, entry) }
  return { stale: servable(entry, now) }
}

/** A fresh entry from L2: counted, reported, and put into L1 unless newer state is known there. */
export function hitL2(ctx: CacheContext, read: Read, entry: L1Entry): L1Entry {
  ctx.counters.l2Hits++
  ctx.events.emit('hit', read.key)
  fillL1(ctx, read, entry)
  return entry
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
