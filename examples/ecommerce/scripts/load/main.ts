// `npm run example:load -- --rate 50 --duration 60s --mix place-order:80,browse:15,update-product:5 [--slo 'p99<500ms']`
// Open-loop load on a running shop through autocannon (one instance per scenario, each at its share of the
// rate), live progress each second, then a table, report.json and a self-contained report.html.
import { randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { settings } from '../../lib/config.js'
import { reportHtml } from './html.js'
import {
  checkSlo,
  hitRatioDelta,
  overTime,
  parseDuration,
  parseMix,
  parseSlo,
  type Sample,
  summarize,
} from './report.js'
import { watchLauncher } from './watch.js'

const scenarios = ['place-order', 'browse', 'update-product'] as const
type Scenario = (typeof scenarios)[number]

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '50' },
    duration: { type: 'string', default: '60s' },
    mix: { type: 'string', default: 'place-order:80,browse:15,update-product:5' },
    launcher: { type: 'string', default: `http://127.0.0.1:${settings.defaultPortBase}` },
    slo: { type: 'string' },
    out: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
})
let rate: number
let durationMs: number
let mix: Record<string, number>
let slos: ReturnType<typeof parseSlo>
try {
  rate = Number(values.rate)
  if (!Number.isFinite(rate) || rate <= 0) throw new Error(`--rate takes requests per second, got ${values.rate}`)
  durationMs = parseDuration(values.duration!)
  mix = parseMix(values.mix!, scenarios)
  slos = values.slo ? parseSlo(values.slo) : []
} catch (error) {
  console.error((error as Error).message)
  process.exit(2)
}

const launcher = values.launcher!.replace(/\/$/, '')
const portBase = Number(new URL(launcher).port)
const urls: Record<string, string> = process.env.SERVICE_URLS
  ? JSON.parse(process.env.SERVICE_URLS)
  : Object.fromEntries(settings.services.map((s) => [s, `http://127.0.0.1:${portBase + settings.portOffset[s]}`]))
const out = resolve(
  values.out ?? join(import.meta.dirname, '../../../.data/load', new Date().toISOString().replace(/[:.]/g, '-')),
)
mkdirSync(out, { recursive: true })

const rnd = (n: number) => 1 + Math.floor(Math.random() * n)
const sku = () => `sku-${String(rnd(5000)).padStart(5, '0')}`
const samples: Sample[] = []
const sagas: Record<string, number> = {}
const watch = await watchLauncher(launcher)
const t0 = Date.now()

function run(scenario: Scenario, share: number) {
  const r = Math.max(1, Math.round(rate * share))
  const base = scenario === 'place-order' ? urls.coordinator! : urls.inventory!
  const request: autocannon.Request =
    scenario === 'place-order'
      ? {
          method: 'POST',
          path: '/orders',
          setupRequest: (req) => ({
            ...req,
            headers: { 'content-type': 'application/json', 'idempotency-key': `load-${randomUUID()}` },
            body: JSON.stringify({
              customerId: `cust-${String(rnd(1000)).padStart(4, '0')}`,
              items: [{ sku: sku(), quantity: 1 }],
            }),
          }),
          onResponse: (status, body) => {
            let outcome = `http ${status}`
            try {
              outcome = (JSON.parse(body) as { status?: string; type?: string }).status ?? outcome
            } catch {}
            if (status === 202) outcome = 'pending (202)'
            sagas[outcome] = (sagas[outcome] ?? 0) + 1
          },
        }
      : scenario === 'browse'
        ? { method: 'GET', setupRequest: (req) => ({ ...req, path: `/products/${sku()}` }) }
        : {
            method: 'PUT',
            setupRequest: (req) => ({
              ...req,
              path: `/products/${sku()}`,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ price: Math.round((5 + Math.random() * 500) * 100) / 100 }),
            }),
          }
  // With a callback autocannon returns the instance (events, stop) rather than a promise.
  const instance = autocannon(
    {
      url: base,
      overallRate: r,
      // As many connections as autocannon allows at this rate (one per request/s; each has one request in
      // flight): the arrivals keep their rate while answers take under 1 s, and slow down past that.
      connections: Math.min(200, Math.max(1, r)),
      duration: durationMs / 1000,
      timeout: 10,
      requests: [request],
    },
    () => {},
  )
  instance.on('response', (_client, status, _bytes, latencyMs) =>
    samples.push({ t: Date.now() - t0, scenario, status, latencyMs: Math.round(latencyMs * 10) / 10 }),
  )
  instance.on('reqError', () => samples.push({ t: Date.now() - t0, scenario, status: 0, latencyMs: 10_000 }))
  return instance
}

