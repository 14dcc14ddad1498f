/**
 * The snippets of docs/breaker.md, compiled and run. Each `#region` is copied into the guide as is; the
 * guide's import lines (from `bulwark/breaker`, `bulwark/breaker/prometheus`, `prom-client`) are checked to
 * name what those modules export. The snippets run on the system clock, as printed; vitest's fake timers
 * stand in for it (they replace `Date.now` and `setTimeout`, which the system clock calls).
 */
import { readFileSync } from 'node:fs'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { publicEntries } from '../../scripts/exports.js'
import { guideRegions } from '../../test/support/guide-regions.js'
import { prometheusExporter } from './adapters/prometheus.js'
import {
  circuitBreaker,
  createBreakerRegistry,
  fallback,
  isBrokenCircuitError,
  retry,
  timeout,
  withBreaker,
  withTimeout,
  wrap,
} from './index.js'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] })
})
afterEach(() => {
  vi.useRealTimers()
})

let down = false
const fetchPrices = async (options: { signal?: AbortSignal } = {}): Promise<number[]> => {
  if (options.signal?.aborted) throw new Error('aborted')
  if (down) throw new Error('503')
  return [9.99, 19.99]
}
const hangingCall = () => new Promise<never>(() => {})
const fails = () => Promise.reject(new Error('503'))
const succeeds = async () => 'ok'

it('quick start', async () => {
  down = false
  // #region quick-start
  const breaker = circuitBreaker({
    failureRateThreshold: 0.5,
    slowCallDuration: '2s',
    minimumCalls: 10,
    window: { type: 'time', duration: '10s', buckets: 10 },
    openDuration: { initial: '5s', max: '2m' },
    halfOpen: { permittedCalls: 3, deadline: '5s' },
  })
  const prices = wrap(
    fallback<number[]>([]), // served when everything below gives up
    retry({ attempts: 3, backoff: { initial: '100ms' }, budget: { ratio: 0.2 } }),
    breaker, // retry never retries while this breaker is open
    timeout('1s'), // each attempt gets 1 s and an AbortSignal
  )
  const current = await prices.execute(({ signal }) => fetchPrices({ signal }))
  // #endregion quick-start
  expect(current).toEqual([9.99, 19.99])
  const states: string[] = []
  breaker.on('stateChange', (_from, to) => states.push(to))
  down = true
  for (let i = 0; i < 10; i++) {
    const call = prices.execute(({ signal }) => fetchPrices({ signal }))
    await vi.advanceTimersByTimeAsync(2_000)
    expect(await call).toEqual([])
  }
  expect(states[0]).toBe('open') // the dependency failed: the breaker opened and the fallback answered
  down = false
})

