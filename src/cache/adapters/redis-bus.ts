/**
 * The Redis pub/sub invalidation bus. Publishing goes through the main client; listening needs a
 * connection of its own (a subscribed connection can run nothing else), which the bus always owns.
 * On one Redis (plain or Sentinel) that is `NodeTransport`; on a cluster, `ClusterTransport`.
 */
import type { Cluster, Redis } from 'ioredis'
import type { Clock } from '../../core/clock.js'
import type { Duration } from '../../core/duration.js'
import { BulwarkError, isBulwarkError, ValidationError } from '../../core/errors.js'
import { expectOptions, optionalClock, optionalDuration, optionalFunction, optionKeys } from '../../core/validate.js'
import { type BusConnectionHandlers, type BusMessage, type CacheBus, kRawPublish, type RawPublish } from '../types.js'
import { ClusterTransport } from './redis-bus-cluster.js'
import { decodeMessage } from './redis-bus-codec.js'
import { type BusTransport, NodeTransport, type TransportEvents } from './redis-bus-listener.js'
import {
  connectTimeoutOf,
  createOwned,
  createOwnedClient,
  firstReady,
  isCluster,
  type RedisConnectionOptions,
  validateConnection,
} from './redis-connection.js'
import { PublishBatch } from './redis-publishes.js'

/** Options of {@link redisBus}. */
export interface RedisBusOptions extends RedisConnectionOptions {
  /**
   * How long `subscribe` waits for its first subscription. Past it, `subscribe` rejects with
   * `E_CACHE_BUS`, calls `disconnected()`, and keeps trying: `reconnected()` follows when it succeeds.
   * @default '5s'
   */
  subscribeTimeout?: Duration
  /**
   * Clock for the subscribe timeout (the first-connection wait runs on real time).
   * @default systemClock
   */
  clock?: Clock
  /**
   * Called with connection errors, messages that are not Bulwark messages, and errors thrown by a
   * handler (they never reach ioredis's event loop).
   * @default undefined (ignored)
   */
  onError?: (error: Error) => void
  /**
   * On a cluster only: publish and listen with sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis 7),
   * which keeps each channel's traffic on one shard, or with classic pub/sub, which every node
   * forwards to every other. Every process on a channel must use the same mode.
   * @default whether the cluster knows `SPUBLISH` (asked once with `COMMAND INFO`)
   */
  shardedPubSub?: boolean
}

interface Subscription {
  channel: string
  handlers: BusConnectionHandlers
  /** How every message published by `handlers.source` begins on the wire: those are skipped undecoded. */
  own: string | undefined
  /** `disconnected()` was called and `reconnected()` is owed. */
  lost: boolean
  /** The pending `subscribe()` call, until its first SUBSCRIBE succeeds or times out. */
  waiter: { resolve: () => void; reject: (error: Error) => void } | undefined
}

/**
 * A {@link CacheBus} over Redis pub/sub. It reports a lost subscriber connection with `disconnected()`
 * and, once the connection is back and every channel is subscribed again, calls `reconnected()`
 * exactly once per loss (the cache then flushes L1: messages sent meanwhile are gone).
 *
 * @example
 * ```ts
 * const bus = redisBus({ url: process.env.REDIS_URL })
 * await bus.subscribe('bulwark:products', { message: (m) => console.log(m.type, m.source) })
 * ```
 */
export class RedisBus implements CacheBus {
  readonly #publisher: Redis | Cluster
  readonly #transport: BusTransport
  readonly #ownsPublisher: boolean
  readonly #clock: Clock
  readonly #timeout: number
  readonly #onError: (error: Error) => void
  /** Subscriptions by channel: several caches may share one bus, even one channel. */
  readonly #channels = new Map<string, Subscription[]>()
  /** The `set` messages of a tick, one PUBLISH per channel (see {@link PublishBatch}). */
  readonly #publishes: PublishBatch
  #opening: Promise<void> | undefined
  #closed = false

