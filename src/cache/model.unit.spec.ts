/**
 * Model-based test: random sequences of operations on two caches (two processes sharing an L2 and a
 * bus) must read exactly what a plain map with expiry says, whichever cache reads. This checks TTLs,
 * invalidation and L1/L2 coherence together.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fakeClock } from '../testing/fake-clock.js'
import { memoryCacheDriver } from './adapters/memory.js'
import { MemoryBusHub, memoryBus } from './adapters/memory-bus.js'
import { createCache } from './create-cache.js'

type Op =
  | { kind: 'set'; by: 0 | 1; key: string; value: number; ttl: number }
  | { kind: 'delete'; by: 0 | 1; key: string }
  | { kind: 'get'; by: 0 | 1; key: string }
  | { kind: 'getOrSet'; by: 0 | 1; key: string; value: number; ttl: number }
  | { kind: 'deleteByTag'; by: 0 | 1; tag: string }
  | { kind: 'advance'; ms: number }

const key = fc.constantFrom('a', 'b', 'c')
const by = fc.constantFrom<0 | 1>(0, 1)
const ttl = fc.integer({ min: 1, max: 50 })
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), by, key, value: fc.integer(), ttl }),
  fc.record({ kind: fc.constant('delete' as const), by, key }),
  fc.record({ kind: fc.constant('get' as const), by, key }),
  fc.record({ kind: fc.constant('getOrSet' as const), by, key, value: fc.integer(), ttl }),
  fc.record({ kind: fc.constant('deleteByTag' as const), by, tag: fc.constantFrom('odd', 'even') }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }),
)

const tagOf = (k: string) => (k === 'b' ? 'even' : 'odd')

describe('two caches against a model', () => {
  it('read what the model says after any sequence of operations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const clock = fakeClock(0)
        const l2 = memoryCacheDriver({ clock })
        const hub = new MemoryBusHub()
        const caches = [0, 1].map(() => createCache({ clock, l2, bus: memoryBus({ hub }), breaker: false }))
        const model = new Map<string, { value: number; expiresAt: number }>()
        const fresh = (k: string) => {
          const entry = model.get(k)
          return entry !== undefined && clock.now() < entry.expiresAt ? entry.value : undefined
        }
        for (const o of ops) {
          if (o.kind === 'advance') {
            await clock.advanceAsync(o.ms)
            continue
          }
          const cache = caches[o.by] as (typeof caches)[number]
          if (o.kind === 'set') {
            await cache.set(o.key, o.value, { ttl: o.ttl, tags: [tagOf(o.key)] })
            model.set(o.key, { value: o.value, expiresAt: clock.now() + o.ttl })
          } else if (o.kind === 'delete') {
            await cache.delete(o.key)
            model.delete(o.key)
          } else if (o.kind === 'deleteByTag') {
            await cache.deleteByTag(o.tag)
            for (const k of [...model.keys()]) if (tagOf(k) === o.tag) model.delete(k)
          } else if (o.kind === 'get') {
            expect(await cache.get(o.key)).toBe(fresh(o.key))
          } else {
            const expected = fresh(o.key) ?? o.value
            const got = await cache.getOrSet(o.key, () => o.value, { ttl: o.ttl, tags: [tagOf(o.key)] })
            expect(got).toBe(expected)
            if (fresh(o.key) === undefined) model.set(o.key, { value: o.value, expiresAt: clock.now() + o.ttl })
          }
          await Promise.all(caches.map((c) => c.settled()))
        }
        for (const k of ['a', 'b', 'c']) for (const cache of caches) expect(await cache.get(k)).toBe(fresh(k))
      }),
      { numRuns: 150 },
    )
  })
})