it('the Policy interface', () => {
  // #region policy
  interface Policy<Alt = never> {
    execute<T>(fn: (context: PolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T | Alt>
  }
  interface PolicyContext {
    readonly signal: AbortSignal
    readonly attempt: number
  }
  // #endregion policy
  const policies: Policy<number>[] = [circuitBreaker(), retry(), timeout('1s'), wrap(fallback(0), circuitBreaker())]
  expect(policies).toHaveLength(4)
})

it('count trips', async () => {
  // #region count-trips
  // "3 failures in 30 s, open 60 s": the 3rd failure within 30 s opens it, however many calls succeeded
  const payments = circuitBreaker({ failureCount: { threshold: 3, within: '30s' }, openDuration: '60s' })
  // "5 failures in a row, recover after 30 s": a success starts the count again
  const inventory = circuitBreaker({ consecutiveFailures: 5, openDuration: '30s' })
  // Counts only: the failure rate never opens it
  const notifications = circuitBreaker({
    failureCount: { threshold: 10, within: '60s' },
    failureRateThreshold: false,
    openDuration: '180s',
  })
  // #endregion count-trips
  for (let i = 0; i < 500; i++) await payments.execute(succeeds)
  for (let i = 0; i < 3; i++) await payments.execute(fails).catch(() => {})
  expect(payments.state).toBe('open')
  for (let i = 0; i < 4; i++) await inventory.execute(fails).catch(() => {})
  await inventory.execute(succeeds)
  for (let i = 0; i < 4; i++) await inventory.execute(fails).catch(() => {})
  expect(inventory.state).toBe('closed')
  for (let i = 0; i < 9; i++) await notifications.execute(fails).catch(() => {})
  expect(notifications.state).toBe('closed') // 9 of 9 failed, but 9 < 10
  vi.advanceTimersByTime(60_000)
  await notifications.execute(fails).catch(() => {})
  expect(notifications.state).toBe('closed') // the first 9 are older than 60 s
})

it('slow calls, before they finish', async () => {
  // #region slow-calls
  const breaker = circuitBreaker({ slowCallDuration: '1s', slowCallRateThreshold: 0.5, minimumCalls: 3 })
  for (let i = 0; i < 3; i++) breaker.execute(() => hangingCall())
  // 1 s later the next call is rejected: the three hung calls were counted as slow while still running
  // #endregion slow-calls
  vi.advanceTimersByTime(1_001)
  await expect(breaker.execute(succeeds)).rejects.toSatisfy(isBrokenCircuitError)
  expect(breaker.metrics().totals.slowCalls).toBe(3)
})

it('adaptive slow-call threshold and throttling', () => {
  // #region adaptive
  const learning = circuitBreaker({
    adaptiveSlowCall: {
      multiplier: 3,
      percentile: 0.99,
      floor: '50ms',
      ceiling: '30s',
      minSamples: 100,
      halfLife: 10_000,
    },
  })
  // #endregion adaptive
  // #region throttling
  const throttled = circuitBreaker({ throttling: { k: 2, window: '60s', buckets: 12, mode: 'before-open' } })
  // #endregion throttling
  expect(learning.metrics().slowCallDuration).toBe(30_000)
  expect(throttled.metrics().throttleProbability).toBe(0)
})

it('outcomes instead of exceptions', async () => {
  const breaker = circuitBreaker({ consecutiveFailures: 1 })
  await breaker.execute(fails).catch(() => {})
  const cachedPrices = [9.49]
  // #region outcomes
  const outcome = await breaker.tryExecute(() => fetchPrices())
  const prices = outcome.ok ? outcome.value : cachedPrices // while open: no throw, no allocation
  // #endregion outcomes
  expect(prices).toEqual([9.49])
})

it('events', async () => {
  const breaker = circuitBreaker({ slowCallDuration: '1s', consecutiveFailures: 1 })
  const seen: string[] = []
  const line = (...args: unknown[]) => seen.push(args.map(String).join(' '))
  const log = { info: line, warn: line }
  // #region events
  breaker.on('stateChange', (from, to) => log.warn('breaker', from, '->', to))
  breaker.on('success', (durationMs) => log.info('success in', durationMs, 'ms'))
  breaker.on('failure', (reason, durationMs) => log.warn('failure', reason, durationMs)) // reason: { error } or { value }
  breaker.on('slowCall', (durationMs, stillRunning) => log.warn('slow', durationMs, stillRunning))
  breaker.on('rejection', (reason) => log.info('rejected:', reason)) // 'open', 'half_open', 'forced_open', 'throttled'
  // #endregion events
  await breaker.execute(succeeds)
  await breaker.execute(fails).catch(() => {})
  await breaker.execute(succeeds).catch(() => {})
  expect(seen).toEqual(['success in 0 ms', 'failure [object Object] 0', 'breaker closed -> open', 'rejected: open'])
})

it('registry, per-key breakers and Prometheus', async () => {
  const delivered: string[] = []
  const deliver = async (url: string) => delivered.push(url)
  // #region registry
  const breakers = createBreakerRegistry({ defaults: { minimumCalls: 5 }, idleTtl: '10m', maxKeys: 1000 })
  const payments = breakers.get('payments') // one breaker per name
  const perHost = breakers.keyed('webhooks') // one breaker per key, created on first use
  const send = (url: string) => perHost.execute(new URL(url).host, () => deliver(url))
  // #endregion registry
  await send('https://a.example/hook')
  expect(delivered).toEqual(['https://a.example/hook'])
  expect(payments.state).toBe('closed')

  // #region prometheus
  const registry = new Registry()
  const exporter = prometheusExporter(breakers, { registry, prefix: 'bulwark_breaker_' })
  const scraped = await registry.metrics() // what GET /metrics serves
  exporter.unregister()
  // #endregion prometheus
  expect(scraped).toContain('bulwark_breaker_state{')
  expect(scraped).toContain('name="payments"')
})

it('decorators', async () => {
  const breakers = createBreakerRegistry()
  type Price = { sku: string; amount: number }
  interface HttpClient {
    get<T>(path: string, options: { signal?: AbortSignal }): Promise<T>
  }
  const signals: (AbortSignal | undefined)[] = []
  const http: HttpClient = {
    get: async <T>(path: string, options: { signal?: AbortSignal }) => {
      signals.push(options.signal)
      return { sku: path.split('/').pop(), amount: 249 } as T
    },
  }
  // #region decorators
  class PricesClient {
    constructor(private readonly http: HttpClient) {}

    @withBreaker(breakers.get('prices'))
    @withTimeout('500ms')
    async current(sku: string, signal?: AbortSignal): Promise<Price> {
      return this.http.get<Price>(`/prices/${sku}`, { signal })
    }
  }
  const price = await new PricesClient(http).current('sku-1')
  // #endregion decorators
  expect(price).toEqual({ sku: 'sku-1', amount: 249 })
  const caller = new AbortController()
  await new PricesClient(http).current('sku-2', caller.signal)
  expect(signals[1]).toBeInstanceOf(AbortSignal)
  expect(signals[1]).not.toBe(caller.signal) // the method received the timeout's signal in its place
})

it('docs/breaker.md shows these snippets as they are here', () => {
  const guide = readFileSync(new URL('../../docs/breaker.md', import.meta.url), 'utf8')
  const regions = guideRegions(new URL(import.meta.url))
  expect(regions.length).toBe(11)
  for (const { name, code } of regions) expect(guide.includes(code), `region ${name} is in docs/breaker.md`).toBe(true)
  // Every TypeScript block of the guide is one of those regions, with at most its import lines above it.
  const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => (m[1] as string).trim())
  for (const block of blocks) {
    const lines = block.split('\n')
    const first = lines.findIndex((l) => !l.startsWith('import ') && l.trim() !== '')
    const code = first === -1 ? '' : lines.slice(first).join('\n')
    expect(
      code === '' || regions.some((region) => code === region.code.trim()),
      `a block of docs/breaker.md is compiled here:\n${block}`,
    ).toBe(true)
  }
})

it("the guide's import lines name what the modules export", async () => {
  const guide = readFileSync(new URL('../../docs/breaker.md', import.meta.url), 'utf8')
  const sources = new Map(publicEntries(new URL('../../', import.meta.url)).map((e) => [e.specifier, e.source]))
  const imports = [...guide.matchAll(/^import \{ ([^}]+) \} from '([^']+)'$/gm)]
  expect(imports.length).toBeGreaterThanOrEqual(3)
  for (const [line, names, from] of imports) {
    const source = sources.get(from as string)
    const module = (await import(source === undefined ? (from as string) : `../../${source}`)) as Record<
      string,
      unknown
    >
    for (const name of (names as string).split(',').map((n) => n.trim())) {
      if (!name.startsWith('type ')) expect(module[name], `${name} in: ${line}`).toBeDefined()
    }
  }
})
