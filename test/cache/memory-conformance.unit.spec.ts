import { MemoryBusHub, memoryBus, memoryCacheDriver } from '../../src/cache/index.js'
import { cacheBusSuite, cacheDriverSuite } from '../../src/testing/index.js'

await cacheDriverSuite('memory', ({ clock }) => memoryCacheDriver({ clock }))

const hub = new MemoryBusHub()
await cacheBusSuite('memory', () => memoryBus({ hub }))
