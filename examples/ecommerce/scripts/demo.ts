// `npm run example:demo -- payment-outage | slow-inventory | coordinator-crash | redis-down [options]`
// Runs load on a shop, injects one fault, clears it, and prints a timeline measured from the launcher's /events
// and the coordinator's saga store. With no shop answering it starts one (embedded, shorter open times; with
// Redis for redis-down) and stops it after. Exits 1 when the run did not show what the scenario is about.

import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parseDuration } from './load/report.js'
import { watchLauncher } from './load/watch.js'
import { type Shop, shopAnswers, startShop } from './shop.js'

interface Scenario {
  /** POSTed to /faults when the warm-up starts (cleared with the fault). */
  prepare?: unknown
  fault: unknown
  breaker: string | undefined
  faultMs: number
  /** The fault phase against a running shop (its configuration as written), when it differs. */
  faultMsRunningShop?: number
  recoverMs: number
}
const scenarios: Record<'payment-outage' | 'slow-inventory' | 'coordinator-crash' | 'redis-down', Scenario> = {
  'payment-outage': {
    fault: { services: { payment: { errorRate: 100 } } },
    breaker: 'coordinator/payment',
    faultMs: 15_000,
    recoverMs: 25_000,
  },
  'slow-inventory': {
    fault: { services: { inventory: { latency: { fixedMs: 2500 } } } },
    breaker: 'coordinator/inventory',
    // The slow-call rate is over the breaker's window: the fast calls of the warm-up must leave it first
    // (10 s in a shop the demo starts, 30 s in the breaker table).
    faultMs: 15_000,
    faultMsRunningShop: 35_000,
    recoverMs: 25_000,
  },
  'coordinator-crash': {
    // A slow gateway (each saga waits ~1 s on authorize and on capture): many sagas are in flight at the kill.
    prepare: { gateway: { latencyMs: 1000 } },
    fault: { services: { coordinator: { process: 'kill' } } },
    breaker: undefined,
    faultMs: 3000,
    recoverMs: 10_000,
  },
  'redis-down': { fault: { redis: { cut: true } }, breaker: undefined, faultMs: 10_000, recoverMs: 10_000 },
}
type Name = keyof typeof scenarios

const usage = `usage: npm run example:demo -- ${Object.keys(scenarios).join(' | ')}
  [--port-base N]    the shop on ports N..N+6; one is started there when none answers
  [--launcher URL]   a running shop's launcher (default http://127.0.0.1:3000; without one, a shop is started on 3100)
  [--rate 20]        requests per second (90 % orders, 10 % product reads)
  [--warm 5s] [--fault 15s] [--recover 25s]   the three phases (fault and recovery default per scenario)
  [--open 10s]       open time of the payment and inventory breakers of a shop the demo starts
  [--window 10s]     the slow-call window of the breakers of a shop the demo starts (30 s in the table)
  [--out DIR]        the load report (default .data/demo/<scenario>)
  [--json FILE]      also write the measured timeline as JSON`

