import type { EventStore } from '../../src/eventstore/types.js'

/**
 * For this module's tests: `store` with some methods replaced. A Proxy rather than a subclass or
 * `Object.create`, because adapters keep their state in `#private` fields, which only the adapter
 * instance itself may touch.
 */
export function overrideStore(store: EventStore, overrides: Partial<EventStore>): EventStore {
  return new Proxy(store, {
    get: (target, key) => {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof EventStore]
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
