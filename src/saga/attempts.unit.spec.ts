/**
 * `ctx.attempt` numbers every call of a step, whoever makes it: the step's `retry` policy, the saga's
 * re-runs of a retriable step, and a re-run after a restart. The numbers come from the saga's stream, so a
 * new orchestrator continues where the last one stopped.
 */
import { describe, expect, it } from 'vitest'
import { harness, settle } from '../../test/support/saga.js'
import { defineSaga } from './define.js'
import { createSagaOrchestrator } from './orchestrator.js'

describe('ctx.attempt', () => {
  it('grows by one with every call: retry policy calls and re-runs of a retriable step alike', async () => {
    const { orchestrator, clock, store } = harness()
    const attempts: number[] = []
    const saga = defineSaga('notify')
      .step('ship', { kind: 'pivot', run: () => 'S' })
      .step('mail', {
        kind: 'retriable',
        retry: { attempts: 2, backoff: { initial: 10, max: 10 }, jitter: 'none' },
        run: ({ attempt }) => {
          attempts.push(attempt)
          if (attempts.length <= 5) throw new Error('mailer down')
          return 'sent'
        },
      })
    const state = await settle(clock, orchestrator.start(saga, null, { sagaId: 'n1' }), 10)
    expect(state.status).toBe('completed')
    expect(attempts).toEqual([1, 2, 3, 4, 5, 6])
    expect(state.steps[1]).toMatchObject({ status: 'executed', attempts: 6 })
    // Each call was recorded before it was made, and each failure names the call that failed.
    const events = await store.readStream('saga-n1')
    const mail = events.filter((e) => (e.data as { step?: string }).step === 'mail')
    expect(mail.filter((e) => e.type === 'StepStarted').map((e) => (e.data as { attempt: number }).attempt)).toEqual([
      1, 2, 3, 4, 5, 6,
    ])
    expect(mail.filter((e) => e.type === 'StepFailed').map((e) => (e.data as { attempt: number }).attempt)).toEqual([
      2, 4,
    ])
  })

  it('continues after a restart: the next orchestrator never repeats a number the last one used', async () => {
    const first = harness()
    const attempts: number[] = []
    let hangOn = 2
    const saga = defineSaga('pay').step('charge', {
      kind: 'pivot',
      retry: { attempts: 3, backoff: { initial: 10, max: 10 }, jitter: 'none' },
      run: async ({ attempt, signal }) => {
        attempts.push(attempt)
        // The process dies in the middle of this call (close() aborts its signal).
        if (attempts.length === hangOn) await new Promise((_, reject) => signal.addEventListener('abort', reject))
        if (attempts.length < 4) throw new Error('declined')
        return 'paid'
      },
    })
    const running = first.orchestrator.start(saga, null, { sagaId: 'p1' })
    for (let i = 0; i < 10 && attempts.length < 2; i++) await first.clock.advanceAsync(10)
    expect(attempts).toEqual([1, 2])
    await first.orchestrator.close() // like a crash: call 2 has no recorded outcome
    await expect(running).rejects.toMatchObject({ code: 'E_ABORTED' })
    hangOn = 0

    const { clock, store } = first
    clock.advance(60_000) // past the dead orchestrator's lease
    const restarted = createSagaOrchestrator({ store, clock, sagas: [saga] })
    const recovered = restarted.recover()
    const result = await settle(clock, recovered, 10)
    expect(result.resumed.map((s) => s.status)).toEqual(['completed'])
    expect(attempts).toEqual([1, 2, 3, 4])
    expect(result.resumed[0]!.steps[0]!.attempts).toBe(4)
  })

  it('numbers the calls of each step of a parallel group, whose retries are recorded concurrently', async () => {
    const { clock, store } = harness()
    // A store whose appends take a while (as over a network), so the two steps' records overlap. The while
    // is on the fake clock that `settle` drives: on a real timer, a loaded machine let the fake clock run
    // past half the lease before an append landed, and the saga stopped with E_SAGA_LEASE_LOST.
    const slowStore = new Proxy(store, {
      get(target, key) {
        if (key === 'appendToStream') {
          return (...args: Parameters<typeof store.appendToStream>) =>
            new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 5)).then(() =>
              target.appendToStream(...args),
            )
        }
        const value = Reflect.get(target, key)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const orchestrator = createSagaOrchestrator({ store: slowStore, clock })
    const calls: string[] = []
    const flaky = (name: string) => ({
      name,
      retry: { attempts: 3, backoff: { initial: 10, max: 10 }, jitter: 'none' as const },
      run: ({ attempt }: { attempt: number }) => {
        calls.push(`${name}${attempt}`)
        if (attempt < 3) throw new Error(`${name} flaky`)
        return attempt
      },
      compensate: () => undefined,
    })
    const saga = defineSaga('pair')
      .parallel([flaky('a'), flaky('b')])
      .step('end', { kind: 'pivot', run: () => 'done' })
    const state = await settle(clock, orchestrator.start(saga, null, { sagaId: 'pair-1' }), 10)
    expect(state).toMatchObject({ status: 'completed', outputs: { a: 3, b: 3 } })
    expect(calls.sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3'])
    const started = (await store.readStream('saga-pair-1'))
      .filter((e) => e.type === 'StepStarted')
      .map((e) => `${(e.data as { step: string }).step}${(e.data as { attempt: number }).attempt}`)
    expect(started.sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'end1'])
  })
})
