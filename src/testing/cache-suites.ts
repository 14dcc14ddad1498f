/**
 * Conformance suites for the cache's ports. Run them against your own L2 driver or bus: they state
 * what `createCache` relies on, and the memory and Redis adapters pass the same ones.
 *
 * They are vitest suites (`describe`/`it`), so call them at the top level of a spec file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { BusConnectionHandlers, BusMessage, CacheBus, L2Driver, L2Entry } from '../cache/types.js'
import type { Clock } from '../core/clock.js'
import { isBulwarkError } from '../core/errors.js'
import { type FakeClock, fakeClock } from './fake-clock.js'

/** What a suite hands a factory: the clock the driver or bus must take its time from. */
export interface CacheSuiteContext {
  /** A fake clock: the suite moves it to test expiry; pass it to the adapter as its clock. */
  clock: Clock
}

/** Builds a fresh, empty driver for one test. Give it a key prefix of its own if the store is shared. */
export type CacheDriverFactory = (context: CacheSuiteContext) => L2Driver | Promise<L2Driver>
/** Builds one bus; the suite calls it several times per test to stand for several processes. */
export type CacheBusFactory = (context: CacheSuiteContext) => CacheBus | Promise<CacheBus>

const entry = (clock: Clock, value: string, extra: Partial<L2Entry> = {}): L2Entry => ({
  value,
  version: 1,
  expiresAt: clock.now() + 60_000,
  staleUntil: clock.now() + 120_000,
  ...extra,
})

const expectAborted = async (promise: Promise<unknown>) => {
  await expect(promise).rejects.toSatisfy((e: unknown) => isBulwarkError(e, 'E_ABORTED'))
}

/**
 * The L2 driver conformance suite: get/set, batches, delete, tags, prefix-scoped clear, expiry at
 * `staleUntil` (on the fake clock the factory receives), locks when implemented, and abort.
 *
 * @example
 * ```ts
 * import { cacheDriverSuite } from 'bulwark/testing'
 * await cacheDriverSuite('my driver', ({ clock }) => myDriver({ clock, prefix: `test:${Date.now()}:` }))
 * ```
 */
