import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { circuitBreaker } from './index.js'

describe('the signal of calls made without one', () => {
  it('keeps no listeners, however many calls add one and never remove it', async () => {
    const breaker = circuitBreaker()
    let seen: AbortSignal | undefined
    for (let i = 0; i < 1_000; i++) {
      await breaker.execute(({ signal }) => {
        seen = signal
        signal.addEventListener('abort', () => {})
        signal.onabort = () => {}
        return i
      })
    }
    expect(seen).toBeDefined()
    const signal = seen as AbortSignal
    expect(signal.aborted).toBe(false)
    expect(getEventListeners(signal, 'abort')).toHaveLength(0)
    expect(signal.onabort).toBeNull()
    expect(() => signal.throwIfAborted()).not.toThrow()
    // Still a real signal: it combines with others, and the combination follows the other one.
    const controller = new AbortController()
    const combined = AbortSignal.any([signal, controller.signal])
    controller.abort(new Error('stop'))
    expect(combined.aborted).toBe(true)
  })
})
