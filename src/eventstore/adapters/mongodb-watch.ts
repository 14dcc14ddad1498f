/**
 * The MongoDB store's `watch`: one change stream on the counter collection, open while at least one
 * watcher exists. Every append updates the counter document once, inside its transaction, so each
 * committed append yields exactly one change event, from any process, and none for a rolled-back one.
 *
 * When the change stream fails (a failover the driver could not resume, missing privileges), it is
 * re-opened after `retryDelayMs` on the injected clock and every watcher is woken once, to read what
 * it may have missed. Subscriptions poll at a slow rate anyway, so a deployment where change streams
 * never work still delivers every event.
 */
import type { ChangeStream, Collection } from 'mongodb'
import type { Clock, TimerHandle } from '../../core/clock.js'
import { Watchers } from '../internal/index.js'
import type { CounterDocument } from './mongodb-documents.js'

export class MongoWatch {
  readonly #counters: Collection<CounterDocument>
  readonly #clock: Clock
  readonly #retryDelayMs: number
  readonly #watchers = new Watchers()
  #stream: ChangeStream<CounterDocument> | undefined
  #retry: TimerHandle | undefined
  #stopped = false

  constructor(counters: Collection<CounterDocument>, clock: Clock, retryDelayMs: number) {
    this.#counters = counters
    this.#clock = clock
    this.#retryDelayMs = retryDelayMs
  }

  /** Adds a watcher, opening the change stream for the first; returns its unsubscribe function. */
  add(listener: () => void): () => void {
    const remove = this.#watchers.add(listener)
    if (!this.#stream && this.#retry === undefined) this.#open()
    return () => {
      remove()
      if (this.#watchers.size === 0) void this.#shut()
    }
  }

  /** Wakes this process's watchers at once after its own append. */
  notifyLocal(): void {
    this.#watchers.notify()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#watchers.clear()
    await this.#shut()
  }

  #open(): void {
    if (this.#stopped) return
    let stream: ChangeStream<CounterDocument>
    try {
      stream = this.#counters.watch([{ $match: { operationType: { $in: ['update', 'replace'] } } }])
    } catch {
      this.#scheduleReopen()
      return
    }
    this.#stream = stream
    stream.on('change', () => this.#watchers.notify())
    // Appends that committed before the stream started sent no change we will see: wake everyone once
    // the stream is established. The ChangeStream does not pass on its cursor's 'init'; the first
    // resume token it reports comes from that initial response (an empty first batch sets it).
    stream.once('resumeTokenChanged', () => this.#watchers.notify())
    stream.on('error', () => {
      if (this.#stream !== stream) return
      this.#stream = undefined
      stream.close().catch(() => {})
      if (!this.#stopped && this.#watchers.size > 0) this.#scheduleReopen()
    })
  }

  #scheduleReopen(): void {
    this.#retry = this.#clock.setTimeout(() => {
      this.#retry = undefined
      if (this.#watchers.size === 0) return
      this.#open()
    }, this.#retryDelayMs)
  }

  async #shut(): Promise<void> {
    if (this.#retry !== undefined) {
      this.#clock.clearTimeout(this.#retry)
      this.#retry = undefined
    }
    const stream = this.#stream
    this.#stream = undefined
    if (stream) await stream.close().catch(() => {})
  }
}
