import { describe, expect, it } from 'vitest'
import { boom, deferred, ok } from '../../test/support/breaker.js'
import { isBulwarkError } from '../core/errors.js'
import { fakeClock } from '../testing/index.js'
import { type CircuitState, circuitBreaker, isBrokenCircuitError } from './index.js'

const settle = (p: Promise<unknown>) =>
  p.then(
    () => 'ok' as const,
    (e: unknown) => e,
  )

describe('circuitBreaker: closed -> open', () => {
  it('passes calls and results through while closed', async () => {
    const breaker = circuitBreaker({ clock: fakeClock() })
    expect(await breaker.execute(({ attempt, signal }) => ({ attempt, aborted: signal.aborted }))).toEqual({
      attempt: 1,
      aborted: false,
    })
    expect(breaker.state).toBe('closed')
  })

  it('opens once minimumCalls are in the window and the failure rate reaches the threshold', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), minimumCalls: 4, failureRateThreshold: 0.5 })
    await settle(breaker.execute(boom))
    await settle(breaker.execute(boom))
    await settle(breaker.execute(boom))
    expect(breaker.state).toBe('closed') // 3 calls < minimumCalls, though all failed
    await breaker.execute(ok)
    expect(breaker.state).toBe('open') // 3/4 >= 0.5, decided by the call that reached minimumCalls

    const second = circuitBreaker({ clock: fakeClock(), minimumCalls: 4, failureRateThreshold: 0.5 })
    for (const fn of [ok, ok, ok, boom, boom]) await settle(second.execute(fn))
    expect(second.state).toBe('closed') // 2/5 < 0.5
    await settle(second.execute(boom))
    expect(second.state).toBe('open') // 3/6 >= 0.5
  })

  it('rejects with a stackless BrokenCircuitError and does not call the function while open', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, minimumCalls: 1, openDuration: '30s' })
    await settle(breaker.execute(boom))
    let called = false
    const error = await settle(
      breaker.execute(() => {
        called = true
      }),
    )
    expect(called).toBe(false)
    expect(isBrokenCircuitError(error)).toBe(true)
    expect(isBulwarkError(error, 'E_CIRCUIT_OPEN')).toBe(true)
    expect((error as Error).stack?.split('\n')).toHaveLength(1)
    expect(clock.pendingTimers()).toBe(0)
  })

  it('counts only errors isFailure accepts; the others are successes', async () => {
    const breaker = circuitBreaker({
      clock: fakeClock(),
      minimumCalls: 2,
      isFailure: (e) => (e as Error).message !== 'not found',
    })
    for (let i = 0; i < 5; i++)
      await settle(
        breaker.execute(() => {
          throw new Error('not found')
        }),
      )
    expect(breaker.metrics()).toMatchObject({ state: 'closed', calls: 5, failures: 0 })
    await settle(breaker.execute(boom))
    await settle(breaker.execute(boom))
    await settle(breaker.execute(boom))
    await settle(breaker.execute(boom))
    await settle(breaker.execute(boom))
    expect(breaker.state).toBe('open')
  })

  it('counts results isResultFailure rejects as failures, and still returns them', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), minimumCalls: 2, isResultFailure: (r) => r === 503 })
    const failures: unknown[] = []
    breaker.on('failure', (reason) => failures.push(reason))
    expect(await breaker.execute(() => 503)).toBe(503)
    expect(await breaker.execute(() => 503)).toBe(503)
    expect(failures).toEqual([{ value: 503 }, { value: 503 }])
    expect(breaker.state).toBe('open')
  })

  it('does not count calls aborted by their caller', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), minimumCalls: 1 })
    const controller = new AbortController()
    const call = breaker.execute(
      ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      controller.signal,
    )
    controller.abort()
    await expect(call).rejects.toThrow('aborted')
    expect(breaker.state).toBe('closed')
    expect(breaker.metrics().totals.ignored).toBe(1)
    await expect(breaker.execute(ok, controller.signal)).rejects.toSatisfy((e) => isBulwarkError(e, 'E_ABORTED'))
  })

  it('turns a synchronous throw into a rejection and counts it', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), minimumCalls: 1 })
    await expect(breaker.execute(boom)).rejects.toThrow('boom')
    expect(breaker.state).toBe('open')
  })
})

