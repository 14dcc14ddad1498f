/**
 * `npm run bench:breaker`: the breaker against a raw call and its peers, all in one run.
 *
 * Prints mitata's table and a ratio table, and writes `bench/results/breaker.json`:
 * - ratios.closed_vs_raw: our closed-path `execute` (default options) / a raw `await fn()` (target <= 1.5)
 * - ratios.opossum_vs_ours: opossum 9 `fire` (its defaults, same thresholds and window: 50 %, 10 calls, 30 s,
 *   a 10 s rolling window of 10 buckets) / ours with the same time window (target >= 4)
 * - ratios.cockatiel_vs_ours: cockatiel's SamplingBreaker `execute` / ours with the same thresholds and
 *   features: failure rate 0.5 over a 10 s time window, at least 10 calls (1 rps), half-open after 30 s, no
 *   slow-call detection (SamplingBreaker has none) (target >= 2)
 * - slow_detection_vs_closed: ours with `slowCallDuration: '2s'` / ours closed with the defaults (target <= 1.5)
 * - cockatiel_vs_ours_slow_detection: cockatiel's SamplingBreaker / ours with `slowCallDuration: '2s'`, which
 *   detects slow calls (even before they end) where SamplingBreaker detects none (target >= 1.5)
 * - open_reject_ns: ns per call rejected by an open breaker through `execute`, awaited and caught (target <= 500)
 * - extra: the count trips on (failureCount and consecutiveFailures) against the defaults, where they are
 *   off, the `tryExecute` outcome path, and two references: what
 *   `await`-and-catch of a plain `Promise.reject` costs on this machine, and the floor of any wrapper that
 *   sees the outcome before its caller does: `fn().then(onValue, onError)` with handlers that only return or
 *   rethrow (closed_floor_one_then_vs_raw).
 *
 * Every benchmark awaits one call per iteration; ratios use each benchmark's median (mean in the JSON too).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { circuitBreaker as cockatielBreaker, handleAll, SamplingBreaker } from 'cockatiel'
import { bench, do_not_optimize, run } from 'mitata'
import Opossum from 'opossum'
import { circuitBreaker } from '../src/breaker/index.js'

const fn = async () => 42
const noop = () => {}

// Our breaker, closed: the defaults (count window of 100, no slow-call detection, no count trips), the same
// with slow-call detection (two reads of the millisecond coarse clock per call), with the count trips, and the
// time window cockatiel and opossum are compared with.
const oursCount = circuitBreaker()
const oursSlowDetection = circuitBreaker({ slowCallDuration: '2s' })
const oursCountTrips = circuitBreaker({ failureCount: { threshold: 3, within: '30s' }, consecutiveFailures: 5 })
const oursTime = circuitBreaker({
  failureRateThreshold: 0.5,
  minimumCalls: 10,
  window: { type: 'time', duration: '10s', buckets: 10 },
  openDuration: '30s',
})
const cockatiel = cockatielBreaker(handleAll, {
  halfOpenAfter: 30_000,
  breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: 1 }),
})
const opossumOptions = { errorThresholdPercentage: 50, volumeThreshold: 10, resetTimeout: 30_000 }
const opossum = new Opossum(fn, { ...opossumOptions, rollingCountTimeout: 10_000, rollingCountBuckets: 10 })
const opossumNoTimeout = new Opossum(fn, { ...opossumOptions, timeout: false })

// Open breakers: tripped once, open for an hour.
const failing = () => Promise.reject(new Error('down'))
const rejectedFloor = new Error('floor')
const oursOpen = circuitBreaker({ minimumCalls: 1, openDuration: '1h' })
await oursOpen.execute(failing).catch(noop)
const opossumOpen = new Opossum(failing, { ...opossumOptions, volumeThreshold: 1, resetTimeout: 3_600_000 })
opossumOpen.on('failure', noop)
await opossumOpen.fire().catch(noop)
const cockatielOpen = cockatielBreaker(handleAll, {
  halfOpenAfter: 3_600_000,
  breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: 0.0001 }),
})
for (let i = 0; i < 5; i++) await cockatielOpen.execute(failing).catch(noop)
if (oursOpen.state !== 'open' || !opossumOpen.opened || cockatielOpen.state !== 1)
  throw new Error('open breakers did not open')

/**
 * Each iteration makes BATCH sequential awaited calls, so mitata's own per-iteration cost (one async
 * iteration, timing) is spread over many calls; results are reported per call.
 */
const BATCH = 100
const batch = (name: string, call: () => Promise<unknown>) =>
  bench(name, async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await call())
  })
const caught = (call: () => Promise<unknown>) => async () => {
  try {
    return await call()
  } catch (e) {
    return e
  }
}

