import { cacheBusSuite, cacheDriverSuite } from '../../testing/cache-suites.js'
import { memoryCacheDriver } from './memory.js'
import { MemoryBusHub, memoryBus } from './memory-bus.js'

cacheDriverSuite('memory', ({ clock }) => memoryCacheDriver({ clock }))

const hub = new MemoryBusHub()
cacheBusSuite('memory', () => memoryBus({ hub }))
