import { BulwarkError, ValidationError } from '../core/errors.js'
import { methodDecorator as coreMethodDecorator } from '../core/method-decorator.js'
import { expectOptions, optionKeys } from '../core/validate.js'
import { type Cache, kPeek, kResolve } from './cache.js'
import { validateTags } from './keys.js'
import type { CacheEntryOptions, GetOrSetOptions, Policy } from './options.js'
import { defaultPolicy, resolvePolicy } from './resolve-options.js'

type AsyncMethod<This, Args extends unknown[], R> = (this: This, ...args: Args) => Promise<R>

/**
 * A method decorator that works in both decorator modes: TypeScript's standard decorators
 * (`(method, context)`) and `experimentalDecorators` as NestJS uses them (`(prototype, name,
 * descriptor)`). `KeyArgs` are the parameters the `key` function declares: the method's first
 * parameters, so a key may use fewer of them than the method takes. The wrapper keeps the method's
 * name, length and reflect-metadata (NestJS's `@Get()` written below it still routes).
 */
export interface CacheMethodDecorator<KeyArgs extends unknown[]> {
  <This, Args extends [...KeyArgs, ...unknown[]], R>(
    method: AsyncMethod<This, Args, R>,
    context: ClassMethodDecoratorContext<This, AsyncMethod<This, Args, R>>,
  ): AsyncMethod<This, Args, R>
  <Args extends [...KeyArgs, ...unknown[]], R>(
    target: object,
    name: string | symbol,
    descriptor: TypedPropertyDescriptor<(...args: Args) => Promise<R>>,
  ): void
}

/** Where a decorator finds its cache. */
interface DecoratorCacheOption {
  /**
   * The cache to use, or a function returning it, called each time the method runs: so the cache
   * may come from a DI container or from configuration loaded after the class.
   * @default the one registered with {@link setDefaultCache} when the method runs
   * @example
   * ```ts
   * class Products {
   *   @cached({ key: (id: string) => `product:${id}`, cache: () => container.get(CACHE) })
   *   async find(id: string): Promise<Product | null> { return db.products.find(id) }
   * }
   * ```
   */
  cache?: Cache | (() => Cache)
}

/** Options of {@link cached}: entry options, plus the key built from the method's arguments. */
export interface CachedOptions<Args extends unknown[]> extends GetOrSetOptions, DecoratorCacheOption {
  /** Builds the key from the method's arguments. */
  key: (...args: Args) => string
}

/** Options of {@link cachePut}. */
export interface CachePutOptions<Args extends unknown[]> extends CacheEntryOptions, DecoratorCacheOption {
  /** Builds the key from the method's arguments; the method's result is written under it. */
  key: (...args: Args) => string
}

/** Options of {@link cacheEvict}: what to delete once the method has succeeded (any combination). */
export interface CacheEvictOptions<Args extends unknown[]> extends DecoratorCacheOption {
  /** Deletes this key, built from the method's arguments. */
  key?: (...args: Args) => string
  /** Deletes the entries carrying these tags (or the tags built from the arguments). */
  tags?: readonly string[] | ((...args: Args) => readonly string[])
  /** Clears the whole namespace of the cache. @default false */
  all?: boolean
}

const ENTRY_OPTIONS = [
  'ttl',
  'jitter',
  'negativeTtl',
  'grace',
  'refreshAhead',
  'tags',
  'timeout',
  'cache',
  'key',
] as const
const CACHED_OPTIONS = optionKeys<CachedOptions<[]>>({ ...flags(ENTRY_OPTIONS), lock: true })
const CACHE_PUT_OPTIONS = optionKeys<CachePutOptions<[]>>(flags(ENTRY_OPTIONS))
const CACHE_EVICT_OPTIONS = optionKeys<CacheEvictOptions<[]>>({ key: true, tags: true, all: true, cache: true })

function flags<K extends string>(keys: readonly K[]): Record<K, true> {
  return Object.fromEntries(keys.map((k) => [k, true])) as Record<K, true>
}

let defaultCache: Cache | undefined

/**
 * Registers the cache that decorators use when their options name none (pass `undefined` to unset).
 * It is looked up when a decorated method runs, so it may be registered after the classes load.
 *
 * @example
 * ```ts
 * setDefaultCache(createCache({ l2: redisCacheDriver({ client }) }))
 * ```
 */
export function setDefaultCache(cache: Cache | undefined): void {
  if (cache !== undefined && !isCache(cache)) {
    throw new ValidationError('cache', 'a cache from createCache()', cache, { code: 'E_INVALID_ARGUMENT' })
  }
  defaultCache = cache
}

/**
 * Caches an async method's result under a key built from its arguments: a hit skips the method, and
 * concurrent misses run it once.
 *
 * @example
 * ```ts
 * class ProductRepository {
 *   @cached({ key: (id: string) => `product:${id}`, ttl: '1h', tags: ['products'] })
 *   async find(id: string): Promise<Product | null> {
 *     return db.products.findById(id)
 *   }
 * }
 * ```
 */
