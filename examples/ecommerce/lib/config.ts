import type { Duration } from 'bulwark'

/**
 * The original design's two tables, as data the code reads. Hold this file next to the design document
 * (`shared/seed/`): each row below is one row there, with the same numbers.
 *
 * A test (or an operator) can override any value through the `EXAMPLE_CONFIG` environment variable,
 * a JSON object deep-merged over this file: `EXAMPLE_CONFIG='{"breakers":{"payment":{"openDuration":"2s"}}}'`.
 */

/** "data | cache | TTL | invalidation" */
export const cacheTable = {
  /** product catalog | L1 + Redis | 1 h | event-driven */
  products: { levels: 'l1+redis', ttl: '1h', invalidation: 'event-driven', tags: ['products'] },
  /** customer data | L1 + Redis | 30 min | event-driven */
  customers: { levels: 'l1+redis', ttl: '30m', invalidation: 'event-driven', tags: ['customers'] },
  /** notification templates | in-memory | 24 h | manual refresh */
  templates: { levels: 'l1', ttl: '24h', invalidation: 'manual refresh', tags: ['templates'] },
  /** statistics | L1 + Redis | 5 min | time-based, refresh-ahead */
  statistics: { levels: 'l1+redis', ttl: '5m', invalidation: 'time-based', tags: ['statistics'], refreshAhead: 0.8 },
  /** configuration | in-memory | 1 h | event-driven */
  configuration: { levels: 'l1', ttl: '1h', invalidation: 'event-driven', tags: ['configuration'] },
} as const

/** "Slow-call threshold 2,000 ms everywhere." */
export const slowCallDuration = 2000

/**
 * "call | breaker | fallback". `failureCount` is "N failures in T" (the breaker opens on the N-th failure
 * within T whatever the successes); `openDuration` is "open D". Slow calls open a breaker when at least
 * `slowCallRateThreshold` of the last `slowCallWindow` calls were slower than {@link slowCallDuration}.
 */
export const breakerTable = {
  /** payment processing | 3 failures in 30 s, open 60 s | saga compensates; parked if compensation fails */
  payment: {
    call: 'payment processing',
    failureCount: { threshold: 3, within: '30s' },
    openDuration: '60s',
    fallback: 'saga compensates; parked if compensation fails',
  },
  /** inventory reservations | 5 failures in 30 s, open 30 s | retry (idempotent), then compensate */
  inventory: {
    call: 'inventory reservations',
    failureCount: { threshold: 5, within: '30s' },
    openDuration: '30s',
    fallback: 'retry (idempotent), then compensate',
  },
  /** external APIs (payment gateway) | 3 failures in 60 s, open 120 s | 503 + Retry-After */
  gateway: {
    call: 'external APIs (payment gateway)',
    failureCount: { threshold: 3, within: '60s' },
    openDuration: '120s',
    fallback: '503 + Retry-After',
  },
  /** database operations | 10 failures in 30 s, open 45 s | cached responses where a cache exists */
  database: {
    call: 'database operations',
    failureCount: { threshold: 10, within: '30s' },
    openDuration: '45s',
    fallback: 'cached responses where a cache exists',
  },
  /** notification delivery | 10 failures in 60 s, open 180 s | queue for later */
  notification: {
    call: 'notification delivery',
    failureCount: { threshold: 10, within: '60s' },
    openDuration: '180s',
    fallback: 'queue for later',
  },
} as const

export type BreakerRow = keyof typeof breakerTable

/** Which row guards each service-to-service dependency (the coordinator's calls; shipping's call to order). */
export const dependencyBreaker = {
  payment: 'payment',
  inventory: 'inventory',
  notification: 'notification',
  // Order and shipping calls are writes to those services' stores: the "database operations" row.
  order: 'database',
  shipping: 'database',
} as const satisfies Record<string, BreakerRow>

/** Everything else the code reads: ports, timeouts, slow-call detection, the simulations. */
export const settings = {
  services: ['coordinator', 'order', 'inventory', 'payment', 'shipping', 'notification'] as const,
  /** Port offset of each service from --port-base (the launcher is +0). */
  portOffset: { launcher: 0, coordinator: 1, order: 2, inventory: 3, payment: 4, shipping: 5, notification: 6 },
  defaultPortBase: 3000,
  /** Every outbound call has a timeout; longer than the slow-call threshold, so slow calls are seen as slow. */
  callTimeout: '5s' as Duration,
  /** Attempts of an idempotent call (the first included); non-idempotent calls are tried once. */
  retryAttempts: 3,
  slowCall: { rateThreshold: 0.5, minimumCalls: 4, window: '30s' as Duration },
  /** Request bodies past this get 413. */
  bodyLimit: 64 * 1024,
  /** POST /orders answers 201 with the final state within this, else 202 + Location. */
  syncReplyWithin: 2000,
  saga: {
    deadline: '30s',
    compensationRetry: { attempts: 5, backoff: { initial: '500ms', max: '5s', multiplier: 2 } },
    /**
     * A saga silent this long is taken over by another coordinator replica; each replica runs recover() once
     * per lease. A restarted replica (same instance id) takes its own sagas over at boot without waiting.
     */
    lease: '30s' as Duration,
  },
  order: { snapshotEvery: 100 },
  seed: { products: 10_000, customers: 1_000, categories: 12 },
  gateway: { latencyMs: 5, errorRate: 0 },
  carrier: { deliveryDelay: '10s' },
  notification: { retryQueuedEvery: '2s' },
  shutdownGrace: '5s',
  /**
   * Node flags of each service process. A 1 MB young generation (default 16) keeps the seven processes near
   * 530 MB of RSS instead of 605 MB in embedded mode; these services allocate little per request.
   */
  serviceNodeFlags: ['--max-semi-space-size=1'],
}

export interface ExampleConfig {
  cacheTable: typeof cacheTable
  breakerTable: {
    [K in BreakerRow]: Omit<(typeof breakerTable)[K], 'openDuration' | 'failureCount'> & {
      openDuration: Duration
      failureCount: { threshold: number; within: Duration }
    }
  }
  slowCallDuration: number
  settings: typeof settings
}

/** The tables and settings, with `EXAMPLE_CONFIG` merged over them. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ExampleConfig {
  const base: ExampleConfig = { cacheTable, breakerTable, slowCallDuration, settings }
  const raw = env.EXAMPLE_CONFIG
  if (raw === undefined || raw === '') return base
  return merge(base, JSON.parse(raw)) as ExampleConfig
}

function merge(into: unknown, from: unknown): unknown {
  if (!isObject(into) || !isObject(from)) return from
  const out: Record<string, unknown> = { ...into }
  for (const [k, v] of Object.entries(from)) out[k] = merge(out[k], v)
  return out
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
