/**
 * Two orchestrators on one store: the one that drives a saga holds its lease (every append renews it, and a
 * heartbeat when a step or a backoff lasts); another one's `start` with the same id, `resume` and `recover`
 * report the saga without driving it, and take it over only once it has been silent for the lease.
 */
import { describe, expect, it } from 'vitest'
import { deferred } from '../../test/support/saga.js'
import { sharedStores as backends, until } from '../../test/support/saga-shared-store.js'
import type { EventStore } from '../eventstore/index.js'
import { type FakeClock, fakeClock } from '../testing/fake-clock.js'
import { defineSaga } from './define.js'
import type { SagaEvent } from './events.js'
import type { SagaHooks } from './options.js'
import { createSagaOrchestrator, type SagaOrchestrator } from './orchestrator.js'

const LEASE = 10_000

/** A payment whose calls block until released (or until their signal aborts), and which counts overlaps. */
function blockingCharge() {
  const gate = deferred()
  const charge = { calls: 0, active: 0, maxActive: 0, gate }
  const saga = defineSaga<{ amount: number }>('order').step('charge', {
    kind: 'pivot',
    run: async ({ signal, attempt }) => {
      charge.calls++
      charge.active++
      charge.maxActive = Math.max(charge.maxActive, charge.active)
      try {
        await new Promise((resolve, reject) => {
          gate.promise.then(resolve)
          signal.addEventListener('abort', () => reject(signal.reason))
        })
        return `paid by call ${attempt}`
      } finally {
        charge.active--
      }
    },
  })
  return { charge, saga }
}

function orchestrators(clock: FakeClock, stores: [EventStore, EventStore], hooks: [SagaHooks?, SagaHooks?] = []) {
  const conflicts: string[] = []
  const make = (store: EventStore, name: string, h?: SagaHooks) => {
    const o = createSagaOrchestrator({ store, clock, lease: LEASE, hooks: h })
    o.coordination.on('conflict', (id) => conflicts.push(`${name}:${id}`))
    return o
  }
  return { one: make(stores[0], 'one', hooks[0]), two: make(stores[1], 'two', hooks[1]), conflicts }
}

async function types(store: EventStore, sagaId: string): Promise<string[]> {
  return (await store.readStream(`saga-${sagaId}`)).map((e) => e.type)
}

async function close(...items: (SagaOrchestrator | EventStore)[]): Promise<void> {
  for (const item of items) await item.close()
}

