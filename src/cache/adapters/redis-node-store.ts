/**
 * The key layout on one Redis (a plain client or a Sentinel-configured one): entries under
 * `<keyPrefix>k:`, tag sets under `<keyPrefix>tag:`, locks under `<keyPrefix>lock:`. Any key may sit
 * with any other in one command, so batches are one MGET or one MULTI/EXEC.
 */
import type { Redis } from 'ioredis'
import { escapeGlob } from './redis-codec.js'
import { raceSignal } from './redis-connection.js'
import { DELETE_BY_TAGS, runScript, SET_TAGGED } from './redis-scripts.js'
import { queueWrite, type RedisStore, type RedisWrite } from './redis-store.js'

export class RedisNodeStore implements RedisStore {
  readonly #client: Redis
  readonly #entryPrefix: string
  readonly #tagPrefix: string
  readonly #lockPrefix: string
  readonly #batch: number

  constructor(client: Redis, keyPrefix: string, clearBatchSize: number) {
    this.#client = client
    this.#entryPrefix = `${keyPrefix}k:`
    this.#tagPrefix = `${keyPrefix}tag:`
    this.#lockPrefix = `${keyPrefix}lock:`
    this.#batch = clearBatchSize
  }

  entryKey(key: string): string {
    return this.#entryPrefix + key
  }

  lockKey(key: string): string {
    return this.#lockPrefix + key
  }

  getMany(keys: readonly string[]): Promise<(string | null)[]> {
    return this.#client.mget(keys.map((key) => this.#entryPrefix + key))
  }

  set(write: RedisWrite): Promise<unknown> {
    const full = this.#entryPrefix + write.key
    if (write.ttl < 0) return this.#client.unlink(full)
    if (write.tags && write.tags.length > 0) {
      const keys = [full, ...write.tags.map((tag) => this.#tagPrefix + tag)]
      return runScript(this.#client, SET_TAGGED, keys, [write.payload, write.ttl])
    }
    if (write.ttl === 0) return this.#client.set(full, write.payload)
    return this.#client.set(full, write.payload, 'PX', write.ttl)
  }

  async setMany(writes: readonly RedisWrite[]): Promise<void> {
    const transaction = this.#client.multi()
    for (const write of writes) {
      const tagKeys = write.tags?.map((tag) => this.#tagPrefix + tag) ?? []
      queueWrite(transaction, this.#entryPrefix + write.key, write, tagKeys)
    }
    const results = await transaction.exec()
    const failed = results?.find(([error]) => error !== null)
    if (!results || failed) throw failed?.[0] ?? new Error('transaction discarded')
  }

  delete(keys: readonly string[]): Promise<number> {
    return this.#client.unlink(keys.map((key) => this.#entryPrefix + key))
  }

  async deleteByTags(prefix: string, tags: readonly string[]): Promise<string[]> {
    const tagKeys = tags.map((tag) => this.#tagPrefix + tag)
    const deleted = (await runScript(this.#client, DELETE_BY_TAGS, tagKeys, [
      this.#entryPrefix + prefix,
      ...tags,
    ])) as string[]
    const cut = this.#entryPrefix.length
    return deleted.map((key) => key.slice(cut))
  }

  async clear(prefix: string, signal: AbortSignal | undefined): Promise<void> {
    const match = `${escapeGlob(this.#entryPrefix + prefix)}*`
    let cursor = '0'
    do {
      const [next, keys] = await raceSignal(this.#client.scan(cursor, 'MATCH', match, 'COUNT', this.#batch), signal)
      if (keys.length > 0) await raceSignal(this.#client.unlink(keys), signal)
      cursor = next
    } while (cursor !== '0')
  }
}
