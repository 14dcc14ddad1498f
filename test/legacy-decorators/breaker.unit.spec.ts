/** The breaker decorators under `experimentalDecorators` (as in NestJS): see tsconfig.json beside this file. */
import { describe, expect, it } from 'vitest'
import { retry, timeout, withBreaker, withRetry, withTimeout } from '../../src/breaker/index.js'
import { fakeClock } from '../../src/testing/index.js'
import { expectBreakerOnMethod, expectRetryAndTimeoutOnMethods } from '../breaker/decorator-scenarios.js'

describe('breaker decorators (legacy experimentalDecorators)', () => {
  it('withBreaker wraps the method through the descriptor and keeps `this`', async () => {
    class Client {
      constructor(readonly fail: boolean) {}
      @withBreaker({ minimumCalls: 1, clock: fakeClock() })
      async get(id: string): Promise<string> {
        if (this.fail) throw new Error('down')
        return `item ${id}`
      }
    }
    await expectBreakerOnMethod((fail) => new Client(fail))
    const descriptor = Object.getOwnPropertyDescriptor(Client.prototype, 'get')
    expect(descriptor?.enumerable).toBe(false)
  })

  it('withRetry and withTimeout work the same way', async () => {
    const clock = fakeClock(0)
    let calls = 0
    class Service {
      @withRetry(retry({ attempts: 2, initialDelay: 1, clock }))
      async flaky(): Promise<number> {
        calls++
        if (calls < 2) throw new Error('again')
        return calls
      }

      @withTimeout(timeout(100, { clock }))
      async hang(signal?: AbortSignal): Promise<void> {
        await new Promise((resolve) => signal?.addEventListener('abort', resolve))
        throw new Error('aborted by the timeout signal')
      }
    }
    await expectRetryAndTimeoutOnMethods(clock, new Service(), 2)
  })
})