let name: Name
let o: {
  portBase: number | undefined
  launcher: string | undefined
  rate: number
  warmMs: number
  faultMs: number | undefined
  recoverMs: number
  open: string
  window: string
  out: string | undefined
  json: string | undefined
}
try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      'port-base': { type: 'string' },
      launcher: { type: 'string' },
      rate: { type: 'string', default: '20' },
      warm: { type: 'string', default: '5s' },
      fault: { type: 'string' },
      recover: { type: 'string' },
      open: { type: 'string', default: '10s' },
      window: { type: 'string', default: '10s' },
      out: { type: 'string' },
      json: { type: 'string' },
    },
  })
  if (positionals.length !== 1 || !(positionals[0]! in scenarios))
    throw new Error(`name one scenario, got ${JSON.stringify(positionals)}`)
  name = positionals[0] as Name
  const portBase = values['port-base'] === undefined ? undefined : Number(values['port-base'])
  if (portBase !== undefined && (!Number.isInteger(portBase) || portBase < 1 || portBase > 65_000))
    throw new Error(`--port-base must be a port number, got ${values['port-base']}`)
  if (portBase !== undefined && values.launcher !== undefined)
    throw new Error('give --port-base or --launcher, not both')
  const rate = Number(values.rate)
  if (!Number.isFinite(rate) || rate <= 0) throw new Error(`--rate takes requests per second, got ${values.rate}`)
  parseDuration(values.open!, '--open')
  parseDuration(values.window!, '--window')
  o = {
    portBase,
    launcher: values.launcher?.replace(/\/$/, ''),
    rate,
    warmMs: parseDuration(values.warm!, '--warm'),
    faultMs: values.fault === undefined ? undefined : parseDuration(values.fault, '--fault'),
    recoverMs: values.recover === undefined ? scenarios[name].recoverMs : parseDuration(values.recover, '--recover'),
    open: values.open!,
    window: values.window!,
    out: values.out,
    json: values.json,
  }
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`)
  process.exit(2)
}
const scenario = scenarios[name]
const example = resolve(import.meta.dirname, '../..')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// The shop: the one at --port-base / --launcher, else one of our own.
let launcher = o.portBase === undefined ? (o.launcher ?? 'http://127.0.0.1:3000') : `http://127.0.0.1:${o.portBase}`
let own: { shop: Shop; dataDir: string } | undefined
if (!(await shopAnswers(launcher))) {
  const portBase = o.portBase ?? 3100
  const dataDir = mkdtempSync(join(tmpdir(), 'shop-demo-'))
  const redis = name === 'redis-down' ? process.env.REDIS_URL || 'redis://127.0.0.1:6379' : process.env.REDIS_URL
  console.log(
    `no shop at ${launcher}: starting one on http://127.0.0.1:${portBase} (payment and inventory breakers open ${o.open}, slow-call window ${o.window}${redis ? `, Redis ${redis}` : ''})`,
  )
  try {
    const shop = await startShop({
      portBase,
      dataDir,
      env: {
        ...(redis ? { REDIS_URL: redis, STACK_PREFIX: process.env.STACK_PREFIX ?? `demo${process.pid}` } : {}),
        EXAMPLE_CONFIG: JSON.stringify({
          breakerTable: { payment: { openDuration: o.open }, inventory: { openDuration: o.open } },
          settings: { slowCall: { window: o.window } },
        }),
      },
    })
    own = { shop, dataDir }
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    console.error((error as Error).message)
    process.exit(1)
  }
  launcher = own.shop.url
}
async function finish(code: number): Promise<never> {
  if (own) {
    await own.shop.stop()
    rmSync(own.dataDir, { recursive: true, force: true })
  }
  process.exit(code)
}
process.once('SIGINT', () => void finish(130))
const faultMs = o.faultMs ?? (own ? scenario.faultMs : (scenario.faultMsRunningShop ?? scenario.faultMs))

