import { readFile } from 'node:fs/promises'
import type { ServiceProcess } from './supervisor.js'

interface BreakerView {
  name: string
  state: string
  failureRate: number
  slowCallRate: number
  calls: number
  msUntilProbe: number | null
  latency: { p50: number | null; p99: number | null }
  totals: { successes: number; failures: number; slowCalls: number; rejections: number }
}

export interface Snapshot {
  at: number
  /** `stale`: the process is up but did not answer this tick; its breakers, caches and sagas are the last it sent. */
  processes: (ReturnType<ServiceProcess['describe']> & { rssMb: number | null; stale: boolean })[]
  breakers: Record<string, unknown>[]
  caches: Record<string, unknown>[]
  sagas: Record<string, unknown> | null
}

const TIMELINE = 200

/** Per-second deltas of counters, keyed by what they count. */
export function rate(prev: { at: number; value: number } | undefined, at: number, value: number): number {
  if (prev === undefined || at <= prev.at || value < prev.value) return 0
  return Math.round((((value - prev.value) * 1000) / (at - prev.at)) * 10) / 10
}

/** hits / reads, null before the first read. */
export function ratio(hits: number, reads: number): number | null {
  return reads === 0 ? null : Math.round((hits / reads) * 1000) / 1000
}

/**
 * Reads every process once a second (/breakers, /caches, the coordinator's /sagas/feed, RSS from /proc) and
 * turns the counters into rates; `onSnapshot` gets each result (the SSE stream sends it as is).
 *
 * A process that is up but slow to answer (a loaded machine, a long GC) keeps what it last sent, marked
 * `stale`, rather than vanishing from the dashboard for a tick; each read may take up to three ticks.
 */
export function collector(processes: readonly ServiceProcess[], onSnapshot: (s: Snapshot) => void, everyMs = 1000) {
  const prev = new Map<string, { at: number; value: number }>()
  const timelines = new Map<string, { at: number; state: string }[]>()
  let last: Snapshot | undefined
  /** What each process last answered, by path: served again, marked stale, while it is up but silent. */
  const answered = new Map<ServiceProcess, Map<string, unknown>>()
  const fetchJson = async <T>(url: string): Promise<T | undefined> => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3 * everyMs) })
      return res.ok ? ((await res.json()) as T) : undefined
    } catch {
      return undefined
    }
  }
  const perSec = (key: string, at: number, value: number) => {
    const r = rate(prev.get(key), at, value)
    prev.set(key, { at, value })
    return r
  }
  async function tick() {
    const at = Date.now()
    const snap: Snapshot = { at, processes: [], breakers: [], caches: [], sagas: null }
    await Promise.all(
      processes.map(async (p) => {
        const id = `${p.name}${p.replica > 0 ? `#${p.replica}` : ''}`
        const up = p.status === 'ready'
        const pid = p.child?.pid
        if (!up) answered.delete(p)
        const last = answered.get(p) ?? new Map<string, unknown>()
        if (up) answered.set(p, last)
        // Silent: up, but some read got no answer and what it last answered there stands in.
        let silent = false
        const get = async <T>(path: string): Promise<T | undefined> => {
          const body = await fetchJson<T>(p.url + path)
          if (body !== undefined) last.set(path, body)
          else if (last.has(path)) silent = true
          return last.get(path) as T | undefined
        }
        const feeds = p.name === 'coordinator' && p.replica === 0 && up
        const [breakers, caches, feed, rssMb] = await Promise.all([
          up ? get<BreakerView[]>('/breakers') : undefined,
          up ? get<Record<string, Record<string, number>>>('/caches') : undefined,
          feeds ? get<{ totals: Record<string, number> } & Record<string, unknown>>('/sagas/feed') : undefined,
          pid === undefined ? null : rss(pid),
        ])
        snap.processes.push({ ...p.describe(), rssMb, stale: silent })
        for (const b of breakers ?? []) {
          const key = `${id}/${b.name}`
          const tl = timelines.get(key) ?? []
          if (tl.at(-1)?.state !== b.state) tl.push({ at, state: b.state })
          if (tl.length > TIMELINE) tl.shift()
          timelines.set(key, tl)
          snap.breakers.push({
            key,
            service: id,
            name: b.name,
            state: b.state,
            msUntilProbe: b.msUntilProbe,
            failureRate: b.failureRate,
            slowCallRate: b.slowCallRate,
            windowCalls: b.calls,
            perSec: {
              success: perSec(`${key}/s`, at, b.totals.successes),
              failure: perSec(`${key}/f`, at, b.totals.failures),
              slow: perSec(`${key}/sl`, at, b.totals.slowCalls),
              rejected: perSec(`${key}/r`, at, b.totals.rejections),
            },
            p50: b.latency.p50,
            p99: b.latency.p99,
            totals: b.totals,
            timeline: tl,
          })
        }
        for (const [name, s] of Object.entries(caches ?? {})) {
          const reads = (s.l1Hits ?? 0) + (s.l2Hits ?? 0) + (s.misses ?? 0)
          snap.caches.push({
            key: `${id}/${name}`,
            service: id,
            name,
            l1HitRatio: ratio(s.l1Hits ?? 0, reads),
            l2HitRatio: ratio(s.l2Hits ?? 0, reads - (s.l1Hits ?? 0)),
            readsPerSec: perSec(`${id}/${name}/reads`, at, reads),
            ...s,
          })
        }
        if (feed !== undefined)
          snap.sagas = {
            ...feed,
            stale: silent,
            completionsPerSec: perSec('sagas/completed', at, feed.totals.completed ?? 0),
            abortsPerSec: perSec('sagas/aborted', at, feed.totals.aborted ?? 0),
          }
      }),
    )
    const order = (a: { key?: unknown }, b: { key?: unknown }) => String(a.key).localeCompare(String(b.key))
    snap.breakers.sort(order)
    snap.caches.sort(order)
    snap.processes.sort((a, b) => `${a.name}${a.replica}`.localeCompare(`${b.name}${b.replica}`))
    last = snap
    onSnapshot(snap)
  }
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    void tick().finally(() => {
      running = false
    })
  }, everyMs)
  timer.unref()
  return { last: () => last, stop: () => clearInterval(timer) }
}

async function rss(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1]
    return kb === undefined ? null : Math.round(Number(kb) / 102.4) / 10
  } catch {
    return null
  }
}
