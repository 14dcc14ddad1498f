import { BulwarkError } from '../../core/errors.js'
import { expectOptions, optionKeys } from '../../core/validate.js'
import type { BusConnectionHandlers, BusMessage, CacheBus } from '../types.js'

interface Subscription {
  bus: MemoryBus
  channel: string
  handlers: BusConnectionHandlers
}

/**
 * The meeting point of in-process buses: every {@link MemoryBus} connected to one hub sees the
 * messages the others publish on its channels, like processes sharing one Redis.
 */
export class MemoryBusHub {
  readonly #subscriptions = new Set<Subscription>()

  /** @internal */
  add(subscription: Subscription): void {
    this.#subscriptions.add(subscription)
  }

  /** @internal */
  removeAll(bus: MemoryBus): void {
    for (const s of this.#subscriptions) if (s.bus === bus) this.#subscriptions.delete(s)
  }

  /**
   * @internal Delivers a copy of `message` to every connected subscriber of `channel`, the publisher
   * included, but a subscriber whose handlers name the message's `source` (its own messages).
   */
  deliver(channel: string, message: BusMessage): void {
    for (const s of [...this.#subscriptions]) {
      if (s.channel !== channel || !s.bus.connected || s.handlers.source === message.source) continue
      try {
        s.handlers.message(structuredClone(message))
      } catch {
        // A subscriber's failure is its own; the others still get the message.
      }
    }
  }

  /** @internal Calls `fn` with the handlers of every subscription of `bus`. */
  notify(bus: MemoryBus, fn: (handlers: BusConnectionHandlers) => void): void {
    for (const s of [...this.#subscriptions]) if (s.bus === bus) fn(s.handlers)
  }
}

/** Options of {@link memoryBus}. */
export interface MemoryBusOptions {
  /** The hub to connect to; buses on one hub see each other's messages. @default a hub shared by the whole process */
  hub?: MemoryBusHub
}

/**
 * One connection to a {@link MemoryBusHub}, for one cache. It can simulate losing and regaining the
 * connection: while down it receives nothing and its publishes fail, as with Redis pub/sub.
 */
export class MemoryBus implements CacheBus {
  readonly hub: MemoryBusHub
  #connected = true
  #closed = false

  constructor(options: MemoryBusOptions = {}) {
    this.hub = expectOptions('options', options, optionKeys<MemoryBusOptions>({ hub: true })).hub ?? defaultHub()
  }

  /** Whether the simulated connection is up. */
  get connected(): boolean {
    return this.#connected && !this.#closed
  }

  async subscribe(channel: string, handlers: BusConnectionHandlers): Promise<void> {
    if (this.#closed) throw new BulwarkError('E_CACHE_BUS', 'The memory bus is closed')
    this.hub.add({ bus: this, channel, handlers })
  }

  async publish(channel: string, message: BusMessage): Promise<void> {
    if (!this.connected)
      throw new BulwarkError('E_CACHE_BUS', 'The memory bus connection is down', { context: { channel } })
    this.hub.deliver(channel, message)
  }

  async close(): Promise<void> {
    this.#closed = true
    this.hub.removeAll(this)
  }

  /** Simulates a lost connection: calls the `disconnected` handlers; messages are lost until {@link simulateReconnect}. */
  simulateDisconnect(): void {
    if (!this.#connected) return
    this.#connected = false
    this.hub.notify(this, (h) => h.disconnected?.())
  }

  /** Simulates the connection coming back: calls the `reconnected` handlers. */
  simulateReconnect(): void {
    if (this.#connected) return
    this.#connected = true
    this.hub.notify(this, (h) => h.reconnected?.())
  }
}

let sharedHub: MemoryBusHub | undefined
function defaultHub(): MemoryBusHub {
  sharedHub ??= new MemoryBusHub()
  return sharedHub
}

/**
 * Creates an in-process bus connection. Caches given buses on the same hub invalidate each other's L1.
 *
 * @example
 * ```ts
 * const hub = new MemoryBusHub()
 * const a = createCache({ l2, bus: memoryBus({ hub }) })
 * const b = createCache({ l2, bus: memoryBus({ hub }) })
 * await a.set('k', 1) // b drops its L1 copy of 'k'
 * ```
 */
export function memoryBus(options?: MemoryBusOptions): MemoryBus {
  return new MemoryBus(options)
}
