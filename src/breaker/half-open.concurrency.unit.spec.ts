/**
 * HALF_OPEN under concurrency: waves of concurrent callers whose probes succeed, fail, hang, throw,
 * run slow, or are aborted by their caller. Whatever happens, no more than `permittedCalls` probes hold a
 * permit at once, and once the dependency is healthy again the breaker always gets back to CLOSED.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { fakeClock } from '../testing/index.js'
import { circuitBreaker } from './index.js'

type Behaviour = 'ok' | 'fail' | 'hang' | 'throw' | 'slow' | 'abort'
const behaviourArb = fc.constantFrom<Behaviour>('ok', 'fail', 'hang', 'throw', 'slow', 'abort')

it('never admits more than permittedCalls probes and never gets stuck', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.record({ wave: fc.array(behaviourArb, { minLength: 1, maxLength: 12 }), advance: fc.nat(60) }), {
        minLength: 1,
        maxLength: 8,
      }),
      async (permittedCalls, waves) => {
        const clock = fakeClock(0)
        const breaker = circuitBreaker({
          clock,
          minimumCalls: 1,
          openDuration: 20,
          slowCallDuration: 10,
          halfOpen: { permittedCalls, deadline: 30 },
        })
        await breaker.execute(() => Promise.reject(new Error('trip'))).catch(() => {})
        clock.advance(20)
        let state = breaker.state
        breaker.on('stateChange', (_from, to) => {
          state = to
        })
        let holding = 0
        let peak = 0
        const pending: Promise<unknown>[] = []
        const timers: (() => void)[] = []
        for (const { wave, advance } of waves) {
          for (const behaviour of wave) {
            const controller = new AbortController()
            const call = breaker.execute(({ signal }) => {
              if (behaviour === 'throw') throw new Error('sync')
              if (state !== 'half_open') return Promise.resolve('closed call')
              // A probe holds its permit until it settles or the breaker aborts its signal (deadline).
              holding++
              peak = Math.max(peak, holding)
              let released = false
              const release = () => {
                if (!released) holding--
                released = true
              }
              signal.addEventListener('abort', release)
              return new Promise((resolve, reject) => {
                const settleWith = (fn: () => void) => () => {
                  release()
                  fn()
                }
                if (behaviour === 'ok') queueMicrotask(settleWith(() => resolve('ok')))
                if (behaviour === 'fail') queueMicrotask(settleWith(() => reject(new Error('fail'))))
                if (behaviour === 'slow') timers.push(settleWith(() => resolve('late')))
                // 'hang' and 'abort' never settle on their own.
              })
            }, controller.signal)
            pending.push(call.catch(() => {}))
            if (behaviour === 'abort') controller.abort()
          }
          for (let i = 0; i < 5; i++) await Promise.resolve()
          expect(breaker.metrics().probesInFlight).toBeLessThanOrEqual(permittedCalls)
          await clock.advanceAsync(advance)
          for (const settle of timers.splice(0)) settle()
          for (let i = 0; i < 5; i++) await Promise.resolve()
          expect(breaker.metrics().probesInFlight).toBeLessThanOrEqual(permittedCalls)
        }
        expect(peak).toBeLessThanOrEqual(permittedCalls)
        // The dependency recovers: healthy calls must bring the circuit back to CLOSED in bounded time.
        for (let round = 0; round < 20 && breaker.state !== 'closed'; round++) {
          await clock.advanceAsync(40)
          await Promise.all(Array.from({ length: permittedCalls }, () => breaker.execute(() => 'ok').catch(() => {})))
        }
        expect(breaker.state).toBe('closed')
        await clock.advanceAsync(100)
        expect(clock.pendingTimers()).toBe(0)
      },
    ),
    { numRuns: 300 },
  )
}, 60_000)
