/**
 * Test support (not exported): an L2 driver over the memory driver whose calls a test can make fail,
 * hang, or hold back by hand, to prove the cache's fallbacks and version ordering.
 */

import { MemoryCacheDriver } from '../../src/cache/adapters/memory.js'
import type { L2Driver, L2Entry } from '../../src/cache/types.js'
import type { Clock } from '../../src/core/clock.js'

export interface Deferred {
  promise: Promise<void>
  release(): void
}

export function deferred(): Deferred {
  let release!: () => void
  const promise = new Promise<void>((resolve) => {
    release = resolve
  })
  return { promise, release }
}

type Operation = 'get' | 'getMany' | 'set' | 'setMany' | 'delete' | 'deleteByTags' | 'clear' | 'acquireLock'

export class ScriptedDriver implements L2Driver {
  readonly name = 'scripted'
  readonly inner: MemoryCacheDriver
  /** What every call does: answer, throw, or never answer (ignoring its abort signal, like a hung socket). */
  mode: 'ok' | 'throw' | 'hang' = 'ok'
  /** When set, `get` reads the store now but answers only once the test releases it (a slow read). */
  holdGets: Deferred | undefined
  readonly calls: Record<Operation, number> = {
    get: 0,
    getMany: 0,
    set: 0,
    setMany: 0,
    delete: 0,
    deleteByTags: 0,
    clear: 0,
    acquireLock: 0,
  }

  constructor(clock: Clock) {
    this.inner = new MemoryCacheDriver({ clock })
  }

  async get(key: string, signal?: AbortSignal): Promise<L2Entry | undefined> {
    await this.#enter('get')
    const found = await this.inner.get(key, signal)
    if (this.holdGets !== undefined) await this.holdGets.promise
    return found
  }
  async getMany(keys: readonly string[], signal?: AbortSignal) {
    await this.#enter('getMany')
    return this.inner.getMany(keys, signal)
  }
  async set(key: string, entry: L2Entry, signal?: AbortSignal) {
    await this.#enter('set')
    return this.inner.set(key, entry, signal)
  }
  async setMany(entries: readonly (readonly [string, L2Entry])[], signal?: AbortSignal) {
    await this.#enter('setMany')
    return this.inner.setMany(entries, signal)
  }
  async delete(keys: readonly string[], signal?: AbortSignal) {
    await this.#enter('delete')
    return this.inner.delete(keys, signal)
  }
  async deleteByTags(prefix: string, tags: readonly string[], signal?: AbortSignal) {
    await this.#enter('deleteByTags')
    return this.inner.deleteByTags(prefix, tags, signal)
  }
  async clear(prefix: string, signal?: AbortSignal) {
    await this.#enter('clear')
    return this.inner.clear(prefix, signal)
  }
  async acquireLock(key: string, token: string, ttlMs: number, signal?: AbortSignal) {
    await this.#enter('acquireLock')
    return this.inner.acquireLock(key, token, ttlMs, signal)
  }
  releaseLock(key: string, token: string) {
    return this.inner.releaseLock(key, token)
  }
  async close() {}

  async #enter(operation: Operation): Promise<void> {
    this.calls[operation]++
    if (this.mode === 'throw') throw new Error(`L2 ${operation} failed`)
    if (this.mode === 'hang') await new Promise<never>(() => {})
  }
}
