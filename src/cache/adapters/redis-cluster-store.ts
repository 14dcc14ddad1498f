/**
 * The key layout on a Redis Cluster. Every cache key belongs to one of the driver's slot groups
 * (`redis-slots.ts`), and its entry and the tag sets it joins carry that group's hash tag:
 *
 * ```
 * <keyPrefix>{ttt}k:<key>     the entry
 * <keyPrefix>{ttt}tag:<tag>   the members of <tag> in group ttt (one set per tag and group)
 * <keyPrefix>lock:<key>       a lock (one key: it needs no hash tag)
 * ```
 *
 * So a tagged write is one atomic script in one slot, as on one node. Batches are split by group
 * and sent as one pipeline per master (`redis-cluster-batches.ts`); `deleteByTag` runs its script in
 * every group (a tag's members may be in any of them); `clear` SCANs every master.
 */
import type { Cluster } from 'ioredis'
import { runPerNode, runScriptsPerNode, type SlotCommand } from './redis-cluster-batches.js'
import { escapeGlob } from './redis-codec.js'
import { raceSignal } from './redis-connection.js'
import { DELETE_BY_TAGS, runScript, SET_TAGGED } from './redis-scripts.js'
import { GROUP_TAG_WIDTH, type SlotGroups, slotGroups } from './redis-slots.js'
import { queueWrite, type RedisStore, type RedisWrite } from './redis-store.js'

/** Indexes of `keys` by slot group, in first-seen order of groups. */
function byGroup(groups: SlotGroups, keys: readonly string[]): Map<number, number[]> {
  const grouped = new Map<number, number[]>()
  for (let i = 0; i < keys.length; i++) {
    const group = groups.groupOf(keys[i] as string)
    const list = grouped.get(group)
    if (list) list.push(i)
    else grouped.set(group, [i])
  }
  return grouped
}

function firstError(replies: readonly [Error | null, unknown][]): void {
  for (const [error] of replies) if (error) throw error
}

export class RedisClusterStore implements RedisStore {
  readonly #cluster: Cluster
  readonly #prefix: string
  readonly #groups: SlotGroups
  readonly #batch: number
  /** Length of `<keyPrefix>{ttt}k:`, where every entry key's cache key starts. */
  readonly #cut: number

  constructor(cluster: Cluster, keyPrefix: string, groups: number, clearBatchSize: number) {
    this.#cluster = cluster
    this.#prefix = keyPrefix
    this.#groups = slotGroups(groups)
    this.#batch = clearBatchSize
    this.#cut = keyPrefix.length + GROUP_TAG_WIDTH + 2 + 2
  }

  entryKey(key: string): string {
    return `${this.#prefix}${this.#groups.tags[this.#groups.groupOf(key)]}k:${key}`
  }

  lockKey(key: string): string {
    return `${this.#prefix}lock:${key}`
  }

  async getMany(keys: readonly string[]): Promise<(string | null)[]> {
    const grouped = [...byGroup(this.#groups, keys)]
    const commands = grouped.map(
      ([group, indexes]): SlotCommand => ({
        slot: this.#groups.slots[group] as number,
        queue: (p) => p.mget(indexes.map((i) => this.#entry(group, keys[i] as string))),
      }),
    )
    const replies = await runPerNode(this.#cluster, commands)
    firstError(replies)
    const values = new Array<string | null>(keys.length)
    grouped.forEach(([, indexes], at) => {
      const raws = (replies[at] as [null, (string | null)[]])[1]
      indexes.forEach((index, j) => {
        values[index] = raws[j] ?? null
      })
    })
    return values
  }

  set(write: RedisWrite): Promise<unknown> {
    const group = this.#groups.groupOf(write.key)
    const full = this.#entry(group, write.key)
    if (write.ttl < 0) return this.#cluster.unlink(full)
    if (write.tags && write.tags.length > 0) {
      const keys = [full, ...write.tags.map((tag) => this.#tag(group, tag))]
      return runScript(this.#cluster, SET_TAGGED, keys, [write.payload, write.ttl])
    }
    if (write.ttl === 0) return this.#cluster.set(full, write.payload)
    return this.#cluster.set(full, write.payload, 'PX', write.ttl)
  }

  async setMany(writes: readonly RedisWrite[]): Promise<void> {
    const commands = writes.map((write): SlotCommand => {
      const group = this.#groups.groupOf(write.key)
      const tagKeys = write.tags?.map((tag) => this.#tag(group, tag)) ?? []
      return {
        slot: this.#groups.slots[group] as number,
        queue: (p) => queueWrite(p, this.#entry(group, write.key), write, tagKeys),
      }
    })
    firstError(await runPerNode(this.#cluster, commands))
  }

  async delete(keys: readonly string[]): Promise<number> {
    const commands = [...byGroup(this.#groups, keys)].map(
      ([group, indexes]): SlotCommand => ({
        slot: this.#groups.slots[group] as number,
        queue: (p) => p.unlink(indexes.map((i) => this.#entry(group, keys[i] as string))),
      }),
    )
    const replies = await runPerNode(this.#cluster, commands)
    firstError(replies)
    return replies.reduce((sum, [, count]) => sum + (count as number), 0)
  }

  async deleteByTags(prefix: string, tags: readonly string[]): Promise<string[]> {
    const calls = this.#groups.tags.map((_, group) => ({
      slot: this.#groups.slots[group] as number,
      script: DELETE_BY_TAGS,
      keys: tags.map((tag) => this.#tag(group, tag)),
      args: [this.#entry(group, prefix), ...tags],
    }))
    const deleted = (await runScriptsPerNode(this.#cluster, calls)) as string[][]
    return deleted.flat().map((key) => key.slice(this.#cut))
  }

  async clear(prefix: string, signal: AbortSignal | undefined): Promise<void> {
    const match = `${escapeGlob(this.#prefix)}{${'?'.repeat(GROUP_TAG_WIDTH)}}k:${escapeGlob(prefix)}*`
    const tagAt = this.#prefix.length + 1
    await Promise.all(
      this.#cluster.nodes('master').map(async (node) => {
        let cursor = '0'
        do {
          const [next, keys] = await raceSignal(node.scan(cursor, 'MATCH', match, 'COUNT', this.#batch), signal)
          if (keys.length > 0) {
            // UNLINK of several keys needs them in one slot: one UNLINK per group, one pipeline.
            const grouped = new Map<string, string[]>()
            for (const key of keys) {
              const tag = key.slice(tagAt, tagAt + GROUP_TAG_WIDTH)
              const list = grouped.get(tag)
              if (list) list.push(key)
              else grouped.set(tag, [key])
            }
            const pipeline = node.pipeline()
            for (const list of grouped.values()) pipeline.unlink(list)
            const replies = await raceSignal(pipeline.exec(), signal)
            if (replies) firstError(replies)
          }
          cursor = next
        } while (cursor !== '0')
      }),
    )
  }

  #entry(group: number, key: string): string {
    return `${this.#prefix}${this.#groups.tags[group]}k:${key}`
  }

  #tag(group: number, tag: string): string {
    return `${this.#prefix}${this.#groups.tags[group]}tag:${tag}`
  }
}
