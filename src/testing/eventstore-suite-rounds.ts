import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import type { AppendResult } from '../eventstore/index.js'
import { expectCode, makeEvents, type SuiteContext } from './eventstore-suite.js'

/**
 * Appends made at the same moment: adapters that write them in one transaction (group commit) must
 * still let each one succeed or fail alone. Every append below is started before any is awaited, so
 * a group-committing adapter puts them in one round.
 */
export function roundTests({ open }: SuiteContext): void {
  it('one append of a concurrent round fails its expected version; the others commit, with dense positions', async () => {
    const store = await open()
    await store.appendToStream('stale', makeEvents(2))
    const settled = await Promise.allSettled([
      store.appendToStream('a', makeEvents(2, 'A'), { expectedVersion: 'no_stream' }),
      store.appendToStream('stale', makeEvents(1, 'Stale'), { expectedVersion: 1 }),
      store.appendToStream('b', makeEvents(1, 'B'), { expectedVersion: 'no_stream' }),
      store.appendToStream('stale', makeEvents(1, 'Fresh'), { expectedVersion: 2 }),
      store.appendToStream('c', makeEvents(3, 'C')),
    ])
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'])
    const refused = settled[1] as PromiseRejectedResult
    expect(refused.reason).toMatchObject({ code: 'E_WRONG_EXPECTED_VERSION', expectedVersion: 1 })
    const results = settled
      .filter((s): s is PromiseFulfilledResult<AppendResult> => s.status === 'fulfilled')
      .map((s) => s.value)
    // Each committed append holds a run of positions of its own length; together they fill 3..9.
    expect(results.map((r) => r.lastPosition - r.firstPosition + 1)).toEqual([2, 1, 1, 3])
    const taken = results.flatMap((r) =>
      Array.from({ length: r.lastPosition - r.firstPosition + 1 }, (_, k) => r.firstPosition + k),
    )
    expect(taken.sort((x, y) => x - y)).toEqual([3, 4, 5, 6, 7, 8, 9])
    expect(await store.headPosition()).toBe(9)
    const all = await store.readAll()
    expect(all.map((e) => e.globalPosition)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(all.filter((e) => e.type === 'Stale')).toEqual([])
    expect((await store.readStream('stale')).map((e) => [e.type, e.streamVersion])).toEqual([
      ['Tested', 1],
      ['Tested', 2],
      ['Fresh', 3],
    ])
  })

  it('in one round, a repeated batch returns its original result and a duplicate id fails alone', async () => {
    const store = await open()
    const batch = makeEvents(2, 'Once').map((e) => ({ ...e, id: randomUUID() }))
    const original = await store.appendToStream('once', batch)
    const [repeat, clash, other] = await Promise.allSettled([
      store.appendToStream('once', batch, { expectedVersion: 0 }),
      store.appendToStream('elsewhere', [batch[0] as (typeof batch)[number]]),
      store.appendToStream('other', makeEvents(1, 'Other'), { expectedVersion: 'no_stream' }),
    ])
    expect(repeat).toEqual({ status: 'fulfilled', value: original })
    expect(clash?.status).toBe('rejected')
    await expectCode(Promise.reject((clash as PromiseRejectedResult).reason), 'E_DUPLICATE_EVENT_ID')
    expect(other).toEqual({
      status: 'fulfilled',
      value: { nextExpectedVersion: 1, firstPosition: 3, lastPosition: 3 },
    })
    expect((await store.readAll()).map((e) => e.type)).toEqual(['Once', 'Once', 'Other'])
  })
}
