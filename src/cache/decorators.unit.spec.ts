import { beforeEach, describe, expect, expectTypeOf, it } from 'vitest'
import {
  type DecoratedRepository,
  decoratorCases,
  type Product,
  productSource,
} from '../../test/support/cache-decorator-cases.js'
import { expectRouteMetadataKept, route } from '../../test/support/route-metadata.js'
import { isBulwarkError } from '../core/errors.js'
import { fakeClock } from '../testing/fake-clock.js'
import { memoryCacheDriver } from './adapters/memory.js'
import type { Cache } from './cache.js'
import { createCache } from './create-cache.js'
import { cached, cacheEvict, cachePut, setDefaultCache } from './decorators.js'

// Standard (TC39) decorators: this file compiles with the project's default tsconfig.
class Repository implements DecoratedRepository {
  loads = 0

  @cached({ key: (id: string) => `product:${id}`, ttl: '1h', tags: ['products'] })
  async find(id: string): Promise<Product | null> {
    return productSource(this, id)
  }

  @cachePut({ key: (product: Product) => `product:${product.id}`, tags: ['products'] })
  async save(product: Product): Promise<Product> {
    return product
  }

  @cacheEvict({ key: (id: string) => `product:${id}` })
  async remove(id: string): Promise<void> {
    if (id === 'fail') throw new Error('cannot remove')
  }

  @cacheEvict({ tags: ['products'] })
  async renameAll(): Promise<void> {}

  @cacheEvict({ all: true })
  async purge(): Promise<void> {}

  @cached({ key: (id: string) => `label:${id}` })
  async label(id: string, locale: string): Promise<string> {
    return `${locale}: ${(await productSource(this, id))?.name}`
  }
}

class Routed {
  @cached({ key: (id: string) => `routed:${id}` })
  @route
  async find(id: string, _locale?: string): Promise<string> {
    return id
  }

  @cachePut({ key: (id: string) => `routed:${id}` })
  @route
  async save(id: string, _name: string): Promise<string> {
    return id
  }

  @cacheEvict({ key: (id: string) => `routed:${id}` })
  @route
  async remove(_id: string, _soft?: boolean): Promise<void> {}
}

let cache: Cache
beforeEach(() => {
  const clock = fakeClock(0)
  cache = createCache({ clock, l2: memoryCacheDriver({ clock }) })
  setDefaultCache(cache)
})

describe('decorators (standard)', () => {
  decoratorCases(() => ({ cache, repository: new Repository() }))

  it('takes the cache from its options before the default', async () => {
    const own = createCache({ l2: undefined })
    class Local {
      @cached({ cache: own, key: (n: number) => `n:${n}` })
      async double(n: number): Promise<number> {
        return n * 2
      }
    }
    expect(await new Local().double(21)).toBe(42)
    expect(await own.get('n:21')).toBe(42)
    expect(await cache.get('n:21')).toBeUndefined()
  })

  it('keeps the metadata, name and length of the method it replaces', () => {
    expectRouteMetadataKept(Routed.prototype, { find: 2, save: 2, remove: 2 })
  })

  it('finds its cache through a function each time the method runs', async () => {
    let current: Cache | undefined
    class Late {
      @cached({ cache: () => current as Cache, key: (n: number) => `n:${n}` })
      async double(n: number): Promise<number> {
        return n * 2
      }
    }
    await expect(new Late().double(1)).rejects.toSatisfy((e: unknown) => isBulwarkError(e, 'E_INVALID_OPTION'))
    current = createCache({ l2: undefined })
    expect(await new Late().double(21)).toBe(42)
    expect(await current.get('n:21')).toBe(42)
    expect(await cache.get('n:21')).toBeUndefined()
  })

  it('types the key against the method parameters', () => {
    expectTypeOf(cached({ key: (id: string) => id })).toBeCallableWith(
      async (_id: string) => 1,
      {} as ClassMethodDecoratorContext<unknown, (id: string) => Promise<number>>,
    )
    class Checked {
      // @ts-expect-error the key takes a number, the method a string
      @cached({ key: (id: number) => `k:${id}` })
      async find(id: string): Promise<string> {
        return id
      }

      // @ts-expect-error the key takes more parameters than the method
      @cached({ key: (id: string, page: number) => `k:${id}:${page}` })
      async list(id: string): Promise<string> {
        return id
      }
    }
    expect(Checked).toBeDefined()
  })

  it('rejects bad options where they are declared, with typed errors', () => {
    const bad = [
      () => cached({ key: 'product' as never }),
      () => cached({ key: () => 'k', ttl: 'soon' as never }),
      () => cachePut({ key: () => 'k', jitter: 2 }),
      () => cacheEvict({}),
      () => cacheEvict({ tags: ['ok', ''] }),
      () => cached({ key: () => 'k', cache: {} as never }),
    ]
    for (const make of bad) {
      expect(make).toThrow()
      try {
        make()
      } catch (e) {
        expect(isBulwarkError(e)).toBe(true)
      }
    }
  })

  it('refuses to decorate anything but a method', () => {
    const decorator = cached({ key: () => 'k' }) as unknown as (value: unknown, context: object) => unknown
    expect(() => decorator(undefined, { kind: 'field', name: 'x' })).toThrow(/decorates methods/)
  })
})
