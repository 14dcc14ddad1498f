/**
 * The `watch` of a store that hears other processes' commits over a connection of its own (PostgreSQL
 * LISTEN, a MongoDB change stream): the connection is opened with the first watcher and closed with the
 * last; when it fails or ends it is re-opened after `retryDelayMs` on the injected clock, while watchers
 * remain. Once a connection is established its owner reports it with `notify`, which wakes every
 * watcher to read what was committed while nobody listened. Wake-ups are hints: subscriptions poll at
 * a slow rate anyway, so a late one loses nothing.
 */
import type { Clock, TimerHandle } from '../../core/clock.js'
import { Watchers } from './watchers.js'

/** A connection the watch opened: how to close it. */
export interface WatchConnection {
  close(): Promise<void>
}

/** How a connection reports to the watch. Calls from a connection that is no longer the current one are ignored. */
export interface WatchLink {
  /** Commits happened, or the connection is now established and may have missed some: wake every watcher. */
  notify(): void
  /** The connection failed or ended: the watch closes it and re-opens one after the delay. */
  lost(error?: unknown): void
}

export interface ReconnectingWatchOptions {
  /** Opens a connection that reports through `link`. Absent: only this process's own appends wake watchers. */
  connect: ((link: WatchLink) => WatchConnection) | undefined
  clock: Clock
  retryDelayMs: number
  /** Errors after which no connection can ever work (a server without change streams): the watch gives up for good. */
  isUnsupported?: (error: unknown) => boolean
}

/** What the watch is doing; each state carries its own data. */
type WatchState =
  | { kind: 'idle' }
  | { kind: 'open'; connection: WatchConnection | undefined }
  | { kind: 'waiting'; timer: TimerHandle }
  /** The server cannot give wake-ups: only this process's own appends wake watchers. */
  | { kind: 'unsupported'; reason: unknown }

export class ReconnectingWatch {
  readonly #options: ReconnectingWatchOptions
  readonly #watchers = new Watchers()
  #state: WatchState = { kind: 'idle' }
  #stopped = false

  constructor(options: ReconnectingWatchOptions) {
    this.#options = options
  }

  /** What the watch is doing (for tests and diagnostics). */
  get state(): WatchState['kind'] {
    return this.#state.kind
  }

  /** Adds a watcher, opening the connection for the first; returns its unsubscribe function. */
  add(listener: () => void): () => void {
    const remove = this.#watchers.add(listener)
    if (this.#state.kind === 'idle') this.#open()
    return () => {
      remove()
      if (this.#watchers.size === 0) void this.#shut()
    }
  }

  /** Wakes this process's watchers at once (after its own append; the remote wake-up comes later). */
  notify(): void {
    this.#watchers.notify()
  }

  /** Closes the connection for good and forgets every watcher. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#watchers.clear()
    await this.#shut()
  }

  #open(): void {
    const connect = this.#options.connect
    if (this.#stopped || connect === undefined) return
    const open: WatchState = { kind: 'open', connection: undefined }
    this.#state = open
    const link: WatchLink = {
      notify: () => {
        if (this.#state === open) this.#watchers.notify()
      },
      lost: (error) => {
        if (this.#state === open) this.#lost(open, error)
      },
    }
    let connection: WatchConnection
    try {
      connection = connect(link)
    } catch (error) {
      if (this.#state === open) this.#state = { kind: 'idle' }
      throw error
    }
    if (this.#state === open) open.connection = connection
    else void closeQuietly(connection) // lost while it was being opened
  }

  #lost(open: Extract<WatchState, { kind: 'open' }>, error: unknown): void {
    this.#state = { kind: 'idle' }
    void closeQuietly(open.connection)
    if (this.#options.isUnsupported?.(error)) this.#state = { kind: 'unsupported', reason: error }
    else if (!this.#stopped && this.#watchers.size > 0) this.#scheduleReopen()
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
    if (state.kind === 'open') await closeQuietly(state.connection)
  }
}

async function closeQuietly(connection: WatchConnection | undefined): Promise<void> {
  try {
    await connection?.close()
  } catch {
    // Closing a connection that failed may fail too; it is gone either way.
  }
}
