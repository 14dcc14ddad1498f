/**
 * A cache in a child process (run through tsx), obeying commands from its parent over IPC: the other
 * "process" of the multi-process tests and of the invalidation benchmark.
 *
 * Each request is `{ id, op, ...args }`; each reply is `{ id, value }` or `{ id, error }`. Every L1
 * invalidation this cache receives is also pushed to the parent as `{ event: 'invalidation', keys, at }`
 * with `at` on the machine-wide monotonic clock (`process.hrtime`), comparable across processes.
 */

import { monitorEventLoopDelay } from 'node:perf_hooks'
import { redisBus, redisCacheDriver } from '../../src/cache/adapters/redis.js'
import type { Cache } from '../../src/cache/index.js'
import { createCache } from '../../src/cache/index.js'

export interface StartOptions {
  /** One Redis; or `cluster` (startup nodes), or `sentinel` (ioredis options with `sentinels` and `name`). */
  url?: string
  cluster?: { host: string; port: number }[]
  sentinel?: { sentinels: { host: string; port: number }[]; name: string }
  namespace: string
  keyPrefix: string
  /** L1 size: small makes most reads go to L2. @default 10000 */
  l1MaxEntries?: number
  /** The cache's hard L2 timeout in ms. @default 1000 */
  hard?: number
}

/** What `hammer` saw, from its start to `hammerStop`. */
export interface HammerReport {
  calls: number
  errors: string[]
  /** Slowest getOrSet, in ms. */
  maxMs: number
  /** Monotonic times of the L2 hits. */
  l2Hits: number[]
  /** Monotonic times at which the bus came back (each one flushed L1). */
  reconnects: number[]
  /** Longest event-loop delay seen, in ms: how late any timer (a timeout's included) could fire. */
  maxLoopDelayMs: number
}

export type Request =
  | ({ op: 'start' } & StartOptions)
  | { op: 'getOrSet'; key: string; value: unknown }
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; value: unknown }
  | { op: 'delete'; key: string }
  | { op: 'stats' }
  | { op: 'hammer'; keys: string[]; workers: number }
  | { op: 'hammerStop' }
  | { op: 'close' }

/** Milliseconds on the monotonic clock shared by every process of the machine. */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6

let cache: Cache | undefined
let hammer: { stop: () => Promise<HammerReport> } | undefined

/** `workers` concurrent loops of getOrSet over `keys` until stopped; records errors, latency, L2 hits. */
function startHammer(target: Cache, keys: string[], workers: number): { stop: () => Promise<HammerReport> } {
  const report: HammerReport = { calls: 0, errors: [], maxMs: 0, l2Hits: [], reconnects: [], maxLoopDelayMs: 0 }
  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()
  // `hit` is emitted for L2 hits only (L1 hits emit nothing).
  const onHit = () => report.l2Hits.push(monotonicMs())
  const onReconnect = () => report.reconnects.push(monotonicMs())
  target.on('hit', onHit)
  target.on('busReconnected', onReconnect)
  let stopped = false
  let next = 0
  const loop = async () => {
    while (!stopped) {
      const key = keys[next++ % keys.length] as string
      const started = monotonicMs()
      try {
        await target.getOrSet(key, () => `value of ${key}`)
      } catch (error) {
        report.errors.push(String(error))
      }
      report.calls++
      report.maxMs = Math.max(report.maxMs, monotonicMs() - started)
      // Yield to I/O between calls, as a server between requests.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  const loops = Array.from({ length: workers }, loop)
  return {
    async stop() {
      stopped = true
      await Promise.all(loops)
      target.off('hit', onHit)
      target.off('busReconnected', onReconnect)
      loopDelay.disable()
      report.maxLoopDelayMs = loopDelay.max / 1e6
      return report
    },
  }
}

function started(): Cache {
  if (!cache) throw new Error('send `start` first')
  return cache
}

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'start': {
      const { url, cluster, sentinel, namespace, keyPrefix } = request
      const l2 = cluster
        ? redisCacheDriver({ cluster: { nodes: cluster }, keyPrefix })
        : sentinel
          ? redisCacheDriver({ connection: sentinel, keyPrefix })
          : redisCacheDriver({ url, keyPrefix })
      cache = createCache({
        namespace,
        ttl: '1m',
        l1: { maxEntries: request.l1MaxEntries ?? 10_000 },
        timeout: { hard: request.hard ?? 1_000 },
        l2,
        // On a cluster or Sentinel the bus shares the driver's client, so both see a failover at once.
        bus: url ? redisBus({ url }) : redisBus({ client: l2.client }),
      })
      cache.on('invalidationReceived', (message) => {
        const keys = message.type === 'set' || message.type === 'delete' ? message.keys : []
        process.send?.({ event: 'invalidation', type: message.type, keys, at: monotonicMs() })
      })
      await cache.ready()
      return process.pid
    }
    case 'getOrSet': {
      let loaded = false
      const value = await started().getOrSet(request.key, () => {
        loaded = true
        return request.value
      })
      return { value, loaded }
    }
    case 'get':
      return started().get(request.key)
    case 'set': {
      const at = monotonicMs()
      await started().set(request.key, request.value)
      return { at }
    }
    case 'delete': {
      const at = monotonicMs()
      await started().delete(request.key)
      return { at }
    }
    case 'stats':
      return started().stats()
    case 'hammer':
      hammer = startHammer(started(), request.keys, request.workers)
      return null
    case 'hammerStop': {
      const report = await hammer?.stop()
      hammer = undefined
      return report
    }
    case 'close':
      await cache?.close()
      setImmediate(() => process.exit(0))
      return null
  }
}

process.on('message', (message: { id: number } & Request) => {
  handle(message).then(
    (value) => process.send?.({ id: message.id, value }),
    (error: Error) => process.send?.({ id: message.id, error: error.stack ?? String(error) }),
  )
})
process.send?.({ event: 'online' })
