/**
 * Bulwark's decorators in a real NestJS application (experimentalDecorators, as Nest projects
 * compile): `@cached` and `@withBreaker` written above or below `@Get()` leave the route in place.
 * Nest reads a route's path from metadata on the function it finds on the prototype, so a wrapper that
 * dropped the original's metadata made the route disappear (404).
 */
import 'reflect-metadata'
import type { INestApplication } from '@nestjs/common'
import { Controller, Get, Module, Param } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withBreaker } from '../../src/breaker/index.js'
import { memoryCacheDriver } from '../../src/cache/adapters/memory.js'
import { createCache } from '../../src/cache/create-cache.js'
import { cached } from '../../src/cache/index.js'

const cache = createCache({ l2: memoryCacheDriver() })
const loads = { above: 0, below: 0 }

@Controller('products')
class ProductsController {
  @cached({ cache, key: (id: string) => `above:${id}` })
  @Get('above/:id')
  async above(@Param('id') id: string): Promise<{ id: string; loads: number }> {
    return { id, loads: ++loads.above }
  }

  @Get('below/:id')
  @cached({ cache, key: (id: string) => `below:${id}` })
  async below(@Param('id') id: string): Promise<{ id: string; loads: number }> {
    return { id, loads: ++loads.below }
  }

  @withBreaker({ minimumCalls: 1 })
  @Get('guarded/:id')
  async guarded(@Param('id') id: string): Promise<{ id: string }> {
    return { id }
  }
}

@Module({ controllers: [ProductsController] })
class AppModule {}

describe('NestJS application (experimentalDecorators)', () => {
  let app: INestApplication
  let base: string
  beforeAll(async () => {
    app = await NestFactory.create(AppModule, { logger: false })
    await app.listen(0, '127.0.0.1')
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1')
  })
  afterAll(async () => {
    await app?.close()
  })

  const get = async (path: string) => {
    const response = await fetch(`${base}/products/${path}`)
    return { status: response.status, body: response.status === 200 ? await response.json() : undefined }
  }

  it.each(['above', 'below'])('routes a method with @cached written %s @Get(), and caches it', async (order) => {
    expect(await get(`${order}/7`)).toEqual({ status: 200, body: { id: '7', loads: 1 } })
    expect(await get(`${order}/7`)).toEqual({ status: 200, body: { id: '7', loads: 1 } })
  })

  it('routes a method with @withBreaker written above @Get()', async () => {
    expect(await get('guarded/3')).toEqual({ status: 200, body: { id: '3' } })
  })
})
