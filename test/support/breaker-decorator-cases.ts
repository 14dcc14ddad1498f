/**
 * Assertions shared by the decorator tests of both modes (standard in src/breaker, experimentalDecorators in
 * test/legacy-decorators): each file declares its classes under its own decorator mode and runs these.
 */
import { expect } from 'vitest'
import { isBrokenCircuitError } from '../../src/breaker/index.js'
import { isBulwarkError } from '../../src/core/errors.js'
import type { FakeClock } from '../../src/testing/index.js'

/** `make(fail)` builds a client whose `get` is decorated with a breaker opening after one failure. */
export async function expectBreakerOnMethod(make: (fail: boolean) => { get(id: string): Promise<string> }) {
  expect(await make(false).get('1')).toBe('item 1')
  await expect(make(true).get('2')).rejects.toThrow('down')
  await expect(make(false).get('3')).rejects.toSatisfy(isBrokenCircuitError)
}

/** `flaky` is decorated with a retry and succeeds at attempt `succeedsAt`; `hang` with a 100 ms timeout. */
export async function expectRetryAndTimeoutOnMethods(
  clock: FakeClock,
  service: { flaky(): Promise<number>; hang(signal?: AbortSignal): Promise<unknown> },
  succeedsAt: number,
) {
  const flaky = service.flaky()
  await clock.advanceAsync(50)
  expect(await flaky).toBe(succeedsAt)
  const hung = service.hang(new AbortController().signal).catch((e: unknown) => e)
  await clock.advanceAsync(100)
  expect(isBulwarkError(await hung, 'E_TIMEOUT')).toBe(true)
}

/**
 * `read` is decorated with a 100 ms timeout and declares `(id, signal?)`: called without a signal, it
 * still gets one, and that signal aborts at the deadline.
 */
export async function expectSignalWithoutCallerSignal(
  clock: FakeClock,
  service: { read(id: string, signal?: AbortSignal): Promise<unknown>; seen: AbortSignal[] },
) {
  const read = service.read('a').catch((e: unknown) => e)
  await clock.advanceAsync(0)
  const [signal] = service.seen
  expect(signal).toBeInstanceOf(AbortSignal)
  expect(signal?.aborted).toBe(false)
  await clock.advanceAsync(100)
  expect(isBulwarkError(await read, 'E_TIMEOUT')).toBe(true)
  expect(signal?.aborted).toBe(true)
}