batch('raw await fn()', () => fn())
// The least a breaker can do to observe a call: one reaction on fn's promise, which the caller then awaits.
const passValue = (value: number) => value
const passError = (error: unknown) => {
  throw error
}
batch('fn().then(onValue, onError) (floor)', () => fn().then(passValue, passError))
batch('ours closed (count window)', () => oursCount.execute(fn))
batch('ours closed (time window)', () => oursTime.execute(fn))
batch('ours closed (slowCallDuration set)', () => oursSlowDetection.execute(fn))
batch('ours closed (count trips on)', () => oursCountTrips.execute(fn))
batch('cockatiel SamplingBreaker execute', () => cockatiel.execute(fn))
batch('opossum fire (default timeout)', () => opossum.fire())
batch('opossum fire (timeout: false)', () => opossumNoTimeout.fire())
batch(
  'ours open: rejected (throw)',
  caught(() => oursOpen.execute(fn)),
)
batch('ours open: tryExecute outcome', () => oursOpen.tryExecute(fn))
batch(
  'cockatiel open: rejected',
  caught(() => cockatielOpen.execute(fn)),
)
batch(
  'opossum open: rejected',
  caught(() => opossumOpen.fire()),
)
batch(
  'await-catch of Promise.reject (reference)',
  caught(() => Promise.reject(rejectedFloor)),
)

const { benchmarks } = await run({ format: 'mitata' })
const stat = (alias: string) => {
  const stats = benchmarks.find((b) => b.alias === alias)?.runs[0]?.stats
  if (!stats) throw new Error(`no result for ${alias}`)
  return { p50: stats.p50 / BATCH, avg: stats.avg / BATCH }
}
const ns = Object.fromEntries(benchmarks.map((b) => [b.alias, stat(b.alias)]))
const p50 = (alias: string) => stat(alias).p50
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

const ratios = {
  closed_vs_raw: round(p50('ours closed (count window)') / p50('raw await fn()')),
  opossum_vs_ours: round(p50('opossum fire (default timeout)') / p50('ours closed (time window)')),
  cockatiel_vs_ours: round(p50('cockatiel SamplingBreaker execute') / p50('ours closed (time window)')),
  slow_detection_vs_closed: round(p50('ours closed (slowCallDuration set)') / p50('ours closed (count window)')),
  cockatiel_vs_ours_slow_detection: round(
    p50('cockatiel SamplingBreaker execute') / p50('ours closed (slowCallDuration set)'),
  ),
}
const open_reject_ns = round(p50('ours open: rejected (throw)'), 1)
const extra = {
  closed_floor_one_then_vs_raw: round(p50('fn().then(onValue, onError) (floor)') / p50('raw await fn()')),
  closed_vs_floor: round(p50('ours closed (count window)') / p50('fn().then(onValue, onError) (floor)')),
  closed_time_window_vs_raw: round(p50('ours closed (time window)') / p50('raw await fn()')),
  closed_slow_detection_vs_raw: round(p50('ours closed (slowCallDuration set)') / p50('raw await fn()')),
  count_trips_on_vs_off: round(p50('ours closed (count trips on)') / p50('ours closed (count window)')),
  opossum_vs_ours_count_window: round(p50('opossum fire (default timeout)') / p50('ours closed (count window)')),
  opossum_no_timeout_vs_ours: round(p50('opossum fire (timeout: false)') / p50('ours closed (time window)')),
  open_try_execute_ns: round(p50('ours open: tryExecute outcome'), 1),
  await_catch_promise_reject_ns: round(p50('await-catch of Promise.reject (reference)'), 1),
  cockatiel_open_vs_ours_open: round(p50('cockatiel open: rejected') / p50('ours open: rejected (throw)')),
  opossum_open_vs_ours_open: round(p50('opossum open: rejected') / p50('ours open: rejected (throw)')),
}
const targets = {
  closed_vs_raw: '<= 1.5',
  opossum_vs_ours: '>= 4',
  cockatiel_vs_ours: '>= 2',
  slow_detection_vs_closed: '<= 1.5',
  cockatiel_vs_ours_slow_detection: '>= 1.5',
  open_reject_ns: '<= 500',
}
const met = {
  closed_vs_raw: ratios.closed_vs_raw <= 1.5,
  opossum_vs_ours: ratios.opossum_vs_ours >= 4,
  cockatiel_vs_ours: ratios.cockatiel_vs_ours >= 2,
  slow_detection_vs_closed: ratios.slow_detection_vs_closed <= 1.5,
  cockatiel_vs_ours_slow_detection: ratios.cockatiel_vs_ours_slow_detection >= 1.5,
  open_reject_ns: open_reject_ns <= 500,
}

console.log('\nBreaker ratios (median time per call)')
console.table({
  ...Object.fromEntries(
    Object.entries(ratios).map(([k, v]) => [
      k,
      { value: v, target: targets[k as keyof typeof targets], met: met[k as keyof typeof met] },
    ]),
  ),
  open_reject_ns: { value: open_reject_ns, target: targets.open_reject_ns, met: met.open_reject_ns },
  ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, { value: v, target: '', met: '' }])),
})

mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(
  new URL('./results/breaker.json', import.meta.url),
  `${JSON.stringify(
    {
      ratios,
      open_reject_ns,
      targets,
      met,
      extra,
      ns_per_call: ns,
      environment: {
        node: process.version,
        cpu: os.cpus()[0]?.model,
        cores: os.cpus().length,
        date: new Date().toISOString(),
      },
    },
    null,
    2,
  )}\n`,
)
