import type { BusMessage } from './types.js'

/** Counters since the cache was created (shared by a cache and its namespaces). */
export interface CacheStats {
  /** Reads answered from L1 with a fresh value. */
  l1Hits: number
  /** Reads answered from L2 with a fresh value. */
  l2Hits: number
  /** Reads that found no fresh value in any level. */
  misses: number
  /** Loader calls (foreground, background refreshes and batch loads). */
  loads: number
  /** Loader calls that threw or rejected. */
  loadErrors: number
  /** Stale values served within their grace period because the loader or L2 failed. */
  staleServed: number
  /** Background refreshes started by refresh-ahead. */
  refreshes: number
  /** Invalidation messages this cache published. */
  invalidationsSent: number
  /** Invalidation messages from other caches acted on (own messages are not counted). */
  invalidationsReceived: number
  /** Times the bus came back after a loss (each one flushes L1). */
  busReconnects: number
  /** Bus publish or subscribe failures (never thrown to callers). */
  busErrors: number
  /** L2 calls that failed, timed out or were refused by the open breaker (never thrown to callers). */
  l2Errors: number
  /** Entries in L1 now. */
  l1Entries: number
  /** Approximate bytes in L1 now. */
  l1Bytes: number
}

/** The counters the engine increments; `l1Entries` and `l1Bytes` are read from L1 when a snapshot is taken. */
export type Counters = Omit<CacheStats, 'l1Entries' | 'l1Bytes'>

export function createCounters(): Counters {
  return {
    l1Hits: 0,
    l2Hits: 0,
    misses: 0,
    loads: 0,
    loadErrors: 0,
    staleServed: 0,
    refreshes: 0,
    invalidationsSent: 0,
    invalidationsReceived: 0,
    busReconnects: 0,
    busErrors: 0,
    l2Errors: 0,
  }
}

/**
 * Events of a cache, all in one type. Keys are as the cache stores them in L1 (a namespace's prefix
 * included). L1 hits emit nothing, to keep the hit path free.
 */
export type CacheEvents = {
  /** A fresh value came from L2 (L1 hits emit nothing: see above). */
  hit: (key: string) => void
  /** No fresh value anywhere. */
  miss: (key: string) => void
  /** A loader finished. */
  load: (key: string) => void
  /** A loader failed (the caller gets the error, or a stale value within grace). */
  loadError: (key: string, error: unknown) => void
  /** A stale value was served because the loader or L2 failed. */
  staleServed: (key: string) => void
  /** Refresh-ahead started a background refresh. */
  refresh: (key: string) => void
  /** An L2 call failed, timed out or was refused by the breaker. */
  l2Error: (operation: string, error: unknown) => void
  /** A bus publish or subscribe failed. */
  busError: (error: unknown) => void
  /** This cache published an invalidation. */
  invalidationSent: (message: BusMessage) => void
  /** An invalidation from another cache was applied to L1. */
  invalidationReceived: (message: BusMessage) => void
  /** The bus connection was lost. */
  busDisconnected: () => void
  /** The bus connection came back; L1 was flushed. */
  busReconnected: () => void
}
