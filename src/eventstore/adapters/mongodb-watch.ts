/**
 * The MongoDB store's `watch`: one change stream on the counter collection, open while at least one
 * watcher exists. Every append updates the counter document once, inside its transaction, so each
 * committed append yields exactly one change event, from any process, and none for a rolled-back one.
 *
 * The change stream can end with an error (a failover the driver could not resume, missing privileges)
 * or without one (an invalidate after the collection or database was dropped or renamed, an
 * interrupted operation, a closed server). Either way it is re-opened after `retryDelayMs` on the
 * injected clock, and every watcher is woken once it is back, to read what it may have missed.
 * Subscriptions poll at a slow rate anyway, so nothing is lost meanwhile; only the wake-up is late.
 *
 * Before the first open the store's migration runs (it checks the server): a standalone server has no
 * change streams, so the watch then gives up for good instead of failing every second, and only this
 * process's own appends wake its watchers.
 */
import type { ChangeStream, Collection } from 'mongodb'
import type { Clock, TimerHandle } from '../../core/clock.js'
import { isBulwarkError } from '../../core/errors.js'
import { Watchers } from '../internal/index.js'
import type { CounterDocument } from './mongodb-documents.js'
import { serverCode } from './mongodb-errors.js'

/** What the watch is doing; each state carries its own data. */
type WatchState =
  | { kind: 'idle' }
  | { kind: 'opening' }
  | { kind: 'open'; stream: ChangeStream<CounterDocument> }
  | { kind: 'waiting'; timer: TimerHandle }
  /** The server has no change streams (standalone): only local appends wake watchers. */
  | { kind: 'unsupported'; reason: unknown }

// "The $changeStream stage is only supported on replica sets".
const CHANGE_STREAMS_UNSUPPORTED = 40573

export interface MongoWatchOptions {
  counters: Pick<Collection<CounterDocument>, 'watch'>
  clock: Clock
  retryDelayMs: number
  /** Resolves when the server is checked and migrated; rejects with E_REPLICA_SET_REQUIRED on a standalone. */
  ready: () => Promise<void>
}

export class MongoWatch {
  readonly #options: MongoWatchOptions
  readonly #watchers = new Watchers()
  #state: WatchState = { kind: 'idle' }
  #stopped = false

  constructor(options: MongoWatchOptions) {
    this.#options = options
  }

  /** What the watch is doing (for tests and diagnostics). */
  get state(): WatchState['kind'] {
    return this.#state.kind
  }

  /** Adds a watcher, opening the change stream for the first; returns its unsubscribe function. */
  add(listener: () => void): () => void {
    const remove = this.#watchers.add(listener)
    if (this.#state.kind === 'idle') this.#open()
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
    const opening: WatchState = { kind: 'opening' }
    this.#state = opening
    // Through a promise: a `ready` that throws at once still ends in the handlers below.
    Promise.resolve()
      .then(() => this.#options.ready())
      .then(
        () => {
          if (this.#state !== opening) return
          if (this.#watchers.size === 0) this.#state = { kind: 'idle' }
          else this.#start()
        },
        (error: unknown) => {
          if (this.#state !== opening) return
          if (isBulwarkError(error, 'E_REPLICA_SET_REQUIRED')) this.#state = { kind: 'unsupported', reason: error }
          else this.#scheduleReopen()
        },
      )
  }

  #start(): void {
    let stream: ChangeStream<CounterDocument>
    try {
      stream = this.#options.counters.watch([{ $match: { operationType: { $in: ['update', 'replace'] } } }])
    } catch {
      this.#scheduleReopen()
      return
    }
    const open: WatchState = { kind: 'open', stream }
    this.#state = open
    stream.on('change', () => this.#watchers.notify())
    // Appends that committed before the stream started sent no change we will see: wake everyone once
    // the stream is established. The ChangeStream does not pass on its cursor's 'init'; the first
    // resume token it reports comes from that initial response (an empty first batch sets it).
    stream.once('resumeTokenChanged', () => this.#watchers.notify())
    // The driver resumes after a resumable error by closing its cursor, which reaches `lost` below as
    // 'close', and then starts a new cursor without checking that the stream was closed meanwhile: that
    // cursor would run on the server for good. A stream given up that still reports resume tokens is
    // closed again, after the cursor has finished starting (closed during its start, it is not killed).
    stream.on('resumeTokenChanged', () => {
      if (this.#state !== open) setImmediate(() => stream.close().catch(() => {}))
    })
    const lost = (error?: unknown) => {
      if (this.#state !== open) return // closed by us, or already handled
      stream.close().catch(() => {})
      if (serverCode(error) === CHANGE_STREAMS_UNSUPPORTED) this.#state = { kind: 'unsupported', reason: error }
      else if (this.#stopped || this.#watchers.size === 0) this.#state = { kind: 'idle' }
      else this.#scheduleReopen()
    }
    stream.on('error', lost)
    stream.on('close', () => lost())
  }

  #scheduleReopen(): void {
    const timer = this.#options.clock.setTimeout(() => {
      if (this.#state.kind !== 'waiting' || this.#state.timer !== timer) return
      this.#state = { kind: 'idle' }
      if (this.#watchers.size > 0) this.#open()
    }, this.#options.retryDelayMs)
    this.#state = { kind: 'waiting', timer }
  }

  async #shut(): Promise<void> {
    const state = this.#state
    if (state.kind === 'unsupported') return
    this.#state = { kind: 'idle' }
    if (state.kind === 'waiting') this.#options.clock.clearTimeout(state.timer)
    if (state.kind === 'open') await state.stream.close().catch(() => {})
  }
}