  constructor(options: RedisBusOptions = {}) {
    const o = expectOptions(
      'options',
      options,
      optionKeys<RedisBusOptions>({
        subscribeTimeout: true,
        clock: true,
        onError: true,
        shardedPubSub: true,
        client: true,
        url: true,
        connection: true,
        cluster: true,
      }),
    )
    validateConnection(o)
    if (o.shardedPubSub !== undefined && typeof o.shardedPubSub !== 'boolean') {
      throw new ValidationError('shardedPubSub', 'a boolean', o.shardedPubSub)
    }
    this.#clock = optionalClock('clock', o.clock)
    this.#timeout = optionalDuration('subscribeTimeout', o.subscribeTimeout, 5_000)
    this.#onError = optionalFunction('onError', o.onError, () => {})
    this.#ownsPublisher = o.client === undefined
    this.#publisher = o.client ?? createOwned(o)
    const events: TransportEvents = {
      message: (channel, raw) => this.#deliver(channel, raw),
      lost: () => this.#connectionLost(),
      ready: () => {
        if (this.#channels.size > 0 && !this.#closed) void this.#subscribeAll()
      },
      error: (error) => this.#onError(error),
    }
    this.#transport = isCluster(this.#publisher)
      ? new ClusterTransport(this.#publisher, o.shardedPubSub, this.#clock, events)
      : new NodeTransport(this.#publisher, this.#nodeSubscriber(o, this.#publisher), events)
    const transport = this.#transport
    this.#publishes = new PublishBatch((channel, raw) => transport.publish(channel, raw))
    if (this.#ownsPublisher) {
      this.#opening = firstReady(this.#publisher, connectTimeoutOf(this.#publisher))?.then(() => {
        this.#opening = undefined
      })
    }
  }

  async subscribe(channel: string, handlers: BusConnectionHandlers): Promise<void> {
    if (typeof channel !== 'string' || channel.length === 0) {
      throw new ValidationError('channel', 'a non-empty string', channel, { code: 'E_INVALID_ARGUMENT' })
    }
    if (typeof handlers?.message !== 'function') {
      throw new ValidationError('handlers.message', 'a function', handlers?.message, { code: 'E_INVALID_ARGUMENT' })
    }
    if (this.#closed) throw new BulwarkError('E_CACHE_BUS', 'The Redis bus is closed')
    const subscription: Subscription = {
      channel,
      handlers,
      own: ownPrefix(handlers.source),
      lost: false,
      waiter: undefined,
    }
    const subscribed = new Promise<void>((resolve, reject) => {
      subscription.waiter = { resolve, reject }
    })
    const list = this.#channels.get(channel)
    if (list) list.push(subscription)
    else this.#channels.set(channel, [subscription])
    const timer = this.#clock.setTimeout(() => this.#subscribeTimedOut(subscription), this.#timeout)
    if (this.#transport.ready) void this.#subscribeAll()
    try {
      await subscribed
    } finally {
      this.#clock.clearTimeout(timer)
    }
  }

  /** @internal Every `cache.set` publishes (see {@link kRawPublish}): PUBLISH's own promise, its failure mapped by the caller. */
  readonly [kRawPublish]: RawPublish = {
    publish: (channel, message) => {
      if (this.#closed) return Promise.reject(new BulwarkError('E_CACHE_BUS', 'The Redis bus is closed'))
      if (this.#opening) return this.#opening.then(() => this[kRawPublish].publish(channel, message))
      return this.#publishes.publish(channel, message)
    },
    error: (cause, channel) =>
      isBulwarkError(cause)
        ? cause
        : new BulwarkError('E_CACHE_BUS', `Redis PUBLISH failed: ${(cause as Error).message}`, {
            cause,
            context: { channel },
          }),
  }

  publish(channel: string, message: BusMessage): Promise<void> {
    return this[kRawPublish].publish(channel, message).then(toVoid, (cause: unknown) => {
      throw this[kRawPublish].error(cause, channel)
    })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // What was published before the bus closed goes out before the publisher does.
    this.#publishes.flush()
    const closed = new BulwarkError('E_CACHE_BUS', 'The Redis bus was closed before subscribing')
    for (const subscription of this.#subscriptions()) this.#settle(subscription, closed)
    this.#channels.clear()
    await this.#transport.close(this.#ownsPublisher)
  }

  /** The listening connection on one Redis: the bus re-subscribes itself, so it knows when that succeeded. */
  #nodeSubscriber(o: RedisBusOptions, publisher: Redis): Redis {
    // A subscribed connection sends nothing but (re)subscriptions: nothing to pipeline.
    const overrides = {
      autoResubscribe: false,
      enableOfflineQueue: false,
      lazyConnect: false,
      enableAutoPipelining: false,
    }
    return o.client
      ? publisher.duplicate({ ...overrides, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false })
      : createOwnedClient(o, overrides)
  }

  async #subscribeAll(): Promise<void> {
    const channels = [...this.#channels.keys()]
    try {
      await this.#transport.subscribe(channels)
    } catch (error) {
      // The connection dropped again: `close` marks the loss and the next `ready` retries.
      this.#onError(error as Error)
      return
    }
    if (this.#closed) return
    for (const subscription of this.#subscriptions()) {
      if (!channels.includes(subscription.channel)) continue
      this.#settle(subscription)
      if (subscription.lost) {
        subscription.lost = false
        this.#call(() => subscription.handlers.reconnected?.())
      }
    }
  }

  #connectionLost(): void {
    if (this.#closed) return
    for (const subscription of this.#subscriptions()) {
      if (subscription.lost || subscription.waiter) continue
      subscription.lost = true
      this.#call(() => subscription.handlers.disconnected?.())
    }
  }

  #subscribeTimedOut(subscription: Subscription): void {
    if (!subscription.waiter || this.#closed) return
    const { channel } = subscription
    this.#settle(subscription, new BulwarkError('E_CACHE_BUS', `Could not subscribe to "${channel}" in time`))
    subscription.lost = true
    this.#call(() => subscription.handlers.disconnected?.())
  }

  #settle(subscription: Subscription, error?: Error): void {
    const waiter = subscription.waiter
    subscription.waiter = undefined
    if (error) waiter?.reject(error)
    else waiter?.resolve()
  }

  *#subscriptions(): Iterable<Subscription> {
    for (const list of this.#channels.values()) yield* list
  }

  #deliver(channel: string, raw: string): void {
    const list = this.#channels.get(channel)
    if (!list) return
    // Decoded once, and only if a subscription takes it: a cache's own messages (every one it publishes
    // comes back to it) are skipped on their first bytes.
    let message: BusMessage | undefined
    for (const subscription of list) {
      if (subscription.own !== undefined && raw.startsWith(subscription.own)) continue
      if (message === undefined) {
        message = decodeMessage(raw)
        if (message === undefined) {
          this.#onError(new BulwarkError('E_CACHE_BUS', 'Ignored a message that is not a Bulwark bus message'))
          return
        }
      }
      // Each subscriber gets its own copy: one handler mutating it cannot change what the next one sees.
      const copy = list.length === 1 ? message : structuredClone(message)
      this.#call(() => subscription.handlers.message(copy))
    }
  }

  #call(fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.#onError(error as Error)
    }
  }
}

function toVoid(): void {}

/** The first bytes of every message `source` publishes (see `encodeMessage`), or undefined without a source. */
function ownPrefix(source: string | undefined): string | undefined {
  return typeof source === 'string' ? `${JSON.stringify([source]).slice(0, -1)},` : undefined
}

/**
 * Creates a {@link RedisBus}. With `{ client }` it publishes through that client (left open) and
 * listens on a duplicate of it; otherwise it creates and owns both connections.
 *
 * @example
 * ```ts
 * import { createCache } from 'bulwark/cache'
 * import { redisBus, redisCacheDriver } from 'bulwark/cache/redis'
 *
 * const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
 * const cache = createCache({ l2: redisCacheDriver({ url }), bus: redisBus({ url }) })
 * ```
 */
export function redisBus(options: RedisBusOptions = {}): RedisBus {
  return new RedisBus(options)
}
