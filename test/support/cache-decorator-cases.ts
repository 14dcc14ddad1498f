/**
 * Test support (not exported): the decorator behaviour both decorator modes must show. The standard
 * mode runs it from src/cache/decorators.unit.spec.ts, the legacy mode (experimentalDecorators) from
 * test/legacy-decorators/cache.unit.spec.ts, each with classes compiled in its own mode.
 */
import { expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { setDefaultCache } from '../../src/cache/decorators.js'
import { isBulwarkError } from '../../src/core/errors.js'

export interface Product {
  id: string
  name: string
}

/** What a repository decorated with @cached / @cachePut / @cacheEvict looks like to the cases. */
export interface DecoratedRepository {
  loads: number
  find(id: string): Promise<Product | null>
  save(product: Product): Promise<Product>
  remove(id: string): Promise<void>
  renameAll(): Promise<void>
  purge(): Promise<void>
  /** `@cached` with a key of the first parameter only. */
  label(id: string, locale: string): Promise<string>
}

export function decoratorCases(make: () => { cache: Cache; repository: DecoratedRepository }): void {
  it('@cached returns the cached result and runs the method once per key', async () => {
    const { cache, repository } = make()
    const [a, b] = await Promise.all([repository.find('1'), repository.find('1')])
    expect(a).toEqual({ id: '1', name: 'product 1' })
    expect(b).toEqual(a)
    expect(await repository.find('1')).toEqual(a)
    await repository.find('2')
    expect(repository.loads).toBe(2)
    expect(await cache.get('product:1')).toEqual(a)
  })

  it('@cached keeps `this` and the arguments of the method', async () => {
    const { repository } = make()
    expect(await repository.find('x')).toEqual({ id: 'x', name: 'product x' })
  })

  it('@cachePut writes the result under the key built from the arguments', async () => {
    const { cache, repository } = make()
    await repository.find('1')
    await repository.save({ id: '1', name: 'renamed' })
    expect(await repository.find('1')).toEqual({ id: '1', name: 'renamed' })
    expect(repository.loads).toBe(1)
    expect(await cache.has('product:1')).toBe(true)
  })

  it('@cacheEvict deletes the key after the method succeeds, and not when it fails', async () => {
    const { cache, repository } = make()
    await repository.find('1')
    await repository.remove('1')
    expect(await cache.has('product:1')).toBe(false)
    await repository.find('2')
    await expect(repository.remove('fail')).rejects.toThrow('cannot remove')
    expect(await cache.has('product:2')).toBe(true)
  })

  it('@cacheEvict by tags and by all', async () => {
    const { cache, repository } = make()
    await repository.find('1')
    await cache.set('other', 1)
    await repository.renameAll()
    expect(await cache.has('product:1')).toBe(false)
    expect(await cache.has('other')).toBe(true)
    await repository.purge()
    expect(await cache.has('other')).toBe(false)
  })

  it('@cached takes a key function of fewer parameters than the method', async () => {
    const { cache, repository } = make()
    expect(await repository.label('1', 'en')).toBe('en: product 1')
    expect(await repository.label('1', 'fr')).toBe('en: product 1')
    expect(repository.loads).toBe(1)
    expect(await cache.get('label:1')).toBe('en: product 1')
  })

  it('uses the registered default cache when the decorator names none', async () => {
    const { cache, repository } = make()
    setDefaultCache(undefined)
    await expect(repository.find('1')).rejects.toSatisfy((e: unknown) => isBulwarkError(e, 'E_INVALID_OPTION'))
    setDefaultCache(cache)
    expect(await repository.find('1')).toEqual({ id: '1', name: 'product 1' })
  })
}

/** The repository's data access: counts loads and fails on demand. */
export function productSource(repository: { loads: number }, id: string): Promise<Product | null> {
  repository.loads++
  return Promise.resolve({ id, name: `product ${id}` })
}
