/**
 * The LISTEN side of the PostgreSQL store's `watch`: one dedicated connection (never a pool client,
 * which would hold a pool slot for ever and could starve appends on a small pool), opened while at
 * least one watcher exists and closed with the last one.
 *
 * When that connection drops, notifications sent meanwhile are lost, so after it is back every
 * watcher is woken once to read what it may have missed. Reconnection waits `retryDelayMs` on the
 * injected clock between attempts.
 */
import type pg from 'pg'
import type { Clock, TimerHandle } from '../../core/clock.js'
import { Watchers } from '../internal/index.js'
import { loadPgDriver } from './postgres-driver.js'

export interface PostgresListenerOptions {
  /** How to open the dedicated connection. */
  config: pg.ClientConfig
  /** The NOTIFY channel; `undefined` for a store that does not notify: then only local appends wake watchers. */
  channel: string | undefined
  clock: Clock
  retryDelayMs: number
}

export class PostgresListener {
  readonly #config: pg.ClientConfig
  readonly #channel: string | undefined
  readonly #clock: Clock
  readonly #retryDelayMs: number
  readonly #watchers = new Watchers()
  #client: pg.Client | undefined
  #retry: TimerHandle | undefined
  #stopped = false

  constructor({ config, channel, clock, retryDelayMs }: PostgresListenerOptions) {
    this.#config = config
    this.#channel = channel
    this.#clock = clock
    this.#retryDelayMs = retryDelayMs
  }

  /** Adds a watcher, connecting when it is the first; returns its unsubscribe function. */
  add(listener: () => void): () => void {
    const remove = this.#watchers.add(listener)
    if (this.#channel !== undefined && !this.#client && this.#retry === undefined) this.#connect()
    return () => {
      remove()
      if (this.#watchers.size === 0) void this.#disconnect()
    }
  }

  /** Wakes the watchers of this process at once (the NOTIFY of our own append arrives a bit later). */
  notifyLocal(): void {
    this.#watchers.notify()
  }

  /** Disconnects for good. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#watchers.clear()
    await this.#disconnect()
  }

  #connect(): void {
    const channel = this.#channel
    if (this.#stopped || channel === undefined) return
    const client = new (loadPgDriver().Client)(this.#config)
    this.#client = client
    const onFailure = () => {
      if (this.#client !== client) return
      this.#client = undefined
      client.end().catch(() => {})
      if (!this.#stopped && this.#watchers.size > 0) this.#scheduleReconnect()
    }
    client.on('error', onFailure)
    client.on('end', onFailure)
    client.on('notification', (message) => {
      if (message.channel === channel) this.#watchers.notify()
    })
    client
      .connect()
      .then(() => client.query(`LISTEN "${channel}"`))
      .then(() => {
        // Events committed before LISTEN took effect sent no notification that reached us.
        if (this.#client === client) this.#watchers.notify()
      })
      .catch(onFailure)
  }

  #scheduleReconnect(): void {
    this.#retry = this.#clock.setTimeout(() => {
      this.#retry = undefined
      if (this.#watchers.size > 0) this.#connect()
    }, this.#retryDelayMs)
  }

  async #disconnect(): Promise<void> {
    if (this.#retry !== undefined) {
      this.#clock.clearTimeout(this.#retry)
      this.#retry = undefined
    }
    const client = this.#client
    this.#client = undefined
    if (client) await client.end().catch(() => {})
  }
}
