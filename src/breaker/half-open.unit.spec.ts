import { describe, expect, it } from 'vitest'
import { boom, deferred, flush, ok } from '../../test/support/breaker.js'
import { isBulwarkError } from '../core/errors.js'
import { fakeClock } from '../testing/index.js'
import { circuitBreaker, isBrokenCircuitError } from './index.js'

const settle = (p: Promise<unknown>) =>
  p.then(
    () => 'ok' as const,
    (e: unknown) => e,
  )

async function halfOpen(options: Parameters<typeof circuitBreaker>[0] = {}) {
  const clock = fakeClock()
  const breaker = circuitBreaker({ clock, minimumCalls: 1, openDuration: '1s', ...options })
  await settle(breaker.execute(boom))
  clock.advance(1_000)
  expect(breaker.state).toBe('half_open')
  return { clock, breaker }
}

describe('HALF_OPEN', () => {
  it('admits at most permittedCalls probes at once, and closes when that many succeed', async () => {
    const { breaker } = await halfOpen({ halfOpen: { permittedCalls: 2 } })
    const gates = [deferred<string>(), deferred<string>()]
    const probes = gates.map((g) => breaker.execute(() => g.promise))
    const rejected = await settle(breaker.execute(ok))
    expect(isBrokenCircuitError(rejected)).toBe(true)
    expect(breaker.metrics().probesInFlight).toBe(2)
    gates[0]!.resolve('a')
    expect(await probes[0]).toBe('a')
    expect(breaker.state).toBe('half_open')
    // One success recorded, one probe running: no third probe is needed, so none is admitted.
    expect(isBrokenCircuitError(await settle(breaker.execute(ok)))).toBe(true)
    gates[1]!.resolve('b')
    expect(await probes[1]).toBe('b')
    expect(breaker.state).toBe('closed')
  })

  it('reopens at the first failed probe, and ignores the later outcome of the others', async () => {
    const { breaker, clock } = await halfOpen({ halfOpen: { permittedCalls: 2 } })
    const slowGood = deferred<string>()
    const good = breaker.execute(() => slowGood.promise)
    await settle(breaker.execute(boom))
    expect(breaker.state).toBe('open')
    slowGood.resolve('late')
    expect(await good).toBe('late')
    expect(breaker.state).toBe('open')
    clock.advance(2_000) // the second opening lasts as long with a fixed duration
    expect(breaker.state).toBe('half_open')
    expect(breaker.metrics().probesInFlight).toBe(0)
  })

  it('reopens on a slow probe', async () => {
    const { breaker, clock } = await halfOpen({ halfOpen: { permittedCalls: 1 }, slowCallDuration: 100 })
    const gate = deferred()
    const probe = breaker.execute(() => gate.promise)
    clock.advance(150)
    gate.resolve()
    await probe
    expect(breaker.state).toBe('open')
  })

  it('a hung probe fails at its deadline: the caller is released, the signal aborted, the permit freed', async () => {
    const { breaker, clock } = await halfOpen({ halfOpen: { permittedCalls: 1, deadline: '2s' } })
    let seen: AbortSignal | undefined
    const probe = settle(
      breaker.execute(({ signal }) => {
        seen = signal
        return new Promise(() => {})
      }),
    )
    expect(clock.pendingTimers()).toBe(1)
    await clock.advanceAsync(2_000)
    const error = await probe
    expect(isBulwarkError(error, 'E_TIMEOUT')).toBe(true)
    expect(seen?.aborted).toBe(true)
    expect(breaker.state).toBe('open')
    expect(clock.pendingTimers()).toBe(0)
    clock.advance(1_000)
    expect(await breaker.execute(ok)).toBe('ok')
  })

  it('a probe aborted by its caller releases its permit and decides nothing', async () => {
    const { breaker, clock } = await halfOpen({ halfOpen: { permittedCalls: 1 } })
    const controller = new AbortController()
    let seen: AbortSignal | undefined
    const probe = settle(
      breaker.execute(({ signal }) => {
        seen = signal
        return new Promise(() => {})
      }, controller.signal),
    )
    controller.abort(new Error('user left'))
    expect(isBulwarkError(await probe, 'E_ABORTED')).toBe(true)
    expect(seen?.aborted).toBe(true)
    expect(breaker.state).toBe('half_open')
    expect(breaker.metrics().probesInFlight).toBe(0)
    expect(clock.pendingTimers()).toBe(0)
    expect(await breaker.execute(ok)).toBe('ok')
    expect(breaker.state).toBe('closed')
  })

  it('a probe that throws synchronously reopens the circuit and frees its permit', async () => {
    const { breaker, clock } = await halfOpen({ halfOpen: { permittedCalls: 1 } })
    await expect(breaker.execute(boom)).rejects.toThrow('boom')
    expect(breaker.state).toBe('open')
    expect(clock.pendingTimers()).toBe(0)
  })

  it('a probe whose result isResultFailure rejects reopens the circuit', async () => {
    const { breaker } = await halfOpen({ halfOpen: { permittedCalls: 1 }, isResultFailure: (r) => r === 'bad' })
    const reasons: unknown[] = []
    breaker.on('failure', (r) => reasons.push(r))
    expect(await breaker.execute(() => 'bad')).toBe('bad')
    expect(reasons).toEqual([{ value: 'bad' }])
    expect(breaker.state).toBe('open')
  })

  it('a probe whose isResultFailure throws frees its permit at once, and its caller gets the error', async () => {
    const isResultFailure = () => {
      throw new Error('predicate')
    }
    const { breaker, clock } = await halfOpen({ halfOpen: { permittedCalls: 1 }, isResultFailure })
    await expect(breaker.execute(ok)).rejects.toThrow('predicate')
    expect(breaker.metrics()).toMatchObject({ state: 'half_open', probesInFlight: 0, inFlight: 0 })
    expect(clock.pendingTimers()).toBe(0)
  })

  it('a probe whose failure listener throws frees its permit at once, and its caller gets the error', async () => {
    const { breaker, clock } = await halfOpen({ halfOpen: { permittedCalls: 1 } })
    breaker.on('failure', () => {
      throw new Error('listener')
    })
    await expect(breaker.execute(boom)).rejects.toThrow('listener')
    expect(breaker.metrics()).toMatchObject({ probesInFlight: 0, inFlight: 0 })
    expect(clock.pendingTimers()).toBe(0)
  })

  it('calls started while closed and finishing later do not count in the new state', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, minimumCalls: 2, openDuration: '1s', halfOpen: { permittedCalls: 1 } })
    const old = deferred()
    const oldCall = settle(breaker.execute(() => old.promise))
    await settle(breaker.execute(boom))
    await settle(breaker.execute(boom))
    expect(breaker.state).toBe('open')
    clock.advance(1_000)
    await breaker.execute(ok)
    expect(breaker.state).toBe('closed')
    old.reject(new Error('late failure'))
    await oldCall
    await flush()
    expect(breaker.metrics()).toMatchObject({ state: 'closed', calls: 0, failures: 0 })
  })
})
