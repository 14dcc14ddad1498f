// `npm run example:demo -- payment-outage | slow-inventory | coordinator-crash | redis-down [--launcher URL]`
// Runs load on a shop, injects one fault, clears it, and prints a measured timeline from the launcher's
// /events. With no shop answering at --launcher it starts one (embedded, shorter open times) and stops it after.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const scenarios = {
  'payment-outage': {
    fault: { services: { payment: { errorRate: 100 } } },
    breaker: 'coordinator/payment',
    faultMs: 15_000,
  },
  'slow-inventory': {
    fault: { services: { inventory: { latency: { fixedMs: 2500 } } } },
    breaker: 'coordinator/inventory',
    faultMs: 15_000,
  },
  'coordinator-crash': { fault: { services: { coordinator: { process: 'kill' } } }, breaker: undefined, faultMs: 3000 },
  'redis-down': { fault: { redis: { cut: true } }, breaker: undefined, faultMs: 10_000 },
} as const
type Name = keyof typeof scenarios

const args = process.argv.slice(2)
const name = args.find((a) => !a.startsWith('--')) as Name | undefined
const flag = (f: string) => {
  const i = args.indexOf(f)
  return i >= 0 ? args[i + 1] : undefined
}
if (name === undefined || !(name in scenarios)) {
  console.error(
    `usage: example:demo -- ${Object.keys(scenarios).join(' | ')} [--launcher http://127.0.0.1:3000] [--rate 20]`,
  )
  process.exit(2)
}
const scenario = scenarios[name]
const root = resolve(import.meta.dirname, '../..')
const rate = flag('--rate') ?? '20'
let launcher = flag('--launcher') ?? 'http://127.0.0.1:3000'
let own: ChildProcess | undefined

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const json = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
  const res = await fetch(`${launcher}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as T }
}
const up = () =>
  fetch(`${launcher}/status`, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.ok,
    () => false,
  )

if (!(await up())) {
  const portBase = 3100
  launcher = `http://127.0.0.1:${portBase}`
  console.log(
    `no shop at ${flag('--launcher') ?? 'http://127.0.0.1:3000'}: starting one on ${launcher} (payment and inventory breakers open 10 s)`,
  )
  own = spawn(
    process.execPath,
    [
      join(root, 'dist/launcher/main.js'),
      '--port-base',
      String(portBase),
      '--data-dir',
      mkdtempSync(join(tmpdir(), 'shop-demo-')),
    ],
    {
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        EXAMPLE_CONFIG: JSON.stringify({
          breakerTable: { payment: { openDuration: '10s' }, inventory: { openDuration: '10s' } },
        }),
      },
      stdio: 'ignore',
    },
  )
  for (let i = 0; i < 600; i++) {
    const s = await json<{ services: { status: string }[] }>('GET', '/status').catch(() => undefined)
    if (s?.body.services.every((p) => p.status === 'ready')) break
    await sleep(250)
  }
}
if (name === 'redis-down' && !(await json<{ redis: boolean }>('GET', '/status')).body.redis) {
  console.error('redis-down needs a shop started with REDIS_URL')
  own?.kill('SIGTERM')
  process.exit(2)
}

// Follow /events: every snapshot, for the timeline.
interface Snap {
  at: number
  breakers: { key: string; state: string; totals: { rejections: number } }[]
  sagas: { totals: Record<string, number>; live: Record<string, number> } | null
  processes: { name: string; status: string; restarts: number }[]
}
const snaps: Snap[] = []
const ctl = new AbortController()
void (async () => {
  const res = await fetch(`${launcher}/events`, { signal: ctl.signal })
  let buf = ''
  for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
    buf += chunk
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 2)
      if (line.startsWith('data: ')) snaps.push(JSON.parse(line.slice(6)) as Snap)
    }
  }
})().catch(() => {})

