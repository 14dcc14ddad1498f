import { MemoryBusHub, memoryBus, memoryCacheDriver } from '../../src/cache/index.js'
import { cacheBusSuite, cacheDriverSuite } from '../../src/testing/index.js'

cacheDriverSuite('memory', ({ clock }) => memoryCacheDriver({ clock }))

const hub = new MemoryBusHub()
cacheBusSuite('memory', () => memoryBus({ hub }))
