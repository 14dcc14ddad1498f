/** The load report's arithmetic: pure functions over recorded samples, unit-tested. */

export interface Sample {
  /** ms since the run started, when the response arrived */
  t: number
  scenario: string
  status: number
  latencyMs: number
}

export interface Percentiles {
  count: number
  p50: number | null
  p90: number | null
  p99: number | null
  max: number | null
}

/** Nearest-rank percentile of ascending values. */
export function percentileOf(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

export function percentiles(values: readonly number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b)
  return {
    count: s.length,
    p50: percentileOf(s, 0.5),
    p90: percentileOf(s, 0.9),
    p99: percentileOf(s, 0.99),
    max: s.length === 0 ? null : s[s.length - 1]!,
  }
}

/** Latency percentiles per `bucketMs` of the run (second 0, 1, ...), empty buckets included. */
export function overTime(samples: readonly Sample[], durationMs: number, bucketMs = 1000) {
  const n = Math.max(1, Math.ceil(durationMs / bucketMs))
  const buckets: number[][] = Array.from({ length: n }, () => [])
  const errors: number[] = Array.from({ length: n }, () => 0)
  for (const s of samples) {
    const i = Math.min(n - 1, Math.floor(s.t / bucketMs))
    buckets[i]!.push(s.latencyMs)
    if (s.status === 0 || s.status >= 400) errors[i]!++
  }
  return buckets.map((b, i) => ({ t: (i * bucketMs) / 1000, ...percentiles(b), errors: errors[i]! }))
}

export interface ScenarioSummary extends Percentiles {
  scenario: string
  ok: number
  /** Responses by status class or error name: `4xx`, `5xx`, `timeout`... */
  errors: Record<string, number>
  perSecond: number
}

/** One row per scenario plus `all`: counts, errors by status and percentiles. */
export function summarize(samples: readonly Sample[], durationMs: number): ScenarioSummary[] {
  const by = new Map<string, Sample[]>()
  for (const s of samples) by.set(s.scenario, [...(by.get(s.scenario) ?? []), s])
  by.set('all', [...samples])
  return [...by.entries()].map(([scenario, list]) => {
    const errors: Record<string, number> = {}
    let ok = 0
    for (const s of list) {
      if (s.status >= 200 && s.status < 400) ok++
      else {
        const k = s.status === 0 ? 'error' : `${Math.floor(s.status / 100)}xx`
        errors[k] = (errors[k] ?? 0) + 1
      }
    }
    return {
      scenario,
      ok,
      errors,
      perSecond: durationMs > 0 ? Math.round((list.length / durationMs) * 10_000) / 10 : 0,
      ...percentiles(list.map((s) => s.latencyMs)),
    }
  })
}

/** `name:weight,...` into shares that sum to 1. */
export function parseMix(spec: string, known: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const part of spec.split(',')) {
    const m = /^([a-z-]+):(\d+(?:\.\d+)?)$/.exec(part.trim())
    if (!m || !known.includes(m[1]!)) throw new Error(`--mix takes ${known.join('|')}:weight,..., got "${part}"`)
    out[m[1]!] = Number(m[2])
  }
  const total = Object.values(out).reduce((a, b) => a + b, 0)
  if (total <= 0) throw new Error('--mix weights must add up to more than 0')
  for (const k of Object.keys(out)) out[k] = out[k]! / total
  return out
}

/** `60s`, `2m`, `500ms` in ms; `flag` names the option in the error. */
export function parseDuration(spec: string, flag = '--duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(spec)
  if (!m) throw new Error(`${flag} takes 30s, 2m or 500ms, got "${spec}"`)
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm']
}

export interface Slo {
  text: string
  metric: 'p50' | 'p90' | 'p99' | 'max' | 'errors'
  limit: number
}

/** `p99<500ms`, `p50<100ms`, `errors<1%` (comma-separated). */
export function parseSlo(spec: string): Slo[] {
  return spec.split(',').map((text) => {
    const m = /^(p50|p90|p99|max)<(\d+(?:\.\d+)?)(ms|s)$/.exec(text.trim())
    if (m) return { text, metric: m[1] as Slo['metric'], limit: Number(m[2]) * (m[3] === 's' ? 1000 : 1) }
    const e = /^errors<(\d+(?:\.\d+)?)%$/.exec(text.trim())
    if (e) return { text, metric: 'errors', limit: Number(e[1]) / 100 }
    throw new Error(`--slo takes p50|p90|p99|max<Nms or errors<N%, got "${text}"`)
  })
}

/** Each objective against the `all` row: met or not, with the measured value. */
export function checkSlo(slos: readonly Slo[], all: ScenarioSummary) {
  return slos.map((s) => {
    const failed = Object.values(all.errors).reduce((a, b) => a + b, 0)
    const value = s.metric === 'errors' ? (all.count === 0 ? 0 : failed / all.count) : all[s.metric]
    return { slo: s.text, value, met: value !== null && value < s.limit }
  })
}

/** Hit ratio of a cache over the run, from its stats before and after. */
export function hitRatioDelta(
  before: { l1Hits: number; l2Hits: number; misses: number } | undefined,
  after: { l1Hits: number; l2Hits: number; misses: number },
) {
  const b = before ?? { l1Hits: 0, l2Hits: 0, misses: 0 }
  const l1 = after.l1Hits - b.l1Hits
  const l2 = after.l2Hits - b.l2Hits
  const reads = l1 + l2 + (after.misses - b.misses)
  return {
    reads,
    l1HitRatio: reads === 0 ? null : l1 / reads,
    l2HitRatio: reads - l1 === 0 ? null : l2 / (reads - l1),
  }
}
