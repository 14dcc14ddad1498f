import { BulwarkError, isBulwarkError } from '../core/errors.js'
import type { CacheContext } from './context.js'
import type { L1Entry } from './l1.js'
import type { Policy } from './options.js'
import type { L2Entry } from './types.js'

// JSON never produces an empty string, so it marks `undefined` (which JSON cannot carry) in L2.
const UNDEFINED_RAW = ''
// Rough per-entry overhead (entry object, map slot) added to the payload for the byte bound.
const ENTRY_OVERHEAD = 64

/** An entry ready for both levels. `l2` is set only when the cache has L2. */
export interface PreparedEntry {
  l1: L1Entry
  l2: L2Entry | undefined
}

/**
 * Builds the entry for `value` written `now` (the clock's time, if the caller has just read it), or
 * returns `undefined` when the policy says not to
 * cache it (a TTL of 0 without grace, or `negativeTtl: 0` for null/undefined). Serialization errors
 * are thrown before anything is written.
 */
export function prepareEntry(
  ctx: CacheContext,
  value: unknown,
  policy: Policy,
  now = ctx.clock.now(),
): PreparedEntry | undefined {
  const baseTtl = value === null || value === undefined ? (policy.negativeTtl ?? policy.ttl) : policy.ttl
  const ttl = policy.jitter > 0 ? Math.round(baseTtl * (1 + policy.jitter * (2 * Math.random() - 1))) : baseTtl
  if (ttl <= 0 && policy.grace <= 0) return undefined
  const expiresAt = now + ttl
  const staleUntil = expiresAt + policy.grace
  // Serialized even without L2, so a value is accepted or rejected the same whatever the configuration.
  const raw = encode(ctx, value)
  const version = ctx.versions.next(now)
  const l1: L1Entry = {
    value,
    version,
    expiresAt,
    staleUntil,
    refreshAt: policy.refreshAhead > 0 ? now + ttl * policy.refreshAhead : Number.POSITIVE_INFINITY,
    tags: policy.tags,
    size: ENTRY_OVERHEAD + raw.length * 2,
  }
  if (ctx.l2 === undefined) return { l1, l2: undefined }
  const l2: L2Entry = { value: raw, version, expiresAt, staleUntil }
  if (policy.tags !== undefined && policy.tags.length > 0) l2.tags = policy.tags
  return { l1, l2 }
}

/** Turns an L2 entry into an L1 one, or `undefined` if its payload does not deserialize. */
export function fromL2(ctx: CacheContext, entry: L2Entry, policy: Policy): L1Entry | undefined {
  let value: unknown
  try {
    value = decode(ctx, entry.value)
  } catch (error) {
    ctx.counters.l2Errors++
    ctx.events.emit('l2Error', 'deserialize', error)
    return undefined
  }
  // L2 does not carry the write time; refresh-ahead counts back from the expiry with this call's TTL.
  const refreshAt =
    policy.refreshAhead > 0 ? entry.expiresAt - policy.ttl * (1 - policy.refreshAhead) : Number.POSITIVE_INFINITY
  return {
    value,
    version: entry.version,
    expiresAt: entry.expiresAt,
    staleUntil: entry.staleUntil,
    refreshAt,
    tags: entry.tags,
    size: ENTRY_OVERHEAD + entry.value.length * 2,
  }
}

/** One read of one L1 key: how its result is cached, and when it began (see `Fence`). */
export interface Read {
  readonly key: string
  readonly policy: Policy
  readonly start: number
}

/**
 * Puts an entry read from L2 into L1 unless a newer state is known there: a write or invalidation of
 * the key since the read began, or an entry with a newer version.
 */
export function fillL1(ctx: CacheContext, read: Read, entry: L1Entry): void {
  if (!ctx.l1.enabled) return
  const { key } = read
  if (ctx.fence.changedSince(key, read.start)) return
  const current = ctx.l1.peek(key)
  if (current !== undefined && current.version >= entry.version) return
  ctx.l1.set(key, entry)
}

function encode(ctx: CacheContext, value: unknown): string {
  if (value === undefined) return UNDEFINED_RAW
  try {
    return ctx.serializer.serialize(value)
  } catch (error) {
    if (isBulwarkError(error, 'E_SERIALIZATION')) throw error
    throw new BulwarkError('E_SERIALIZATION', `Cannot serialize the value: ${(error as Error).message}`, {
      cause: error,
    })
  }
}

function decode(ctx: CacheContext, raw: string): unknown {
  return raw === UNDEFINED_RAW ? undefined : ctx.serializer.deserialize(raw)
}
