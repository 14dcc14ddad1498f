import { BulwarkError, describe } from '../core/errors.js'
import type { CacheContext } from './context.js'
import { type PreparedEntry, prepareEntry } from './entries.js'
import type { L1Entry } from './l1.js'
import type { Policy } from './options.js'
import { acceptL2, servable, serveStale, softly, staleInL1 } from './read.js'
import { writeThrough } from './write.js'

/**
 * Loads the values of `keys` (only the ones the cache is missing) in one call. It may answer with an
 * array aligned with `keys`, a `Map`, or a plain object keyed by key; a key it leaves out is cached as a
 * negative (`undefined`) result.
 */
export type BatchLoader<T> = (
  keys: string[],
) => Promise<ReadonlyArray<T> | ReadonlyMap<string, T> | Record<string, T>> | ReadonlyArray<T> | ReadonlyMap<string, T>

/** A `getOrSetMany` call: the namespace's L1 prefix, the loader, how to cache the results. */
export interface BatchRequest<T> {
  readonly prefix: string
  readonly loader: BatchLoader<T>
  readonly policy: Policy
}

/** A batch being resolved: values found so far and stale fallbacks, by the caller's key. */
interface Batch<T> extends BatchRequest<T> {
  readonly start: number
  readonly values: Map<string, unknown>
  readonly stale: Map<string, L1Entry>
}

/**
 * `cache.getOrSetMany`: L1, then one L2 `getMany` for what L1 lacks, then one loader call for what is
 * still missing and not already being loaded by a concurrent call (those are joined). The loader sees
 * the caller's keys (without the namespace prefix).
 */
export async function getOrSetMany<T>(
  ctx: CacheContext,
  keys: readonly string[],
  request: BatchRequest<T>,
): Promise<(T | undefined)[]> {
  const { prefix } = request
  const batch: Batch<T> = { ...request, start: 0, values: new Map(), stale: new Map() }
  const now = ctx.clock.now()
  let missing: string[] = []
  for (const key of new Set(keys)) {
    const entry = ctx.l1.get(prefix + key)
    if (entry !== undefined && now < entry.expiresAt) {
      ctx.counters.l1Hits++
      batch.values.set(key, entry.value)
    } else {
      missing.push(key)
      const old = staleInL1(ctx, prefix + key)
      if (old !== undefined) batch.stale.set(key, old)
    }
  }
  if (missing.length > 0) {
    const started: Batch<T> = { ...batch, start: ctx.fence.begin() }
    try {
      if (ctx.l2 !== undefined) missing = await readMany(ctx, started, missing)
      await loadMissing(ctx, started, missing)
    } finally {
      ctx.fence.end()
    }
  }
  return keys.map((key) => batch.values.get(key) as T | undefined)
}

/** One L2 round trip; returns the keys L2 did not answer with a fresh value. */
async function readMany<T>(ctx: CacheContext, batch: Batch<T>, keys: string[]): Promise<string[]> {
  const { prefix, policy, start, stale } = batch
  const l2Keys = keys.map((key) => ctx.rootPrefix + prefix + key)
  const l2 = ctx.l2 as NonNullable<CacheContext['l2']>
  const found = await softly(
    ctx,
    l2.call('getMany', ctx.deadline(policy), (d, signal) => d.getMany(l2Keys, signal)),
    policy,
  )
  if (!Array.isArray(found)) return keys
  const still: string[] = []
  keys.forEach((key, i) => {
    const answer = acceptL2(ctx, { key: prefix + key, policy, start }, found[i])
    if (answer.fresh !== undefined) {
      batch.values.set(key, answer.fresh.value)
      return
    }
    still.push(key)
    const old = stale.get(key)
    if (answer.stale !== undefined && (old === undefined || answer.stale.version > old.version)) {
      stale.set(key, answer.stale)
    }
  })
  return still
}

async function loadMissing<T>(ctx: CacheContext, batch: Batch<T>, keys: string[]): Promise<void> {
  const { prefix, values } = batch
  const joined: Promise<unknown>[] = []
  const own: string[] = []
  for (const key of keys) {
    ctx.counters.misses++
    ctx.events.emit('miss', prefix + key)
    const flight = ctx.flights.get(prefix + key)
    if (flight === undefined) own.push(key)
    else joined.push(flight.then((value) => values.set(key, value)))
  }
  if (own.length > 0) {
    const loading = loadBatch(ctx, batch, own)
    for (const key of own)
      ctx.flights.fly(
        prefix + key,
        loading.then((loaded) => loaded.get(key)),
      )
    for (const [key, value] of await loading) values.set(key, value)
  }
  await Promise.all(joined)
}

/** One loader call for `keys`; stores the results and resolves to them (stale values if it failed within grace). */
async function loadBatch<T>(ctx: CacheContext, batch: Batch<T>, keys: string[]): Promise<Map<string, unknown>> {
  const { prefix, policy, start, stale } = batch
  ctx.counters.loads++
  let loaded: Map<string, unknown>
  try {
    loaded = align(keys, await batch.loader([...keys]))
  } catch (error) {
    ctx.counters.loadErrors++
    ctx.events.emit('loadError', prefix + (keys[0] as string), error)
    const now = ctx.clock.now()
    if (!keys.every((key) => servable(stale.get(key), now) !== undefined)) throw error
    return new Map(keys.map((key) => [key, serveStale(ctx, prefix + key, stale.get(key) as L1Entry)]))
  }
  const stored: [string, PreparedEntry][] = []
  for (const key of keys) {
    const l1Key = prefix + key
    ctx.events.emit('load', l1Key)
    if (ctx.fence.changedSince(l1Key, start)) continue
    const entry = prepareEntry(ctx, loaded.get(key), policy)
    if (entry === undefined) continue
    ctx.fence.stored(l1Key)
    ctx.l1.set(l1Key, entry.l1)
    stored.push([l1Key, entry])
  }
  if (stored.length > 0) ctx.background.track(writeThrough(ctx, stored, ctx.deadline(policy)))
  return loaded
}

function align<T>(keys: string[], result: unknown): Map<string, unknown> {
  if (result instanceof Map) return new Map(keys.map((key) => [key, result.get(key)]))
  if (Array.isArray(result)) {
    if (result.length !== keys.length) {
      throw new BulwarkError(
        'E_INVALID_ARGUMENT',
        `Expected the batch loader to return ${keys.length} values aligned with its keys, got ${describe(result)}`,
      )
    }
    return new Map(keys.map((key, i) => [key, result[i] as T]))
  }
  if (typeof result === 'object' && result !== null) {
    const record = result as Record<string, unknown>
    return new Map(keys.map((key) => [key, Object.hasOwn(record, key) ? record[key] : undefined]))
  }
  throw new BulwarkError(
    'E_INVALID_ARGUMENT',
    `Expected the batch loader to return an array, a Map or an object, got ${describe(result)}`,
  )
}
