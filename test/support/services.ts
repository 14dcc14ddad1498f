/**
 * What integration tests know about the servers `global-setup.ts` found.
 *
 * @example
 * ```ts
 * import { describeWithRedis, redisUrl } from '../../test/support/services.js'
 * describeWithRedis('redis driver', () => { ... uses redisUrl() ... })
 * ```
 */
import { describe, inject } from 'vitest'

type Service = 'redis' | 'postgres' | 'mongodb'

const urls: Record<Service, string | null> = {
  redis: inject('redisUrl'),
  postgres: inject('postgresUrl'),
  mongodb: inject('mongodbUrl'),
}

function requireUrl(service: Service): string {
  const url = urls[service]
  if (!url) throw new Error(`${service} is not available: ${inject('servicesSkipReason')[service] ?? 'unknown reason'}`)
  return url
}

export const redisUrl = (): string => requireUrl('redis')
export const postgresUrl = (): string => requireUrl('postgres')
export const mongodbUrl = (): string => requireUrl('mongodb')

function describeWith(service: Service, name: string, body: () => void): void {
  if (urls[service]) {
    describe(name, body)
    return
  }
  console.warn(`!!! SKIPPED "${name}" (${service}): ${inject('servicesSkipReason')[service]}`)
  describe.skip(`${name} [SKIPPED: ${service} unavailable]`, body)
}

/** `describe` when Redis answers; otherwise `describe.skip`, with the reason printed. */
export const describeWithRedis = (name: string, body: () => void): void => describeWith('redis', name, body)
/** `describe` when PostgreSQL answers; otherwise `describe.skip`, with the reason printed. */
export const describeWithPostgres = (name: string, body: () => void): void => describeWith('postgres', name, body)
/** `describe` when MongoDB is reachable; otherwise `describe.skip`, with the reason printed. */
export const describeWithMongo = (name: string, body: () => void): void => describeWith('mongodb', name, body)
