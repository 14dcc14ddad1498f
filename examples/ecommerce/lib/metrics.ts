import type { CircuitBreaker } from 'bulwark/breaker'
import { PrometheusBreakerExporter } from 'bulwark/breaker/prometheus'
import type { Cache } from 'bulwark/cache'
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'

/** One prom-client registry per process: default Node metrics, breakers, cache stats, queries, requests. */
export interface Metrics {
  registry: Registry
  dbQueries: Counter<'collection' | 'op'>
  /** Requests received, by route, counted before anything can fail them (injected faults included). */
  requests: Counter<'method' | 'route'>
  /** Counts domain operations (`gateway_calls`, `authorize`...) for the tests and the dashboard. */
  operations: Counter<'op' | 'outcome'>
  watchBreakers(breakers: readonly CircuitBreaker[]): void
  watchCaches(caches: Record<string, Cache>): void
}

export function createMetrics(service: string): Metrics {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry })
  const dbQueries = new Counter({
    name: 'shop_db_queries_total',
    help: 'Queries to the read tables, by collection and operation',
    labelNames: ['collection', 'op'],
    registers: [registry],
  })
  const operations = new Counter({
    name: 'shop_operations_total',
    help: 'Domain operations by outcome',
    labelNames: ['op', 'outcome'],
    registers: [registry],
  })
  const requests = new Counter({
    name: 'shop_http_requests_total',
    help: 'Requests received, by route',
    labelNames: ['method', 'route'],
    registers: [registry],
  })
  return {
    registry,
    requests,
    dbQueries,
    operations,
    watchBreakers: (breakers) => {
      new PrometheusBreakerExporter([...breakers], { registry })
    },
    watchCaches: (caches) => {
      const fields = [
        'l1Hits',
        'l2Hits',
        'misses',
        'loads',
        'refreshes',
        'invalidationsSent',
        'invalidationsReceived',
      ] as const
      new Gauge({
        name: 'shop_cache_stat',
        help: 'Cache stats() fields, by cache',
        labelNames: ['cache', 'stat'],
        registers: [registry],
        collect() {
          for (const [name, cache] of Object.entries(caches)) {
            const s = cache.stats()
            for (const f of fields) this.set({ cache: name, stat: f }, s[f])
          }
        },
      })
    },
  }
}
