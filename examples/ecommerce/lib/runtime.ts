import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ExampleConfig, loadConfig } from './config.js'

export type ServiceName = ExampleConfig['settings']['services'][number]

/** What the launcher tells a service process (environment variables), read once at boot. */
export interface Runtime {
  service: ServiceName
  /** 0 for the first process of a service, 1... for more replicas. */
  replica: number
  port: number
  host: string
  /** Base URL of every service, for the HTTP clients. */
  urls: Record<ServiceName, string>
  dataDir: string
  redisUrl: string | undefined
  databaseUrl: string | undefined
  mongoUrl: string | undefined
  /** Prefix of PostgreSQL schemas, MongoDB databases and Redis keys, so several stacks can share servers. */
  prefix: string
  config: ExampleConfig
}

export const exampleRoot = resolve(fileURLToPath(import.meta.url), '../../..')

export function readRuntime(service: ServiceName, env: NodeJS.ProcessEnv = process.env): Runtime {
  const config = loadConfig(env)
  const base = Number(env.PORT_BASE ?? config.settings.defaultPortBase)
  const host = env.HOST ?? '127.0.0.1'
  const urls = env.SERVICE_URLS
    ? (JSON.parse(env.SERVICE_URLS) as Record<ServiceName, string>)
    : (Object.fromEntries(
        config.settings.services.map((s) => [s, `http://127.0.0.1:${base + config.settings.portOffset[s]}`]),
      ) as Record<ServiceName, string>)
  return {
    service,
    replica: Number(env.REPLICA ?? 0),
    port: Number(env.PORT ?? base + config.settings.portOffset[service]),
    host,
    urls,
    dataDir: env.DATA_DIR ?? resolve(exampleRoot, '.data'),
    redisUrl: env.REDIS_URL || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    mongoUrl: env.MONGODB_URI || undefined,
    prefix: env.STACK_PREFIX ?? 'shop',
    config,
  }
}
