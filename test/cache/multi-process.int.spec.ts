/**
 * Two caches in two OS processes, sharing Redis (L2 and bus): a write or delete in one drops the key
 * from the other's L1, and a process never acts on its own messages.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { type CacheProcess, forkCacheProcess } from '../support/cache-process-harness.js'
import { unlinkMatching } from '../support/redis-server.js'
import { describeWithRedis, redisUrl } from '../support/services.js'

const keyPrefix = `bulwark-test:multi-process:${process.pid}:${Date.now()}:`

describeWithRedis('cache across two processes', () => {
  let writer: CacheProcess
  let reader: CacheProcess

  beforeAll(async () => {
    const options = { url: redisUrl(), namespace: `mp${process.pid}`, keyPrefix }
    ;[writer, reader] = await Promise.all([forkCacheProcess(options), forkCacheProcess(options)])
  })
  afterAll(async () => {
    await Promise.all([writer?.close(), reader?.close()])
    const admin = new Redis(redisUrl())
    await unlinkMatching(admin, `${keyPrefix}*`)
    admin.disconnect()
  })

  it('runs the two caches in two different OS processes', () => {
    expect(new Set([process.pid, writer.pid, reader.pid]).size).toBe(3)
  })

  it('a set in one process drops the key from the other L1, which then reads the new value from L2', async () => {
    expect(await reader.request({ op: 'getOrSet', key: 'product:1', value: 'v1' })).toEqual({
      value: 'v1',
      loaded: true,
    })
    expect(await reader.request({ op: 'getOrSet', key: 'product:1', value: 'unused' })).toEqual({
      value: 'v1',
      loaded: false,
    })
    const before = await reader.stats()
    expect(before.l1Hits).toBe(1)

    const dropped = reader.nextInvalidation('product:1')
    await writer.request({ op: 'set', key: 'product:1', value: 'v2' })
    await dropped

    expect(await reader.request({ op: 'get', key: 'product:1' })).toBe('v2')
    const after = await reader.stats()
    expect(after.l1Hits).toBe(before.l1Hits)
    expect(after.l2Hits).toBe(before.l2Hits + 1)
    expect(after.invalidationsReceived).toBe(before.invalidationsReceived + 1)
  })

  it('a delete in one process drops the key from the other L1', async () => {
    await reader.request({ op: 'getOrSet', key: 'product:2', value: 'kept?' })
    await writer.request({ op: 'getOrSet', key: 'product:2', value: 'unused' })
    const dropped = reader.nextInvalidation('product:2')
    await writer.request({ op: 'delete', key: 'product:2' })
    await dropped
    expect(await reader.request({ op: 'get', key: 'product:2' })).toBeUndefined()
    expect(await reader.request({ op: 'getOrSet', key: 'product:2', value: 'reloaded' })).toEqual({
      value: 'reloaded',
      loaded: true,
    })
  })

  it('a process never acts on its own messages', async () => {
    await vi.waitFor(async () => {
      const [writes, reads] = [await writer.stats(), await reader.stats()]
      expect(writes.invalidationsSent).toBeGreaterThanOrEqual(2)
      expect(reads.invalidationsReceived).toBeGreaterThanOrEqual(2)
    })
    // The writer received the reader's load messages, never its own set/delete.
    const ownKeys = writer.invalidations.filter((event) => event.type === 'delete')
    expect(ownKeys).toEqual([])
  })
})
