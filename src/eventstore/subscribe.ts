import type { Clock, TimerHandle } from '../core/clock.js'
import type { Duration } from '../core/duration.js'
import { AbortedError, isBulwarkError, ValidationError } from '../core/errors.js'
import {
  expectOptions,
  optionalClock,
  optionalDuration,
  optionalFunction,
  optionalNumber,
  optionKeys,
} from '../core/validate.js'
import { isPlainObject } from './internal/json.js'
import { validateCount, validateEventType, validateId } from './internal/validate.js'
import type { EventStore, RecordedEvent } from './types.js'

/** Options of {@link subscribe}. */
export interface SubscribeOptions {
  /** Name of the subscription; its checkpoint is stored under this id. */
  subscriptionId: string
  /** Called once per event, in global position order; the next event waits for the returned promise. */
  handler: (event: RecordedEvent) => void | Promise<void>
  /** Only events of these types. @default every type */
  types?: readonly string[]
  /**
   * Where to begin when no checkpoint is stored: `'start'` (every event), `'end'` (only events
   * committed from now on) or a global position (events after it). A stored checkpoint always wins.
   * @default 'start'
   */
  from?: 'start' | 'end' | number
  /** Events read and handled per batch; the checkpoint is stored after each batch. @default 500 */
  batchSize?: number
  /** How long to wait for new events before reading again when `watch` did not wake the subscription. @default '1s' */
  pollInterval?: Duration
  /** How long to wait after a failure (of the handler or of the store) before trying again. @default '1s' */
  retryDelay?: Duration
  /** Clock for the waits. @default systemClock */
  clock?: Clock
  /**
   * Called when the handler or the store fails. The subscription keeps going: it waits `retryDelay`,
   * then delivers the failed event again (at-least-once; nothing is skipped). The one exception is a
   * closed store (`E_STORE_CLOSED`): the subscription then ends, rejecting pending `waitFor` calls.
   * @default logs the error with console.error
   */
  onError?: (error: unknown, event: RecordedEvent | undefined) => void
}

/** A running catch-up subscription. */
export interface Subscription {
  readonly subscriptionId: string
  /** The last position handled and checkpointed (0 before the first). */
  readonly position: number
  /** Resolves once every event up to `position` has been handled and checkpointed. Rejects if the subscription is closed first. */
  waitFor(position: number): Promise<void>
  /**
   * Stops reading and releases the store's `watch`: waits for the handler that is running, stores the
   * checkpoint of what was handled, then resolves. (`close()`, like a store's, a cache's and an
   * orchestrator's: what holds resources is released with `close()`.)
   */
  close(): Promise<void>
}

/**
 * Starts a catch-up subscription: reads every event after its checkpoint (history), then waits for
 * new ones (live), with no gap between the two because both are the same loop over `readAll` from the
 * last handled position, and positions are gap-free and in commit order on every adapter.
 *
 * Delivery is at-least-once: the checkpoint is stored (with `store.storeCheckpoint`, in the same
 * database) after each handled batch, so a crash re-delivers at most the batch in flight. Make the
 * handler idempotent, for instance with {@link idempotent}. Between reads it sleeps `pollInterval` on
 * the clock, and the store's `watch` (when it has one) wakes it as soon as something is committed.
 *
 * @example
 * ```ts
 * const sub = subscribe(store, {
 *   subscriptionId: 'emails',
 *   types: ['OrderPlaced'],
 *   handler: async (event) => sendConfirmation(event.data),
 * })
 * // ...
 * await sub.close()
 * ```
 */
export function subscribe(store: EventStore, options: SubscribeOptions): Subscription {
  return new CatchUpSubscription(store, options)
}

interface Waiter {
  position: number
  resolve: () => void
  reject: (error: unknown) => void
}

class CatchUpSubscription implements Subscription {
  readonly subscriptionId: string
  #position = 0
  #stopping = false
  #dirty = false
  #wake: (() => void) | undefined
  #waiters: Waiter[] = []
  readonly #store: EventStore
  readonly #handler: SubscribeOptions['handler']
  readonly #types: readonly string[] | undefined
  readonly #from: 'start' | 'end' | number
  readonly #batchSize: number
  readonly #pollInterval: number
  readonly #retryDelay: number
  readonly #clock: Clock
  readonly #onError: NonNullable<SubscribeOptions['onError']>
  readonly #unwatch: (() => void) | undefined
  readonly #done: Promise<void>