const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
  const res = await fetch(`${launcher}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  })
  return { status: res.status, body: (await res.json()) as T }
}
if (name === 'redis-down' && !(await api<{ redis: boolean }>('GET', '/status')).body.redis) {
  console.error('redis-down needs a shop started with REDIS_URL')
  await finish(2)
}

// Every snapshot of /events, for the timeline.
interface Snap {
  at: number
  breakers: { key: string; state: string; totals: { rejections: number } }[]
  caches: { key: string; l1Hits: number; l2Hits: number; misses: number; l2Errors?: number }[]
  sagas: { totals: Record<string, number>; live: Record<string, number> } | null
  processes: { name: string; status: string; restarts: number }[]
}
const snaps: Snap[] = []
const watch = await watchLauncher<Snap>(launcher, (s) => snaps.push(s))

const out = resolve(o.out ?? join(example, '.data/demo', name))
const total = o.warmMs + faultMs + o.recoverMs
const load = spawn(
  process.execPath,
  [
    join(example, 'dist/scripts/load/main.js'),
    '--rate',
    String(o.rate),
    '--duration',
    `${Math.ceil(total / 1000)}s`,
    '--mix',
    'place-order:90,browse:10',
    '--launcher',
    launcher,
    '--out',
    out,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
)
let loadOut = ''
load.stdout?.on('data', (d) => (loadOut += d))
const loadDone = new Promise((r) => load.once('exit', r))
const t0 = Date.now()
const t = (at: number) => `t=${((at - t0) / 1000).toFixed(1)}s`
// Each line with the instant it describes, printed in time order; facts after the timed lines.
const events: { at: number; text: string }[] = []
const note = (at: number, text: string) => events.push({ at, text: `${t(at)} ${text}` })
const fact = (text: string) => events.push({ at: Number.POSITIVE_INFINITY, text })
/** What the scenario is about and this run did not show. */
const missing: string[] = []

if (scenario.prepare !== undefined) {
  const prepared = await api('POST', '/faults', scenario.prepare)
  note(Date.now(), `prepared: ${JSON.stringify(scenario.prepare)} -> ${prepared.status}`)
}
await sleep(o.warmMs)
type SagaRow = { sagaId: string; status: string }
const inFlight = async () => {
  const rows: SagaRow[] = []
  for (const status of ['running', 'compensating'])
    rows.push(...(await api<SagaRow[]>('GET', `/api/coordinator/sagas?status=${status}&limit=1000`)).body)
  return rows
}
// The sagas in flight when the coordinator is killed: each must end after its restart.
const atKill = name === 'coordinator-crash' ? await inFlight() : []
const faultAt = Date.now()
const applied = await api('POST', '/faults', scenario.fault)
note(faultAt, `fault injected: ${JSON.stringify(scenario.fault)} -> ${applied.status}`)
if (applied.status !== 200) {
  console.error(`the fault was refused: ${JSON.stringify(applied.body)}`)
  load.kill('SIGINT')
  await loadDone
  await finish(1)
}
await sleep(faultMs)
const clearAt = Date.now()
await api('DELETE', '/faults')
note(clearAt, 'fault cleared')
await loadDone
const loadEnd = Date.now()

// Every saga the run started ends (completed, aborted or parked): wait for the ones still in flight, then
// count what the store still holds unfinished.
let unfinished = await inFlight()
for (const until = Date.now() + 30_000; unfinished.length > 0 && Date.now() < until; unfinished = await inFlight())
  await sleep(500)
const killedEnded: Record<string, number> = {}
for (const s of atKill) {
  const now = await api<SagaRow>('GET', `/api/coordinator/sagas/${s.sagaId}`)
  const status = now.status === 200 ? now.body.status : `http ${now.status}`
  killedEnded[status] = (killedEnded[status] ?? 0) + 1
}
await sleep(1500) // one more snapshot after the last saga
watch.stop()

// Measured from the snapshots.
const first = (pred: (s: Snap) => boolean, from = 0) => snaps.find((s) => s.at >= from && pred(s))
const lastUpTo = (at: number) => snaps.filter((s) => s.at <= at).at(-1)
const ms = (s: Snap | undefined, from: number) => (s === undefined ? null : s.at - from)
const before = lastUpTo(faultAt)
const end = snaps.at(-1)
const totals = (s: Snap | undefined) => s?.sagas?.totals ?? {}
const result: Record<string, unknown> = {
  scenario: name,
  launcher,
  fault: scenario.fault,
  phases_ms: { warm: o.warmMs, fault: faultMs, recover: o.recoverMs },
  fault_at_ms: faultAt - t0,
  clear_at_ms: clearAt - t0,
}

if (scenario.breaker) {
  const key = scenario.breaker
  const b = (s: Snap) => s.breakers.find((x) => x.key === key)
  const opened = first((s) => b(s)?.state === 'open', faultAt)
  const rej0 = (before && b(before)?.totals.rejections) ?? 0
  const fastFail = first((s) => (b(s)?.totals.rejections ?? 0) > rej0, faultAt)
  const closed = first((s) => b(s)?.state === 'closed', Math.max(clearAt, opened?.at ?? clearAt))
  result.breaker = {
    key,
    opened_ms: ms(opened, faultAt),
    first_fast_fail_ms: ms(fastFail, faultAt),
    closed_ms: ms(closed, clearAt),
  }
  if (opened) note(opened.at, `${key} OPEN (${opened.at - faultAt} ms after the fault)`)
  else missing.push(`${key} never opened`)
  if (fastFail) note(fastFail.at, `first call failed fast by ${key} (${fastFail.at - faultAt} ms after the fault)`)
  if (closed) note(closed.at, `${key} CLOSED again (${closed.at - clearAt} ms after the fault was cleared)`)
  else missing.push(`${key} not closed again by the end of the run`)
}

// Saga counts over the run. The coordinator's counters restart with its process: before the kill, plus after.
const down =
  name === 'coordinator-crash'
    ? first((s) => s.processes.find((p) => p.name === 'coordinator')?.status !== 'ready', faultAt)
    : undefined
const sagaKeys = ['started', 'completed', 'aborted', 'compensated', 'parked']
const beforeDown = down && lastUpTo(down.at - 1)
const sagas = Object.fromEntries(
  sagaKeys.map((k) => [
    k,
    down === undefined
      ? (totals(end)[k] ?? 0) - (totals(snaps[0])[k] ?? 0)
      : (totals(beforeDown)[k] ?? 0) - (totals(snaps[0])[k] ?? 0) + (totals(end)[k] ?? 0),
  ]),
)
result.sagas = sagas

if (name === 'payment-outage' && (sagas.aborted === 0 || sagas.compensated === 0))
  missing.push('no saga aborted with compensations during the outage')

if (name === 'coordinator-crash') {
  const back = down && first((s) => s.processes.find((p) => p.name === 'coordinator')?.status === 'ready', down.at)
  const ended = (killedEnded.completed ?? 0) + (killedEnded.aborted ?? 0) + (killedEnded.parked ?? 0)
  result.coordinator = {
    down_ms: ms(down, faultAt),
    ready_ms: ms(back, faultAt),
    in_flight_at_kill: atKill.length,
    their_end: killedEnded,
  }
  note(faultAt, `coordinator SIGKILLed with ${atKill.length} sagas in flight`)
  if (down) note(down.at, 'coordinator seen down')
  else missing.push('the coordinator was never seen down')
  if (back)
    note(back.at, `coordinator ready again (${back.at - faultAt} ms after the kill; recover() drove its sagas on)`)
  else missing.push('the coordinator was not ready again')
  fact(`the ${atKill.length} sagas in flight at the kill ended: ${JSON.stringify(killedEnded)}`)
  if (atKill.length === 0) missing.push('no saga was in flight at the kill')
  if (ended !== atKill.length) missing.push(`${atKill.length - ended} sagas in flight at the kill did not end`)
  if ((totals(end).completed ?? 0) === 0) missing.push('no saga completed after the restart')
}

if (name === 'redis-down') {
  const l2Errors = (s: Snap | undefined) => (s?.caches ?? []).reduce((n, c) => n + (c.l2Errors ?? 0), 0)
  const l2Hits = (s: Snap | undefined) => (s?.caches ?? []).reduce((n, c) => n + c.l2Hits, 0)
  const e0 = l2Errors(before)
  const firstError = first((s) => l2Errors(s) > e0, faultAt)
  let lastError: Snap | undefined
  for (const [i, s] of snaps.entries()) if (i > 0 && l2Errors(s) > l2Errors(snaps[i - 1])) lastError = s
  const atClear = lastUpTo(clearAt)
  const completedInCut = (totals(atClear).completed ?? 0) - (totals(before).completed ?? 0)
  result.redis = {
    first_l2_error_ms: ms(firstError, faultAt),
    l2_errors: l2Errors(end) - e0,
    last_l2_error_ms_after_clear: lastError === undefined ? null : lastError.at - clearAt,
    orders_completed_during_cut: completedInCut,
    l2_hits_after_clear: l2Hits(end) - l2Hits(atClear),
  }
  if (firstError) note(firstError.at, `first Redis (L2) error counted (${firstError.at - faultAt} ms after the cut)`)
  else missing.push('no cache counted a Redis error during the cut')
  if (lastError && lastError.at > clearAt)
    note(
      lastError.at,
      `last Redis error counted (${lastError.at - clearAt} ms after the cut was cleared: each cache's L2 breaker stays open up to 5 s before it probes Redis again)`,
    )
  if (lastError && lastError.at > loadEnd - 2000)
    missing.push('the caches still counted Redis errors at the end of the load')
  fact(`orders completed while Redis was cut: ${completedInCut} (the caches fall back to L1 and the database)`)
  if (completedInCut === 0) missing.push('no order completed while Redis was cut')
}