const running = Object.entries(mix).map(([s, share]) => run(s as Scenario, share))
const stopAll = () => {
  for (const i of running) i.stop()
}
process.once('SIGINT', stopAll)
const progress = setInterval(() => {
  const t = Date.now() - t0
  const recent = samples.filter((s) => s.t > t - 1000)
  const row = summarize(recent, 1000).find((r) => r.scenario === 'all')
  const errs = samples.filter((s) => s.status === 0 || s.status >= 400).length
  console.log(
    `t=${(t / 1000).toFixed(0)}s  ${samples.length} responses (${row?.count ?? 0}/s, p50 ${Math.round(row?.p50 ?? 0)} ms, p99 ${Math.round(row?.p99 ?? 0)} ms), ${errs} errors, sagas ${JSON.stringify(sagas)}`,
  )
}, 1000)
await Promise.all(running.map((i) => new Promise((r) => i.once('done', r))))
clearInterval(progress)
const elapsed = Date.now() - t0
await new Promise((r) => setTimeout(r, 1200)) // one more snapshot, after the last responses
const seen = watch.stop()

const summary = summarize(samples, elapsed)
const all = summary.find((r) => r.scenario === 'all')!
const caches = Object.fromEntries(
  (seen.last?.caches ?? []).map((c) => [
    c.key,
    hitRatioDelta(
      seen.first?.caches.find((b) => b.key === c.key),
      c,
    ),
  ]),
)
const slo = checkSlo(slos, all)
const report = {
  startedAt: new Date(t0).toISOString(),
  durationMs: elapsed,
  rate,
  mix,
  launcher,
  summary,
  overTime: overTime(samples, elapsed),
  sagas,
  caches,
  breakerTransitions: seen.transitions.map((x) => ({ ...x, t: Math.max(0, x.at - t0) / 1000 })),
  slo,
}
writeFileSync(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`)
writeFileSync(join(out, 'report.html'), reportHtml(report))

const fmt = (v: number | null) => (v === null ? '-' : String(Math.round(v)))
console.log('\nscenario        count    ok  errors            req/s   p50   p90   p99   max (ms)')
for (const r of summary)
  console.log(
    `${r.scenario.padEnd(14)} ${String(r.count).padStart(6)} ${String(r.ok).padStart(5)}  ${JSON.stringify(r.errors).padEnd(16)} ${String(r.perSecond).padStart(6)} ${fmt(r.p50).padStart(5)} ${fmt(r.p90).padStart(5)} ${fmt(r.p99).padStart(5)} ${fmt(r.max).padStart(5)}`,
  )
console.log(`sagas: ${JSON.stringify(sagas)}`)
for (const [k, c] of Object.entries(caches))
  if (c.reads > 0) console.log(`cache ${k}: ${c.reads} reads, L1 hit ${((c.l1HitRatio ?? 0) * 100).toFixed(1)}%`)
for (const x of report.breakerTransitions) console.log(`breaker ${x.key}: ${x.from} -> ${x.to} at t=${x.t.toFixed(1)}s`)
console.log(`report: ${join(out, 'report.json')}, ${join(out, 'report.html')}`)
for (const s of slo)
  console.log(
    `SLO ${s.slo}: ${s.met ? 'met' : 'MISSED'} (${s.value === null ? 'no data' : Math.round(s.value * 1000) / 1000})`,
  )
process.exit(slo.every((s) => s.met) ? 0 : 1)
