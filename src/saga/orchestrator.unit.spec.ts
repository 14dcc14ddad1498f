import { describe, expect, expectTypeOf, it } from 'vitest'
import { deferred, harness, settle, streamTypes } from '../../test/support/saga.js'
import { circuitBreaker } from '../breaker/index.js'
import { isBulwarkError } from '../core/errors.js'
import { defineSaga } from './define.js'
import type { SagaEventType } from './events.js'
import { foldSaga } from './fold.js'
import type { SagaCoordinationEvents, SagaOrchestratorEvents } from './orchestrator-events.js'
import { SagaRunner } from './runner.js'
import type { StepContext } from './types.js'

type Order = { sku: string; qty: number }

/** A saga whose steps log what they receive; `failAt` makes that step throw. */
function orderSaga(log: string[], failAt?: string) {
  const act = (name: string, output: unknown) => (ctx: StepContext<Order, object>) => {
    log.push(`run ${name} key=${ctx.idempotencyKey} attempt=${ctx.attempt}`)
    if (name === failAt) throw new Error(`${name} refused`)
    return output
  }
  const undo = (name: string) => (ctx: { output: unknown }) =>
    void log.push(`undo ${name} ${JSON.stringify(ctx.output)}`)
  return defineSaga<Order>('order')
    .step('reserve', { run: act('reserve', { reservation: 'R1' }), compensate: undo('reserve') })
    .step('charge', { run: act('charge', { payment: 'P1' }), compensate: undo('charge') })
    .step('ship', { kind: 'pivot', run: act('ship', { tracking: 'T1' }) })
    .step('notify', { kind: 'retriable', run: act('notify', undefined) })
}

