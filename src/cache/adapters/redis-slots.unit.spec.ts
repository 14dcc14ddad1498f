import { describe, expect, it } from 'vitest'
import { MAX_GROUPS, slotGroups, slotOf } from './redis-slots.js'

describe('hash slots', () => {
  it('maps keys to the slots Redis Cluster does (CLUSTER KEYSLOT), hash tags included', () => {
    // Values from CLUSTER KEYSLOT on Redis 7.
    expect(slotOf('foo')).toBe(12182)
    expect(slotOf('somekey')).toBe(11058)
    expect(slotOf('{user1000}.following')).toBe(slotOf('{user1000}.followers'))
    // The examples of the cluster specification: an empty tag hashes the whole key; the tag ends at the first `}`.
    expect(slotOf('foo{}{bar}')).not.toBe(slotOf('bar'))
    expect(slotOf('foo{{bar}}zap')).toBe(slotOf('{bar'))
    expect(slotOf('foo{bar}{zap}')).toBe(slotOf('bar'))
    expect(slotOf('héllo')).toBeGreaterThanOrEqual(0)
  })

  it('puts group g of n in the g-th n-th of the slot range, so equal slot ranges get equal shares', () => {
    for (const count of [1, 16, 256, MAX_GROUPS]) {
      const groups = slotGroups(count)
      expect(new Set(groups.tags).size).toBe(count)
      groups.slots.forEach((slot, g) => {
        expect(Math.floor((slot * count) / 16384)).toBe(g)
        expect(slotOf(`prefix:${groups.tags[g]}k:any`)).toBe(slot)
      })
    }
  })

  it('spreads keys over the groups, the same way in every process', () => {
    const groups = slotGroups(256)
    const counts = new Array(256).fill(0)
    for (let i = 0; i < 25_600; i++) counts[groups.groupOf(`product:${i}`)]++
    expect(Math.min(...counts)).toBeGreaterThan(50)
    expect(Math.max(...counts)).toBeLessThan(160)
    expect(groups.groupOf('product:42')).toBe(slotGroups(256).groupOf('product:42'))
  })
})
