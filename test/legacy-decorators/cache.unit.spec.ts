/**
 * The cache decorators under `experimentalDecorators` (NestJS's mode): the classes here compile with
 * the tsconfig beside this file, so the decorators receive (prototype, name, descriptor).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { memoryCacheDriver } from '../../src/cache/adapters/memory.js'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/cache/create-cache.js'
import { cached, cacheEvict, cachePut, setDefaultCache } from '../../src/cache/index.js'
import { fakeClock } from '../../src/testing/index.js'
import {
  type DecoratedRepository,
  decoratorCases,
  type Product,
  productSource,
} from '../support/cache-decorator-cases.js'
import { expectRouteMetadataKept, route } from '../support/route-metadata.js'

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

describe('cache decorators (experimentalDecorators)', () => {
  decoratorCases(() => ({ cache, repository: new Repository() }))

  it('replaces the method on the prototype through its descriptor', () => {
    const descriptor = Object.getOwnPropertyDescriptor(Repository.prototype, 'find')
    expect(typeof descriptor?.value).toBe('function')
    expect(descriptor?.value).not.toBe(productSource)
  })

  it('keeps the metadata, name and length of the method it replaces', () => {
    expectRouteMetadataKept(Routed.prototype, { find: 2, save: 2, remove: 2 })
  })

  it('types the key against the method parameters', () => {
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
})
