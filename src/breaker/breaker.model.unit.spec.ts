/**
 * Model-based test: 10,000 random sequences of calls (success, failure, slow, hanging, aborted, throwing
 * synchronously), clock advances, concurrent half-open probes, isolate and reset, with any mix of the rate
 * trips and the count trips (failureCount, consecutiveFailures), run against the breaker
 * and against the reference model in test/support/breaker-model.ts. They must agree after every step on the state,
 * the window's counts, the probes in flight, and whether each call was admitted or how it was rejected.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { type Deferred, deferred } from '../../test/support/breaker.js'
import { BreakerModel, type ModelConfig } from '../../test/support/breaker-model.js'
import { fakeClock } from '../testing/index.js'
import { circuitBreaker } from './index.js'

type Command =
  | { t: 'start' }
  | { t: 'throw' }
  | { t: 'settle'; pick: number; failed: boolean }
  | { t: 'abort'; pick: number }
  | { t: 'advance'; ms: number }
  | { t: 'isolate' }
  | { t: 'reset' }

const configArb: fc.Arbitrary<ModelConfig> = fc.record({
  window: fc.oneof(
    fc.record({ type: fc.constant('count' as const), size: fc.integer({ min: 1, max: 8 }) }),
    fc.record({
      type: fc.constant('time' as const),
      buckets: fc.integer({ min: 1, max: 4 }),
      duration: fc.constantFrom(20, 40, 60),
    }),
  ),
  minimumCalls: fc.integer({ min: 1, max: 6 }),
  failureRateThreshold: fc.constantFrom(0.25, 0.5, 0.6, 1, false as const),
  failureCount: fc.option(
    fc.record({ threshold: fc.integer({ min: 1, max: 4 }), within: fc.constantFrom(10, 25, 50) }),
    { nil: undefined },
  ),
  consecutiveFailures: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  slowCallRateThreshold: fc.constantFrom(0.5, 1),
  slowCallDuration: fc.constantFrom(5, 10, 25, undefined),
  openDuration: fc.constantFrom(0, 10, 30),
  permittedCalls: fc.integer({ min: 1, max: 3 }),
  deadline: fc.constantFrom(8, 15, 40),
})

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.constant({ t: 'start' as const }), weight: 10 },
  { arbitrary: fc.constant({ t: 'throw' as const }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('settle' as const), pick: fc.nat(), failed: fc.boolean() }), weight: 10 },
  { arbitrary: fc.record({ t: fc.constant('abort' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }), weight: 8 },
  { arbitrary: fc.constant({ t: 'isolate' as const }), weight: 1 },
  { arbitrary: fc.constant({ t: 'reset' as const }), weight: 1 },
)

interface Live {
  id: number
  gate: Deferred<string>
  controller: AbortController
}

async function flush(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve()
}

/**
 * `withSignal` false makes every call without a signal, so untimed configurations run the breaker's
 * signal-free closed path (settled through pre-bound handlers); an 'abort' then has nothing to abort
 * through, and the call fails instead.
 */
async function run(config: ModelConfig, withSignal: boolean, commands: Command[]): Promise<void> {
  const clock = fakeClock(0)
  const breaker = circuitBreaker({
    clock,
    window: config.window,
    minimumCalls: config.minimumCalls,
    failureRateThreshold: config.failureRateThreshold,
    failureCount: config.failureCount,
    consecutiveFailures: config.consecutiveFailures,
    slowCallRateThreshold: config.slowCallRateThreshold,
    slowCallDuration: config.slowCallDuration,
    openDuration: config.openDuration,
    halfOpen: { permittedCalls: config.permittedCalls, deadline: config.deadline },
  })
  const model = new BreakerModel(config, 0)
  const live: Live[] = []
  for (const [step, command] of commands.entries()) {
    const where = `step ${step} ${JSON.stringify(command)} of ${JSON.stringify(commands)}`
    switch (command.t) {
      case 'start':
      case 'throw': {
        const expected = model.start()
        const gate = deferred<string>()
        const controller = new AbortController()
        let called = false
        const promise = breaker.execute(
          ({ signal }) => {
            called = true
            if (command.t === 'throw') throw new Error('sync')
            if (withSignal) signal.addEventListener('abort', () => gate.reject(new Error('aborted')))
            return gate.promise
          },
          withSignal ? controller.signal : undefined,
        )
        const rejection = promise.then(
          () => undefined,
          (e: { code?: string }) => e.code,
        )
        const admitted = expected.admission === 'closed' || expected.admission === 'probe'
        expect(called, where).toBe(admitted)
        if (!admitted) expect(await rejection, where).toBe(expected.admission)
        else if (command.t === 'throw') model.settle(expected.id, true)
        else live.push({ id: expected.id, gate, controller })
        break
      }
      case 'settle':
      case 'abort': {
        if (live.length === 0) break
        const [call] = live.splice(command.pick % live.length, 1) as [Live]
        if (command.t === 'abort' && withSignal) {
          call.controller.abort()
          model.settle(call.id, true, true)
        } else if (command.t === 'abort') {
          call.gate.reject(new Error('gave up'))
          model.settle(call.id, true)
        } else {
          if (command.failed) call.gate.reject(new Error('failed'))
          else call.gate.resolve('ok')
          model.settle(call.id, command.failed)
        }
        break
      }
      case 'advance':
        clock.advance(command.ms)
        model.advance(command.ms)
        break
      case 'isolate':
        breaker.isolate()
        model.isolate()
        break
      case 'reset':
        breaker.reset()
        model.reset()
    }
    await flush()
    model.observe()
    const m = breaker.metrics()
    const expectedWindow = model.window()
    expect(
      { state: m.state, calls: m.calls, failures: m.failures, slowCalls: m.slowCalls, probes: m.probesInFlight },
      where,
    ).toEqual({
      state: model.state,
      ...expectedWindow,
      probes: model.probes,
    })
    expect(m.probesInFlight).toBeLessThanOrEqual(config.permittedCalls)
    expect(breaker.toJSON().counts, where).toEqual(model.counts())
  }
  for (const call of live) call.gate.resolve('end')
  await flush()
}

it('agrees with the reference model on 10,000 random sequences', async () => {
  await fc.assert(
    fc.asyncProperty(configArb, fc.boolean(), fc.array(commandArb, { minLength: 1, maxLength: 40 }), run),
    {
      numRuns: 10_000,
    },
  )
}, 60_000)
