/**
 * A cache in a child process (run through tsx), obeying commands from its parent over IPC: the other
 * "process" of the multi-process tests and of the invalidation benchmark.
 *
 * Each request is `{ id, op, ...args }`; each reply is `{ id, value }` or `{ id, error }`. Every L1
 * invalidation this cache receives is also pushed to the parent as `{ event: 'invalidation', keys, at }`
 * with `at` on the machine-wide monotonic clock (`process.hrtime`), comparable across processes.
 */

import { redisBus, redisCacheDriver } from '../../src/cache/adapters/redis.js'
import type { Cache } from '../../src/cache/index.js'
import { createCache } from '../../src/cache/index.js'

export interface StartOptions {
  url: string
  namespace: string
  keyPrefix: string
}

export type Request =
  | ({ op: 'start' } & StartOptions)
  | { op: 'getOrSet'; key: string; value: unknown }
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; value: unknown }
  | { op: 'delete'; key: string }
  | { op: 'stats' }
  | { op: 'close' }

/** Milliseconds on the monotonic clock shared by every process of the machine. */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6

let cache: Cache | undefined

function started(): Cache {
  if (!cache) throw new Error('send `start` first')
  return cache
}

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'start': {
      const { url, namespace, keyPrefix } = request
      cache = createCache({
        namespace,
        ttl: '1m',
        l2: redisCacheDriver({ url, keyPrefix }),
        bus: redisBus({ url }),
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
    case 'close':
      await cache?.disconnect()
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