describe('orchestrator: forward', () => {
  it('runs the steps in order with input, typed outputs, idempotency key, attempt and signal', async () => {
    const { orchestrator, store } = harness()
    const seen: unknown[] = []
    const saga = defineSaga<Order>('seen')
      .step('reserve', {
        run: ({ input }) => ({ reservation: `${input.sku}x${input.qty}` }),
        compensate: () => undefined,
      })
      .step('charge', {
        kind: 'pivot',
        run: (ctx) => {
          seen.push({ ...ctx, signal: ctx.signal instanceof AbortSignal })
          return 42
        },
      })
    const state = await orchestrator.start(saga, { sku: 'A', qty: 2 }, { sagaId: 's1' })
    expect(seen).toEqual([
      {
        sagaId: 's1',
        step: 'charge',
        input: { sku: 'A', qty: 2 },
        outputs: { reserve: { reservation: 'Ax2' } },
        idempotencyKey: 's1:charge',
        attempt: 1,
        signal: true,
      },
    ])
    expect(state.status).toBe('completed')
    expect(state.outputs).toEqual({ reserve: { reservation: 'Ax2' }, charge: 42 })
    expect(await streamTypes(store, 's1')).toEqual([
      'SagaStarted',
      'StepStarted',
      'StepExecuted',
      'StepStarted',
      'StepExecuted',
      'SagaCompleted',
    ])
  })

  it("records a step's start in the same append as the previous step's outcome: steps + 1 appends", async () => {
    const { orchestrator, appends } = harness()
    await orchestrator.start(orderSaga([]), { sku: 'A', qty: 1 }, { sagaId: 'batched' })
    expect(appends).toEqual([
      ['SagaStarted', 'StepStarted'],
      ['StepExecuted', 'StepStarted'],
      ['StepExecuted', 'StepStarted'],
      ['StepExecuted', 'StepStarted'],
      ['StepExecuted', 'SagaCompleted'],
    ])
  })

  it('returns the fold of its stream: get(), foldSaga(readStream) and the result agree', async () => {
    const { orchestrator, store } = harness()
    const result = await orchestrator.start(orderSaga([], 'ship'), { sku: 'A', qty: 1 }, { sagaId: 'fold' })
    expect(result.status).toBe('aborted')
    expect(await orchestrator.get('fold')).toEqual(result)
    expect(foldSaga(await store.readStream('saga-fold'))).toEqual(result)
    expect(result.timeline.map((t) => t.type)).toEqual(await streamTypes(store, 'fold'))
    expect(result.version).toBe(await store.streamVersion('saga-fold'))
  })

  it('is idempotent by sagaId: a second start returns the saga and runs nothing again', async () => {
    const { orchestrator } = harness()
    const log: string[] = []
    const saga = orderSaga(log)
    const [a, b] = await Promise.all([
      orchestrator.start(saga, { sku: 'A', qty: 1 }, { sagaId: 'once' }),
      orchestrator.start(saga, { sku: 'A', qty: 1 }, { sagaId: 'once' }),
    ])
    const c = await orchestrator.start(saga, { sku: 'A', qty: 1 }, { sagaId: 'once' })
    expect(a).toEqual(b)
    expect(c).toEqual(a)
    expect(log.filter((l) => l.startsWith('run reserve'))).toHaveLength(1)
  })

  it('emits typed events after each transition is committed', async () => {
    const { orchestrator } = harness()
    const events: string[] = []
    orchestrator.on('StepExecuted', (sagaId, data) => events.push(`${sagaId}:${data.step}`))
    orchestrator.on('SagaCompleted', (sagaId) => events.push(`${sagaId}:done`))
    await orchestrator.start(orderSaga([]), { sku: 'A', qty: 1 }, { sagaId: 'ev' })
    expect(events).toEqual(['ev:reserve', 'ev:charge', 'ev:ship', 'ev:notify', 'ev:done'])
  })

  it('emits saga events on the orchestrator and `conflict` apart, on `orchestrator.coordination`', async () => {
    const { orchestrator, store } = harness()
    expectTypeOf<keyof SagaOrchestratorEvents>().toEqualTypeOf<SagaEventType>()
    expectTypeOf<keyof SagaCoordinationEvents>().toEqualTypeOf<'conflict'>()
    // @ts-expect-error `conflict` is not a saga event: it is listened to on `orchestrator.coordination`
    const _notASagaEvent = () => orchestrator.on('conflict', () => undefined)
    const onOrchestrator: string[] = []
    orchestrator.on('SagaStarted', (sagaId) => onOrchestrator.push(`SagaStarted:${sagaId}`))
    ;(orchestrator.on as (type: string, listener: () => void) => void)('conflict', () =>
      onOrchestrator.push('conflict'),
    )
    const conflicts: string[] = []
    orchestrator.coordination.on('conflict', (sagaId) => conflicts.push(sagaId))
    // Another writer appends to the saga's stream while its step runs: the next append conflicts.
    const saga = defineSaga<Order>('raced').step('ship', {
      kind: 'pivot',
      run: async ({ sagaId }) => {
        await store.appendToStream(`saga-${sagaId}`, [{ type: 'SagaHeartbeat', data: { at: 0 } }])
        return 'T1'
      },
    })
    const state = await orchestrator.start(saga, { sku: 'A', qty: 1 }, { sagaId: 'raced-1' })
    expect(state.status).toBe('running') // what the stream says: this orchestrator stopped
    expect(conflicts).toEqual(['raced-1'])
    expect(onOrchestrator).toEqual(['SagaStarted:raced-1'])
  })

  it("keeps the runner's internals in #private fields", () => {
    expect(Object.getOwnPropertyNames(SagaRunner.prototype).sort()).toEqual([
      'committed',
      'constructor',
      'drive',
      'renew',
      'stopRun',
    ])
  })
})

