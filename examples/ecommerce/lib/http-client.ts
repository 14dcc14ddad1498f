import { type CircuitBreaker, type Policy, retry, timeout, wrap } from 'bulwark/breaker'
import { Pool } from 'undici'
import type { ExampleConfig } from './config.js'
import { HttpError, type Problem } from './errors.js'

/** Headers that travel with every call: the request id and the saga id, for the logs of both sides. */
export interface CallContext {
  requestId?: string
  sagaId?: string
}

export interface CallOptions extends CallContext {
  /**
   * The call can be repeated without a second effect (a GET, or a write carrying an idempotency key): only
   * such calls are retried. @default true for GET, false otherwise
   */
  idempotent?: boolean
  signal?: AbortSignal
}

/** A keep-alive HTTP client of one dependency, every call under its policies. */
export interface ServiceClient {
  readonly name: string
  readonly breaker: CircuitBreaker
  get<T>(path: string, options?: CallOptions): Promise<T>
  post<T>(path: string, body: unknown, options?: CallOptions): Promise<T>
  put<T>(path: string, body: unknown, options?: CallOptions): Promise<T>
  close(): Promise<void>
}

/**
 * Timeout always, retry only when idempotent, and the dependency's breaker. The retry sits outside the
 * breaker, so an open breaker fails the call at once and a retry never runs into it; the timeout is inside,
 * so each attempt has its own and a timed-out attempt counts as a failure of the dependency.
 */
export function serviceClient(
  name: string,
  baseUrl: string,
  breaker: CircuitBreaker,
  config: ExampleConfig,
): ServiceClient {
  const pool = new Pool(baseUrl, { connections: 32, keepAliveTimeout: 10_000 })
  const perAttempt = timeout(config.settings.callTimeout)
  const once: Policy = wrap(breaker, perAttempt)
  const retried: Policy = wrap(
    retry({
      attempts: config.settings.retryAttempts,
      backoff: { initial: '50ms', max: '500ms' },
      // A 4xx says the request is wrong, not that the dependency is down: asking again changes nothing.
      isRetryable: (error) => !(error instanceof HttpError && error.status < 500),
    }),
    breaker,
    perAttempt,
  )

  async function call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body: unknown, o: CallOptions): Promise<T> {
    const policy = (o.idempotent ?? method === 'GET') ? retried : once
    return policy.execute(async ({ signal }) => {
      const headers: Record<string, string> = { accept: 'application/json' }
      if (body !== undefined) headers['content-type'] = 'application/json'
      if (o.requestId) headers['x-request-id'] = o.requestId
      if (o.sagaId) headers['x-saga-id'] = o.sagaId
      const res = await pool.request({
        method,
        path,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      })
      const text = await res.body.text()
      const json = text === '' ? undefined : (JSON.parse(text) as unknown)
      if (res.statusCode >= 400) {
        const retryAfter = res.headers['retry-after']
        throw new HttpError(
          res.statusCode,
          (json as Problem) ?? { title: 'HTTP error' },
          typeof retryAfter === 'string' ? retryAfter : undefined,
        )
      }
      return json as T
    }, o.signal) as Promise<T>
  }

  return {
    name,
    breaker,
    get: (path, o = {}) => call('GET', path, undefined, o),
    post: (path, body, o = {}) => call('POST', path, body, o),
    put: (path, body, o = {}) => call('PUT', path, body, o),
    close: () => pool.close(),
  }
}
