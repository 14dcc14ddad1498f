import { describe, expect, expectTypeOf, it } from 'vitest'
import { overrideStore } from '../../test/support/eventstore.js'
import { isBulwarkError } from '../core/errors.js'
import { fakeClock } from '../testing/fake-clock.js'
import { memoryEventStore } from './adapters/memory.js'
import type { DomainEvent } from './aggregate.js'
import { idempotent } from './idempotent.js'
import { type ProjectionHandlers, projection } from './projection.js'
import { subscribe } from './subscribe.js'
import type { EventStore, RecordedEvent } from './types.js'

const events = (n: number, type = 'T') => Array.from({ length: n }, (_, i) => ({ type, data: { i } }))

/** The memory store without `watch`, as an adapter that can only be polled. */
const withoutWatch = (store: EventStore) => overrideStore(store, { watch: undefined })

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

describe('subscribe', () => {
  it('without watch, polls on the injected clock', async () => {
    const clock = fakeClock()
    const store = memoryEventStore({ clock })
    const seen: number[] = []
    const sub = subscribe(withoutWatch(store), {
      subscriptionId: 'poll',
      clock,
      pollInterval: '2s',
      handler: (e) => void seen.push(e.globalPosition),
    })
    await sub.waitFor(0)
    await clock.advanceAsync(0)
    await store.appendToStream('s', events(2))
    await clock.advanceAsync(1_999)
    expect(seen).toEqual([])
    await clock.advanceAsync(1)
    await sub.waitFor(2)
    expect(seen).toEqual([1, 2])
    await sub.close()
  })

  it('with watch, wakes on a commit without waiting for the poll', async () => {
    const clock = fakeClock()
    const store = memoryEventStore({ clock })
    const seen: number[] = []
    const sub = subscribe(store, {
      subscriptionId: 'w',
      clock,
      pollInterval: '1h',
      handler: (e) => void seen.push(e.globalPosition),
    })
    await store.appendToStream('s', events(3))
    await sub.waitFor(3)
    expect(seen).toEqual([1, 2, 3])
    await sub.close()
  })

  it('a failing handler is reported, retried after retryDelay, and nothing is skipped', async () => {
    const clock = fakeClock()
    const store = memoryEventStore({ clock })
    await store.appendToStream('s', events(4))
    const seen: number[] = []
    const errors: [string, number | undefined][] = []
    let failures = 2
    const sub = subscribe(store, {
      subscriptionId: 'retry',
      clock,
      retryDelay: '10s',
      handler: (e) => {
        if (e.globalPosition === 3 && failures-- > 0) throw new Error('flaky')
        seen.push(e.globalPosition)
      },
      onError: (error, event) => errors.push([(error as Error).message, event?.globalPosition]),
    })
    await sub.waitFor(2)
    expect(await store.loadCheckpoint('retry')).toBe(2)
    await clock.advanceAsync(9_999)
    expect(errors).toEqual([['flaky', 3]])
    await clock.advanceAsync(1)
    await clock.advanceAsync(10_000)
    await sub.waitFor(4)
    expect(errors).toEqual([
      ['flaky', 3],
      ['flaky', 3],
    ])
    expect(seen).toEqual([1, 2, 3, 4])
    await sub.close()
  })

  it('with a type filter, a handler failing mid-batch keeps the checkpoint before the failed event', async () => {
    // A filtered read that is not full may move the checkpoint to the head (past other types), but only when
    // every event of the page was handled: otherwise the failed event would be skipped for good.
    const clock = fakeClock()
    const store = memoryEventStore({ clock })
    await store.appendToStream('s', [...events(3, 'Wanted'), ...events(2, 'Other')])
    const seen: number[] = []
    let failures = 1
    const sub = subscribe(store, {
      subscriptionId: 'filtered-retry',
      types: ['Wanted'],
      clock,
      retryDelay: '10s',
      handler: (e) => {
        if (e.globalPosition === 2 && failures-- > 0) throw new Error('flaky')
        seen.push(e.globalPosition)
      },
      onError: () => {},
    })
    await sub.waitFor(1)
    await clock.advanceAsync(0)
    expect(await store.loadCheckpoint('filtered-retry')).toBe(1)
    expect(sub.position).toBe(1)
    await clock.advanceAsync(10_000)
    await sub.waitFor(5)
    expect(seen).toEqual([1, 2, 3])
    expect(await store.loadCheckpoint('filtered-retry')).toBe(5)
    await sub.close()
  })

  it('a failing store read is reported and retried', async () => {
    const clock = fakeClock()
    const store = memoryEventStore({ clock })
    await store.appendToStream('s', events(1))
    let failRead = true
    const flaky = overrideStore(store, {
      readAll: (options) => {
        if (!failRead) return store.readAll(options)
        failRead = false
        return Promise.reject(new Error('db down'))
      },
    })
    const errors: unknown[] = []
    const sub = subscribe(flaky, {
      subscriptionId: 'r',
      clock,
      retryDelay: 500,
      handler: () => {},
      onError: (e) => errors.push(e),
    })
    await clock.advanceAsync(0)
    expect(errors).toHaveLength(1)
    expect(sub.position).toBe(0)
    await clock.advanceAsync(500)
    await sub.waitFor(1)
    await sub.close()
  })

  it('close() waits for the running handler and checkpoints it; waitFor then rejects', async () => {
    const store = memoryEventStore()
    await store.appendToStream('s', events(3))
    const gate = deferred()
    const started = deferred()
    const sub = subscribe(store, {
      subscriptionId: 'stop',
      handler: async (e) => {
        if (e.globalPosition === 2) {
          started.resolve()
          await gate.promise
        }
      },
    })
    await started.promise
    const pending = sub.waitFor(3).catch((e: unknown) => e)
    let stopped = false
    const stopping = sub.close().then(() => {
      stopped = true
    })
    await new Promise((r) => setImmediate(r))
    expect(stopped).toBe(false)
    gate.resolve()
    await stopping
    expect(await store.loadCheckpoint('stop')).toBe(2)
    expect(isBulwarkError(await pending, 'E_ABORTED')).toBe(true)
    await expect(sub.waitFor(3)).rejects.toSatisfy((e) => isBulwarkError(e, 'E_ABORTED'))
  })

  it('ends when its store is closed, instead of retrying forever', async () => {
    const clock = fakeClock()
    const store = memoryEventStore({ clock })
    const errors: unknown[] = []
    const sub = subscribe(store, {
      subscriptionId: 'c',
      clock,
      pollInterval: 100,
      handler: () => {},
      onError: (e) => errors.push(e),
    })
    await sub.waitFor(0)
    const pending = sub.waitFor(1).catch((e: unknown) => e)
    await store.close()
    await clock.advanceAsync(100)
    expect(isBulwarkError(await pending, 'E_STORE_CLOSED')).toBe(true)
    await clock.advanceAsync(10_000)
    expect(errors).toHaveLength(1)
    expect(clock.pendingTimers()).toBe(0)
    await sub.close()
  })

  it('starts from a given position when no checkpoint is stored', async () => {
    const store = memoryEventStore()
    await store.appendToStream('s', events(5))
    const seen: number[] = []
    const sub = subscribe(store, { subscriptionId: 'from', from: 3, handler: (e) => void seen.push(e.globalPosition) })
    await sub.waitFor(5)
    await sub.close()
    expect(seen).toEqual([4, 5])
  })

  it.each([
    ['an empty subscriptionId', { subscriptionId: '', handler: () => {} }],
    ['a missing handler', { subscriptionId: 's' }],
    ['a zero batchSize', { subscriptionId: 's', handler: () => {}, batchSize: 0 }],
    ['a bad from', { subscriptionId: 's', handler: () => {}, from: -1 }],
    ['a bad pollInterval', { subscriptionId: 's', handler: () => {}, pollInterval: 'often' }],
    ['types not an array', { subscriptionId: 's', handler: () => {}, types: 'A' }],
  ])('refuses %s with a typed error', (_label, options) => {
    expect(() => subscribe(memoryEventStore(), options as never)).toThrowError(
      expect.objectContaining({ isBulwarkError: true }),
    )
  })
})

