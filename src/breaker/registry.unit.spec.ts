import { describe, expect, it } from 'vitest'
import { boom, ok } from '../../test/support/breaker.js'
import { isBulwarkError } from '../core/errors.js'
import { fakeClock } from '../testing/index.js'
import { circuitBreaker, createBreakerRegistry, KeyedBreakers } from './index.js'

describe('createBreakerRegistry', () => {
  it('returns one breaker per name, built from the defaults and per-name options', async () => {
    const clock = fakeClock()
    const registry = createBreakerRegistry({ clock, defaults: { minimumCalls: 1 } })
    const payments = registry.get('payments', { failureRateThreshold: 1 })
    expect(registry.get('payments')).toBe(payments)
    expect(payments.name).toBe('payments')
    await payments.execute(boom).catch(() => {})
    expect(payments.state).toBe('open')
    expect(registry.get('search').state).toBe('closed')
    expect(registry.list().map((e) => [e.name, e.key])).toEqual([
      ['payments', undefined],
      ['search', undefined],
    ])
  })

  it('keeps one breaker per key, isolated from the others', async () => {
    const registry = createBreakerRegistry({ clock: fakeClock(), defaults: { minimumCalls: 1 } })
    const hosts = registry.keyed('hosts')
    await hosts.execute('a.example', boom).catch(() => {})
    expect(hosts.get('a.example').state).toBe('open')
    expect(await hosts.execute('b.example', ok)).toBe('ok')
    expect(hosts.get('a.example').name).toBe('hosts:a.example')
    expect(registry.metrics().map((m) => [m.name, m.key, m.state])).toEqual([
      ['hosts', 'a.example', 'open'],
      ['hosts', 'b.example', 'closed'],
    ])
  })

  it('evicts per-key breakers that stay idle past idleTtl, and bounds them by maxKeys', async () => {
    const clock = fakeClock()
    const registry = createBreakerRegistry({ clock, idleTtl: '1m', maxKeys: 3 })
    const tenants = registry.keyed('tenants')
    const first = tenants.get('t1')
    tenants.get('t2')
    clock.advance(30_000)
    tenants.get('t1') // used again: its idle time starts over
    clock.advance(40_000)
    expect(tenants.entries().map(([k]) => k)).toEqual(['t1'])
    expect(tenants.get('t1')).toBe(first)
    for (let i = 0; i < 10; i++) tenants.get(`x${i}`)
    expect(tenants.size).toBe(3)
    clock.advance(61_000)
    expect(tenants.size).toBe(0)
    expect(tenants.get('t1')).not.toBe(first) // it starts over, closed
  })

  it('makes a standalone group of per-key breakers from an options object', async () => {
    const clock = fakeClock()
    const perHost = new KeyedBreakers({
      name: 'webhooks',
      create: (host) => circuitBreaker({ name: host, clock, minimumCalls: 1 }),
      maxKeys: 2,
      idleTtl: '1m',
      clock,
    })
    await perHost.execute('a.example', boom).catch(() => {})
    expect(perHost.get('a.example').state).toBe('open')
    expect(perHost.get('b.example').name).toBe('b.example')
    perHost.get('c.example')
    expect(perHost.size).toBe(2)
    clock.advance(61_000)
    expect(perHost.size).toBe(0)
    for (const options of [
      {},
      { name: 'x' },
      { name: '', create: () => circuitBreaker() },
      { name: 'x', create: () => circuitBreaker(), idleTtl: 0 },
    ]) {
      expect(() => new KeyedBreakers(options as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
    }
  })

  it('rejects bad options and names with typed errors', () => {
    const bad = (make: () => unknown, code: Parameters<typeof isBulwarkError>[1] = 'E_INVALID_OPTION') => {
      try {
        make()
      } catch (e) {
        return isBulwarkError(e, code)
      }
      return false
    }
    expect(bad(() => createBreakerRegistry({ maxKeys: 0 }))).toBe(true)
    expect(bad(() => createBreakerRegistry({ idleTtl: 0 }))).toBe(true)
    expect(bad(() => createBreakerRegistry({ defaults: { failureRateThreshold: 2 } }))).toBe(true)
    const registry = createBreakerRegistry()
    expect(bad(() => registry.get(''), 'E_INVALID_ARGUMENT')).toBe(true)
    expect(bad(() => registry.get('x', { minimumCalls: -1 }))).toBe(true)
    expect(bad(() => registry.keyed('y', { window: { type: 'count', size: 0 } }))).toBe(true)
    expect(bad(() => registry.keyed('z').get(''), 'E_INVALID_KEY')).toBe(true)
    expect(registry.list()).toEqual([])
  })
})