describe('slow calls', () => {
  it('opens on the slow-call rate, measured when calls finish', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, minimumCalls: 2, slowCallDuration: 100, slowCallRateThreshold: 1 })
    const slow: number[] = []
    breaker.on('slowCall', (ms, running) => slow.push(running ? -ms : ms))
    for (let i = 0; i < 2; i++) {
      const gate = deferred()
      const call = breaker.execute(() => gate.promise)
      clock.advance(150)
      gate.resolve()
      await call
    }
    expect(slow).toEqual([150, 150])
    expect(breaker.state).toBe('open')
  })

  it('a fast call is not slow at exactly the threshold', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, minimumCalls: 1, slowCallDuration: 100 })
    const gate = deferred()
    const call = breaker.execute(() => gate.promise)
    clock.advance(100)
    gate.resolve()
    await call
    expect(breaker.metrics().slowCalls).toBe(0)
  })

  it('counts hung calls as slow before they finish, with no timer, and trips at the next call', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, minimumCalls: 3, slowCallDuration: '1s', slowCallRateThreshold: 0.5 })
    const hung = [deferred(), deferred(), deferred()]
    const calls = hung.map((h) => settle(breaker.execute(() => h.promise)))
    expect(clock.pendingTimers()).toBe(0)
    clock.advance(1001)
    expect(breaker.state).toBe('open') // reading the state sweeps the in-flight calls
    expect(breaker.metrics().totals.slowCalls).toBe(3)
    // When they finally finish they are not counted twice.
    for (const h of hung) h.resolve()
    await Promise.all(calls)
    expect(breaker.metrics().totals.slowCalls).toBe(3)
  })

  it('a new call arriving after the threshold is rejected because the hung ones tripped the breaker', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, minimumCalls: 2, slowCallDuration: 500, slowCallRateThreshold: 1 })
    const hung = deferred()
    void settle(breaker.execute(() => hung.promise))
    void settle(breaker.execute(() => hung.promise))
    clock.advance(600)
    await expect(breaker.execute(ok)).rejects.toSatisfy(isBrokenCircuitError)
    hung.resolve()
  })

  it('with a ring smaller than the calls in flight, extra calls are measured when they finish', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({
      clock,
      minimumCalls: 1,
      slowCallDuration: 10,
      maxTrackedCalls: 1,
      slowCallRateThreshold: 1,
    })
    const a = deferred()
    const b = deferred()
    const first = breaker.execute(() => a.promise)
    clock.advance(1) // a later start: calls that start at the same time share one entry of the ring
    const second = breaker.execute(() => b.promise)
    clock.advance(19)
    expect(breaker.metrics().slowCalls).toBe(1) // only the tracked one counted while running
    expect(breaker.state).toBe('open') // the tracked one tripped it
    a.resolve()
    b.resolve()
    await Promise.all([first, second])
    expect(breaker.metrics().totals.slowCalls).toBe(2)
  })
})

describe('windows', () => {
  it('a count window keeps only the last N calls', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), window: { type: 'count', size: 4 }, minimumCalls: 4 })
    for (let i = 0; i < 3; i++) await settle(breaker.execute(boom))
    expect(breaker.state).toBe('closed')
    // A disabled-then-reset breaker would forget; here we push successes to evict the failures.
    const b2 = circuitBreaker({
      clock: fakeClock(),
      window: { type: 'count', size: 4 },
      minimumCalls: 4,
      failureRateThreshold: 0.75,
    })
    await settle(b2.execute(boom))
    await settle(b2.execute(boom))
    for (let i = 0; i < 4; i++) await b2.execute(ok)
    expect(b2.metrics()).toMatchObject({ calls: 4, failures: 0 })
    await settle(b2.execute(boom))
    await settle(b2.execute(boom))
    expect(b2.metrics()).toMatchObject({ calls: 4, failures: 2, state: 'closed' })
    await settle(b2.execute(boom))
    expect(b2.state).toBe('open')
  })

  it('a time window forgets calls older than its duration, and an idle gap leaves no stale counts', async () => {
    const clock = fakeClock(0)
    const breaker = circuitBreaker({ clock, window: { type: 'time', duration: '10s', buckets: 10 }, minimumCalls: 5 })
    for (let i = 0; i < 4; i++) await settle(breaker.execute(boom))
    expect(breaker.metrics()).toMatchObject({ calls: 4, failures: 4 })
    clock.advance(5_000)
    await breaker.execute(ok)
    expect(breaker.state).toBe('open') // 4/5 within 10 s
    breaker.reset()
    for (let i = 0; i < 4; i++) await settle(breaker.execute(boom))
    clock.advance(60_000) // idle for six windows
    expect(breaker.metrics()).toMatchObject({ calls: 0, failures: 0 })
    await settle(breaker.execute(boom))
    expect(breaker.state).toBe('closed') // 1 call: the four old failures are gone
    clock.advance(9_999)
    expect(breaker.metrics().calls).toBe(1)
    clock.advance(1_001)
    expect(breaker.metrics().calls).toBe(0)
  })
})

