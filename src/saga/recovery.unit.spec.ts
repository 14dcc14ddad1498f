import { describe, expect, it } from 'vitest'
import { harness, settle } from '../../test/support/saga.js'
import { defineSaga } from './define.js'
import type { SagaEvent } from './events.js'
import { createSagaOrchestrator } from './orchestrator.js'

class Crash extends Error {}

/** The orchestrators' default lease: a saga silent for this long is taken to have no live driver. */
const LEASE = 30_000

/** A payment service that applies each charge once per idempotency key, and counts calls. */
function payments() {
  const charges = new Map<string, number>()
  let calls = 0
  let refunds = 0
  return {
    charges,
    get calls() {
      return calls
    },
    get refunds() {
      return refunds
    },
    charge(key: string, amount: number) {
      calls++
      if (!charges.has(key)) charges.set(key, amount)
      return { charged: charges.get(key)! }
    },
    refund(key: string) {
      if (charges.delete(key)) refunds++
    },
  }
}

function paySaga(service: ReturnType<typeof payments>, failShip = false) {
  return defineSaga<{ amount: number }>('pay')
    .step('charge', {
      run: ({ input, idempotencyKey }) => service.charge(idempotencyKey, input.amount),
      compensate: ({ idempotencyKey }) => service.refund(idempotencyKey),
    })
    .step('ship', {
      kind: 'pivot',
      run: () => {
        if (failShip) throw new Error('no courier')
        return 'shipped'
      },
    })
}

/** Hooks that throw (a crash) at the n-th append, before or after it is committed. */
function crashAt(n: number, when: 'before' | 'after') {
  let count = 0
  const maybe = (_id: string, _events: readonly SagaEvent[]) => {
    if (++count === n) throw new Crash(`crash ${when} append ${n}`)
  }
  return when === 'before' ? { beforeAppend: maybe } : { afterAppend: maybe }
}

describe('recover', () => {
  it('re-runs a step whose outcome was not recorded, with the same idempotency key', async () => {
    const service = payments()
    const saga = paySaga(service)
    const first = harness({ hooks: crashAt(2, 'before') }) // append 2 would record StepExecuted(charge)
    await expect(first.orchestrator.start(saga, { amount: 30 }, { sagaId: 'p1' })).rejects.toBeInstanceOf(Crash)
    expect(service.calls).toBe(1)
    expect((await first.orchestrator.get('p1'))?.steps[0]?.status).toBe('started')

    first.clock.advance(LEASE) // until then the saga might be driven by a live orchestrator
    const restarted = createSagaOrchestrator({ store: first.store, clock: first.clock, sagas: [saga] })
    const result = await restarted.recover()
    expect(result.resumed.map((s) => [s.sagaId, s.status])).toEqual([['p1', 'completed']])
    expect(service.calls).toBe(2)
    expect([...service.charges]).toEqual([['p1:charge', 30]])
    expect(result.resumed[0]!.steps[0]!.attempts).toBe(2)
  })

  it('runs a step recorded as started but never called', async () => {
    const service = payments()
    const saga = paySaga(service)
    const first = harness({ hooks: crashAt(1, 'after') })
    await expect(first.orchestrator.start(saga, { amount: 5 }, { sagaId: 'p2' })).rejects.toBeInstanceOf(Crash)
    expect(service.calls).toBe(0)
    first.clock.advance(LEASE)
    const restarted = createSagaOrchestrator({ store: first.store, clock: first.clock, sagas: [saga] })
    expect((await restarted.recover()).resumed[0]!.status).toBe('completed')
    expect(service.calls).toBe(1)
  })

  it('continues a compensation interrupted by a crash', async () => {
    const service = payments()
    const saga = paySaga(service, true)
    // appends: [Started, StepStarted], [Executed, StepStarted], [Failed, CompensationStarted], [Compensated, Aborted]
    const first = harness({ hooks: crashAt(4, 'before') })
    await expect(first.orchestrator.start(saga, { amount: 9 }, { sagaId: 'p3' })).rejects.toBeInstanceOf(Crash)
    expect(service.refunds).toBe(1) // the refund happened, its record did not
    first.clock.advance(LEASE)
    const restarted = createSagaOrchestrator({ store: first.store, clock: first.clock, sagas: [saga] })
    const [state] = (await restarted.recover()).resumed
    expect(state?.status).toBe('aborted')
    expect(service.refunds).toBe(1) // compensations are idempotent by key: nothing refunded twice
    expect(service.charges.size).toBe(0)
  })

  it('leaves parked sagas alone, reports sagas without a definition, and keeps a checkpoint', async () => {
    const { orchestrator, clock, store } = harness()
    const service = payments()
    await orchestrator.start(paySaga(service), { amount: 1 }, { sagaId: 'done' })
    const stuck = defineSaga('stuck')
      .step('a', {
        run: () => 'A',
        compensate: () => {
          throw new Error('never')
        },
      })
      .step('p', { kind: 'pivot', run: () => Promise.reject(new Error('x')) })
    await settle(clock, orchestrator.start(stuck, null, { sagaId: 'parked' }))
    const orphan = defineSaga('orphan').step('o', { kind: 'pivot', run: () => 1 })
    const stranger = createSagaOrchestrator({ store, clock, hooks: crashAt(1, 'after') })
    await expect(stranger.start(orphan, null, { sagaId: 'orphan-1' })).rejects.toBeInstanceOf(Crash)

    clock.advance(LEASE)
    const restarted = createSagaOrchestrator({ store, clock, sagas: [paySaga(service)] })
    const result = await restarted.recover()
    expect(result.resumed).toEqual([])
    expect(result.leased).toEqual([])
    expect(result.parked).toEqual(['parked'])
    expect(result.failed.map((f) => [f.sagaId, (f.error as { code?: string }).code])).toEqual([
      ['orphan-1', 'E_SAGA_NOT_FOUND'],
    ])
    const parkedStart = (await store.readStream('saga-parked'))[0]!.globalPosition
    expect(await store.loadCheckpoint('bulwark-saga-recovery')).toBe(parkedStart - 1)

    await restarted.register(stuck).resolve('parked', 'fixed by hand')
    restarted.register(orphan)
    const second = await restarted.recover()
    expect(second.resumed.map((s) => [s.sagaId, s.status])).toEqual([['orphan-1', 'completed']])
    expect(await store.loadCheckpoint('bulwark-saga-recovery')).toBe(
      (await store.readStream('saga-orphan-1'))[0]!.globalPosition - 1,
    )
    expect((await restarted.recover()).resumed).toEqual([])
    expect(await store.loadCheckpoint('bulwark-saga-recovery')).toBe(await store.headPosition())
  })
})

