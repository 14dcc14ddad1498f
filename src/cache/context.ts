import type { Clock } from '../core/clock.js'
import { CoarseClock } from '../core/coarse-clock.js'
import { TypedEmitter } from '../core/events.js'
import { Background } from './background.js'
import { createL1, type L1 } from './l1.js'
import { capability, L2Gateway } from './l2.js'
import type { Policy, ResolvedOptions } from './options.js'
import { Flights } from './single-flight.js'
import { type CacheEvents, type Counters, createCounters } from './stats.js'
import { Deadlines } from './timeouts.js'
import { type BusMessage, kRawPublish, type RawPublish, type Serializer } from './types.js'
import { Fence, Versions } from './versions.js'

/**
 * State shared by a cache and every namespace derived from it: one L1, one L2 gateway (and breaker),
 * one bus subscription, one set of counters.
 */
export class CacheContext {
  readonly options: ResolvedOptions
  readonly policy: Policy
  readonly clock: Clock
  /**
   * The clock of the L1 hit path's expiry checks: reading the exact clock can cost more than the whole hit, so
   * the hit asks this instead (writes and misses read the exact clock). An entry may thus be served as fresh
   * up to about a millisecond past its expiry.
   */
  readonly coarseClock: CoarseClock
  readonly l1: L1
  readonly l2: L2Gateway | undefined
  /** The bus's publish in two halves, if it has them (see `kRawPublish`): what `cache.set` uses. */
  readonly rawPublish: RawPublish | undefined
  readonly serializer: Serializer
  readonly counters: Counters = createCounters()
  readonly events = new TypedEmitter<CacheEvents>()
  readonly flights = new Flights()
  readonly fence = new Fence(this.flights)
  readonly versions: Versions
  readonly background = new Background()
  /** This process's id on the bus: messages carrying it are our own. */
  readonly instanceId: string = globalThis.crypto.randomUUID()
  /** Prefix turning an L1 key into an L2 key: `<namespace>:`. */
  readonly rootPrefix: string
  #lockCounter = 0
  readonly #deadlines: Deadlines
  /** Soft timeouts of L2 reads, shared like the hard ones (see `Deadlines`). */
  readonly softDeadlines: Deadlines
  #closing: Promise<void> | undefined

  constructor(options: ResolvedOptions) {
    this.options = options
    this.policy = options.policy
    this.clock = options.clock
    this.coarseClock = new CoarseClock(options.clock, { rereadEvery: 1_000 })
    this.#deadlines = new Deadlines(options.clock)
    this.softDeadlines = new Deadlines(options.clock)
    this.serializer = options.serializer
    this.l1 = createL1(options.l1)
    this.versions = new Versions(options.clock)
    this.rootPrefix = `${options.namespace}:`
    this.l2 = options.l2 && new L2Gateway(options.l2, options.breaker, this)
    this.rawPublish = capability<RawPublish>(options.bus, kRawPublish)
  }

  /** A token that names this process and call as a lock holder. */
  lockToken(): string {
    return `${this.instanceId}:${++this.#lockCounter}`
  }

  /**
   * Publishes an invalidation until `deadline` (the rest of the calling operation's hard timeout),
   * behind the L2 breaker when there is an L2; failures are counted, never thrown (the TTL bounds how
   * long another process may serve the old value).
   */
  publish(message: BusMessage, deadline: number): Promise<void> | undefined {
    const bus = this.options.bus
    if (bus === undefined) return undefined
    this.announce(message)
    const send = () => bus.publish(this.options.channel, message)
    const sent = this.l2 !== undefined ? this.l2.guard(deadline, send) : this.#deadlines.until(deadline, send)
    return sent.then(undefined, this.#publishFailed)
  }

  readonly #publishFailed = (error: unknown): void => this.busError(error)

  /** Counts and reports an invalidation about to be published. */
  announce(message: BusMessage): void {
    this.counters.invalidationsSent++
    this.events.emit('invalidationSent', message)
  }

  /** The deadline of an operation starting now under `policy`'s hard timeout. */
  deadline(policy: Policy): number {
    return this.clock.now() + policy.hard
  }

  /** Waits for background work, then closes the bus and the driver, once. Never rejects. */
  close(): Promise<void> {
    this.#closing ??= this.background.settled().then(async () => {
      await Promise.allSettled([this.options.bus?.close(), this.l2?.driver.close()])
    })
    return this.#closing
  }

  busError(error: unknown): void {
    this.counters.busErrors++
    this.events.emit('busError', error)
  }
}
