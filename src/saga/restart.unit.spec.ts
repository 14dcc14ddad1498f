/**
 * A restart of one instance (`instanceId`): a process SIGKILLed mid-step and started again with the same
 * instance id takes its unfinished sagas over at once; an orchestrator with another id waits for the lease.
 */
import { describe, expect, it } from 'vitest'
import { deferred } from '../../test/support/saga.js'
import { sharedStores, until } from '../../test/support/saga-shared-store.js'
import type { EventStore } from '../eventstore/index.js'
import { type FakeClock, fakeClock } from '../testing/fake-clock.js'
import { defineSaga } from './define.js'
import { createSagaOrchestrator, type SagaOrchestrator } from './orchestrator.js'

const LEASE = 10_000

/** Reserve, then a charge whose first call hangs until its signal aborts (the process dies inside it). */
function order() {
  const calls = { reserve: 0, charge: 0 }
  const saga = defineSaga<{ amount: number }>('order')
    .step('reserve', {
      run: () => `reserved by call ${++calls.reserve}`,
      compensate: () => undefined,
    })
    .step('charge', {
      kind: 'pivot',
      run: ({ attempt, signal }) => {
        calls.charge++
        if (attempt > 1) return `paid by call ${attempt}`
        return new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
      },
    })
  return { calls, saga }
}

/**
 * A life of the coordinator that gets killed inside `charge`: once `kill()` is called it appends nothing
 * more (its heartbeats hang, as in a dead process) and its first store connection is closed abruptly.
 */
async function lifeKilledInCharge(clock: FakeClock, store: EventStore, instanceId: string, sagaId: string) {
  const { calls, saga } = order()
  let dead = false
  const orchestrator = createSagaOrchestrator({
    store,
    clock,
    lease: LEASE,
    instanceId,
    hooks: { beforeAppend: () => (dead ? new Promise<void>(() => undefined) : undefined) },
  })
  // A dead process hears nothing more of its sagas: how this life ends does not matter.
  orchestrator.start(saga, { amount: 40 }, { sagaId }).catch(() => undefined)
  await until(() => calls.charge === 1)
  dead = true
  return { calls, saga }
}

function nextLife(clock: FakeClock, store: EventStore, instanceId: string | undefined, saga: unknown) {
  return createSagaOrchestrator({
    store,
    clock,
    lease: LEASE,
    instanceId,
    sagas: [saga as ReturnType<typeof order>['saga']],
  })
}

async function closeAll(stores: [EventStore, EventStore], ...orchestrators: SagaOrchestrator[]) {
  for (const o of orchestrators) await o.close()
  for (const s of new Set(stores)) await s.close().catch(() => undefined)
}