describe('OPEN duration and backoff', () => {
  const trip = async (breaker: ReturnType<typeof circuitBreaker>) => settle(breaker.execute(boom))

  it('moves to HALF_OPEN lazily after openDuration, with no timer', async () => {
    const clock = fakeClock()
    const changes: [CircuitState, CircuitState][] = []
    const breaker = circuitBreaker({ clock, minimumCalls: 1, openDuration: '5s' })
    breaker.on('stateChange', (from, to) => changes.push([from, to]))
    await trip(breaker)
    clock.advance(4_999)
    expect(breaker.state).toBe('open')
    clock.advance(1)
    expect(breaker.state).toBe('half_open')
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
    ])
    expect(clock.pendingTimers()).toBe(0)
  })

  it('backs off exponentially over consecutive openings, up to max, and starts over after closing', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({
      clock,
      minimumCalls: 1,
      halfOpen: { permittedCalls: 1 },
      openDuration: { initial: '1s', multiplier: 3, max: '5s' },
    })
    const openFor = async (): Promise<number> => {
      let ms = 0
      while (breaker.state === 'open') {
        clock.advance(100)
        ms += 100
      }
      return ms
    }
    await trip(breaker)
    expect(await openFor()).toBe(1_000)
    await trip(breaker) // the probe fails: reopen
    expect(await openFor()).toBe(3_000)
    await trip(breaker)
    expect(await openFor()).toBe(5_000)
    await breaker.execute(ok) // the probe succeeds: closed, streak forgotten
    expect(breaker.state).toBe('closed')
    await trip(breaker)
    expect(await openFor()).toBe(1_000)
  })

  it('accepts a function of the consecutive openings', async () => {
    const clock = fakeClock()
    const seen: number[] = []
    const breaker = circuitBreaker({
      clock,
      minimumCalls: 1,
      halfOpen: { permittedCalls: 1 },
      openDuration: (n) => {
        seen.push(n)
        return n * 1000
      },
    })
    await trip(breaker)
    clock.advance(1000)
    await trip(breaker)
    expect(seen).toEqual([1, 2])
    clock.advance(1999)
    expect(breaker.state).toBe('open')
    clock.advance(1)
    expect(breaker.state).toBe('half_open')
  })
})

describe('isolate, disable, reset', () => {
  it('isolate() rejects with E_CIRCUIT_ISOLATED until reset()', async () => {
    const breaker = circuitBreaker({ clock: fakeClock() })
    breaker.isolate()
    expect(breaker.state).toBe('forced_open')
    const error = await settle(breaker.execute(ok))
    expect(isBulwarkError(error, 'E_CIRCUIT_ISOLATED')).toBe(true)
    expect(isBrokenCircuitError(error)).toBe(true)
    breaker.reset()
    expect(await breaker.execute(ok)).toBe('ok')
  })

  it('disable() lets everything through and records nothing', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), minimumCalls: 1 })
    breaker.disable()
    for (let i = 0; i < 10; i++) await settle(breaker.execute(boom))
    expect(breaker.state).toBe('disabled')
    expect(breaker.metrics()).toMatchObject({ calls: 0, totals: { failures: 0 } })
    breaker.reset()
    expect(breaker.state).toBe('closed')
  })
})

