import type { CircuitBreaker } from 'bulwark/breaker'

/** How long the latency sample of a breaker reaches back. */
const WINDOW_MS = 10_000

/**
 * What `breaker.metrics()` does not carry and the dashboard shows: p50/p99 of the calls of the last 10 s
 * (from the breaker's own success/failure events, so it is what the breaker saw), and the time left until
 * an open breaker may probe.
 */
export function watchLatency(breaker: CircuitBreaker) {
  const at: number[] = []
  const ms: number[] = []
  const record = (d: number) => {
    if (!Number.isFinite(d)) return
    at.push(Date.now())
    ms.push(d)
  }
  breaker.on('success', record)
  breaker.on('failure', (_reason, d) => record(d))
  return () => {
    const since = Date.now() - WINDOW_MS
    let drop = 0
    while (drop < at.length && at[drop]! < since) drop++
    at.splice(0, drop)
    ms.splice(0, drop)
    const sorted = [...ms].sort((a, b) => a - b)
    const m = breaker.metrics()
    const snap = breaker.toJSON()
    // openUntil and since are on the breaker's clock; their difference minus the time in state is on any clock.
    const msUntilProbe =
      m.state === 'open' && snap.openUntil !== null ? Math.max(0, snap.openUntil - snap.since - m.timeInState) : null
    return {
      ...m,
      msUntilProbe,
      latency: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), samples: sorted.length },
    }
  }
}

/** Nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return Math.round(sorted[rank]! * 10) / 10
}