describe('orchestrator: compensation', () => {
  it('compensates completed steps in reverse order when a step before the pivot fails', async () => {
    const { orchestrator, store } = harness()
    const log: string[] = []
    const state = await orchestrator.start(orderSaga(log, 'ship'), { sku: 'A', qty: 1 }, { sagaId: 'c1' })
    expect(log).toEqual([
      'run reserve key=c1:reserve attempt=1',
      'run charge key=c1:charge attempt=1',
      'run ship key=c1:ship attempt=1',
      'undo charge {"payment":"P1"}',
      'undo reserve {"reservation":"R1"}',
    ])
    expect(state.status).toBe('aborted')
    expect(state.failure).toEqual({ message: 'ship refused', step: 'ship' })
    expect(state.steps.map((s) => s.status)).toEqual(['compensated', 'compensated', 'failed', 'pending'])
    expect(await streamTypes(store, 'c1')).toEqual([
      'SagaStarted',
      'StepStarted',
      'StepExecuted',
      'StepStarted',
      'StepExecuted',
      'StepStarted',
      'StepFailed',
      'CompensationStarted',
      'StepCompensated',
      'StepCompensated',
      'SagaAborted',
    ])
  })

  it('a failing first step aborts with nothing to compensate', async () => {
    const { orchestrator } = harness()
    const log: string[] = []
    const state = await orchestrator.start(orderSaga(log, 'reserve'), { sku: 'A', qty: 1 })
    expect(state.status).toBe('aborted')
    expect(log).toEqual([expect.stringMatching(/^run reserve/)])
  })

  it('runs a parallel group at once and compensates it together, then earlier steps', async () => {
    const { orchestrator } = harness()
    const log: string[] = []
    const gates = { a: deferred(), b: deferred(), undoA: deferred(), undoB: deferred() }
    const saga = defineSaga('par')
      .step('first', { run: () => 'f', compensate: () => void log.push('undo first') })
      .parallel([
        {
          name: 'a',
          run: async () => {
            log.push('start a')
            await gates.a.promise
            return 'A'
          },
          compensate: async () => {
            log.push('undo a start')
            await gates.undoA.promise
            log.push('undo a end')
          },
        },
        {
          name: 'b',
          run: async () => {
            log.push('start b')
            await gates.b.promise
            throw new Error('b failed')
          },
          compensate: async () => void log.push('undo b'),
        },
        {
          name: 'c',
          run: () => 'C',
          compensate: async () => {
            log.push('undo c start')
            await gates.undoB.promise
            log.push('undo c end')
          },
        },
      ])
    const running = orchestrator.start(saga, null, { sagaId: 'p1' })
    await new Promise((r) => setImmediate(r))
    expect(log).toEqual(['start a', 'start b'])
    gates.b.resolve()
    await new Promise((r) => setImmediate(r))
    expect(log).toEqual(['start a', 'start b']) // the group waits for every member
    gates.a.resolve()
    await new Promise((r) => setImmediate(r))
    expect(log).toEqual(['start a', 'start b', 'undo a start', 'undo c start'])
    gates.undoA.resolve()
    gates.undoB.resolve()
    const state = await running
    expect(log.slice(4)).toEqual(['undo a end', 'undo c end', 'undo first'])
    expect(state.status).toBe('aborted')
    expect(state.steps.map((s) => [s.name, s.status])).toEqual([
      ['first', 'compensated'],
      ['a', 'compensated'],
      ['b', 'failed'],
      ['c', 'compensated'],
    ])
  })

  it('a compensation that fails is retried with backoff on the clock', async () => {
    const { orchestrator, clock } = harness()
    const times: number[] = []
    const saga = defineSaga('retry-comp')
      .step('a', {
        run: () => 'A',
        compensate: () => {
          times.push(clock.now())
          if (times.length < 3) throw new Error('refund service down')
        },
      })
      .step('b', { kind: 'pivot', run: () => Promise.reject(new Error('no')) })
    const state = await settle(clock, orchestrator.start(saga, null, { sagaId: 'rc' }), 50)
    expect(state.status).toBe('aborted')
    expect(times.map((t) => t - times[0]!)).toEqual([0, 1_000, 3_000])
    expect(state.timeline.filter((t) => t.type === 'CompensationFailed').map((t) => t.detail)).toEqual([
      'refund service down',
      'refund service down',
    ])
  })
})

