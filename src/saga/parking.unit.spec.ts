import { describe, expect, it } from 'vitest'
import { harness, settle, streamTypes } from '../../test/support/saga.js'
import { isBulwarkError } from '../core/errors.js'
import { defineSaga } from './define.js'

/** A saga whose pivot fails, so `a` is compensated; `refund` decides whether that compensation works. */
function refundSaga(refund: () => void) {
  return defineSaga('refund')
    .step('a', { run: () => 'A', compensate: refund })
    .step('pivot', { kind: 'pivot', run: () => Promise.reject(new Error('declined')) })
}

describe('parking', () => {
  it('parks the saga with the reason once a compensation fails past its limit; nothing is dropped', async () => {
    const { orchestrator, clock, store } = harness()
    const parked: string[] = []
    orchestrator.on('SagaParked', (sagaId, data) => parked.push(`${sagaId}: ${data.reason}`))
    const saga = refundSaga(() => {
      throw new Error('ledger locked')
    })
    const state = await settle(clock, orchestrator.start(saga, null, { sagaId: 'pk' }))
    expect(state.status).toBe('parked')
    expect(state.phase).toBe('compensation')
    expect(state.parkedReason).toBe('compensation of step "a" failed 3 times: ledger locked')
    expect(parked).toEqual(['pk: compensation of step "a" failed 3 times: ledger locked'])
    expect((await streamTypes(store, 'pk')).slice(-4)).toEqual([
      'CompensationFailed',
      'CompensationFailed',
      'CompensationFailed',
      'SagaParked',
    ])
    expect((await orchestrator.list({ status: 'parked' })).map((s) => s.sagaId)).toEqual(['pk'])
  })

  it('resume(sagaId) retries the compensation with a fresh budget and finishes the saga', async () => {
    const { orchestrator, clock } = harness()
    let healthy = false
    const saga = refundSaga(() => {
      if (!healthy) throw new Error('ledger locked')
    })
    expect((await settle(clock, orchestrator.start(saga, null, { sagaId: 'rs' }))).status).toBe('parked')
    healthy = true
    const state = await orchestrator.resume('rs')
    expect(state.status).toBe('aborted')
    expect(state.steps[0]).toMatchObject({ status: 'compensated', compensationFailures: 0 })
    expect(state.timeline.map((t) => t.type).slice(-3)).toEqual(['SagaResumed', 'StepCompensated', 'SagaAborted'])
  })

  it('resolve(sagaId, note) settles the parked step by hand and continues', async () => {
    const { orchestrator, clock } = harness()
    const saga = refundSaga(() => {
      throw new Error('ledger locked')
    })
    await settle(clock, orchestrator.start(saga, null, { sagaId: 'rv' }))
    await expect(orchestrator.resolve('rv', '')).rejects.toSatisfy((e) => isBulwarkError(e, 'E_INVALID_ARGUMENT'))
    const state = await orchestrator.resolve('rv', 'refunded by hand, ticket 7')
    expect(state.status).toBe('aborted')
    expect(state.steps[0]!.status).toBe('resolved')
    expect(state.resolutions).toEqual(['refunded by hand, ticket 7'])
    await expect(orchestrator.resolve('rv', 'again')).rejects.toSatisfy((e) => isBulwarkError(e, 'E_SAGA_STATE'))
  })

  it('parks a retriable step after retriableRetry.attempts failed runs; resolve continues it forward', async () => {
    const { orchestrator, clock } = harness({ retriableRetry: { attempts: 2, backoff: { initial: 100, max: 100 } } })
    const log: string[] = []
    const saga = defineSaga('fwd')
      .step('ship', { kind: 'pivot', run: () => 'S' })
      .step('notify', {
        kind: 'retriable',
        run: () => {
          throw new Error('mailer gone')
        },
      })
      .step('close', { kind: 'retriable', run: () => void log.push('closed') })
    const parked = await settle(clock, orchestrator.start(saga, null, { sagaId: 'fw' }))
    expect(parked).toMatchObject({
      status: 'parked',
      phase: 'forward',
      parkedReason: 'step "notify" failed 2 times: mailer gone',
    })
    const state = await orchestrator.resolve('fw', 'sent the mail by hand')
    expect(state.status).toBe('completed')
    expect(log).toEqual(['closed'])
  })

  it('waits the backoff between failed runs, initial * multiplier^(n-1), and parks after `attempts` runs', async () => {
    const { orchestrator, clock } = harness({
      compensationRetry: { attempts: 4, backoff: { initial: 100, max: 1_000, multiplier: 3 } },
    })
    const calls: number[] = []
    const saga = refundSaga(() => {
      calls.push(clock.now())
      throw new Error('ledger locked')
    })
    const state = await settle(clock, orchestrator.start(saga, null, { sagaId: 'bo' }), 10)
    expect(state.parkedReason).toBe('compensation of step "a" failed 4 times: ledger locked')
    expect(calls.slice(1).map((at, i) => at - calls[i]!)).toEqual([100, 300, 900])
  })

  it('a parallel group whose compensations partly fail parks on the failing one only', async () => {
    const { orchestrator, clock } = harness()
    const undone: string[] = []
    const saga = defineSaga('pg')
      .parallel([
        { name: 'x', run: () => 'X', compensate: () => void undone.push('x') },
        {
          name: 'y',
          run: () => 'Y',
          compensate: () => {
            throw new Error('y stuck')
          },
        },
      ])
      .step('p', { kind: 'pivot', run: () => Promise.reject(new Error('no')) })
    const state = await settle(clock, orchestrator.start(saga, null, { sagaId: 'pg' }))
    expect(state.status).toBe('parked')
    expect(undone).toEqual(['x'])
    expect(state.steps.map((s) => s.status)).toEqual(['compensated', 'executed', 'failed'])
  })

  it('close() stops a saga waiting in a backoff; it stays unfinished for recover()', async () => {
    const { orchestrator, clock, store } = harness()
    const saga = refundSaga(() => {
      throw new Error('down')
    })
    const running = orchestrator.start(saga, null, { sagaId: 'cl' })
    await clock.advanceAsync(10)
    await orchestrator.close()
    await expect(running).rejects.toSatisfy((e) => isBulwarkError(e, 'E_ABORTED'))
    expect((await streamTypes(store, 'cl')).at(-1)).toBe('CompensationFailed')
    await expect(orchestrator.start(saga, null)).rejects.toSatisfy((e) => isBulwarkError(e, 'E_ABORTED'))
    await expect(orchestrator.recover()).rejects.toSatisfy((e) => isBulwarkError(e, 'E_ABORTED'))
    expect(await store.headPosition()).toBe((await store.readStream('saga-cl')).length)
  })
})
