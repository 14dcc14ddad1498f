import { describe, expect, it, vi } from 'vitest'
import { PublishBatch } from './redis-publishes.js'
import { ReadBatch } from './redis-reads.js'

// Jest's fake timers replace process.nextTick by default. The batches send at the end of the tick with the
// nextTick there was when they loaded, so a test that fakes timers still gets its Redis replies.
// (Stand-in commands: what is under test is when the batches send, not Redis.)
describe('the Redis batches under fake timers', () => {
  it('ReadBatch sends with the real nextTick, not one a test put in place since', async () => {
    const batch = new ReadBatch(
      async (key) => `one:${key}`,
      async (keys) => keys.map((key) => `many:${key}`),
    )
    const faked = vi.spyOn(process, 'nextTick').mockImplementation(() => {})
    let reads: Promise<unknown>[]
    try {
      reads = [batch.get('a'), batch.get('b')]
      // Read before restoring: mockRestore forgets the calls.
      expect(faked.mock.calls).toHaveLength(0)
    } finally {
      faked.mockRestore()
    }
    expect(await Promise.all(reads)).toEqual(['many:a', 'many:b'])
  })

  it('PublishBatch sends with the real nextTick, not one a test put in place since', async () => {
    const sent: [string, string][] = []
    const batch = new PublishBatch(async (channel, raw) => {
      sent.push([channel, raw])
      return 1
    })
    const faked = vi.spyOn(process, 'nextTick').mockImplementation(() => {})
    let published: Promise<unknown>[]
    try {
      published = [
        batch.publish('c', { source: 's', type: 'set', keys: ['a'], versions: [1] }),
        batch.publish('c', { source: 's', type: 'set', keys: ['b'], versions: [2] }),
      ]
      // Read before restoring: mockRestore forgets the calls.
      expect(faked.mock.calls).toHaveLength(0)
    } finally {
      faked.mockRestore()
    }
    expect(await Promise.all(published)).toEqual([1, 1])
    expect(sent).toEqual([['c', '["s","s",["a","b"],[1,2]]']])
  })
})
