import type * as PromClient from 'prom-client'
import type { Counter, Gauge, Registry } from 'prom-client'
import { ValidationError } from '../../core/errors.js'
import { loadPeer } from '../../core/peer.js'
import { expectOptions, optionKeys } from '../../core/validate.js'
import type { CircuitBreaker } from '../breaker.js'
import type { BreakerMetrics } from '../events.js'
import { BreakerRegistry } from '../registry.js'
import type { CircuitState } from '../types.js'

/** Options of {@link prometheusExporter}. */
export interface PrometheusExporterOptions {
  /** The prom-client registry to register the metrics in. @default prom-client's global `register` */
  registry?: Registry
  /** Prefix of every metric name. @default 'bulwark_breaker_' */
  prefix?: string
}

/** What the exporter reads: a registry (named and per-key breakers) or a list of breakers. */
export type BreakerSource = BreakerRegistry | readonly CircuitBreaker[]

const STATES: readonly CircuitState[] = ['closed', 'open', 'half_open', 'forced_open', 'disabled']
type Labels = { name: string; key: string }
type Row = { labels: Labels; m: BreakerMetrics }

/**
 * Prometheus metrics of breakers, read at scrape time: nothing runs on the breakers' hot path, and breakers
 * evicted from a registry simply disappear from the next scrape. Gauges: state (one series per state, 1 for
 * the current one), failure and slow-call rates, calls in the window, calls in flight, slow-call threshold,
 * throttle probability. Counters: calls by outcome, slow calls, rejections, throttled calls.
 */
export class PrometheusBreakerExporter {
  readonly #registry: Registry
  readonly #Gauge: typeof Gauge
  readonly #names: string[] = []

  constructor(source: BreakerSource, options: PrometheusExporterOptions = {}) {
    const o = expectOptions('options', options, optionKeys<PrometheusExporterOptions>({ registry: true, prefix: true }))
    if (!(source instanceof BreakerRegistry) && !Array.isArray(source))
      throw new ValidationError('source', 'a BreakerRegistry or an array of breakers', source, {
        code: 'E_INVALID_ARGUMENT',
      })
    const prefix = o.prefix ?? 'bulwark_breaker_'
    if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))
      throw new ValidationError('prefix', 'a Prometheus metric name prefix', prefix)
    // Loaded only now: importing this module never needs prom-client (E_MISSING_PEER when absent).
    const prom = loadPeer<typeof PromClient>('prom-client', 'bulwark/breaker/prometheus')
    this.#Gauge = prom.Gauge
    this.#registry = o.registry ?? prom.register
    const rows = (): Row[] => read(source)

    const gauge = (name: string, help: string, value: (m: BreakerMetrics) => number | null) =>
      this.#gauge(prefix + name, help, ['name', 'key'], (g) => {
        for (const { labels, m } of rows()) {
          const v = value(m)
          if (v !== null) g.set(labels, v)
        }
      })
    this.#gauge(
      `${prefix}state`,
      'Breaker state: 1 for the current state, 0 for the others',
      ['name', 'key', 'state'],
      (g) => {
        for (const { labels, m } of rows())
          for (const state of STATES) g.set({ ...labels, state }, state === m.state ? 1 : 0)
      },
    )
    gauge('failure_rate', 'Failed calls / calls in the sliding window', (m) => m.failureRate)
    gauge('slow_call_rate', 'Slow calls / calls in the sliding window', (m) => m.slowCallRate)
    gauge('window_calls', 'Calls in the sliding window', (m) => m.calls)
    gauge('in_flight', 'Calls running now', (m) => m.inFlight)
    gauge(
      'slow_call_threshold_seconds',
      'Slow-call threshold in force (learned or fixed); absent without slow-call detection',
      ({ slowCallDuration: ms }) => (ms === null ? null : ms / 1000),
    )
    gauge('throttle_probability', 'Probability that adaptive throttling rejects a call', (m) => m.throttleProbability)
    gauge('consecutive_opens', 'Openings since the circuit last closed', (m) => m.consecutiveOpens)

    const counter = (name: string, help: string, extra: string[], fill: (c: Counter<string>, row: Row) => void) => {
      const registry = this.#registry
      this.#names.push(prefix + name)
      new prom.Counter({
        name: prefix + name,
        help,
        labelNames: ['name', 'key', ...extra],
        registers: [registry],
        collect() {
          // Totals live in the breakers; each scrape copies them, so evicted breakers leave no series.
          this.reset()
          for (const row of rows()) fill(this, row)
        },
      })
    }
    counter('calls_total', 'Calls that ran, by outcome', ['outcome'], (c, { labels, m }) => {
      c.inc({ ...labels, outcome: 'success' }, m.totals.successes)
      c.inc({ ...labels, outcome: 'failure' }, m.totals.failures)
      c.inc({ ...labels, outcome: 'ignored' }, m.totals.ignored)
    })
    counter('slow_calls_total', 'Slow calls, counted when noticed', [], (c, { labels, m }) =>
      c.inc(labels, m.totals.slowCalls),
    )
    counter('rejections_total', 'Calls rejected by an open, half-open or isolated circuit', [], (c, { labels, m }) =>
      c.inc(labels, m.totals.rejections),
    )
    counter('throttled_total', 'Calls rejected by adaptive throttling', [], (c, { labels, m }) =>
      c.inc(labels, m.totals.throttled),
    )
  }

  /** Removes the exporter's metrics from the prom-client registry. */
  unregister(): void {
    for (const name of this.#names) this.#registry.removeSingleMetric(name)
  }

  #gauge(name: string, help: string, labelNames: string[], fill: (g: Gauge<string>) => void): void {
    this.#names.push(name)
    new this.#Gauge({
      name,
      help,
      labelNames,
      registers: [this.#registry],
      collect() {
        this.reset()
        fill(this)
      },
    })
  }
}

function read(source: BreakerSource): Row[] {
  if (source instanceof BreakerRegistry)
    return source.list().map(({ name, key, breaker }) => ({ labels: { name, key: key ?? '' }, m: breaker.metrics() }))
  return source.map((breaker) => ({ labels: { name: breaker.name, key: '' }, m: breaker.metrics() }))
}

/**
 * Exports breakers' metrics to Prometheus through `prom-client` (an optional peer dependency, imported only
 * by this subpath).
 *
 * @example
 * ```ts
 * import { prometheusExporter } from 'bulwark/breaker/prometheus'
 * import { register } from 'prom-client'
 * prometheusExporter(breakers, { registry: register })
 * app.get('/metrics', async (_req, res) => res.type(register.contentType).send(await register.metrics()))
 * ```
 */
export function prometheusExporter(
  source: BreakerSource,
  options?: PrometheusExporterOptions,
): PrometheusBreakerExporter {
  return new PrometheusBreakerExporter(source, options)
}
