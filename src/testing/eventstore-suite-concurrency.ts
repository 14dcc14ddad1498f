import { expect, it } from 'vitest'
import { isBulwarkError } from '../core/errors.js'
import { type RecordedEvent, subscribe } from '../eventstore/index.js'
import { atMost, bounded, makeEvents, type SuiteContext } from './eventstore-suite.js'

const WRITERS = 8
const HOT_STREAMS = 10
const APPENDS_PER_WRITER = 400
const BIG_STREAM = 100_000
// The most events the hot-streams test can write (1 to 3 per append): the bound of its handlers.
const MAX_HOT_EVENTS = WRITERS * APPENDS_PER_WRITER * 3
// The box running the suite may be slow or shared: the heavy tests get more than vitest's default.
const HEAVY_TIMEOUT = 120_000

/** Concurrency, ordering and pagination: the guarantees a catch-up subscription relies on. */
export function concurrencyTests({ open }: SuiteContext): void {
  it('a race of 20 appenders that read the same version: exactly one wins, nothing half-written', async () => {
    const store = await open()
    await store.appendToStream('race', makeEvents(3))
    const versions = await Promise.all(Array.from({ length: 20 }, () => store.streamVersion('race')))
    expect(new Set(versions)).toEqual(new Set([3]))
    const outcomes = await Promise.allSettled(
      versions.map((v, racer) => store.appendToStream('race', makeEvents(3, `Racer${racer}`), { expectedVersion: v })),
    )
    const winners = outcomes.filter((o) => o.status === 'fulfilled')
    expect(winners).toHaveLength(1)
    for (const o of outcomes) {
      if (o.status === 'rejected') {
        expect(isBulwarkError(o.reason, 'E_WRONG_EXPECTED_VERSION')).toBe(true)
        expect(o.reason).toMatchObject({ expectedVersion: 3, actualVersion: 6 })
      }
    }
    const events = await store.readStream('race')
    expect(events.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6])
    expect(new Set(events.slice(3).map((e) => e.type)).size).toBe(1)
    expect(await store.headPosition()).toBe(6)
  })

  it(
    `${WRITERS} writers on ${HOT_STREAMS} hot streams while a catch-up subscription runs: no gap, no repeat, in order`,
    async () => {
      const store = await open()
      const seen: RecordedEvent[] = []
      const subscription = subscribe(store, {
        subscriptionId: 'conformance-hot',
        batchSize: 100,
        pollInterval: 5,
        handler: bounded(MAX_HOT_EVENTS, 'handler', (event: RecordedEvent) => {
          seen.push(event)
        }),
      })
      // A filtered subscription moves its checkpoint past other types using headPosition: it must
      // still see every event of its types exactly once while writers commit.
      const typedSeen: RecordedEvent[] = []
      const typed = subscribe(store, {
        subscriptionId: 'conformance-hot-typed',
        types: ['W1', 'W6'],
        batchSize: 50,
        pollInterval: 5,
        handler: bounded(MAX_HOT_EVENTS, 'typed handler', (event: RecordedEvent) => {
          typedSeen.push(event)
        }),
      })
      let conflicts = 0
      const writer = async (w: number) => {
        for (let i = 0; i < APPENDS_PER_WRITER; i++) {
          // Writers w and w + 4 pick the same stream at each step, so they really race.
          const stream = `hot-${(i * 3 + (w % 4)) % HOT_STREAMS}`
          const version = await store.streamVersion(stream)
          const events = makeEvents(1 + (i % 3), `W${w}`, i * 10)
          try {
            await store.appendToStream(stream, events, { expectedVersion: i % 4 === 0 ? 'any' : version })
          } catch (error) {
            if (!isBulwarkError(error, 'E_WRONG_EXPECTED_VERSION')) throw error
            conflicts++
          }
        }
      }
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)))
      const head = await store.headPosition()
      await Promise.all([subscription.waitFor(head), typed.waitFor(head)])
      await Promise.all([subscription.close(), typed.close()])

      const all = await store.readAll()
      expect(all.length).toBe(head)
      expect(all.map((e) => e.globalPosition)).toEqual(Array.from({ length: head }, (_, i) => i + 1))
      for (let s = 0; s < HOT_STREAMS; s++) {
        const versions = (await store.readStream(`hot-${s}`)).map((e) => e.streamVersion)
        expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1))
      }
      expect(seen.map((e) => e.globalPosition)).toEqual(all.map((e) => e.globalPosition))
      expect(seen.map((e) => e.id)).toEqual(all.map((e) => e.id))
      expect(await store.loadCheckpoint('conformance-hot')).toBe(head)
      const wanted = all.filter((e) => e.type === 'W1' || e.type === 'W6').map((e) => e.id)
      expect(wanted.length).toBeGreaterThan(0)
      expect(typedSeen.map((e) => e.id)).toEqual(wanted)
      // Conflicts happen under this load; a store that never reports one is not checking versions.
      expect(conflicts).toBeGreaterThan(0)
      expect(head).toBeGreaterThan(WRITERS * APPENDS_PER_WRITER - conflicts)
    },
    HEAVY_TIMEOUT,
  )

  it(
    `pages through a ${BIG_STREAM.toLocaleString('en')}-event stream forwards, backwards, from a version, with a max count`,
    async () => {
      const store = await open()
      for (let v = 0; v < BIG_STREAM; v += 10_000) {
        await store.appendToStream('big', makeEvents(10_000, 'Big', v), { expectedVersion: v })
      }
      expect(await store.streamVersion('big')).toBe(BIG_STREAM)
      const versions = (events: RecordedEvent[]) => events.map((e) => e.streamVersion)
      expect(versions(await store.readStream('big', { fromVersion: 50_000, maxCount: 3 }))).toEqual([
        50_000, 50_001, 50_002,
      ])
      expect(versions(await store.readStream('big', { direction: 'backwards', maxCount: 3 }))).toEqual([
        100_000, 99_999, 99_998,
      ])
      expect(versions(await store.readStream('big', { direction: 'backwards', fromVersion: 3, maxCount: 10 }))).toEqual(
        [3, 2, 1],
      )
      expect(await store.readStream('big', { fromVersion: BIG_STREAM + 1 })).toEqual([])
      expect(await store.readStream('big', { maxCount: 0 })).toEqual([])
      const [at] = await store.readStream('big', { fromVersion: 77_777, maxCount: 1 })
      expect(at?.data).toEqual({ i: 77_776 })

      // Iteration reads page by page: an event appended after the first page shows up at the end,
      // which it could not if the whole stream had been loaded up front.
      let expected = 1
      const pages = store.iterateStream('big', { pageSize: 5_000 })
      for await (const event of atMost(pages, 2 * BIG_STREAM, 'iterateStream')) {
        if (event.streamVersion !== expected)
          throw new Error(`expected version ${expected}, got ${event.streamVersion}`)
        if (expected === 1) await store.appendToStream('big', makeEvents(1, 'Late'))
        expected++
      }
      expect(expected - 1).toBe(BIG_STREAM + 1)

      const backwards: number[] = []
      const backwardsPages = store.iterateStream('big', { direction: 'backwards', fromVersion: 1_000, pageSize: 300 })
      for await (const event of atMost(backwardsPages, 2_000, 'iterateStream backwards'))
        backwards.push(event.streamVersion)
      expect(backwards).toEqual(Array.from({ length: 1_000 }, (_, i) => 1_000 - i))

      const limited: number[] = []
      const limitedPages = store.iterateStream('big', { fromVersion: 10, maxCount: 25, pageSize: 7 })
      for await (const event of atMost(limitedPages, 50, 'iterateStream with maxCount'))
        limited.push(event.streamVersion)
      expect(limited).toEqual(Array.from({ length: 25 }, (_, i) => 10 + i))

      const tail: number[] = []
      for await (const event of atMost(store.iterateAll({ after: BIG_STREAM - 5, pageSize: 2 }), 12, 'iterateAll'))
        tail.push(event.globalPosition)
      expect(tail).toEqual([99_996, 99_997, 99_998, 99_999, 100_000, 100_001])
    },
    HEAVY_TIMEOUT,
  )
}
