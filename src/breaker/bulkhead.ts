import { toAbortedError } from '../core/abort.js'
import { expectNumber, expectOptions, optionalNumber, optionKeys } from '../core/validate.js'
import { contextFor } from './context.js'
import { BulkheadRejectedError } from './errors.js'
import type { Policy, PolicyFn } from './types.js'

/** Options of {@link bulkhead}. */
export interface BulkheadOptions {
  /** Calls running at once. An integer >= 1. */
  maxConcurrent: number
  /** Calls waiting for a slot; beyond that a call is rejected at once. An integer >= 0. @default 0 */
  maxQueue?: number
}

interface Waiter {
  resolve: () => void
  reject: (error: unknown) => void
  signal: AbortSignal | undefined
  onAbort: () => void
}

/** A policy limiting concurrency (see {@link bulkhead}). */
export class BulkheadPolicy implements Policy {
  readonly maxConcurrent: number
  readonly maxQueue: number
  #active = 0
  readonly #queue: Waiter[] = []

  constructor(options: BulkheadOptions) {
    const o = expectOptions('options', options, optionKeys<BulkheadOptions>({ maxConcurrent: true, maxQueue: true }))
    this.maxConcurrent = expectNumber('maxConcurrent', o.maxConcurrent, { min: 1, integer: true })
    this.maxQueue = optionalNumber('maxQueue', o.maxQueue, 0, { min: 0, integer: true })
  }

  /** Calls running now. */
  get active(): number {
    return this.#active
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.#queue.length
  }

  /**
   * Runs `fn` when a slot is free; waits in the queue if it is not; rejects at once with a
   * {@link BulkheadRejectedError} (`E_BULKHEAD_REJECTED`) when the queue is full too.
   */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(toAbortedError(signal))
    if (this.#active < this.maxConcurrent) {
      this.#active++
      return this.#run(fn, signal)
    }
    if (this.#queue.length >= this.maxQueue) {
      return Promise.reject(new BulkheadRejectedError({ maxConcurrent: this.maxConcurrent, maxQueue: this.maxQueue }))
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.#queue.indexOf(waiter)
          if (at >= 0) this.#queue.splice(at, 1)
          reject(toAbortedError(signal as AbortSignal))
        },
      }
      signal?.addEventListener('abort', waiter.onAbort, { once: true })
      this.#queue.push(waiter)
    }).then(() => this.#run(fn, signal))
  }

  /** Runs in a slot already counted in `#active`, and hands the slot on when done. */
  async #run<T>(fn: PolicyFn<T>, signal: AbortSignal | undefined): Promise<T> {
    try {
      return await fn(contextFor(signal))
    } finally {
      this.#release()
    }
  }

  #release(): void {
    const next = this.#queue.shift()
    if (next === undefined) {
      this.#active--
      return
    }
    // The slot passes straight to the next waiter, so a newcomer cannot take it in between.
    next.signal?.removeEventListener('abort', next.onAbort)
    next.resolve()
  }
}

/**
 * Creates a bulkhead: at most `maxConcurrent` calls run at once, `maxQueue` more wait, and the rest are
 * rejected at once with a typed error instead of piling up.
 *
 * @example
 * ```ts
 * const pool = bulkhead({ maxConcurrent: 10, maxQueue: 50 })
 * await pool.execute(() => renderPdf(order))
 * ```
 */
export function bulkhead(options: BulkheadOptions): BulkheadPolicy {
  return new BulkheadPolicy(options)
}