describe.each(backends)('lease (%s)', (_name, open) => {
  it("a second orchestrator's start returns the state of a saga another one drives, and runs nothing", async () => {
    const clock = fakeClock()
    const stores = open(clock)
    const { one, two, conflicts } = orchestrators(clock, stores)
    const { charge, saga } = blockingCharge()
    const fromOne = one.start(saga, { amount: 40 }, { sagaId: 'order-9' })
    await until(() => charge.calls === 1)

    const fromTwo = await two.start(saga, { amount: 40 }, { sagaId: 'order-9' })
    expect(fromTwo.status).toBe('running')
    expect(fromTwo.steps[0]).toMatchObject({ status: 'started', attempts: 1 })
    // The step runs for three leases: the heartbeats of orchestrator one keep the saga its own.
    for (let t = 0; t < 3 * LEASE; t += LEASE / 10) await clock.advanceAsync(LEASE / 10)
    expect((await two.start(saga, { amount: 40 }, { sagaId: 'order-9' })).status).toBe('running')
    expect((await two.resume('order-9')).status).toBe('running')
    const recovered = await two.recover()
    expect([recovered.leased, recovered.resumed]).toEqual([['order-9'], []])
    expect(charge.calls).toBe(1)

    charge.gate.resolve()
    const state = await fromOne
    expect(state).toMatchObject({ status: 'completed', outputs: { charge: 'paid by call 1' } })
    expect([charge.calls, charge.maxActive, conflicts]).toEqual([1, 1, []])
    const stream = await types(stores[1], 'order-9')
    expect(stream.filter((t) => t === 'SagaHeartbeat').length).toBeGreaterThanOrEqual(3)
    expect(stream.filter((t) => t !== 'SagaHeartbeat')).toEqual([
      'SagaStarted',
      'StepStarted',
      'StepExecuted',
      'SagaCompleted',
    ])
    expect(state.timeline.map((e) => e.type)).not.toContain('SagaHeartbeat')
    await close(one, two, ...new Set(stores))
  })

  it('a saga whose orchestrator died is taken over once it has been silent for the lease, not before', async () => {
    const clock = fakeClock()
    const stores = open(clock)
    const dies: SagaHooks = {
      afterAppend: () => {
        throw new Error('the process dies')
      },
    }
    const { one, two, conflicts } = orchestrators(clock, stores, [dies])
    const { charge, saga } = blockingCharge()
    charge.gate.resolve()
    await expect(one.start(saga, { amount: 5 }, { sagaId: 'order-1' })).rejects.toThrow('the process dies')

    clock.advance(LEASE - 1)
    expect((await two.start(saga, { amount: 5 }, { sagaId: 'order-1' })).status).toBe('running')
    expect((await two.recover()).leased).toEqual(['order-1'])
    expect(charge.calls).toBe(0)

    clock.advance(1)
    const state = await two.start(saga, { amount: 5 }, { sagaId: 'order-1' })
    expect(state).toMatchObject({ status: 'completed', outputs: { charge: 'paid by call 2' } })
    expect([charge.calls, conflicts]).toEqual([1, []])
    await close(one, two, ...new Set(stores))
  })

  it.each([
    ['fail', (events: readonly SagaEvent[]) => Promise.reject(new Error(`unreachable: ${events[0]?.type}`))],
    ['hang', () => new Promise<void>(() => undefined)],
  ])('an orchestrator whose appends %s aborts its step before another one may take over', async (_how, down) => {
    const clock = fakeClock()
    const stores = open(clock)
    let storeDown = false
    const unreachable: SagaHooks = {
      beforeAppend: (_id: string, events: readonly SagaEvent[]) => (storeDown ? down(events) : undefined),
    }
    const { one, two, conflicts } = orchestrators(clock, stores, [unreachable])
    const { charge, saga } = blockingCharge()
    const fromOne = one.start(saga, { amount: 7 }, { sagaId: 'order-3' })
    const outcome = fromOne.then(
      () => 'resolved',
      (e) => (e as { code?: string }).code,
    )
    await until(() => charge.calls === 1)
    storeDown = true

    const stoppedAt = clock.now() + LEASE / 2
    while (charge.active > 0) await clock.advanceAsync(LEASE / 20)
    expect(clock.now()).toBeLessThanOrEqual(stoppedAt + LEASE / 8)
    expect(await outcome).toBe('E_SAGA_LEASE_LOST')
    expect((await two.start(saga, { amount: 7 }, { sagaId: 'order-3' })).status).toBe('running')
    expect(charge.calls).toBe(1)

    clock.advance(LEASE)
    charge.gate.resolve()
    const state = await two.start(saga, { amount: 7 }, { sagaId: 'order-3' })
    expect(state).toMatchObject({ status: 'completed', outputs: { charge: 'paid by call 2' } })
    expect([charge.calls, charge.maxActive, conflicts]).toEqual([2, 1, []])
    await close(one, two, ...new Set(stores))
  })

  it('clocks that disagree by more than the lease break the guarantee, never the log: the loser stops', async () => {
    const clock = fakeClock()
    const ahead = fakeClock(clock.now() + LEASE) // orchestrator two's clock is a whole lease ahead
    const stores = open(clock)
    const one = createSagaOrchestrator({ store: stores[0], clock, lease: LEASE })
    const two = createSagaOrchestrator({ store: stores[1], clock: ahead, lease: LEASE })
    const conflicts: string[] = []
    one.coordination.on('conflict', (id) => conflicts.push(`one:${id}`))
    two.coordination.on('conflict', (id) => conflicts.push(`two:${id}`))
    const { charge, saga } = blockingCharge()
    const fromOne = one.start(saga, { amount: 3 }, { sagaId: 'order-5' })
    await until(() => charge.calls === 1)
    const fromTwo = two.start(saga, { amount: 3 }, { sagaId: 'order-5' }) // looks stalled to two: taken over
    await until(() => charge.calls === 2)

    // One's next heartbeat finds the stream moved on: it stops, aborting its call, and reports the stream.
    await clock.advanceAsync(LEASE / 2)
    expect(charge.active).toBe(1)
    expect((await fromOne).status).toBe('running')
    charge.gate.resolve()
    expect(await fromTwo).toMatchObject({ status: 'completed', outputs: { charge: 'paid by call 2' } })
    expect(conflicts).toEqual(['one:order-5'])
    const stream = await types(stores[0], 'order-5')
    expect(stream.filter((t) => t === 'StepExecuted')).toHaveLength(1)
    await close(one, two, ...new Set(stores))
  })
})