export function cached<Args extends unknown[]>(options: CachedOptions<Args>): CacheMethodDecorator<Args> {
  const { key, cacheOf, entry } = split('cached', expectOptions('options', options, CACHED_OPTIONS), true)
  const keyOf = key as (...args: unknown[]) => string
  return methodDecorator('cached', (method) => {
    // The hit path allocates nothing: no rest array (the arguments are copied only on a miss), no
    // loader closure, one argument passed straight to the key function in the common case.
    // biome-ignore-start lint/complexity/noArguments: indexed reads and `apply` forwarding do not materialize `arguments`
    return function (this: unknown, arg?: unknown): Promise<unknown> {
      try {
        const target = cacheOf()
        const count = arguments.length
        const k = count <= 1 ? keyOf(arg) : keyOf.apply(undefined, arguments as unknown as unknown[])
        const hit = target[kPeek](k)
        if (hit !== undefined && hit.refreshAt === Number.POSITIVE_INFINITY) return Promise.resolve(hit.value)
        const args: unknown[] = new Array(count)
        for (let i = 0; i < count; i++) args[i] = arguments[i]
        return target[kResolve](k, hit, { method, options: entry, self: this, args })
      } catch (error) {
        // An async method reports every failure through its promise, a missing cache or a key function's too.
        return Promise.reject(error)
      }
    }
    // biome-ignore-end lint/complexity/noArguments: see above
  })
}

/**
 * Runs the method, then writes its result to the cache under a key built from its arguments.
 *
 * @example
 * ```ts
 * @cachePut({ key: (product: Product) => `product:${product.id}`, tags: ['products'] })
 * async save(product: Product): Promise<Product> {
 *   return db.products.save(product)
 * }
 * ```
 */
export function cachePut<Args extends unknown[]>(options: CachePutOptions<Args>): CacheMethodDecorator<Args> {
  const { key, cacheOf, entry } = split('cachePut', expectOptions('options', options, CACHE_PUT_OPTIONS), true)
  return methodDecorator('cachePut', (method) => {
    return async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const result = await method.apply(this, args as never[])
      await cacheOf().set(key(...(args as Args)), result, entry)
      return result
    }
  })
}

/**
 * Runs the method, then, if it succeeded, deletes a key, tagged entries, or the whole namespace.
 *
 * @example
 * ```ts
 * @cacheEvict({ key: (id: string) => `product:${id}`, tags: ['catalog'] })
 * async remove(id: string): Promise<void> {
 *   await db.products.delete(id)
 * }
 * ```
 */
export function cacheEvict<Args extends unknown[] = []>(options: CacheEvictOptions<Args>): CacheMethodDecorator<Args> {
  const o = expectOptions('options', options, CACHE_EVICT_OPTIONS)
  const { tags, all, ...own } = o
  const { key, cacheOf, entry } = split('cacheEvict', own, false)
  if (entry !== undefined) throw new ValidationError('options', 'only `key`, `tags`, `all` and `cache`', o)
  if (tags !== undefined && typeof tags !== 'function') validateTags(tags, Number.POSITIVE_INFINITY, 'options.tags')
  if (all !== undefined && typeof all !== 'boolean') throw new ValidationError('options.all', 'a boolean', all)
  if (key === undefined && tags === undefined && all !== true) {
    throw new ValidationError('options', 'an object with `key`, `tags` or `all: true`', o)
  }
  return methodDecorator('cacheEvict', (method) => {
    return async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const result = await method.apply(this, args as never[])
      const target = cacheOf()
      if (all === true) await target.clear()
      if (key !== undefined) await target.delete(key(...(args as Args)))
      if (tags !== undefined) await target.deleteByTag(typeof tags === 'function' ? tags(...(args as Args)) : tags)
      return result
    }
  })
}

type Method = (...args: never[]) => Promise<unknown>

function methodDecorator<Args extends unknown[]>(
  name: string,
  wrap: (method: Method) => Method,
): CacheMethodDecorator<Args> {
  return coreMethodDecorator(name, wrap as never) as CacheMethodDecorator<Args>
}

/**
 * Chooses, at class definition, how each call finds its cache: the one given, the one a function
 * returns, or the default one.
 */
function cacheSource(decorator: string, cache: Cache | (() => Cache) | undefined): () => Cache {
  if (typeof cache === 'function') {
    return () => {
      const found = cache()
      if (!isCache(found)) throw new ValidationError('options.cache()', 'a cache from createCache()', found)
      return found
    }
  }
  if (cache !== undefined) return () => cache
  return () => {
    if (defaultCache === undefined) {
      throw new BulwarkError(
        'E_INVALID_OPTION',
        `@${decorator} has no cache: pass \`cache\` in its options or call setDefaultCache(cache) first`,
      )
    }
    return defaultCache
  }
}

function isCache(value: unknown): value is Cache {
  return typeof (value as { getOrSet?: unknown } | undefined)?.getOrSet === 'function'
}

// Validates decorator options where they are declared; the cache (and its hard timeout) is not known yet.
const VALIDATION_BASE: Policy = { ...defaultPolicy(), hard: Number.POSITIVE_INFINITY }

/**
 * Separates the decorator's own options from the entry options, validating both now, at class
 * definition. The entry options are `undefined` when there are none, so a call passes nothing.
 */
function split<Args extends unknown[]>(
  decorator: string,
  options: { key?: (...args: Args) => string } & DecoratorCacheOption,
  keyRequired: boolean,
): { key: (...args: Args) => string; cacheOf: () => Cache; entry: GetOrSetOptions | undefined } {
  const { key, cache, ...rest } = options as { key?: (...args: Args) => string } & DecoratorCacheOption &
    GetOrSetOptions
  if ((keyRequired || key !== undefined) && typeof key !== 'function') {
    throw new ValidationError('options.key', 'a function of the method arguments returning a key', key)
  }
  if (cache !== undefined && typeof cache !== 'function' && !isCache(cache)) {
    throw new ValidationError('options.cache', 'a cache from createCache(), or a function returning one', cache)
  }
  const entry = Object.keys(rest).length === 0 ? undefined : rest
  resolvePolicy(VALIDATION_BASE, entry, Number.POSITIVE_INFINITY)
  return { key: key as (...args: Args) => string, cacheOf: cacheSource(decorator, cache), entry }
}
