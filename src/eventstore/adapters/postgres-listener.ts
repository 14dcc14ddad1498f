/**
 * The LISTEN side of the PostgreSQL store's `watch` (a {@link ReconnectingWatch}): one dedicated
 * connection (never a pool client, which would hold a pool slot for ever and could starve appends on a
 * small pool), opened while at least one watcher exists and closed with the last one.
 *
 * When that connection drops, notifications sent meanwhile are lost, so after it is back every
 * watcher is woken once to read what it may have missed. Reconnection waits `retryDelayMs` on the
 * injected clock between attempts.
 */
import type pg from 'pg'
import type { Clock } from '../../core/clock.js'
import { ReconnectingWatch, type WatchConnection, type WatchLink } from '../internal/reconnecting-watch.js'
import { loadPgDriver } from './postgres-driver.js'

export interface PostgresListenerOptions {
  /** How to open the dedicated connection. */
  config: pg.ClientConfig
  /** The NOTIFY channel; `undefined` for a store that does not notify: then only local appends wake watchers. */
  channel: string | undefined
  clock: Clock
  retryDelayMs: number
}

export class PostgresListener extends ReconnectingWatch {
  constructor({ config, channel, clock, retryDelayMs }: PostgresListenerOptions) {
    super({
      connect: channel === undefined ? undefined : (link) => listen(config, channel, link),
      clock,
      retryDelayMs,
    })
  }
}

/** Opens a connection and LISTENs on `channel`, reporting through `link`. */
function listen(config: pg.ClientConfig, channel: string, link: WatchLink): WatchConnection {
  const client = new (loadPgDriver().Client)(config)
  client.on('error', (error) => link.lost(error))
  client.on('end', () => link.lost())
  client.on('notification', (message) => {
    if (message.channel === channel) link.notify()
  })
  client
    .connect()
    .then(() => client.query(`LISTEN "${channel}"`))
    // Events committed before LISTEN took effect sent no notification that reached us.
    .then(() => link.notify())
    .catch((error: unknown) => link.lost(error))
  return { close: () => client.end() }
}
