/**
 * Finds the servers the integration tests need, once per run.
 *
 * - Redis: `REDIS_URL`, default `redis://127.0.0.1:6379`.
 * - PostgreSQL: `DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
 * - MongoDB: `MONGODB_URI`, else a replica set started through testcontainers when a Docker engine answers.
 *
 * With `CI=true` a missing Redis or PostgreSQL fails the run. Elsewhere the tests that need it are
 * skipped, and this prints why. MongoDB can never be required: no server can be installed on the
 * project's machines, so its tests say loudly that they were skipped.
 */
import { execFileSync } from 'node:child_process'
import { Redis } from 'ioredis'
import pg from 'pg'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string | null
    postgresUrl: string | null
    mongodbUrl: string | null
    servicesSkipReason: Record<string, string>
  }
}

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

async function checkRedis(url: string): Promise<string | null> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  try {
    await client.connect()
    const pong = await client.ping()
    return pong === 'PONG' ? null : `PING answered ${pong}`
  } catch (e) {
    return (e as Error).message
  } finally {
    client.disconnect()
  }
}

async function checkPostgres(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 })
  try {
    await client.connect()
    await client.query('select 1')
    return null
  } catch (e) {
    return (e as Error).message
  } finally {
    await client.end().catch(() => {})
  }
}

function dockerAnswers(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 })
    return true
  } catch {
    return false
  }
}

let stopMongo: (() => Promise<unknown>) | undefined

export async function setup(project: TestProject): Promise<void> {
  const reasons: Record<string, string> = {}
  const redisError = await checkRedis(REDIS_URL)
  const pgError = await checkPostgres(DATABASE_URL)
  if (redisError) reasons.redis = `Redis at ${REDIS_URL} did not answer: ${redisError}`
  if (pgError) reasons.postgres = `PostgreSQL at ${DATABASE_URL} did not answer: ${pgError}`

  let mongodbUrl: string | null = process.env.MONGODB_URI ?? null
  if (!mongodbUrl) {
    if (dockerAnswers()) {
      const { MongoDBContainer } = await import('@testcontainers/mongodb')
      const container = await new MongoDBContainer('mongo:7').start()
      mongodbUrl = `${container.getConnectionString()}?directConnection=true`
      stopMongo = () => container.stop()
    } else {
      reasons.mongodb = 'MONGODB_URI is not set and no Docker engine answers `docker info`'
    }
  }

  if (process.env.CI === 'true' && (reasons.redis || reasons.postgres)) {
    throw new Error(
      `CI=true and a required service is missing:\n${[reasons.redis, reasons.postgres].filter(Boolean).join('\n')}`,
    )
  }
  for (const [service, reason] of Object.entries(reasons)) {
    console.warn(`\n!!! ${service.toUpperCase()} INTEGRATION TESTS WILL BE SKIPPED: ${reason}\n`)
  }

  project.provide('redisUrl', redisError ? null : REDIS_URL)
  project.provide('postgresUrl', pgError ? null : DATABASE_URL)
  project.provide('mongodbUrl', mongodbUrl)
  project.provide('servicesSkipReason', reasons)
}

export async function teardown(): Promise<void> {
  await stopMongo?.()
}