export function cacheDriverSuite(name: string, factory: CacheDriverFactory): void {
  describe(`L2 driver conformance: ${name}`, () => {
    let clock: FakeClock
    let driver: L2Driver

    beforeEach(async () => {
      clock = fakeClock()
      driver = await factory({ clock })
    })
    afterEach(async () => {
      await driver.clear('')
      await driver.close()
    })

    it('reads back exactly what it stored, and undefined for a missing key', async () => {
      const stored = entry(clock, '{"a":1}', { version: 1_700_000_000_123.5, tags: ['t:1', 'products'] })
      await driver.set('s:one', stored)
      expect(await driver.get('s:one')).toEqual(stored)
      expect(await driver.get('s:missing')).toBeUndefined()
    })

    it('keeps any value intact: empty, newlines, colons, unicode, large', async () => {
      const values = ['', '\n\n:1:2:3\n', 'héllo 🌍 \u2028', `"${'x'.repeat(200_000)}"`, '1:2:3:["a"]\nvalue']
      for (const [i, value] of values.entries()) await driver.set(`v:${i}`, entry(clock, value))
      for (const [i, value] of values.entries()) expect((await driver.get(`v:${i}`))?.value).toBe(value)
    })

    it('overwrites an entry, tags included', async () => {
      await driver.set('o:k', entry(clock, 'old', { version: 1, tags: ['a'] }))
      await driver.set('o:k', entry(clock, 'new', { version: 2 }))
      const read = await driver.get('o:k')
      expect(read?.value).toBe('new')
      expect(read?.version).toBe(2)
      expect(read?.tags ?? []).toEqual([])
    })

    it('getMany answers index-aligned, with misses and repeated keys', async () => {
      await driver.setMany([
        ['m:1', entry(clock, 'one')],
        ['m:3', entry(clock, 'three', { tags: ['odd'] })],
      ])
      const read = await driver.getMany(['m:3', 'm:2', 'm:1', 'm:3'])
      expect(read.map((e) => e?.value)).toEqual(['three', undefined, 'one', 'three'])
      expect(read[0]?.tags).toEqual(['odd'])
      expect(await driver.getMany([])).toEqual([])
    })

    it('delete removes the keys and counts the ones that existed', async () => {
      await driver.setMany([
        ['d:1', entry(clock, '1')],
        ['d:2', entry(clock, '2')],
      ])
      expect(await driver.delete(['d:1', 'd:2', 'd:3'])).toBe(2)
      expect(await driver.getMany(['d:1', 'd:2'])).toEqual([undefined, undefined])
      expect(await driver.delete([])).toBe(0)
    })

    it('serves an entry until staleUntil (stale included) and never after', async () => {
      const now = clock.now()
      await driver.set('e:k', entry(clock, 'v', { expiresAt: now + 1_000, staleUntil: now + 3_000 }))
      clock.advance(2_000)
      expect((await driver.get('e:k'))?.value).toBe('v')
      clock.advance(999)
      expect((await driver.getMany(['e:k']))[0]?.value).toBe('v')
      clock.advance(1)
      expect(await driver.get('e:k')).toBeUndefined()
      expect(await driver.getMany(['e:k'])).toEqual([undefined])
    })

    it('an entry written already dead reads as absent, over an older live one', async () => {
      await driver.set('x:k', entry(clock, 'live'))
      await driver.set('x:k', entry(clock, 'dead', { expiresAt: clock.now() - 2, staleUntil: clock.now() - 1 }))
      expect(await driver.get('x:k')).toBeUndefined()
    })

    it('deleteByTags deletes every key under any of the tags, only within the prefix', async () => {
      await driver.setMany([
        ['a:1', entry(clock, '1', { tags: ['red'] })],
        ['a:2', entry(clock, '2', { tags: ['blue', 'red'] })],
        ['a:3', entry(clock, '3', { tags: ['blue'] })],
        ['a:4', entry(clock, '4', { tags: ['green'] })],
        ['a:5', entry(clock, '5')],
        ['b:1', entry(clock, 'b', { tags: ['red'] })],
      ])
      const deleted = await driver.deleteByTags('a:', ['red', 'blue'])
      expect([...deleted].sort()).toEqual(['a:1', 'a:2', 'a:3'])
      const left = await driver.getMany(['a:1', 'a:2', 'a:3', 'a:4', 'a:5', 'b:1'])
      expect(left.map((e) => e?.value)).toEqual([undefined, undefined, undefined, '4', '5', 'b'])
      expect(await driver.deleteByTags('a:', ['red'])).toEqual([])
      expect(await driver.deleteByTags('b:', ['red'])).toEqual(['b:1'])
    })

    it('deleteByTags leaves a key that was written again without that tag', async () => {
      await driver.setMany([
        ['r:moved', entry(clock, 'shoe', { tags: ['category:shoes'] })],
        ['r:untagged', entry(clock, 'shoe', { tags: ['category:shoes'] })],
        ['r:kept', entry(clock, 'shoe', { tags: ['category:shoes'] })],
      ])
      await driver.set('r:moved', entry(clock, 'boot', { version: 2, tags: ['category:boots'] }))
      await driver.set('r:untagged', entry(clock, 'boot', { version: 2 }))
      expect(await driver.deleteByTags('r:', ['category:shoes'])).toEqual(['r:kept'])
      const left = await driver.getMany(['r:moved', 'r:untagged', 'r:kept'])
      expect(left.map((e) => e?.value)).toEqual(['boot', 'boot', undefined])
      expect(await driver.deleteByTags('r:', ['category:boots'])).toEqual(['r:moved'])
    })

    it('clear deletes the keys under the prefix and nothing else, glob characters included', async () => {
      const keys = ['p:1', 'p:2', 'p:a:b', 'pq:1', 'q:p:1', 'x*:1', 'xy:1', 'x?:1', 'x[1]:1', 'x\\:1']
      await driver.setMany(keys.map((key) => [key, entry(clock, key)] as const))
      await driver.clear('p:')
      await driver.clear('x*:')
      await driver.clear('x[')
      const read = await driver.getMany(keys)
      expect(Object.fromEntries(keys.map((key, i) => [key, read[i]?.value]))).toEqual({
        'p:1': undefined,
        'p:2': undefined,
        'p:a:b': undefined,
        'pq:1': 'pq:1',
        'q:p:1': 'q:p:1',
        'x*:1': undefined,
        'xy:1': 'xy:1',
        'x?:1': 'x?:1',
        'x[1]:1': undefined,
        'x\\:1': 'x\\:1',
      })
    })

    it('clear removes many keys, however they are paged', async () => {
      const keys = Array.from({ length: 1_500 }, (_, i) => `many:${i}`)
      await driver.setMany(keys.map((key) => [key, entry(clock, 'v')] as const))
      await driver.set('other:1', entry(clock, 'kept'))
      await driver.clear('many:')
      const read = await driver.getMany(keys)
      expect(read.filter((e) => e !== undefined)).toHaveLength(0)
      expect((await driver.get('other:1'))?.value).toBe('kept')
    })

    it('a lock is held by one token at a time and released only by its holder', async (context) => {
      if (!driver.acquireLock || !driver.releaseLock) return context.skip()
      expect(await driver.acquireLock('l:k', 'token-a', 10_000)).toBe(true)
      expect(await driver.acquireLock('l:k', 'token-b', 10_000)).toBe(false)
      await driver.releaseLock('l:k', 'token-b')
      expect(await driver.acquireLock('l:k', 'token-b', 10_000)).toBe(false)
      await driver.releaseLock('l:k', 'token-a')
      expect(await driver.acquireLock('l:k', 'token-b', 10_000)).toBe(true)
      expect(await driver.get('l:k')).toBeUndefined()
    })

    it('an aborted signal rejects with E_ABORTED and writes nothing', async () => {
      const signal = AbortSignal.abort()
      await driver.set('ab:k', entry(clock, 'kept'))
      await expectAborted(driver.set('ab:k', entry(clock, 'new'), signal))
      await expectAborted(driver.setMany([['ab:n', entry(clock, 'new')]], signal))
      await expectAborted(driver.delete(['ab:k'], signal))
      await expectAborted(driver.clear('ab:', signal))
      await expectAborted(driver.deleteByTags('ab:', ['t'], signal))
      await expectAborted(driver.get('ab:k', signal))
      await expectAborted(driver.getMany(['ab:k'], signal))
      expect((await driver.get('ab:k'))?.value).toBe('kept')
      expect(await driver.get('ab:n')).toBeUndefined()
    })
  })
}

