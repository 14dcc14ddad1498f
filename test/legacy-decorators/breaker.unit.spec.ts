/** The breaker decorators under `experimentalDecorators` (as in NestJS): see tsconfig.json beside this file. */
import { describe, expect, it } from 'vitest'
import { isBrokenCircuitError, retry, timeout, withBreaker, withRetry, withTimeout } from '../../src/breaker/index.js'
import { isBulwarkError } from '../../src/core/errors.js'
import { fakeClock } from '../../src/testing/index.js'

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
    expect(await new Client(false).get('1')).toBe('item 1')
    await expect(new Client(true).get('2')).rejects.toThrow('down')
    await expect(new Client(false).get('3')).rejects.toSatisfy(isBrokenCircuitError)
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
    const service = new Service()
    const flaky = service.flaky()
    await clock.advanceAsync(10)
    expect(await flaky).toBe(2)
    const hung = service.hang(new AbortController().signal).catch((e: unknown) => e)
    await clock.advanceAsync(100)
    expect(isBulwarkError(await hung, 'E_TIMEOUT')).toBe(true)
  })
})
