import { describe, expect, expectTypeOf, it } from 'vitest'
import { expectBreakerOnMethod, expectRetryAndTimeoutOnMethods } from '../../test/breaker/decorator-scenarios.js'
import { fakeClock } from '../testing/index.js'
import {
  circuitBreaker,
  isBrokenCircuitError,
  retry,
  timeout,
  withBreaker,
  withPolicy,
  withRetry,
  withTimeout,
} from './index.js'

describe('decorators (standard)', () => {
  it('withBreaker records calls of every instance in one breaker and keeps `this`', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), minimumCalls: 2, failureRateThreshold: 0.5 })
    class Client {
      constructor(readonly fail: boolean) {}
      @withBreaker(breaker)
      async get(id: string): Promise<string> {
        if (this.fail) throw new Error('down')
        return `item ${id}`
      }
    }
    await expectBreakerOnMethod((fail) => new Client(fail))
    expectTypeOf(new Client(false).get).parameters.toEqualTypeOf<[string]>()
    expectTypeOf(new Client(false).get).returns.toEqualTypeOf<Promise<string>>()
  })

  it('withRetry retries, withTimeout passes its signal in place of the last AbortSignal argument', async () => {
    const clock = fakeClock(0)
    let calls = 0
    class Service {
      @withRetry(retry({ attempts: 3, initialDelay: 1, clock }))
      async flaky(): Promise<number> {
        calls++
        if (calls < 3) throw new Error('again')
        return calls
      }

      @withTimeout(timeout(100, { clock }))
      async hang(signal?: AbortSignal): Promise<AbortSignal | undefined> {
        return new Promise(() => signal)
      }

      @withTimeout(timeout(100, { clock }))
      async echo(signal?: AbortSignal): Promise<AbortSignal | undefined> {
        return signal
      }
    }
    const service = new Service()
    await expectRetryAndTimeoutOnMethods(clock, service, 3)
    const outer = new AbortController()
    const inner = await service.echo(outer.signal)
    expect(inner).toBeInstanceOf(AbortSignal)
    expect(inner).not.toBe(outer.signal) // the timeout's own signal, which also follows the caller's
  })

  it('withBreaker with options makes one breaker; bad arguments are typed errors', async () => {
    class A {
      @withBreaker({ minimumCalls: 1 })
      async run(): Promise<void> {
        throw new Error('x')
      }
    }
    await expect(new A().run()).rejects.toThrow('x')
    await expect(new A().run()).rejects.toSatisfy(isBrokenCircuitError)
    expect(() => withBreaker({ minimumCalls: 0 })).toThrow(/minimumCalls/)
    expect(() => withPolicy({} as never)).toThrow(/policy/)
    expect(() => withTimeout('x' as never)).toThrow(/duration/)
  })
})