fact(
  `sagas during the demo: ${sagas.started} started, ${sagas.completed} completed, ${sagas.aborted} aborted with compensations (${sagas.compensated} steps compensated), ${sagas.parked} parked`,
)
let report: { sagas?: Record<string, number>; summary?: { scenario: string; errors: Record<string, number> }[] } = {}
try {
  report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))
} catch {}
result.orders = report.sagas ?? null
result.order_errors = report.summary?.find((r) => r.scenario === 'place-order')?.errors ?? null
fact(`orders answered: ${/^sagas: (.*)$/m.exec(loadOut)?.[1] ?? '(no load report)'}`)
result.unfinished = unfinished.length
if (unfinished.length === 0) fact('nothing lost: every saga of the run ended (completed, aborted or parked)')
else {
  fact(`${unfinished.length} sagas still unfinished at the end: ${unfinished.map((s) => s.sagaId).join(', ')}`)
  missing.push(`${unfinished.length} sagas unfinished`)
}
for (const m of missing) fact(`NOT SHOWN: ${m}`)

result.missing = missing
const lines = events.sort((a, b) => a.at - b.at).map((e) => e.text)
result.timeline = lines
console.log(`\n${name}: timeline`)
for (const line of lines) console.log(`  ${line}`)
console.log(`load report: ${out}/report.html`)
if (o.json) {
  mkdirSync(dirname(resolve(o.json)), { recursive: true })
  writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`)
}
await finish(missing.length === 0 ? 0 : 1)
