/**
 * Three cache processes on a private three-master cluster: a write in any one reaches the L1 of the
 * other two, for keys spread over every slot group; the write-to-invalidation latency (p50, p99) is
 * printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { slotGroups } from '../../src/cache/adapters/redis-slots.js'
import { type CacheProcess, forkCacheProcess } from '../support/cache-process-harness.js'
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js'

const namespace = 'xproc'
const KEYS = 600

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN

describe('cache across three processes on a cluster', () => {
  let cluster: RedisCluster
  let processes: CacheProcess[] = []
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 })
    const options = { cluster: [...cluster.startupNodes], namespace, keyPrefix: 'bulwark-xproc:' }
    processes = await Promise.all([0, 1, 2].map(() => forkCacheProcess(options)))
  })
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.close()))
    await cluster?.close()
  })

  it('a set in any process drops the key from the other two L1s, whichever slot it is in', async () => {
    const keys = Array.from({ length: KEYS }, (_, i) => `item:${i}`)
    const groups = slotGroups(256)
    // The keys cover most of the 256 slot groups, so every master.
    expect(new Set(keys.map((key) => groups.groupOf(`${namespace}:${key}`))).size).toBeGreaterThan(200)
    const latencies: number[] = []
    for (const [i, key] of keys.entries()) {
      const writer = processes[i % 3] as CacheProcess
      const readers = processes.filter((p) => p !== writer)
      // The readers hold the old value in L1. The first one loads it and writes L2 and the bus in the
      // background: the second reads it from L2 only once that message reached it, so that the only
      // message still on its way is the writer's.
      const [first, second] = readers as [CacheProcess, CacheProcess]
      const loadedSeen = second.nextInvalidation(key)
      await first.request({ op: 'getOrSet', key, value: 'old' })
      await loadedSeen
      await second.request({ op: 'getOrSet', key, value: 'old' })
      const dropped = readers.map((reader) => reader.nextInvalidation(key))
      const { at } = await writer.request<{ at: number }>({ op: 'set', key, value: `new ${i}` })
      for (const event of await Promise.all(dropped)) latencies.push(event.at - at)
      for (const reader of readers) expect(await reader.request({ op: 'get', key })).toBe(`new ${i}`)
    }
    latencies.sort((a, b) => a - b)
    console.log(
      `cluster invalidation, ${latencies.length} deliveries over ${KEYS} keys: p50 ${percentile(latencies, 0.5).toFixed(2)} ms, ` +
        `p99 ${percentile(latencies, 0.99).toFixed(2)} ms, max ${(latencies.at(-1) ?? NaN).toFixed(2)} ms`,
    )
    expect(latencies).toHaveLength(KEYS * 2)
  })
})