/** Collects the messages and connection events one subscriber sees. */
function listener() {
  const messages: BusMessage[] = []
  let wake: (() => void) | undefined
  const handlers: BusConnectionHandlers = {
    message(message) {
      messages.push(message)
      wake?.()
    },
  }
  /** Resolves once `count` messages have arrived. */
  const received = async (count: number): Promise<BusMessage[]> => {
    while (messages.length < count) await new Promise<void>((resolve) => (wake = resolve))
    return messages
  }
  return { handlers, messages, received }
}

/**
 * The bus conformance suite: every message type crosses intact and in order between two buses,
 * reaches the publisher's own subscription too (the cache filters by `source`), stays on its channel,
 * and stops after `close`.
 *
 * @example
 * ```ts
 * import { cacheBusSuite } from 'bulwark/testing'
 * await cacheBusSuite('my bus', () => myBus({ url: process.env.BUS_URL }))
 * ```
 */
export function cacheBusSuite(name: string, factory: CacheBusFactory): void {
  describe(`cache bus conformance: ${name}`, () => {
    let buses: CacheBus[] = []
    let channel = ''
    let sequence = 0
    const open = async () => {
      const bus = await factory({ clock: fakeClock() })
      buses.push(bus)
      return bus
    }

    beforeEach(() => {
      channel = `bulwark-suite:${process.pid}:${Date.now()}:${sequence++}`
    })
    afterEach(async () => {
      await Promise.all(buses.map((bus) => bus.close()))
      buses = []
    })

    const all: BusMessage[] = [
      { source: 'p1', type: 'set', keys: ['ns:a', 'ns:ü:🌍'], versions: [1_700_000_000_001.5, 2] },
      { source: 'p1', type: 'delete', keys: ['ns:a', 'ns:"quoted"\\'] },
      { source: 'p1', type: 'deleteByTags', prefix: 'ns:', tags: ['red', '__proto__'] },
      { source: 'p1', type: 'clear', prefix: 'ns:' },
    ]

    it('delivers every message type intact and in order to another bus, and to its own', async () => {
      const [publisher, subscriber] = [await open(), await open()]
      const remote = listener()
      const own = listener()
      await subscriber.subscribe(channel, remote.handlers)
      await publisher.subscribe(channel, own.handlers)
      for (const message of all) await publisher.publish(channel, message)
      expect(await remote.received(all.length)).toEqual(all)
      expect(await own.received(all.length)).toEqual(all)
    })

    it('serves several subscriptions on one bus, even on one channel', async () => {
      const [publisher, shared] = [await open(), await open()]
      const first = listener()
      const second = listener()
      const elsewhere = listener()
      await shared.subscribe(channel, first.handlers)
      await shared.subscribe(channel, second.handlers)
      await shared.subscribe(`${channel}:2`, elsewhere.handlers)
      await publisher.publish(channel, all[0] as BusMessage)
      await publisher.publish(`${channel}:2`, all[3] as BusMessage)
      expect(await first.received(1)).toEqual([all[0]])
      expect(await second.received(1)).toEqual([all[0]])
      expect(await elsewhere.received(1)).toEqual([all[3]])
    })

    it('keeps channels apart', async () => {
      const [publisher, subscriber] = [await open(), await open()]
      const mine = listener()
      await subscriber.subscribe(channel, mine.handlers)
      await publisher.publish(`${channel}:other`, { source: 'p1', type: 'clear', prefix: 'other:' })
      await publisher.publish(channel, { source: 'p1', type: 'clear', prefix: 'mine:' })
      await mine.received(1)
      expect(mine.messages).toEqual([{ source: 'p1', type: 'clear', prefix: 'mine:' }])
    })

    it('delivers nothing to a bus after its close', async () => {
      const [publisher, gone, stays] = [await open(), await open(), await open()]
      const goneListener = listener()
      const staysListener = listener()
      await gone.subscribe(channel, goneListener.handlers)
      await stays.subscribe(channel, staysListener.handlers)
      await gone.close()
      await publisher.publish(channel, all[1] as BusMessage)
      await staysListener.received(1)
      expect(goneListener.messages).toEqual([])
    })
  })
}
