/**
 * The event store conformance suite: every adapter (memory, SQLite, PostgreSQL, MongoDB, or a third
 * party's) must pass it. Call it from a vitest spec file with a factory that opens a fresh, empty
 * store for each test and passes the given options (clock, upcasters) to the adapter.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { isBulwarkError } from '../core/errors.js'
import type { EventStore, EventStoreOptions, NewEvent } from '../eventstore/index.js'
import { concurrencyTests } from './eventstore-suite-concurrency.js'
import { featureTests } from './eventstore-suite-features.js'
import { inputTests } from './eventstore-suite-input.js'
import { roundTests } from './eventstore-suite-rounds.js'
import { fakeClock } from './fake-clock.js'

/** What a factory returns: a fresh, empty store, and how to dispose of it (default: `store.close()`). */
export interface EventStoreFixture {
  store: EventStore
  cleanup?: () => Promise<void>
}

/**
 * Opens a fresh, empty store. It receives the options a test needs (a fake `clock`, `upcasters`) and
 * must pass them to the adapter; factories of adapters without options may ignore them only if they
 * accept no clock or upcasters at all (then those tests fail, as they should).
 */
export type EventStoreFactory = (options: EventStoreOptions) => Promise<EventStoreFixture>

/** Context the suite's parts share. */
export interface SuiteContext {
  /** Opens a store that is disposed of after the test. */
  open(options?: EventStoreOptions): Promise<EventStore>
}

/** `n` events of type `type` with data `{ i }`. */
export function makeEvents(n: number, type = 'Tested', offset = 0): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({ type, data: { i: offset + i } }))
}

/**
 * `iterable`, failing as soon as it yields more than `limit` items. A paging bug that reads the same
 * page again never ends a loop, and over a synchronous driver (SQLite, memory) such a loop never
 * yields to the event loop either, so vitest's per-test timeout cannot fire: the loop would run until
 * the worker runs out of memory. Every paging loop of the suites goes through this bound instead.
 */
export async function* atMost<T>(iterable: AsyncIterable<T>, limit: number, label: string): AsyncGenerator<T> {
  let count = 0
  for await (const item of iterable) {
    if (++count > limit) throw new Error(`${label} yielded more than ${limit} items: a page was read again?`)
    yield item
  }
}

/**
 * Calls `handle` for each item, failing once it has been called more than `limit` times: the bound of a
 * subscription handler, for the same reason as {@link atMost}. A handler that throws makes the
 * subscription wait (a timer) before retrying, so a test stuck that way ends by its timeout.
 */
export function bounded<T>(limit: number, label: string, handle: (item: T) => void): (item: T) => void {
  let count = 0
  return (item) => {
    if (++count > limit) throw new Error(`${label} was called more than ${limit} times: a page was read again?`)
    handle(item)
  }
}

/** Expects `promise` to reject with a Bulwark error whose code is one of `codes`. */
export async function expectCode(promise: Promise<unknown>, ...codes: string[]): Promise<unknown> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, `expected a rejection with ${codes.join(' or ')}`).toBeDefined()
  expect(isBulwarkError(error) ? error.code : error).toSatisfy((c: unknown) => codes.includes(String(c)))
  return error
}

/**
 * Expects every call to reject with a validation error (`E_INVALID_ARGUMENT` or `E_INVALID_EVENT`)
 * whose message names what was wrong (``Expected `name` to be ...``).
 */
