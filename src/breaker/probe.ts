import { toAbortedError } from '../core/abort.js'
import type { Clock } from '../core/clock.js'
import { TimeoutError } from '../core/errors.js'
import { invoke, linkSignal } from './context.js'
import type { PolicyFn } from './types.js'
import { FAILED } from './window.js'

/** A probe outcome that decides nothing: its caller aborted it. */
export const IGNORED = -1

/** What a half-open probe needs from its breaker. */
export interface ProbeHost {
  readonly name: string
  readonly clock: Clock
  readonly deadline: number
  /** FAILED or 0 for a value the function returned (and the payload to report). */
  classifyValue(value: unknown): [failed: number, payload: unknown]
  classifyError(error: unknown): number
  /** Called exactly once per probe: releases its permit and applies its outcome. */
  settle(generation: number, failed: number, payload: unknown, start: number): void
}

/**
 * Runs one half-open probe. Its permit is released exactly once (the `settled` flag), by whichever comes
 * first: the function settling, the caller aborting (the probe then decides nothing), or the deadline (the
 * probe counts as failed, its signal is aborted and its caller rejected with a TimeoutError). So a probe
 * that throws, hangs or is aborted can never hold a permit forever.
 */
export function runProbe<T>(
  host: ProbeHost,
  generation: number,
  fn: PolicyFn<T>,
  signal: AbortSignal | undefined,
  start: number,
): Promise<T> {
  const controller = new AbortController()
  const unlink = linkSignal(signal, controller)
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const finish = (failed: number, payload: unknown): boolean => {
      if (settled) return false
      settled = true
      host.clock.clearTimeout(timer)
      unlink()
      signal?.removeEventListener('abort', onAbort)
      host.settle(generation, failed, payload, start)
      return true
    }
    const onAbort = () => {
      if (!finish(IGNORED, undefined)) return
      controller.abort((signal as AbortSignal).reason)
      reject(toAbortedError(signal as AbortSignal))
    }
    const timer = host.clock.setTimeout(() => {
      const error = new TimeoutError(`A half-open probe of '${host.name}' ran past its deadline`, {
        context: { name: host.name, deadline: host.deadline },
      })
      if (!finish(FAILED, error)) return
      controller.abort(error)
      reject(error)
    }, host.deadline)
    signal?.addEventListener('abort', onAbort, { once: true })
    invoke(fn, { signal: controller.signal, attempt: 1 }).then(
      (value) => {
        const [failed, payload] = host.classifyValue(value)
        if (finish(failed, payload)) resolve(value)
      },
      (error: unknown) => {
        if (finish(host.classifyError(error), error)) reject(error)
      },
    )
  })
}