describe('projection', () => {
  it('routes each event to its type handler and reads only those types', async () => {
    const store = memoryEventStore()
    await store.appendToStream('o-1', [
      { type: 'OrderPlaced', data: { total: 10 } },
      { type: 'Noise', data: null },
      { type: 'OrderCancelled', data: null },
    ])
    await store.appendToStream('o-2', [{ type: 'OrderPlaced', data: { total: 20 } }])
    const totals = new Map<string, number>()
    type OrderEvent = { type: 'OrderPlaced'; data: { total: number } } | { type: 'OrderCancelled'; data: null }
    const running = projection<OrderEvent>(store, {
      projectionId: 'totals',
      handlers: {
        OrderPlaced: (e) => void totals.set(e.streamId, e.data.total),
        OrderCancelled: (e) => void totals.delete(e.streamId),
      },
    })
    await running.waitFor(await store.headPosition())
    await running.close()
    expect([...totals]).toEqual([['o-2', 20]])
    expect(() => projection(store, { projectionId: 'p', handlers: {} })).toThrowError(/handlers/)
  })

  it('types each projection handler by its event, and rejects a type the union lacks', () => {
    type OrderEvent = { type: 'OrderPlaced'; data: { total: number } } | { type: 'OrderPaid'; data: { amount: number } }
    expectTypeOf<ProjectionHandlers<OrderEvent>['OrderPaid']>().toEqualTypeOf<
      ((event: RecordedEvent<'OrderPaid', { amount: number }>) => void | Promise<void>) | undefined
    >()
    // @ts-expect-error: 'OrderShipped' is not an event of the union
    const wrong: ProjectionHandlers<OrderEvent> = { OrderShipped: () => {} }
    expect(wrong).toBeDefined()
    expectTypeOf<ProjectionHandlers<DomainEvent>>().toEqualTypeOf<
      Record<string, (event: RecordedEvent) => void | Promise<void>>
    >()
  })
})

describe('idempotent', () => {
  it('skips events at or before the last handled position, across restarts', async () => {
    const store = memoryEventStore()
    await store.appendToStream('s', events(3))
    const all = await store.readAll()
    const handled: number[] = []
    const handler = (e: RecordedEvent) => void handled.push(e.globalPosition)
    const first = idempotent(handler, { store, key: 'mailer' })
    await first(all[0] as RecordedEvent)
    await first(all[1] as RecordedEvent)
    await first(all[0] as RecordedEvent)
    // A new process: the record is durable, in the store.
    const second = idempotent(handler, { store, key: 'mailer' })
    await second(all[1] as RecordedEvent)
    await second(all[2] as RecordedEvent)
    expect(handled).toEqual([1, 2, 3])
    expect(await store.loadCheckpoint('mailer')).toBe(3)
  })

  it('does not record an event whose handler failed, so it is handled again', async () => {
    const store = memoryEventStore()
    await store.appendToStream('s', events(1))
    const [event] = await store.readAll()
    let calls = 0
    const wrapped = idempotent(
      () => {
        calls++
        if (calls === 1) throw new Error('boom')
      },
      { store, key: 'k' },
    )
    await expect(wrapped(event as RecordedEvent)).rejects.toThrow('boom')
    await wrapped(event as RecordedEvent)
    await wrapped(event as RecordedEvent)
    expect(calls).toBe(2)
  })
})
