/**
 * How the Redis bus reaches Redis: publishing, and connections that only listen. The bus
 * (`redis-bus.ts`) keeps the subscriptions and their disconnected/reconnected bookkeeping; a transport
 * only publishes, subscribes, and tells the bus when messages may have been lost (`lost`) and when
 * subscribing again may succeed (`ready`).
 */
import type { Cluster, Redis } from 'ioredis'
import { closeClient } from './redis-connection.js'

export interface TransportEvents {
  message(channel: string, raw: string): void
  /** Messages may have been missed from now on (a connection dropped, the topology changed). */
  lost(): void
  /** Subscribing (again) may succeed now. */
  ready(): void
  error(error: Error): void
}

export interface BusTransport {
  /** Whether `subscribe` can be tried now. */
  readonly ready: boolean
  /** Subscribes to every one of `channels` (the full list each time); rejects if a connection failed. */
  subscribe(channels: readonly string[]): Promise<void>
  publish(channel: string, raw: string): Promise<unknown>
  /** Closes the listening connections, and the publisher when the bus owns it. */
  close(ownsPublisher: boolean): Promise<void>
}

/** One Redis (plain or through Sentinel): PUBLISH on the client, SUBSCRIBE on a connection of its own. */
export class NodeTransport implements BusTransport {
  readonly #publisher: Redis
  readonly #subscriber: Redis

  constructor(publisher: Redis, subscriber: Redis, events: TransportEvents) {
    this.#publisher = publisher
    this.#subscriber = subscriber
    subscriber.on('message', (channel: string, raw: string) => events.message(channel, raw))
    subscriber.on('close', () => events.lost())
    subscriber.on('end', () => events.lost())
    subscriber.on('error', (error: Error) => events.error(error))
    subscriber.on('ready', () => events.ready())
  }

  get ready(): boolean {
    return this.#subscriber.status === 'ready'
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    await this.#subscriber.subscribe(...channels)
  }

  publish(channel: string, raw: string): Promise<unknown> {
    return this.#publisher.publish(channel, raw)
  }

  async close(ownsPublisher: boolean): Promise<void> {
    await Promise.all([closeClient(this.#subscriber), ownsPublisher ? closeClient(this.#publisher) : undefined])
  }
}

export type { Cluster }