describe('orchestrator: pivot and retriable steps', () => {
  it('retries a failing retriable step after the pivot until it succeeds, never compensating', async () => {
    const { orchestrator, clock } = harness()
    const calls: [number, number][] = []
    const log: string[] = []
    const saga = defineSaga('after-pivot')
      .step('a', { run: () => 'A', compensate: () => void log.push('undo a') })
      .step('ship', { kind: 'pivot', run: () => 'S' })
      .step('notify', {
        kind: 'retriable',
        run: ({ attempt }) => {
          calls.push([attempt, clock.now()])
          if (attempt < 4) throw new Error('mailer down')
          return 'sent'
        },
      })
    const state = await settle(clock, orchestrator.start(saga, null, { sagaId: 'rt' }), 50)
    expect(state.status).toBe('completed')
    expect(log).toEqual([])
    const start = calls[0]![1]
    expect(calls.map(([attempt, at]) => [attempt, at - start])).toEqual([
      [1, 0],
      [2, 1_000],
      [3, 3_000],
      [4, 7_000],
    ])
    expect(state.steps[2]).toMatchObject({ status: 'executed', attempts: 4, output: 'sent' })
  })

  it('a failing pivot compensates the steps before it', async () => {
    const { orchestrator } = harness()
    const log: string[] = []
    const state = await orchestrator.start(orderSaga(log, 'ship'), { sku: 'A', qty: 1 })
    expect(state.pastPivot).toBe(false)
    expect(log.filter((l) => l.startsWith('undo'))).toHaveLength(2)
  })
})

describe('orchestrator: policies, timeouts and deadline', () => {
  it('retries a step through its retry policy, counting attempts', async () => {
    const { orchestrator, clock } = harness()
    const attempts: number[] = []
    const saga = defineSaga('flaky').step('a', {
      kind: 'pivot',
      retry: { attempts: 3, backoff: { initial: 10, max: 10 }, jitter: 'none' },
      run: ({ attempt }) => {
        attempts.push(attempt)
        if (attempt < 3) throw new Error('flaky')
        return 'ok'
      },
    })
    const state = await settle(clock, orchestrator.start(saga, null), 10)
    expect(attempts).toEqual([1, 2, 3])
    expect(state.status).toBe('completed')
  })

  it('fails a step at its timeout (its signal aborts) and compensates it as uncertain', async () => {
    const { orchestrator, clock } = harness()
    const log: string[] = []
    const saga = defineSaga('slow')
      .step('a', { run: () => 'A', compensate: ({ output }) => void log.push(`undo a ${output}`) })
      .step('b', {
        timeout: '5s',
        run: ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted by signal')))),
        compensate: ({ output }) => void log.push(`undo b ${output}`),
      })
    const running = orchestrator.start(saga, null, { sagaId: 'to' })
    await clock.advanceAsync(4_999)
    expect(log).toEqual([])
    await clock.advanceAsync(1)
    const state = await running
    expect(state.steps[1]).toMatchObject({ status: 'compensated', uncertain: true, error: { code: 'E_TIMEOUT' } })
    expect(log).toEqual(['undo b undefined', 'undo a A'])
  })

  it('an open circuit fails the step at once, without calling it, and compensation starts', async () => {
    const { orchestrator, clock } = harness()
    const breaker = circuitBreaker({ minimumCalls: 1, failureRateThreshold: 1, clock })
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined)
    expect(breaker.state).toBe('open')
    const log: string[] = []
    const saga = defineSaga('guarded')
      .step('a', { run: () => 'A', compensate: () => void log.push('undo a') })
      .step('pay', {
        policy: breaker,
        run: () => void log.push('pay called'),
        compensate: () => void log.push('undo pay'),
      })
    const state = await orchestrator.start(saga, null)
    expect(state.status).toBe('aborted')
    expect(state.failure).toMatchObject({ code: 'E_CIRCUIT_OPEN', step: 'pay' })
    expect(log).toEqual(['undo a'])
  })

  it('compensates when the deadline passes before the pivot: the running step is aborted', async () => {
    const { orchestrator, clock } = harness()
    const log: string[] = []
    const saga = defineSaga('deadline', { deadline: '10s' })
      .step('a', { run: () => 'A', compensate: () => void log.push('undo a') })
      .step('b', {
        run: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        compensate: () => void log.push('undo b'),
      })
      .step('c', { kind: 'pivot', run: () => void log.push('c ran') })
    const running = orchestrator.start(saga, null)
    await clock.advanceAsync(9_999)
    expect(log).toEqual([])
    await clock.advanceAsync(1)
    const state = await running
    expect(state.status).toBe('aborted')
    expect(state.failure).toMatchObject({ code: 'E_SAGA_DEADLINE', step: 'b' })
    expect(log).toEqual(['undo b', 'undo a'])
  })

  it('does not start the next step once the deadline has passed', async () => {
    const { orchestrator, clock } = harness()
    const log: string[] = []
    const saga = defineSaga('late', { deadline: 1_000 })
      .step('a', {
        run: async () => {
          clock.advance(2_000) // the step itself takes longer than the deadline, ignoring the signal
          return 'A'
        },
        compensate: () => void log.push('undo a'),
      })
      .step('b', { kind: 'pivot', run: () => void log.push('b ran') })
    const state = await orchestrator.start(saga, null)
    expect(state.failure).toMatchObject({ code: 'E_SAGA_DEADLINE' })
    expect(log).toEqual(['undo a'])
  })

  it('the deadline no longer applies after the pivot', async () => {
    const { orchestrator, clock } = harness()
    let calls = 0
    const saga = defineSaga('past', { deadline: 1_000 })
      .step('p', { kind: 'pivot', run: () => 'P' })
      .step('r', {
        kind: 'retriable',
        run: () => {
          if (++calls < 3) throw new Error('later')
          return 'R'
        },
      })
    const state = await settle(clock, orchestrator.start(saga, null), 100)
    expect(clock.now()).toBeGreaterThan(1_000_000 + 1_000)
    expect(state.status).toBe('completed')
  })
})

