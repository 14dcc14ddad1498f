export type { MemoryCacheDriverOptions } from './adapters/memory.js'
export { MemoryCacheDriver, memoryCacheDriver } from './adapters/memory.js'
export type { MemoryBusOptions } from './adapters/memory-bus.js'
export { MemoryBus, MemoryBusHub, memoryBus } from './adapters/memory-bus.js'
export type { BatchLoader } from './batch.js'
export type { Cache, GetOptions } from './cache.js'
export { createCache } from './create-cache.js'
export type { CachedOptions, CacheEvictOptions, CacheMethodDecorator, CachePutOptions } from './decorators.js'
export { cached, cacheEvict, cachePut, setDefaultCache } from './decorators.js'
export type { Loader } from './miss.js'
export type {
  CacheEntryOptions,
  CacheL1Options,
  CacheLockOptions,
  CacheOptions,
  CacheTimeoutOptions,
  GetOrSetOptions,
  SetOptions,
} from './options.js'
export { jsonSerializer } from './serializer.js'
export type { CacheEvents, CacheStats } from './stats.js'
export type { BusConnectionHandlers, BusMessage, CacheBus, L2Driver, L2Entry, Serializer } from './types.js'
