/**
 * Failover under load: two cache processes, 50 concurrent getOrSet workers each on hot keys that live
 * on one Redis master, which is SIGKILLed; its replica is promoted (by the cluster itself, or by
 * Sentinel). No caller sees an error, no call outlives the hard timeout by more than scheduling, each
 * process flushes L1 exactly once, and L2 hits resume (the time until they do is printed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { slotGroups, slotOf } from '../../src/cache/adapters/redis-slots.js'
import type { HammerReport, StartOptions } from '../support/cache-process.js'
import { type CacheProcess, forkCacheProcess } from '../support/cache-process-harness.js'
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js'
import { type RedisSentinel, startRedisSentinel } from '../support/redis-sentinel.js'
import { until } from '../support/redis-server.js'

const HARD_MS = 500
const WORKERS = 50
const namespace = 'failover'
const keyPrefix = 'bulwark-failover:'
const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6

/**
 * Forks two cache processes, runs the workers over `keys`, calls `kill` (SIGKILL of the master) and
 * `promoted` (waits for its replica to take over), waits for L2 hits in both, and checks what each
 * process went through.
 */
async function hammerThroughFailover(
  label: string,
  connection: Pick<StartOptions, 'cluster' | 'sentinel'>,
  keys: string[],
  failover: { kill(): Promise<void>; promoted(): Promise<void> },
): Promise<void> {
  // A small L1 sends most reads to L2, so a dead master is felt by every worker.
  const options: StartOptions = { ...connection, namespace, keyPrefix, l1MaxEntries: 5, hard: HARD_MS }
  const processes: CacheProcess[] = await Promise.all([forkCacheProcess(options), forkCacheProcess(options)])
  try {
    await Promise.all(processes.map((p) => p.request({ op: 'hammer', keys, workers: WORKERS })))
    await until('L2 hits before the failure', 10_000, async () => {
      const stats = await Promise.all(processes.map((p) => p.stats()))
      return stats.every((s) => s.l2Hits > 100) ? true : undefined
    })
    const before = await Promise.all(processes.map((p) => p.stats()))
    await failover.kill()
    const killedAt = monotonicMs()
    await failover.promoted()
    const promotedAt = monotonicMs()
    // L2 hits resume in both processes (after the breaker lets L2 calls through again): counted from
    // the promotion, since a fast process makes 100 hits between `before` and the kill landing.
    const promoted = await Promise.all(processes.map((p) => p.stats()))
    await until('L2 hits after the failover', 30_000, async () => {
      const stats = await Promise.all(processes.map((p) => p.stats()))
      return stats.every((s, i) => s.l2Hits > (promoted[i]?.l2Hits ?? 0) + 100) ? true : undefined
    })
    const reports = await Promise.all(processes.map((p) => p.request<HammerReport>({ op: 'hammerStop' })))
    const after = await Promise.all(processes.map((p) => p.stats()))
    for (const [i, report] of reports.entries()) {
      const resumed = report.l2Hits.find((at) => at > killedAt)
      console.log(
        `${label}, process ${i + 1}: ${report.calls} getOrSet calls, ${report.errors.length} errors, slowest ${report.maxMs.toFixed(0)} ms ` +
          `(hard timeout ${HARD_MS} ms, longest event-loop delay ${report.maxLoopDelayMs.toFixed(0)} ms), promotion ${(promotedAt - killedAt).toFixed(0)} ms after the kill, L2 hits resumed ` +
          `${resumed === undefined ? 'never' : `${(resumed - killedAt).toFixed(0)} ms`} after the kill, ` +
          `L1 flushes ${(after[i]?.busReconnects ?? 0) - (before[i]?.busReconnects ?? 0)}`,
      )
    }
    for (const [i, report] of reports.entries()) {
      expect(report.errors).toEqual([])
      // The hard timeout bounds each L2 call, but its timer fires only when the event loop gets to it:
      // on a loaded machine (2 cores, other suites running) the loop itself stalls for hundreds of ms.
      // A wall-clock bound: the failover (SIGKILL, promotion, ioredis's reconnects) runs on real timers in
      // real processes, which no fake clock can drive.
      expect(report.maxMs).toBeLessThan(HARD_MS + report.maxLoopDelayMs + 100)
      expect((after[i]?.busReconnects ?? 0) - (before[i]?.busReconnects ?? 0)).toBe(1)
      expect(report.l2Hits.some((at) => at > promotedAt)).toBe(true)
    }
  } finally {
    await Promise.all(processes.map((p) => p.close()))
  }
}

describe('failover of a cluster master under load', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeout: 1_000 })
  })
  afterAll(() => cluster?.close())

  it('the master of the hot keys is SIGKILLed and its replica promoted', async () => {
    // Hot keys: the ones whose slot group the first key's master serves.
    const groups = slotGroups(256)
    const shards = (await cluster.command(cluster.ports[0] as number, 'CLUSTER', 'SLOTS')) as [
      number,
      number,
      [string, number],
    ][]
    const ownerOf = (key: string) => {
      const slot = slotOf(groups.tags[groups.groupOf(`${namespace}:${key}`)] as string)
      return shards.find(([from, to]) => slot >= from && slot <= to)?.[2][1]
    }
    const victim = ownerOf('hot:0') as number
    const keys = Array.from({ length: 400 }, (_, i) => `hot:${i}`)
      .filter((key) => ownerOf(key) === victim)
      .slice(0, 40)
    await hammerThroughFailover('cluster', { cluster: [...cluster.startupNodes] }, keys, {
      kill: () => cluster.kill(victim),
      promoted: async () => {
        await cluster.waitForFailover(victim)
      },
    })
  })
})

describe('failover of a Sentinel-managed primary under load', () => {
  let sentinel: RedisSentinel
  beforeAll(async () => {
    sentinel = await startRedisSentinel({ downAfterMs: 1_000 })
  })
  afterAll(() => sentinel?.close())

  it('the primary is SIGKILLed and Sentinel promotes the replica', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `hot:${i}`)
    let old = 0
    await hammerThroughFailover('sentinel', { sentinel: sentinel.connection as StartOptions['sentinel'] }, keys, {
      kill: async () => {
        old = await sentinel.killPrimary()
      },
      promoted: async () => {
        await sentinel.waitForFailover(old)
      },
    })
  })
})
