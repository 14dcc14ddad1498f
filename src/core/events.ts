import { EventEmitter } from 'eventemitter3'

type Name<Events extends EventEmitter.ValidEventTypes> = EventEmitter.EventNames<Events>
type Listener<Events extends EventEmitter.ValidEventTypes, T extends Name<Events>> = EventEmitter.EventListener<
  Events,
  T
>

/**
 * A typed event emitter (eventemitter3). `Events` maps each event name to its listener signature,
 * so every name a component emits is listed in one type.
 *
 * @example
 * ```ts
 * type BreakerEvents = { stateChange: (from: State, to: State) => void }
 * class Breaker extends TypedEmitter<BreakerEvents> {}
 * breaker.on('stateChange', (from, to) => log(from, to))
 * ```
 */
export class TypedEmitter<Events extends EventEmitter.ValidEventTypes> extends EventEmitter<Events> {
  /** Whether any listener is registered: kept up to date by every method that adds or removes one. */
  #listened = false

  /**
   * False only when no listener at all is registered: a hot path checks it before building an event's
   * arguments or calling `emit`, whose lookup of the event costs more than some whole operations (a
   * breaker's rejection).
   *
   * @example
   * ```ts
   * if (this.hasListeners()) this.emit('success', elapsed)
   * ```
   */
  protected hasListeners(): boolean {
    return this.#listened
  }

  override on<T extends Name<Events>>(event: T, fn: Listener<Events, T>, context?: unknown): this {
    super.on(event, fn, context)
    this.#listened = true
    return this
  }

  override addListener<T extends Name<Events>>(event: T, fn: Listener<Events, T>, context?: unknown): this {
    return this.on(event, fn, context)
  }

  override once<T extends Name<Events>>(event: T, fn: Listener<Events, T>, context?: unknown): this {
    super.once(event, fn, context)
    this.#listened = true
    return this
  }

  /** Also called by eventemitter3's `emit` to drop a `once` listener that has run. */
  override removeListener<T extends Name<Events>>(
    event: T,
    fn?: Listener<Events, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    super.removeListener(event, fn, context, once)
    this.#listened = this.eventNames().length > 0
    return this
  }

  override off<T extends Name<Events>>(event: T, fn?: Listener<Events, T>, context?: unknown, once?: boolean): this {
    return this.removeListener(event, fn, context, once)
  }

  override removeAllListeners(event?: Name<Events>): this {
    super.removeAllListeners(event)
    this.#listened = this.eventNames().length > 0
    return this
  }
}