const warmMs = 5000
const recoverMs = name === 'payment-outage' || name === 'slow-inventory' ? 25_000 : 10_000
const total = warmMs + scenario.faultMs + recoverMs
const load = spawn(
  process.execPath,
  [
    join(root, 'dist/scripts/load/main.js'),
    '--rate',
    rate,
    '--duration',
    `${Math.ceil(total / 1000)}s`,
    '--mix',
    'place-order:90,browse:10',
    '--launcher',
    launcher,
    '--out',
    join(root, '.data/demo', name),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
)
let loadOut = ''
load.stdout?.on('data', (d) => (loadOut += d))
const t0 = Date.now()
const t = (at: number) => `t=${((at - t0) / 1000).toFixed(1)}s`
// Each line with the instant it describes, printed in time order.
const events: { at: number; text: string }[] = []
const note = (at: number, text: string) => events.push({ at, text: `${t(at)} ${text}` })
const fact = (text: string) => events.push({ at: Number.POSITIVE_INFINITY, text })
await sleep(warmMs)
const faultAt = Date.now()
const applied = await json('POST', '/faults', scenario.fault)
note(faultAt, `fault injected: ${JSON.stringify(scenario.fault)} -> ${applied.status}`)
await sleep(scenario.faultMs)
const clearAt = Date.now()
await json('DELETE', '/faults')
note(clearAt, 'fault cleared')
await new Promise((r) => load.once('exit', r))
await sleep(2500) // the sagas in flight end; one more snapshot
ctl.abort()

// Measure from the snapshots.
const first = <T>(pred: (s: Snap) => T | undefined | false, from = 0) => {
  for (const s of snaps)
    if (s.at >= from) {
      const v = pred(s)
      if (v) return { at: s.at, v }
    }
  return undefined
}
const before = snaps.filter((s) => s.at <= faultAt).at(-1)
const totals = (s: Snap | undefined) => s?.sagas?.totals ?? {}
if (scenario.breaker) {
  const key = scenario.breaker
  const b = (s: Snap) => s.breakers.find((x) => x.key === key)
  const opened = first((s) => b(s)?.state === 'open', faultAt)
  const rej0 = (before && b(before)?.totals.rejections) ?? 0
  const fastFail = first((s) => (b(s)?.totals.rejections ?? 0) > rej0, faultAt)
  const closed = first((s) => b(s)?.state === 'closed', clearAt)
  if (opened) note(opened.at, `${key} OPEN (${opened.at - faultAt} ms after the fault)`)
  else fact(`${key} never opened`)
  if (fastFail) note(fastFail.at, `first call failed fast by ${key} (${fastFail.at - faultAt} ms after the fault)`)
  if (closed) note(closed.at, `${key} CLOSED again (${closed.at - clearAt} ms after the fault was cleared)`)
  else fact(`${key} not closed by the end of the run`)
}
if (name === 'coordinator-crash') {
  const down = first((s) => s.processes.find((p) => p.name === 'coordinator')?.status !== 'ready', faultAt)
  const back = down && first((s) => s.processes.find((p) => p.name === 'coordinator')?.status === 'ready', down.at)
  if (down) note(down.at, 'coordinator down')
  if (back)
    note(
      back.at,
      `coordinator ready again (${back.at - faultAt} ms after the kill; recover() drove the sagas it had in flight)`,
    )
}
const end = snaps.at(-1)
const d = (k: string) => (totals(end)[k] ?? 0) - (name === 'coordinator-crash' ? 0 : (totals(before)[k] ?? 0))
fact(
  `sagas${name === 'coordinator-crash' ? ' (since the restart)' : ' during the demo'}: ${d('started')} started, ${d('completed')} completed, ${d('aborted')} aborted with compensations (${d('compensated')} steps compensated), ${d('parked')} parked; live now: ${JSON.stringify(end?.sagas?.live ?? {})}`,
)
const sagaLine = /^sagas: (.*)$/m.exec(loadOut)?.[1]
fact(`orders answered: ${sagaLine ?? '(no load report)'}`)
const running = (end?.sagas?.live.running ?? 0) + (end?.sagas?.live.compensating ?? 0)
fact(
  running === 0
    ? 'nothing lost: every order answered, no saga left running'
    : `${running} sagas still running at the end`,
)
console.log(`\n${name}: timeline`)
for (const e of events.sort((a, b) => a.at - b.at)) console.log(`  ${e.text}`)
console.log(`load report: ${join(root, '.data/demo', name)}/report.html`)
if (own) {
  own.kill('SIGTERM')
  await new Promise((r) => own?.once('exit', r))
}
process.exit(0)
