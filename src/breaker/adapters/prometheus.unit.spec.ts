import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { boom, ok } from '../../../test/support/breaker.js'
import { isBulwarkError } from '../../core/errors.js'
import { fakeClock } from '../../testing/index.js'
import { circuitBreaker, createBreakerRegistry } from '../index.js'
import { prometheusExporter } from './prometheus.js'

describe('prometheusExporter', () => {
  it('exposes state, rates and totals of named and per-key breakers at scrape time', async () => {
    const clock = fakeClock()
    const breakers = createBreakerRegistry({
      clock,
      idleTtl: '1m',
      defaults: { minimumCalls: 2, slowCallDuration: '1m' },
    })
    const registry = new Registry()
    prometheusExporter(breakers, { registry, prefix: 'app_breaker_' })
    const payments = breakers.get('payments')
    await payments.execute(ok)
    await payments.execute(boom).catch(() => {})
    await payments.execute(ok).catch(() => {})
    await breakers.keyed('hosts').execute('a.example', ok)

    const text = await registry.metrics()
    expect(text).toContain('app_breaker_state{name="payments",key="",state="open"} 1')
    expect(text).toContain('app_breaker_state{name="payments",key="",state="closed"} 0')
    expect(text).toContain('app_breaker_state{name="hosts",key="a.example",state="closed"} 1')
    expect(text).toContain('app_breaker_failure_rate{name="payments",key=""} 0.5')
    expect(text).toContain('app_breaker_calls_total{name="payments",key="",outcome="success"} 1')
    expect(text).toContain('app_breaker_calls_total{name="payments",key="",outcome="failure"} 1')
    expect(text).toContain('app_breaker_rejections_total{name="payments",key=""} 1')
    expect(text).toContain('app_breaker_slow_call_threshold_seconds{name="payments",key=""} 60')

    clock.advance(61_000) // the per-key breaker is evicted: its series go with it
    const later = await registry.metrics()
    expect(later).not.toContain('a.example')
    expect(later).toContain('name="payments"')
  })

  it('accepts a list of breakers, and unregisters its metrics', async () => {
    const registry = new Registry()
    const exporter = prometheusExporter([circuitBreaker({ name: 'solo', clock: fakeClock() })], { registry })
    expect(await registry.metrics()).toContain('bulwark_breaker_state{name="solo",key="",state="closed"} 1')
    exporter.unregister()
    expect(await registry.metrics()).toBe('\n')
  })

  it('rejects a bad source or prefix with typed errors', () => {
    const registry = new Registry()
    expect(() => prometheusExporter({} as never, { registry })).toThrow(/BreakerRegistry/)
    try {
      prometheusExporter([], { registry, prefix: 'bad prefix' })
    } catch (e) {
      expect(isBulwarkError(e, 'E_INVALID_OPTION')).toBe(true)
      return
    }
    throw new Error('expected a validation error')
  })
})
