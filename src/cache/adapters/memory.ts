import { throwIfAborted } from '../../core/abort.js'
import type { Clock } from '../../core/clock.js'
import { expectOptions, optionalClock, optionKeys } from '../../core/validate.js'
import type { L2Driver, L2Entry } from '../types.js'

/** Options of {@link memoryCacheDriver}. */
export interface MemoryCacheDriverOptions {
  /** Source of time for expiry and lock TTLs. @default systemClock */
  clock?: Clock
}

interface Lock {
  token: string
  expiresAt: number
}

/**
 * An L2 driver in process memory: entries expire at their `staleUntil` on the injected clock, tags
 * and prefix clears work as on Redis, locks expire. Entries are copied in and out, so a caller
 * mutating an object never changes what is stored. For tests, examples and single-process use.
 */
export class MemoryCacheDriver implements L2Driver {
  readonly name = 'memory'
  readonly #clock: Clock
  readonly #entries = new Map<string, L2Entry>()
  readonly #tagged = new Map<string, Set<string>>()
  readonly #locks = new Map<string, Lock>()

  constructor(options: MemoryCacheDriverOptions = {}) {
    const o = expectOptions('options', options, optionKeys<MemoryCacheDriverOptions>({ clock: true }))
    this.#clock = optionalClock('clock', o.clock)
  }

  /** Live entries (not past `staleUntil`) now stored. */
  get size(): number {
    for (const key of [...this.#entries.keys()]) this.#live(key)
    return this.#entries.size
  }

  async get(key: string, signal?: AbortSignal): Promise<L2Entry | undefined> {
    throwIfAborted(signal)
    return copy(this.#live(key))
  }

  async getMany(keys: readonly string[], signal?: AbortSignal): Promise<(L2Entry | undefined)[]> {
    throwIfAborted(signal)
    return keys.map((key) => copy(this.#live(key)))
  }

  async set(key: string, entry: L2Entry, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal)
    this.#store(key, entry)
  }

  async setMany(entries: readonly (readonly [key: string, entry: L2Entry])[], signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal)
    for (const [key, entry] of entries) this.#store(key, entry)
  }

  async delete(keys: readonly string[], signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal)
    let deleted = 0
    for (const key of keys) if (this.#live(key) !== undefined && this.#remove(key)) deleted++
    return deleted
  }

  async deleteByTags(prefix: string, tags: readonly string[], signal?: AbortSignal): Promise<string[]> {
    throwIfAborted(signal)
    const doomed = new Set<string>()
    for (const tag of tags) {
      for (const key of this.#tagged.get(tag) ?? []) if (key.startsWith(prefix)) doomed.add(key)
    }
    const deleted: string[] = []
    for (const key of doomed) {
      const live = this.#live(key) !== undefined
      this.#remove(key)
      if (live) deleted.push(key)
    }
    return deleted
  }

  async clear(prefix: string, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal)
    for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix)) this.#remove(key)
  }

  async acquireLock(key: string, token: string, ttlMs: number, signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal)
    const now = this.#clock.now()
    const held = this.#locks.get(key)
    if (held !== undefined && now < held.expiresAt) return false
    this.#locks.set(key, { token, expiresAt: now + ttlMs })
    return true
  }

  async releaseLock(key: string, token: string): Promise<void> {
    if (this.#locks.get(key)?.token === token) this.#locks.delete(key)
  }

  async close(): Promise<void> {}

  #live(key: string): L2Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (this.#clock.now() < entry.staleUntil) return entry
    this.#remove(key)
    return undefined
  }

  #store(key: string, entry: L2Entry): void {
    this.#remove(key)
    const stored = copy(entry) as L2Entry
    this.#entries.set(key, stored)
    for (const tag of stored.tags ?? []) {
      const keys = this.#tagged.get(tag)
      if (keys === undefined) this.#tagged.set(tag, new Set([key]))
      else keys.add(key)
    }
  }

  #remove(key: string): boolean {
    const entry = this.#entries.get(key)
    if (entry === undefined) return false
    this.#entries.delete(key)
    for (const tag of entry.tags ?? []) {
      const keys = this.#tagged.get(tag)
      keys?.delete(key)
      if (keys?.size === 0) this.#tagged.delete(tag)
    }
    return true
  }
}

function copy(entry: L2Entry | undefined): L2Entry | undefined {
  if (entry === undefined) return undefined
  const { tags, ...rest } = entry
  return tags === undefined ? rest : { ...rest, tags: [...tags] }
}

/**
 * Creates an in-memory L2 driver.
 *
 * @example
 * ```ts
 * const clock = fakeClock()
 * const l2 = memoryCacheDriver({ clock })
 * const cache = createCache({ l2, clock })
 * ```
 */
export function memoryCacheDriver(options?: MemoryCacheDriverOptions): MemoryCacheDriver {
  return new MemoryCacheDriver(options)
}
