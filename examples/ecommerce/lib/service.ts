import { randomUUID } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { type CircuitBreaker, isBrokenCircuitError } from 'bulwark/breaker'
import type { Cache } from 'bulwark/cache'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import pino from 'pino'
import { HttpError, ProblemError } from './errors.js'
import { createMetrics, type Metrics } from './metrics.js'
import type { Runtime } from './runtime.js'

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

/** What a service hands to the bootstrap once its routes are registered. */
export interface ServiceParts {
  /** Breakers this service owns, for /breakers and /metrics. */
  breakers: readonly CircuitBreaker[]
  caches: Record<string, Cache>
  /** Throws when a dependency this service needs is not there (its store, for instance). */
  ready(): Promise<void>
  /** Stops background work and closes stores and caches, after the HTTP server has drained. */
  close(): Promise<void>
}

export interface ServiceContext {
  rt: Runtime
  app: App
  log: pino.Logger
  metrics: Metrics
}

declare module 'fastify' {
  interface FastifyRequest {
    sagaId?: string
  }
}

/**
 * Fastify with TypeBox schemas, problem+json errors, request and saga ids in every log line, /health,
 * /ready, /metrics, /breakers, a body cap, and a graceful shutdown on SIGINT/SIGTERM.
 */
export async function runService(
  rt: Runtime,
  build: (ctx: ServiceContext) => Promise<ServiceParts>,
): Promise<{ app: App; stop: () => Promise<void> }> {
  const log = pino({ base: { service: rt.service, replica: rt.replica }, level: process.env.LOG_LEVEL ?? 'info' })
  const metrics = createMetrics(rt.service)
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: rt.config.settings.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App

  // JSON only: any other body type gets 415 rather than being parsed as a string.
  app.removeContentTypeParser('text/plain')
  app.addHook('onRequest', async (req) => {
    metrics.requests.inc({ method: req.method, route: req.routeOptions.url ?? 'unknown' })
    const sagaId = req.headers['x-saga-id']
    if (typeof sagaId === 'string' && sagaId !== '') {
      req.sagaId = sagaId
      req.log = req.log.child({ sagaId })
    }
  })
  app.setErrorHandler((error, req, reply) => sendProblem(error, req.url, reply, req.log))
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .type('application/problem+json')
      .send({ type: 'about:blank', title: 'Not Found', status: 404, detail: `No route ${req.method} ${req.url}` }),
  )

  const parts = await build({ rt, app, log, metrics })
  metrics.watchBreakers(parts.breakers)
  metrics.watchCaches(parts.caches)

  app.get('/health', async () => ({ status: 'ok', service: rt.service, replica: rt.replica, pid: process.pid }))
  app.get('/ready', async (_req, reply) => {
    try {
      await parts.ready()
      return { status: 'ready', service: rt.service }
    } catch (error) {
      return reply
        .code(503)
        .type('application/problem+json')
        .send({ type: 'not-ready', title: 'Not ready', status: 503, detail: (error as Error).message })
    }
  })
  app.get('/metrics', async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  )
  app.get('/breakers', async () => parts.breakers.map((b) => b.metrics()))

  await app.listen({ port: rt.port, host: rt.host })
  log.info({ url: `http://${rt.host}:${rt.port}` }, `${rt.service} listening`)

  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      const force = setTimeout(() => process.exit(1), 10_000)
      force.unref()
      await app.close() // drains the requests in flight
      await parts.close()
      log.info(`${rt.service} stopped`)
    })()
    return stopping
  }
  // Started by the launcher (IPC channel): if the launcher dies, however it dies, this process stops too.
  if (process.send !== undefined) process.once('disconnect', () => void stop().finally(() => process.exit(0)))
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      void stop().then(
        () => process.exit(0),
        (error) => {
          log.error({ err: error }, 'shutdown failed')
          process.exit(1)
        },
      )
    })
  return { app, stop }
}

function sendProblem(
  error: unknown,
  instance: string,
  reply: import('fastify').FastifyReply,
  log: FastifyBaseLogger,
): import('fastify').FastifyReply {
  const e = error as Error & { statusCode?: number; code?: string; validation?: unknown }
  let status = 500
  let type = 'internal'
  let detail = 'Internal error'
  const extra: Record<string, unknown> = {}
  if (error instanceof ProblemError) {
    status = error.status
    type = error.type
    detail = error.message
    Object.assign(extra, error.extra)
    for (const [k, v] of Object.entries(error.headers)) reply.header(k, v)
  } else if (isBrokenCircuitError(error)) {
    // The dependency's breaker is open: fail fast and say when to come back.
    const until = (e as { context?: { openUntil?: number } }).context?.openUntil
    status = 503
    type = 'circuit-open'
    detail = e.message
    reply.header('retry-after', String(until ? Math.max(1, Math.ceil((until - Date.now()) / 1000)) : 5))
  } else if (error instanceof HttpError) {
    status = error.status >= 500 ? 502 : error.status
    type = 'dependency-error'
    detail = error.message
  } else if (e.code === 'E_SAGA_NOT_FOUND' || e.code === 'E_SAGA_STATE') {
    status = e.code === 'E_SAGA_NOT_FOUND' ? 404 : 409
    type = e.code.toLowerCase()
    detail = e.message
  } else if (e.validation !== undefined) {
    status = 400
    type = 'validation'
    detail = e.message
  } else if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own client errors: 413 body too large, 415 unsupported media type, 400 bad JSON.
    status = e.statusCode
    type = (e.code ?? 'bad-request').toLowerCase()
    detail = e.message
  } else if ((e as { code?: string }).code === 'E_TIMEOUT') {
    status = 504
    type = 'timeout'
    detail = e.message
  }
  if (status >= 500) log.error({ err: error }, 'request failed')
  // Never the stack: a title, a type, the status and a sentence.
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type, title: titleOf(status), status, detail, instance, ...extra })
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  402: 'Payment Required',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}
const titleOf = (status: number) => titles[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error')
