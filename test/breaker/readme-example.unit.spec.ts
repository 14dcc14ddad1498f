/**
 * The examples of docs/breaker.md, compiled and run: if the API changes, this file fails before the docs rot.
 */
import { expect, it } from 'vitest'
import {
  circuitBreaker,
  createBreakerRegistry,
  fallback,
  isBrokenCircuitError,
  retry,
  timeout,
  withBreaker,
  wrap,
} from '../../src/breaker/index.js'
import { fakeClock } from '../../src/testing/index.js'

const clock = fakeClock(0)
let down = false
const fetchPrices = async ({ signal }: { signal: AbortSignal }): Promise<number[]> => {
  if (signal.aborted) throw new Error('aborted')
  if (down) throw new Error('503')
  return [9.99, 19.99]
}

it('quick start', async () => {
  // #region quick-start
  const breaker = circuitBreaker({
    failureRateThreshold: 0.5,
    slowCallDuration: '2s',
    minimumCalls: 10,
    window: { type: 'time', duration: '10s', buckets: 10 },
    openDuration: { initial: '5s', max: '2m' },
    halfOpen: { permittedCalls: 3, deadline: '5s' },
    clock,
  })
  const prices = wrap(
    fallback<number[]>([]), // served when everything below gives up
    retry({ attempts: 3, initialDelay: '100ms', budget: { ratio: 0.2 }, clock }),
    breaker, // retry never retries while this breaker is open
    timeout('1s', { clock }), // each attempt gets 1 s and an AbortSignal
  )
  const current = await prices.execute(({ signal }) => fetchPrices({ signal }))
  // #endregion quick-start
  expect(current).toEqual([9.99, 19.99])
  const states: string[] = []
  breaker.on('stateChange', (_from, to) => states.push(to))
  down = true
  for (let i = 0; i < 10; i++) {
    const call = prices.execute(({ signal }) => fetchPrices({ signal }))
    await clock.advanceAsync(2_000)
    expect(await call).toEqual([])
  }
  expect(states[0]).toBe('open') // the dependency failed: the breaker opened and the fallback answered
  down = false
})

it('per-key breakers and decorators', async () => {
  // #region registry
  const breakers = createBreakerRegistry({ defaults: { minimumCalls: 5 }, idleTtl: '10m', maxKeys: 1000, clock })
  const perHost = breakers.keyed('webhooks')
  const send = (url: string) => perHost.execute(new URL(url).host, () => ({ delivered: url }))
  // #endregion registry
  expect(await send('https://a.example/hook')).toEqual({ delivered: 'https://a.example/hook' })

  // #region decorator
  class PricesClient {
    @withBreaker(breakers.get('prices'))
    async current(sku: string): Promise<number> {
      return sku.length
    }
  }
  try {
    await new PricesClient().current('sku-1')
  } catch (e) {
    if (!isBrokenCircuitError(e)) throw e
  }
  // #endregion decorator
  expect(breakers.list().map((b) => b.name)).toEqual(['prices', 'webhooks'])
})
