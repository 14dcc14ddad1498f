import { EventEmitter } from 'eventemitter3'

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
export class TypedEmitter<Events extends EventEmitter.ValidEventTypes> extends EventEmitter<Events> {}
