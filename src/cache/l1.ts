import { LRUCache } from 'lru-cache'

/** One value in the in-process level. Times are epoch ms on the cache's clock. */
export interface L1Entry {
  value: unknown
  /** Version of the value (see `Versions`); a read never replaces an entry with an older version. */
  version: number
  /** Fresh until then. */
  expiresAt: number
  /** Servable as stale (grace) until then. */
  staleUntil: number
  /** Past this, a hit starts a background refresh; `Infinity` when refresh-ahead is off. */
  refreshAt: number
  tags: readonly string[] | undefined
  /** Approximate bytes, for the byte bound. */
  size: number
}

/** The in-process level: bounded by entries and by bytes, expiry checked by the engine on its clock. */
export interface L1 {
  readonly enabled: boolean
  get(key: string): L1Entry | undefined
  /** Reads without touching recency (for stats and decisions that are not hits). */
  peek(key: string): L1Entry | undefined
  set(key: string, entry: L1Entry): void
  delete(key: string): boolean
  /** Drops every key that starts with `prefix`; an empty prefix drops everything. Returns how many. */
  deleteByPrefix(prefix: string): number
  /** Drops every key under `prefix` carrying one of `tags`. Returns how many. */
  deleteByTags(prefix: string, tags: readonly string[]): number
  readonly size: number
  readonly bytes: number
}

/** L1 on lru-cache. Expiry is not lru-cache's job here: entries outlive `expiresAt` by their grace period. */
class LruL1 implements L1 {
  readonly enabled = true
  readonly #lru: LRUCache<string, L1Entry>

  constructor(maxEntries: number, maxBytes: number) {
    this.#lru =
      maxBytes > 0
        ? new LRUCache<string, L1Entry>({ max: maxEntries, maxSize: maxBytes, sizeCalculation: (e) => e.size })
        : new LRUCache<string, L1Entry>({ max: maxEntries })
  }

  get(key: string): L1Entry | undefined {
    return this.#lru.get(key)
  }

  peek(key: string): L1Entry | undefined {
    return this.#lru.peek(key)
  }

  set(key: string, entry: L1Entry): void {
    this.#lru.set(key, entry)
  }

  delete(key: string): boolean {
    return this.#lru.delete(key)
  }

  deleteByPrefix(prefix: string): number {
    if (prefix === '') {
      const n = this.#lru.size
      this.#lru.clear()
      return n
    }
    return this.#deleteWhere((key) => key.startsWith(prefix))
  }

  deleteByTags(prefix: string, tags: readonly string[]): number {
    return this.#deleteWhere(
      (key, entry) => key.startsWith(prefix) && entry.tags?.some((t) => tags.includes(t)) === true,
    )
  }

  get size(): number {
    return this.#lru.size
  }

  get bytes(): number {
    return this.#lru.calculatedSize
  }

  #deleteWhere(predicate: (key: string, entry: L1Entry) => boolean): number {
    const doomed: string[] = []
    for (const [key, entry] of this.#lru.entries()) if (predicate(key, entry)) doomed.push(key)
    for (const key of doomed) this.#lru.delete(key)
    return doomed.length
  }
}

/** L1 turned off: every read misses, writes are dropped. */
class DisabledL1 implements L1 {
  readonly enabled = false
  readonly size = 0
  readonly bytes = 0
  get(): undefined {
    return undefined
  }
  peek(): undefined {
    return undefined
  }
  set(): void {}
  delete(): boolean {
    return false
  }
  deleteByPrefix(): number {
    return 0
  }
  deleteByTags(): number {
    return 0
  }
}

/** Builds the L1 level for the resolved `l1` options. */
export function createL1(options: { enabled: boolean; maxEntries: number; maxBytes: number }): L1 {
  return options.enabled ? new LruL1(options.maxEntries, options.maxBytes) : new DisabledL1()
}
