import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ServiceProcess } from '../launcher/supervisor.js'

/** What a {@link fakeService} answers; change it while the test runs. */
export interface FakeState {
  delayMs: number
  failing: boolean
  breakers: unknown[]
  caches: Record<string, Record<string, number>>
  /** `/sagas/feed`'s totals (the coordinator's). */
  completed: number
}

/** One closed breaker's view as a service's /breakers sends it. */
export const closedBreaker = (name: string) => ({
  name,
  state: 'closed',
  failureRate: 0,
  slowCallRate: 0,
  calls: 1,
  msUntilProbe: null,
  latency: { p50: 1, p99: 2 },
  totals: { successes: 1, failures: 0, slowCalls: 0, rejections: 0 },
})

/**
 * A service stand-in over real HTTP for the launcher's collector and dashboard: /breakers, /caches and
 * /sagas/feed from `state`, after `delayMs`, or 500 while `failing`. `process` is what the supervisor would
 * hand the collector; set its `status` to move it between starting, ready and stopped.
 */
export async function fakeService(name: string, state: Partial<FakeState> = {}) {
  const s: FakeState = { delayMs: 0, failing: false, breakers: [], caches: {}, completed: 0, ...state }
  const server = http.createServer((req, res) => {
    setTimeout(() => {
      if (s.failing) {
        res.writeHead(500).end()
        return
      }
      const body =
        req.url === '/breakers'
          ? s.breakers
          : req.url === '/caches'
            ? s.caches
            : { totals: { completed: s.completed, aborted: 0 }, live: {}, recent: [], parked: [] }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }, s.delayMs)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const process = {
    name,
    replica: 0,
    status: 'ready' as ServiceProcess['status'],
    url,
    child: undefined,
    describe: () => ({ name, replica: 0, pid: null, url, status: process.status, restarts: 0 }),
  }
  return {
    state: s,
    process,
    close: () => {
      server.closeAllConnections()
      return new Promise((r) => server.close(r))
    },
  }
}
