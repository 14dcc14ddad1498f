import { expect, it } from 'vitest'
import { isBulwarkError } from '../core/errors.js'
import {
  aggregateRepository,
  type EventStore,
  type RecordedEvent,
  type RecordedOf,
  subscribe,
  upcasters,
} from '../eventstore/index.js'
import { atMost, bounded, expectCode, makeEvents, type SuiteContext } from './eventstore-suite.js'
import { fakeClock } from './fake-clock.js'

const DAY = 86_400_000

type CounterEvent = { type: 'Added'; data: { n: number } }

/** Snapshots, checkpoints, upcasting, temporal queries, watch, subscriptions and aggregates. */
export function featureTests({ open }: SuiteContext): void {
  it('saves, replaces and loads snapshots and checkpoints', async () => {
    const store = await open()
    expect(await store.loadSnapshot('s')).toBeUndefined()
    await store.saveSnapshot({ streamId: 's', streamVersion: 10, state: { total: 1, tags: ['a'] }, schemaVersion: 1 })
    await store.saveSnapshot({ streamId: 's', streamVersion: 20, state: { total: 2, tags: [] }, schemaVersion: 2 })
    await store.saveSnapshot({ streamId: 't', streamVersion: 1, state: null, schemaVersion: 1 })
    expect(await store.loadSnapshot('s')).toEqual({
      streamId: 's',
      streamVersion: 20,
      state: { total: 2, tags: [] },
      schemaVersion: 2,
    })
    expect(await store.loadSnapshot('t')).toEqual({ streamId: 't', streamVersion: 1, state: null, schemaVersion: 1 })
    expect(await store.loadCheckpoint('sub')).toBeUndefined()
    await store.storeCheckpoint('sub', 5)
    await store.storeCheckpoint('sub', 7)
    await store.storeCheckpoint('other', 0)
    expect(await store.loadCheckpoint('sub')).toBe(7)
    expect(await store.loadCheckpoint('other')).toBe(0)
  })

  it('upcasts old events on read, step by step, and leaves current ones alone', async () => {
    const store = await open({
      upcasters: upcasters({
        OrderPlaced: {
          1: (data: { total: number }) => ({ amount: data.total, currency: 'EUR' }),
          2: (data: { amount: number; currency: string }) => ({ ...data, lines: [] }),
        },
      }),
    })
    await store.appendToStream('o', [
      { type: 'OrderPlaced', data: { total: 5 } },
      { type: 'OrderPlaced', data: { amount: 6, currency: 'USD' }, metadata: { schemaVersion: 2 } },
      { type: 'OrderPlaced', data: { amount: 7, currency: 'GBP', lines: [1] }, metadata: { schemaVersion: 3 } },
      { type: 'Other', data: { total: 8 } },
    ])
    const read = await store.readStream('o')
    expect(read.map((e) => [e.data, e.metadata.schemaVersion])).toEqual([
      [{ amount: 5, currency: 'EUR', lines: [] }, 3],
      [{ amount: 6, currency: 'USD', lines: [] }, 3],
      [{ amount: 7, currency: 'GBP', lines: [1] }, 3],
      [{ total: 8 }, 1],
    ])
    expect((await store.readAll({ types: ['OrderPlaced'], maxCount: 1 }))[0]?.data).toEqual(read[0]?.data)
    const iterated: unknown[] = []
    for await (const e of atMost(store.iterateAll({ pageSize: 1 }), 100, 'iterateAll')) iterated.push(e.data)
    expect(iterated).toEqual(read.map((e) => e.data))
  })

  it('answers temporal queries: event types in a time range, and state as of a past time', async () => {
    const t0 = Date.UTC(2026, 0, 1)
    const clock = fakeClock(t0)
    const store = await open({ clock })
    const at = async (offset: number, stream: string, type: string) => {
      clock.set(t0 + offset)
      await store.appendToStream(stream, [{ type, data: { stream } }])
    }
    await at(0, 'order-1', 'OrderPlaced')
    await at(1 * DAY, 'order-1', 'PaymentFailed')
    await at(5 * DAY, 'order-2', 'OrderPlaced')
    await at(10 * DAY, 'order-2', 'PaymentSucceeded')
    await at(31 * DAY, 'order-3', 'PaymentFailed')
    const inJanuary = await store.readAll({
      types: ['PaymentFailed'],
      recordedFrom: new Date(t0),
      recordedTo: new Date(t0 + 31 * DAY),
    })
    expect(inJanuary.map((e) => e.streamId)).toEqual(['order-1'])
    const window = await store.readAll({ recordedFrom: new Date(t0 + DAY), recordedTo: new Date(t0 + 31 * DAY + 1) })
    expect(window.map((e) => e.globalPosition)).toEqual([2, 3, 4, 5])
    expect(
      (await store.readAll({ types: ['OrderPlaced', 'PaymentFailed'], after: 1, maxCount: 2 })).map(
        (e) => e.globalPosition,
      ),
    ).toEqual([2, 3])
    expect(await store.readAll({ types: ['Unknown'] })).toEqual([])

    const orders = aggregateRepository(store, {
      streamPrefix: 'order-',
      aggregate: {
        initialState: () => 'none',
        evolve: (_state: string, event: RecordedEvent) => event.type,
      },
    })
    expect(await orders.aggregateStateAt('1', new Date(t0 - 1))).toEqual({ state: 'none', version: 0 })
    expect(await orders.aggregateStateAt('1', new Date(t0 + DAY / 2))).toEqual({ state: 'OrderPlaced', version: 1 })
    expect(await orders.aggregateStateAt('1', new Date(t0 + DAY))).toEqual({ state: 'PaymentFailed', version: 2 })
  })

  it('calls watch listeners after a commit, and not after they unsubscribe', async () => {
    const store = await open()
    if (!store.watch) return
    let calls = 0
    const unwatch = store.watch(() => {
      calls++
    })
    await store.appendToStream('s', makeEvents(2))
    await expect.poll(() => calls).toBeGreaterThan(0)
    unwatch()
    const before = calls
    await store.appendToStream('s', makeEvents(1))
    await store.headPosition()
    expect(calls).toBe(before)
  })

  it('rejects a watch listener that is not a function with E_INVALID_ARGUMENT, on every adapter', async () => {
    const store = await open()
    if (!store.watch) return
    const watch = store.watch.bind(store)
    let error: unknown
    try {
      watch(42 as never)
    } catch (e) {
      error = e
    }
    expect(isBulwarkError(error, 'E_INVALID_ARGUMENT'), `got ${String(error)}`).toBe(true)
  })

  it('a subscription reads history, then live events, resumes from its durable checkpoint, and filters types', async () => {
    const store = await open()
    await store.appendToStream('a', [...makeEvents(3, 'Wanted'), ...makeEvents(2, 'Ignored')])
    const seen: number[] = []
    const handler = bounded(100, 'handler', (e: RecordedEvent) => {
      seen.push(e.globalPosition)
    })
    const first = subscribe(store, { subscriptionId: 'sub', types: ['Wanted'], handler, pollInterval: 5 })
    await first.waitFor(5)
    await store.appendToStream('b', [...makeEvents(1, 'Ignored'), ...makeEvents(1, 'Wanted')])
    await first.waitFor(7)
    await first.close()
    expect(seen).toEqual([1, 2, 3, 7])
    expect(await store.loadCheckpoint('sub')).toBe(7)
    await store.appendToStream('c', makeEvents(2, 'Wanted'))
    const second = subscribe(store, { subscriptionId: 'sub', types: ['Wanted'], handler, pollInterval: 5 })
    await second.waitFor(9)
    await second.close()
    expect(seen).toEqual([1, 2, 3, 7, 8, 9])
    const late = subscribe(store, { subscriptionId: 'late', from: 'end', handler, pollInterval: 5 })
    await late.waitFor(9)
    await store.appendToStream('d', makeEvents(1, 'Other'))
    await late.waitFor(10)
    await late.close()
    expect(seen).toEqual([1, 2, 3, 7, 8, 9, 10])
  })

  it('an aggregate loads from its snapshot plus later events, and retries a command on conflict', async () => {
    const store = await open()
    const evolved: number[] = []
    const counters = aggregateRepository(store, {
      streamPrefix: 'counter-',
      snapshots: { every: 5 },
      maxRetries: 2,
      aggregate: {
        initialState: () => ({ total: 0 }),
        evolve: (state, event: RecordedOf<CounterEvent>) => {
          evolved.push(event.streamVersion)
          return { total: state.total + event.data.n }
        },
        decide: (command: { add: number }): CounterEvent[] => [{ type: 'Added', data: { n: command.add } }],
      },
    })
    for (let i = 1; i <= 12; i++) await counters.handle('c', { add: i })
    const snapshot = await store.loadSnapshot('counter-c')
    expect(snapshot).toEqual({ streamId: 'counter-c', streamVersion: 10, state: { total: 55 }, schemaVersion: 1 })
    evolved.length = 0
    expect(await counters.load('c')).toEqual({ state: { total: 78 }, version: 12 })
    expect(evolved).toEqual([11, 12])

    // Hold the first two appends until both have arrived, so both commands really decided on the same
    // version whatever the store's latency (a pooled store may otherwise finish one before the other loads).
    const racing = aggregateRepository(withAppendBarrier(store, 2), {
      streamPrefix: 'counter-',
      maxRetries: 2,
      aggregate: {
        initialState: () => ({ total: 0 }),
        evolve: (state, event: RecordedOf<CounterEvent>) => ({ total: state.total + event.data.n }),
        decide: (command: { add: number }): CounterEvent[] => [{ type: 'Added', data: { n: command.add } }],
      },
    })
    const [a, b] = await Promise.all([racing.handle('c', { add: 100 }), racing.handle('c', { add: 1000 })])
    expect([a.retries, b.retries].sort()).toEqual([0, 1])
    expect((await counters.load('c')).state).toEqual({ total: 1178 })
    expect(await store.streamVersion('counter-c')).toBe(14)

    await store.appendToStream('counter-c', makeEvents(1, 'Added'), { expectedVersion: 14 })
    await expectCode(
      counters.save('c', [{ type: 'Added', data: { n: 1 } }], { expectedVersion: 14 }),
      'E_WRONG_EXPECTED_VERSION',
    )
  })
}

/** `store`, except that its first `parties` appends wait until all of them have been called. */
function withAppendBarrier(store: EventStore, parties: number): EventStore {
  let arrived = 0
  let release: () => void = () => {}
  const allArrived = new Promise<void>((resolve) => {
    release = resolve
  })
  return new Proxy(store, {
    get(target, property) {
      if (property === 'appendToStream') {
        return async (...args: Parameters<EventStore['appendToStream']>) => {
          if (arrived < parties) {
            arrived++
            if (arrived === parties) release()
            await allArrived
          }
          return target.appendToStream(...args)
        }
      }
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