describe.each(sharedStores)('restart of one instance (%s)', (name, open) => {
  it('recover() by the same instanceId after a SIGKILL mid-step resumes the saga at once', async () => {
    const clock = fakeClock()
    const stores = open(clock)
    const { calls, saga } = await lifeKilledInCharge(clock, stores[0], 'shop:coordinator:0', 'order-1')
    if (name === 'SQLite') await stores[0].close()
    const events = await stores[1].readStream('saga-order-1')
    expect(events.map((e) => e.metadata.orchestrator)).toEqual(events.map(() => 'shop:coordinator:0'))

    const restarted = nextLife(clock, stores[1], 'shop:coordinator:0', saga)
    const result = await restarted.recover()
    expect(result.leased).toEqual([])
    expect(result.resumed.map((s) => [s.sagaId, s.status, s.outputs])).toEqual([
      ['order-1', 'completed', { reserve: 'reserved by call 1', charge: 'paid by call 2' }],
    ])
    expect(calls).toEqual({ reserve: 1, charge: 2 })
    await closeAll(stores, restarted)
  })

  it('start with the existing sagaId and resume by the same instanceId take the saga over at once', async () => {
    const clock = fakeClock()
    const stores = open(clock)
    const first = await lifeKilledInCharge(clock, stores[0], 'replica-1', 'order-2')
    await lifeKilledInCharge(clock, stores[0], 'replica-1', 'order-3')
    if (name === 'SQLite') await stores[0].close()

    const restarted = nextLife(clock, stores[1], 'replica-1', first.saga)
    const started = await restarted.start(first.saga, { amount: 40 }, { sagaId: 'order-2' })
    expect([started.status, started.outputs]).toEqual([
      'completed',
      { reserve: 'reserved by call 1', charge: 'paid by call 2' },
    ])
    const resumed = await restarted.resume('order-3')
    expect([resumed.status, resumed.outputs.charge]).toEqual(['completed', 'paid by call 2'])
    expect(first.calls.charge).toBe(3) // order-2's first call, and one re-run of each saga
    await closeAll(stores, restarted)
  })

  it('an orchestrator with another instanceId waits a full lease of silence', async () => {
    const clock = fakeClock()
    const stores = open(clock)
    const { calls, saga } = await lifeKilledInCharge(clock, stores[0], 'replica-1', 'order-4')
    if (name === 'SQLite') await stores[0].close()

    const other = nextLife(clock, stores[1], 'replica-2', saga)
    expect((await other.recover()).leased).toEqual(['order-4'])
    expect((await other.start(saga, { amount: 40 }, { sagaId: 'order-4' })).status).toBe('running')
    expect((await other.resume('order-4')).status).toBe('running')
    await clock.advanceAsync(LEASE - 1)
    expect((await other.recover()).leased).toEqual(['order-4'])
    expect(calls.charge).toBe(1)

    await clock.advanceAsync(1)
    const result = await other.recover()
    expect(result.resumed.map((s) => s.status)).toEqual(['completed'])
    expect(calls.charge).toBe(2)
    await closeAll(stores, other)
  })

  it('the default instanceId is random: a restart without one waits for the lease, as before', async () => {
    const clock = fakeClock()
    const stores = open(clock)
    const { calls, saga } = await lifeKilledInCharge(clock, stores[0], 'replica-1', 'order-5')
    if (name === 'SQLite') await stores[0].close()
    const anonymous = nextLife(clock, stores[1], undefined, saga)
    expect((await anonymous.recover()).leased).toEqual(['order-5'])
    expect(calls.charge).toBe(1)
    await closeAll(stores, anonymous)
  })

  it('an orchestrator never takes over a saga it drives itself: its calls wait for that drive', async () => {
    const clock = fakeClock()
    const stores = open(clock)
    const gate = deferred<string>()
    let charges = 0
    const saga = defineSaga<{ amount: number }>('order').step('charge', {
      kind: 'pivot',
      run: () => {
        charges++
        return gate.promise
      },
    })
    const live = nextLife(clock, stores[0], 'replica-1', saga)
    const driving = live.start(saga, { amount: 40 }, { sagaId: 'order-6' })
    await until(() => charges === 1)
    const again = [live.resume('order-6'), live.start(saga, { amount: 40 }, { sagaId: 'order-6' })] as const
    const recovering = live.recover()
    gate.resolve('paid')
    const [resumed, started] = await Promise.all(again)
    const recovered = await recovering
    expect([(await driving).status, resumed.status, started.status, charges]).toEqual([
      'completed',
      'completed',
      'completed',
      1,
    ])
    expect(recovered).toMatchObject({ leased: [], failed: [] })
    await closeAll(stores, live)
  })
})

describe('instanceId validation', () => {
  it.each([
    ['empty', ''],
    ['blank', '  '],
    ['not a string', 42],
    ['a lone surrogate', 'replica-\ud83d'],
    ['too long', 'r'.repeat(201)],
  ])('rejects %s with E_INVALID_OPTION naming the option', (_what, instanceId) => {
    const clock = fakeClock()
    const store = sharedStores[0]![1](clock)[0]
    expect(() => createSagaOrchestrator({ store, clock, instanceId: instanceId as string })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', message: expect.stringContaining('`instanceId`') }),
    )
  })
})
