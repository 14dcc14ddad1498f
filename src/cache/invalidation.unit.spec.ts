import { describe, expect, it } from 'vitest'
import { deferred, ScriptedDriver } from '../../test/support/cache-scripted-driver.js'
import { fakeClock } from '../testing/fake-clock.js'
import { MemoryBusHub, memoryBus } from './adapters/memory-bus.js'
import { createCache } from './create-cache.js'
import type { BusConnectionHandlers, BusMessage } from './types.js'

/** Two caches standing for two processes: one L2, one bus hub, separate L1s. */
const twoProcesses = async () => {
  const clock = fakeClock(0)
  const l2 = new ScriptedDriver(clock)
  const hub = new MemoryBusHub()
  const busA = memoryBus({ hub })
  const busB = memoryBus({ hub })
  const a = createCache({ clock, l2, bus: busA, ttl: '1h', breaker: false })
  const b = createCache({ clock, l2, bus: busB, ttl: '1h', breaker: false })
  await Promise.all([a.ready(), b.ready()])
  return { clock, l2, hub, busA, busB, a, b }
}

describe('invalidation over the bus', () => {
  it('a set in one cache drops the key from the other L1, which then reads the new value', async () => {
    const { a, b } = await twoProcesses()
    await a.set('k', 'v1')
    expect(await b.get('k')).toBe('v1')
    expect(await b.get('k')).toBe('v1')
    expect(b.stats()).toMatchObject({ l2Hits: 1, l1Hits: 1 })
    await a.set('k', 'v2')
    expect(b.stats().l1Entries).toBe(0)
    expect(await b.get('k')).toBe('v2')
    expect(a.stats()).toMatchObject({ invalidationsSent: 2, invalidationsReceived: 0 })
    expect(b.stats()).toMatchObject({ invalidationsReceived: 2, invalidationsSent: 0 })
  })

  it('a process ignores its own messages', async () => {
    const { a } = await twoProcesses()
    const received: BusMessage[] = []
    a.on('invalidationReceived', (m) => received.push(m))
    await a.set('k', 1)
    await a.delete('j')
    expect(received).toEqual([])
    expect(await a.get('k')).toBe(1)
    expect(a.stats().l1Hits).toBe(1)
  })

  it('names its source to the bus, so a bus can skip its own messages before decoding them', async () => {
    const hub = new MemoryBusHub()
    const bus = memoryBus({ hub })
    let source: string | undefined
    const seen: BusMessage[] = []
    const spy = {
      subscribe: (channel: string, handlers: BusConnectionHandlers) => {
        source = handlers.source
        return bus.subscribe(channel, {
          ...handlers,
          message: (m) => {
            seen.push(m)
            handlers.message(m)
          },
        })
      },
      publish: (channel: string, m: BusMessage) => bus.publish(channel, m),
      close: () => bus.close(),
    }
    const cache = createCache({ bus: spy })
    await cache.ready()
    await cache.set('k', 1)
    expect(source).toEqual(expect.any(String))
    expect(seen).toEqual([]) // the memory bus skipped it: its source is the cache's
    await memoryBus({ hub }).publish('bulwark:cache:bulwark', { source: 'other', type: 'delete', keys: ['bulwark:k'] })
    expect(seen).toHaveLength(1)
    expect(await cache.get('k')).toBeUndefined()
  })

  it('propagates delete, loads, deleteByTag and clear', async () => {
    const { a, b, l2 } = await twoProcesses()
    const fill = async () => {
      await b.getOrSet('plain', () => 'p')
      await b.getOrSet('tagged', () => 't', { tags: ['red'] })
      await b.namespace('ns').set('inside', 'i')
      await b.settled()
    }
    await fill()
    await a.delete('plain')
    expect(await b.has('plain')).toBe(false)

    await fill()
    await l2.inner.delete(['bulwark:plain']) // evicted from L2 only: b's L1 still has it
    await a.getOrSet('plain', () => 'loaded by a') // a's load tells b to drop its copy
    await a.settled()
    expect(await b.get('plain')).toBe('loaded by a')
    await a.deleteByTag('red')
    expect(await b.get('tagged')).toBeUndefined()
    expect(await b.get('plain')).toBe('loaded by a')

    await fill()
    await a.namespace('ns').clear()
    expect(await b.namespace('ns').get('inside')).toBeUndefined()
    expect(await b.get('plain')).toBe('loaded by a')
    expect(b.stats().l1Entries).toBeGreaterThan(0)
    await a.clear()
    expect(b.stats().l1Entries).toBe(0)
  })

  it('flushes L1 when the bus reconnects after a loss, and counts it', async () => {
    const { a, b, busB } = await twoProcesses()
    await b.set('k', 'v1')
    const events: string[] = []
    b.on('busDisconnected', () => events.push('down')).on('busReconnected', () => events.push('up'))
    busB.simulateDisconnect()
    await a.set('k', 'v2') // lost for b
    expect(await b.get('k')).toBe('v1') // b cannot know yet
    busB.simulateReconnect()
    expect(b.stats()).toMatchObject({ busReconnects: 1, l1Entries: 0 })
    expect(await b.get('k')).toBe('v2')
    expect(events).toEqual(['down', 'up'])
  })

  it('a publish that fails never reaches the caller', async () => {
    const { a, busA } = await twoProcesses()
    busA.simulateDisconnect()
    await a.set('k', 1)
    await a.delete('k')
    expect(a.stats().busErrors).toBe(2)
  })

  it('a remote invalidation during a slow L2 read keeps the old value out of L1', async () => {
    const { a, b, l2 } = await twoProcesses()
    await a.set('k', 'old')
    l2.holdGets = deferred()
    const slow = b.get('k')
    await new Promise((r) => setImmediate(r))
    await a.set('k', 'new')
    l2.holdGets.release()
    l2.holdGets = undefined
    expect(await slow).toBe('old')
    expect(b.stats().l1Entries).toBe(0)
    expect(await b.get('k')).toBe('new')
  })

  it('ignores malformed messages and messages for other namespaces', async () => {
    const { hub, b } = await twoProcesses()
    const intruder = memoryBus({ hub })
    await b.set('k', 1)
    await intruder.publish('bulwark:cache:bulwark', { source: 'x', type: 'nonsense' } as never)
    await intruder.publish('bulwark:cache:bulwark', { source: 'x', type: 'delete', keys: ['other:k'] })
    expect(await b.get('k')).toBe(1)
    expect(b.stats().busErrors).toBe(1)
  })

  it('close closes the bus: nothing more is received', async () => {
    const { a, b, busB } = await twoProcesses()
    await b.set('k', 1)
    await b.close()
    expect(busB.connected).toBe(false)
    await a.set('k', 2)
    expect(b.stats().invalidationsReceived).toBe(0)
  })
})