export async function expectValidationErrors(
  calls: readonly [label: string, call: () => Promise<unknown>][],
): Promise<void> {
  for (const [label, call] of calls) {
    const error = await call().then(
      () => new Error(`${label}: resolved`),
      (e: unknown) => e,
    )
    expect(
      isBulwarkError(error) && ['E_INVALID_ARGUMENT', 'E_INVALID_EVENT'].includes(String(error.code)),
      `${label}: ${String(error)}`,
    ).toBe(true)
    expect((error as Error).message, label).toMatch(/^Expected `/)
  }
}

/**
 * Registers the conformance tests of an event store adapter.
 *
 * @example
 * ```ts
 * import { eventStoreSuite } from 'bulwark/testing'
 * import { sqliteEventStore } from 'bulwark/eventstore/sqlite'
 *
 * await eventStoreSuite('sqlite', async (options) => {
 *   const store = sqliteEventStore({ ...options, path: join(tmpdir(), `${randomUUID()}.db`) })
 *   return { store }
 * })
 * ```
 */
export function eventStoreSuite(name: string, factory: EventStoreFactory): void {
  describe(`${name} event store conformance`, () => {
    const opened: EventStoreFixture[] = []
    afterEach(async () => {
      for (const fixture of opened.splice(0)) await (fixture.cleanup ? fixture.cleanup() : fixture.store.close())
    })
    const ctx: SuiteContext = {
      async open(options = {}) {
        const fixture = await factory(options)
        opened.push(fixture)
        return fixture.store
      },
    }
    basicTests(ctx)
    concurrencyTests(ctx)
    roundTests(ctx)
    featureTests(ctx)
    inputTests(ctx)
  })
}

function basicTests({ open }: SuiteContext): void {
  it('appends and reads back events with ids, metadata, versions, positions and recordedAt', async () => {
    const clock = fakeClock(Date.UTC(2026, 2, 1))
    const store = await open({ clock })
    const id = '0b6f4c3e-2b8e-4c1e-9a55-3d6b2d1f7a01'
    const first = await store.appendToStream(
      'order-1',
      [
        {
          id,
          type: 'OrderPlaced',
          data: { total: 42, lines: [{ sku: 'a', qty: 2 }] },
          metadata: { correlationId: 'c1' },
        },
        { type: 'OrderPaid', data: null, metadata: { causationId: id, occurredAt: '2026-01-01T00:00:00.000Z' } },
      ],
      { expectedVersion: 'no_stream' },
    )
    expect(first).toEqual({ nextExpectedVersion: 2, firstPosition: 1, lastPosition: 2 })
    clock.advance(1000)
    expect(await store.appendToStream('order-2', makeEvents(1))).toEqual({
      nextExpectedVersion: 1,
      firstPosition: 3,
      lastPosition: 3,
    })
    const events = await store.readStream('order-1')
    expect(events).toHaveLength(2)
    expect(events[0]).toEqual({
      id,
      type: 'OrderPlaced',
      data: { total: 42, lines: [{ sku: 'a', qty: 2 }] },
      metadata: { correlationId: 'c1', schemaVersion: 1, occurredAt: '2026-03-01T00:00:00.000Z' },
      streamId: 'order-1',
      streamVersion: 1,
      globalPosition: 1,
      recordedAt: new Date(Date.UTC(2026, 2, 1)),
    })
    expect(events[1]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)
    expect(events[1]?.metadata).toEqual({ causationId: id, schemaVersion: 1, occurredAt: '2026-01-01T00:00:00.000Z' })
    expect(events[1]?.data).toBeNull()
    expect(await store.streamVersion('order-1')).toBe(2)
    expect(await store.streamVersion('missing')).toBe(0)
    expect(await store.readStream('missing')).toEqual([])
    expect(await store.headPosition()).toBe(3)
    const all = await store.readAll()
    expect(all.map((e) => [e.streamId, e.streamVersion, e.globalPosition])).toEqual([
      ['order-1', 1, 1],
      ['order-1', 2, 2],
      ['order-2', 1, 3],
    ])
    expect(all[2]?.recordedAt).toEqual(new Date(Date.UTC(2026, 2, 1) + 1000))
  })

  it('changing what was written or read does not change the store', async () => {
    const store = await open()
    const data = { list: [1, 2] }
    await store.appendToStream('s', [{ type: 'A', data }])
    data.list.push(3)
    const read = (await store.readStream('s'))[0]?.data as { list: number[] }
    read.list.push(4)
    expect((await store.readStream('s'))[0]?.data).toEqual({ list: [1, 2] })
  })

  it('checks every form of expectedVersion and names expected and actual versions', async () => {
    const store = await open()
    await expectCode(
      store.appendToStream('s', makeEvents(1), { expectedVersion: 'stream_exists' }),
      'E_WRONG_EXPECTED_VERSION',
    )
    await expectCode(store.appendToStream('s', makeEvents(1), { expectedVersion: 3 }), 'E_WRONG_EXPECTED_VERSION')
    expect((await store.appendToStream('s', makeEvents(2), { expectedVersion: 0 })).nextExpectedVersion).toBe(2)
    const error = await expectCode(
      store.appendToStream('s', makeEvents(1), { expectedVersion: 'no_stream' }),
      'E_WRONG_EXPECTED_VERSION',
    )
    expect(error).toMatchObject({ streamId: 's', expectedVersion: 'no_stream', actualVersion: 2 })
    expect((error as { context: object }).context).toMatchObject({ expectedVersion: 'no_stream', actualVersion: 2 })
    const stale = await expectCode(
      store.appendToStream('s', makeEvents(1), { expectedVersion: 1 }),
      'E_WRONG_EXPECTED_VERSION',
    )
    expect(stale).toMatchObject({ expectedVersion: 1, actualVersion: 2 })
    expect((await store.appendToStream('s', makeEvents(1), { expectedVersion: 2 })).nextExpectedVersion).toBe(3)
    expect(
      (await store.appendToStream('s', makeEvents(1), { expectedVersion: 'stream_exists' })).nextExpectedVersion,
    ).toBe(4)
    expect((await store.appendToStream('s', makeEvents(1), { expectedVersion: 'any' })).nextExpectedVersion).toBe(5)
    expect((await store.appendToStream('s', makeEvents(1))).nextExpectedVersion).toBe(6)
    expect(await store.headPosition()).toBe(6)
  })

  it('re-appending the same event ids returns the original result and writes nothing', async () => {
    const store = await open()
    await store.appendToStream('other', makeEvents(2))
    const batch: NewEvent[] = [
      { id: '9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e01', type: 'A', data: 1 },
      { id: '9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e02', type: 'B', data: 2 },
    ]
    const original = await store.appendToStream('s', batch, { expectedVersion: 'no_stream' })
    expect(original).toEqual({ nextExpectedVersion: 2, firstPosition: 3, lastPosition: 4 })
    await store.appendToStream('s', makeEvents(1))
    // A retry after a lost reply: same ids, the expected version it had the first time.
    expect(await store.appendToStream('s', batch, { expectedVersion: 'no_stream' })).toEqual(original)
    expect(await store.appendToStream('s', batch, { expectedVersion: 'any' })).toEqual(original)
    // The same ids with new events, in another order, or in another stream are refused.
    const fresh = { id: '9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e03', type: 'C', data: 3 }
    await expectCode(store.appendToStream('s', [...batch, fresh]), 'E_DUPLICATE_EVENT_ID')
    await expectCode(store.appendToStream('s', [batch[1] as NewEvent, batch[0] as NewEvent]), 'E_DUPLICATE_EVENT_ID')
    await expectCode(store.appendToStream('elsewhere', batch), 'E_DUPLICATE_EVENT_ID')
    expect(await store.streamVersion('s')).toBe(3)
    expect(await store.streamVersion('elsewhere')).toBe(0)
    expect(await store.headPosition()).toBe(5)
    expect((await store.readAll()).map((e) => e.globalPosition)).toEqual([1, 2, 3, 4, 5])
  })

  it('bad input gets a typed error naming what was wrong, and nothing is written', async () => {
    const store = await open()
    const ok = makeEvents(1)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const bad: [string, () => Promise<unknown>][] = [
      ['empty stream id', () => store.appendToStream('', ok)],
      ['oversized stream id', () => store.appendToStream('x'.repeat(257), ok)],
      ['control character in stream id', () => store.appendToStream('a\u0000b', ok)],
      ['non-string stream id', () => store.appendToStream(42 as never, ok)],
      ['no events', () => store.appendToStream('s', [])],
      ['events not an array', () => store.appendToStream('s', { type: 'A', data: 1 } as never)],
      ['negative expectedVersion', () => store.appendToStream('s', ok, { expectedVersion: -1 })],
      ['fractional expectedVersion', () => store.appendToStream('s', ok, { expectedVersion: 1.5 })],
      ['string expectedVersion', () => store.appendToStream('s', ok, { expectedVersion: '1' as never })],
      ['function in data', () => store.appendToStream('s', [{ type: 'A', data: { f: () => 1 } as never }])],
      ['bigint in data', () => store.appendToStream('s', [{ type: 'A', data: { n: 10n } as never }])],
      ['NaN in data', () => store.appendToStream('s', [{ type: 'A', data: { n: Number.NaN } }])],
      ['cyclic data', () => store.appendToStream('s', [{ type: 'A', data: cyclic as never }])],
      ['undefined data', () => store.appendToStream('s', [{ type: 'A', data: undefined as never }])],
      ['empty type', () => store.appendToStream('s', [{ type: '', data: 1 }])],
      ['non-uuid id', () => store.appendToStream('s', [{ id: 'nope', type: 'A', data: 1 }])],
      ['non-JSON metadata', () => store.appendToStream('s', [{ type: 'A', data: 1, metadata: { x: Number.NaN } }])],
      ['negative maxCount', () => store.readStream('s', { maxCount: -1 })],
      ['fractional fromVersion', () => store.readStream('s', { fromVersion: 1.5 })],
      ['unknown direction', () => store.readStream('s', { direction: 'up' as never })],
      ['empty stream id on read', () => store.readStream('')],
      ['negative after', () => store.readAll({ after: -1 })],
      ['non-string type filter', () => store.readAll({ types: [1 as never] })],
      ['invalid date', () => store.readAll({ recordedFrom: new Date('nope') })],
      ['negative checkpoint', () => store.storeCheckpoint('sub', -1)],
      ['empty subscription id', () => store.storeCheckpoint('', 1)],
      [
        'negative snapshot version',
        () => store.saveSnapshot({ streamId: 's', streamVersion: -1, state: 1, schemaVersion: 1 }),
      ],
      [
        'non-JSON snapshot',
        () => store.saveSnapshot({ streamId: 's', streamVersion: 1, state: (() => 1) as never, schemaVersion: 1 }),
      ],
      ['empty stream id on version', () => store.streamVersion('')],
    ]
    await expectValidationErrors(bad)
    expect(await store.headPosition()).toBe(0)
    expect(await store.streamVersion('s')).toBe(0)
    expect(await store.loadCheckpoint('sub')).toBeUndefined()
    expect(await store.loadSnapshot('s')).toBeUndefined()
  })

  it('a failure in the middle of a multi-event append writes nothing', async () => {
    const store = await open()
    await store.appendToStream('s', makeEvents(2))
    const taken = '5c3a0f8e-1d2b-4e6f-9a8b-7c6d5e4f3a21'
    await store.appendToStream('other', [{ id: taken, type: 'A', data: 0 }])
    const five = (third: NewEvent) => [...makeEvents(2), third, ...makeEvents(2)]
    await expectCode(
      store.appendToStream('s', five({ type: 'A', data: { f: Number.POSITIVE_INFINITY } })),
      'E_INVALID_EVENT',
    )
    await expectCode(store.appendToStream('s', five({ type: 'A', data: { f: (() => 1) as never } })), 'E_INVALID_EVENT')
    await expectCode(store.appendToStream('s', five({ id: taken, type: 'A', data: 1 })), 'E_DUPLICATE_EVENT_ID')
    await expectCode(
      store.appendToStream('s', five({ type: 'A', data: 1 }), { expectedVersion: 1 }),
      'E_WRONG_EXPECTED_VERSION',
    )
    expect(await store.streamVersion('s')).toBe(2)
    expect(await store.headPosition()).toBe(3)
    // The next append gets the next position: a failed append leaves no gap.
    expect(await store.appendToStream('s', makeEvents(1))).toEqual({
      nextExpectedVersion: 3,
      firstPosition: 4,
      lastPosition: 4,
    })
  })
}