  constructor(store: EventStore, options: SubscribeOptions) {
    if (!isPlainObject(options)) throw new ValidationError('options', 'an options object', options)
    expectOptions(
      'options',
      options,
      optionKeys<SubscribeOptions>({
        subscriptionId: true,
        handler: true,
        types: true,
        from: true,
        batchSize: true,
        pollInterval: true,
        retryDelay: true,
        clock: true,
        onError: true,
      }),
    )
    this.subscriptionId = validateId(options.subscriptionId, 'subscriptionId')
    this.#store = store
    if (typeof options.handler !== 'function') throw new ValidationError('handler', 'a function', options.handler)
    this.#handler = options.handler
    if (options.types !== undefined && !Array.isArray(options.types))
      throw new ValidationError('types', 'an array of event types', options.types)
    this.#types = options.types?.map((t, i) => validateEventType(t, `types[${i}]`, 'E_INVALID_OPTION'))
    const from = options.from ?? 'start'
    this.#from = from === 'start' || from === 'end' ? from : validateCount(from, 'from')
    this.#batchSize = optionalNumber('batchSize', options.batchSize, 500, { min: 1, integer: true })
    this.#pollInterval = optionalDuration('pollInterval', options.pollInterval, 1000)
    this.#retryDelay = optionalDuration('retryDelay', options.retryDelay, 1000)
    this.#clock = optionalClock('clock', options.clock)
    this.#onError =
      optionalFunction('onError', options.onError) ??
      ((error, event) => console.error(`bulwark: subscription ${this.subscriptionId} failed`, event?.id, error))
    this.#unwatch = store.watch?.(() => {
      this.#dirty = true
      this.#wake?.()
    })
    this.#done = this.#run()
  }

  get position(): number {
    return this.#position
  }

  waitFor(position: number): Promise<void> {
    validateCount(position, 'position')
    if (this.#position >= position) return Promise.resolve()
    if (this.#stopping)
      return Promise.reject(new AbortedError({ message: `Subscription ${this.subscriptionId} is closed` }))
    return new Promise((resolve, reject) => this.#waiters.push({ position, resolve, reject }))
  }

  async close(): Promise<void> {
    this.#stopping = true
    this.#unwatch?.()
    this.#wake?.()
    await this.#done
    for (const w of this.#waiters.splice(0))
      w.reject(
        new AbortedError({ message: `Subscription ${this.subscriptionId} was closed before position ${w.position}` }),
      )
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        const stored = await this.#store.loadCheckpoint(this.subscriptionId)
        if (stored !== undefined) this.#position = stored
        else if (this.#from === 'end') this.#position = await this.#store.headPosition()
        else this.#position = this.#from === 'start' ? 0 : this.#from
        this.#settleWaiters()
        break
      } catch (error) {
        this.#fail(error, undefined)
        await this.#sleep(this.#retryDelay, false)
      }
    }
    while (!this.#stopping) {
      this.#dirty = false
      const outcome = await this.#batch()
      if (outcome === 'more') continue
      await this.#sleep(outcome === 'failed' ? this.#retryDelay : this.#pollInterval, outcome === 'idle')
    }
  }

  /** Reads and handles one batch; 'more' when a full batch was read and more may be waiting. */
  async #batch(): Promise<'more' | 'idle' | 'failed'> {
    let page: RecordedEvent[]
    let head = 0
    try {
      // Read the head first: with a type filter, every event up to it has been seen once the read is
      // not full, so the checkpoint can move past events of other types.
      if (this.#types) head = await this.#store.headPosition()
      page = await this.#store.readAll({ after: this.#position, maxCount: this.#batchSize, types: this.#types })
    } catch (error) {
      this.#fail(error, undefined)
      return 'failed'
    }
    let handled = this.#position
    let failed = false
    for (const event of page) {
      if (this.#stopping) break
      try {
        await this.#handler(event)
      } catch (error) {
        this.#onError(error, event)
        failed = true
        break
      }
      handled = event.globalPosition
    }
    const complete = !failed && handled === (page[page.length - 1]?.globalPosition ?? handled)
    const next = complete && this.#types && page.length < this.#batchSize ? Math.max(handled, head) : handled
    if (next > this.#position) {
      try {
        await this.#store.storeCheckpoint(this.subscriptionId, next)
      } catch (error) {
        // Not advancing re-delivers the batch: at-least-once, never a skip.
        this.#fail(error, undefined)
        return 'failed'
      }
      this.#position = next
      this.#settleWaiters()
    }
    if (failed) return 'failed'
    return page.length === this.#batchSize ? 'more' : 'idle'
  }

  /** Reports a failure; a closed store cannot recover, so the subscription ends instead of retrying forever. */
  #fail(error: unknown, event: RecordedEvent | undefined): void {
    this.#onError(error, event)
    if (isBulwarkError(error, 'E_STORE_CLOSED')) {
      this.#stopping = true
      this.#unwatch?.()
      for (const w of this.#waiters.splice(0)) w.reject(error)
    }
  }

  #settleWaiters(): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (w.position > this.#position) return true
      w.resolve()
      return false
    })
  }

  /** Waits `ms` on the clock; `wakeable` waits end early on a `watch` notification or on stop. */
  #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopping || (wakeable && this.#dirty)) return Promise.resolve()
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined
      const done = () => {
        if (timer !== undefined) this.#clock.clearTimeout(timer)
        this.#wake = undefined
        resolve()
      }
      timer = this.#clock.setTimeout(done, ms)
      // A retry wait ignores new events (they would fail the same way) but not close().
      this.#wake = wakeable
        ? done
        : () => {
            if (this.#stopping) done()
          }
    })
  }
}