describe('events, metrics, toJSON and initialState', () => {
  it('emits typed events for success, failure, rejection', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), minimumCalls: 2 })
    const log: string[] = []
    breaker.on('success', () => log.push('success'))
    breaker.on('failure', (r) => log.push(`failure:${(('error' in r && r.error) as Error).message}`))
    breaker.on('rejection', (reason) => log.push(`rejection:${reason}`))
    await breaker.execute(ok)
    await settle(breaker.execute(boom))
    await settle(breaker.execute(ok))
    expect(log).toEqual(['success', 'failure:boom', 'rejection:open'])
  })

  it('reports a metrics snapshot', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, name: 'prices', minimumCalls: 10 })
    await breaker.execute(ok)
    await settle(breaker.execute(boom))
    clock.advance(250)
    expect(breaker.metrics()).toEqual({
      name: 'prices',
      state: 'closed',
      failureRate: 0.5,
      slowCallRate: 0,
      calls: 2,
      failures: 1,
      slowCalls: 0,
      inFlight: 0,
      probesInFlight: 0,
      timeInState: 250,
      consecutiveOpens: 0,
      slowCallDuration: null,
      throttleProbability: 0,
      totals: { successes: 1, failures: 1, slowCalls: 0, rejections: 0, throttled: 0, ignored: 0 },
    })
  })

  it('restores an open breaker from toJSON(), through JSON', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, minimumCalls: 1, openDuration: '10s' })
    await settle(breaker.execute(boom))
    clock.advance(4_000)
    const saved = JSON.parse(JSON.stringify(breaker))
    const restored = circuitBreaker({ clock, minimumCalls: 1, openDuration: '10s', initialState: saved })
    expect(restored.state).toBe('open')
    expect(restored.metrics().consecutiveOpens).toBe(1)
    clock.advance(6_000)
    expect(restored.state).toBe('half_open')
  })

  it('restores a closed breaker with its window, for both window types', async () => {
    for (const window of [
      { type: 'count', size: 10 } as const,
      { type: 'time', duration: '10s', buckets: 5 } as const,
    ]) {
      const clock = fakeClock(0)
      const breaker = circuitBreaker({ clock, window, minimumCalls: 4 })
      await breaker.execute(ok)
      clock.advance(3_000)
      await settle(breaker.execute(boom))
      await settle(breaker.execute(boom))
      const restored = circuitBreaker({
        clock,
        window,
        minimumCalls: 4,
        initialState: JSON.parse(JSON.stringify(breaker)),
      })
      expect(restored.metrics()).toMatchObject({ calls: 3, failures: 2, state: 'closed' })
      await settle(restored.execute(boom))
      expect(restored.state).toBe('open')
      if (window.type === 'time') {
        const again = circuitBreaker({
          clock,
          window,
          minimumCalls: 4,
          initialState: JSON.parse(JSON.stringify(breaker)),
        })
        clock.advance(8_000) // the first call (t=0) has left the window, the failures (t=3s) have not
        expect(again.metrics()).toMatchObject({ calls: 2, failures: 2 })
      }
    }
  })

  it('restores forced_open and disabled', () => {
    const clock = fakeClock()
    const a = circuitBreaker({ clock })
    a.isolate()
    expect(circuitBreaker({ clock, initialState: a.toJSON() }).state).toBe('forced_open')
    a.disable()
    expect(circuitBreaker({ clock, initialState: a.toJSON() }).state).toBe('disabled')
  })
})

describe('cost of the closed path', () => {
  it('without slow-call detection, a count-window breaker reads no clock on the closed path', async () => {
    const clock = fakeClock()
    let reads = 0
    const counting = {
      ...clock,
      now: () => {
        reads++
        return clock.now()
      },
    }
    const breaker = circuitBreaker({ clock: counting })
    reads = 0
    for (let i = 0; i < 100; i++) await breaker.execute(ok)
    expect(reads).toBe(0)
    const durations: number[] = []
    breaker.on('success', (ms) => durations.push(ms))
    await breaker.execute(ok)
    expect(durations).toEqual([Number.NaN])
    expect(breaker.metrics().slowCallDuration).toBeNull()
  })

  it('without slow-call detection a call is never slow, however long it runs', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, minimumCalls: 1, slowCallRateThreshold: 0.1 })
    const gate = deferred()
    const call = breaker.execute(() => gate.promise)
    clock.advance(3_600_000)
    expect(breaker.state).toBe('closed')
    gate.resolve()
    await call
    expect(breaker.metrics()).toMatchObject({ state: 'closed', slowCalls: 0 })
  })

  it('the untimed path still opens at the right time and waits openDuration', async () => {
    const clock = fakeClock()
    const breaker = circuitBreaker({ clock, minimumCalls: 1, openDuration: '5s' })
    await settle(breaker.execute(boom))
    clock.advance(4_999)
    expect(breaker.state).toBe('open')
    clock.advance(1)
    expect(breaker.state).toBe('half_open')
  })
})

describe('tryExecute', () => {
  it('resolves with outcomes, and while open with one shared outcome per open period', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), minimumCalls: 2 })
    expect(await breaker.tryExecute(ok)).toEqual({ ok: true, value: 'ok' })
    const failed = await breaker.tryExecute(boom)
    expect(failed.ok).toBe(false)
    expect(((failed as { error: Error }).error as Error).message).toBe('boom')
    expect(breaker.state).toBe('open')
    const first = breaker.tryExecute(ok)
    const second = breaker.tryExecute(ok)
    expect(first).toBe(second)
    const outcome = await first
    expect(outcome.ok).toBe(false)
    expect(isBrokenCircuitError((outcome as { error: unknown }).error)).toBe(true)
    expect(breaker.metrics().totals.rejections).toBe(2)
    breaker.isolate()
    const isolated = await breaker.tryExecute(ok)
    expect(isBulwarkError((isolated as { error: unknown }).error, 'E_CIRCUIT_ISOLATED')).toBe(true)
  })
})