describe('orchestrator: validation', () => {
  it('rejects bad options and arguments with typed errors, writing nothing', async () => {
    const { orchestrator, store } = harness()
    const { createSagaOrchestrator } = await import('./orchestrator.js')
    expect(() => createSagaOrchestrator({} as never)).toThrowError(/`store`/)
    expect(() => createSagaOrchestrator({ store, compensationRetry: { attempts: 0 } })).toThrowError(
      'Expected `compensationRetry.attempts` to be an integer >= 1, got 0',
    )
    expect(() =>
      createSagaOrchestrator({ store, retriableRetry: { backoff: { initial: '2s', max: '1s' } } }),
    ).toThrowError(/retriableRetry\.backoff\.max/)
    expect(() => createSagaOrchestrator({ store, lease: 0 })).toThrowError(
      'Expected `lease` to be a duration > 0, got 0',
    )
    expect(() => createSagaOrchestrator({ store, lease: '30 sec' as never })).toThrowError(/`lease`/)
    const saga = defineSaga('v').step('a', { kind: 'pivot', run: () => 1 })
    await expect(orchestrator.start(saga, null, { sagaId: '' })).rejects.toSatisfy((e) =>
      isBulwarkError(e, 'E_INVALID_ARGUMENT'),
    )
    await expect(orchestrator.start(defineSaga('empty'), null)).rejects.toSatisfy((e) =>
      isBulwarkError(e, 'E_SAGA_DEFINITION'),
    )
    await expect(orchestrator.start(saga, { when: new Date() } as never)).rejects.toSatisfy((e) =>
      isBulwarkError(e, 'E_INVALID_EVENT'),
    )
    await expect(orchestrator.list({ status: 'lost' as never })).rejects.toThrowError(/`status`/)
    await expect(orchestrator.resume('nope')).rejects.toSatisfy((e) => isBulwarkError(e, 'E_SAGA_NOT_FOUND'))
    expect(await orchestrator.get('nope')).toBeUndefined()
    expect(await store.headPosition()).toBe(0)
  })

  it('refuses two different definitions under one name', () => {
    const { orchestrator } = harness()
    orchestrator.register(defineSaga('dup').step('a', { kind: 'pivot', run: () => 1 }))
    expect(() => orchestrator.register(defineSaga('dup').step('b', { kind: 'pivot', run: () => 1 }))).toThrowError(
      /another definition/,
    )
  })
})