describe('list', () => {
  it('filters by status and by time without a transition', async () => {
    const { orchestrator, clock, store } = harness()
    const ok = defineSaga('ok').step('a', { kind: 'pivot', run: () => 1 })
    const slow = defineSaga('slow').step('a', { kind: 'pivot', run: () => 1 })
    await orchestrator.start(ok, null, { sagaId: 'ok-1' })
    // An orchestrator that dies once slow-1 is under way: nothing records a transition of it any more.
    const crashed = createSagaOrchestrator({ store, clock, hooks: crashAt(1, 'after') })
    await expect(crashed.start(slow, null, { sagaId: 'slow-1' })).rejects.toBeInstanceOf(Crash)
    await clock.advanceAsync(60_000)
    await orchestrator.start(ok, null, { sagaId: 'ok-2' })
    expect((await orchestrator.list({ status: 'completed' })).map((s) => s.sagaId)).toEqual(['ok-1', 'ok-2'])
    expect((await orchestrator.list({ status: 'running' })).map((s) => s.sagaId)).toEqual(['slow-1'])
    expect((await orchestrator.list({ stalledFor: '1m' })).map((s) => s.sagaId)).toEqual(['slow-1'])
    expect(await orchestrator.list({ stalledFor: '2m' })).toEqual([])
    expect((await orchestrator.list({ limit: 1 })).map((s) => s.sagaId)).toEqual(['ok-1'])
  })
})

describe('recover and the deadline', () => {
  it('re-runs a step left started by a crash even past the deadline, then compensates for the deadline', async () => {
    const log: string[] = []
    const saga = defineSaga('late-recovery', { deadline: '10s' })
      .step('a', { run: () => 'A', compensate: () => void log.push('undo a') })
      .step('b', {
        run: ({ signal, attempt }) => {
          log.push(`run b attempt=${attempt} aborted=${signal.aborted}`)
          return 'B'
        },
        compensate: ({ output }) => void log.push(`undo b ${output}`),
      })
      .step('c', { kind: 'pivot', run: () => void log.push('c ran') })
    const first = harness({ hooks: crashAt(2, 'after') }) // [Executed(a), StepStarted(b)] committed, then the crash
    await expect(first.orchestrator.start(saga, null, { sagaId: 'dl' })).rejects.toBeInstanceOf(Crash)
    await first.clock.advanceAsync(60_000)
    const restarted = createSagaOrchestrator({ store: first.store, clock: first.clock, sagas: [saga] })
    const [state] = (await restarted.recover()).resumed
    expect(log).toEqual(['run b attempt=2 aborted=false', 'undo b B', 'undo a'])
    expect(state).toMatchObject({ status: 'aborted', failure: { code: 'E_SAGA_DEADLINE' } })
  })
})
