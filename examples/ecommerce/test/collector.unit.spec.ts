import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { collector, type Snapshot } from '../launcher/collector.js'
import type { ServiceProcess } from '../launcher/supervisor.js'

/** A coordinator stand-in over real HTTP: answers after `delayMs`, or 500 once `failing` is set. */
async function fakeCoordinator() {
  const state = { delayMs: 0, failing: false, completed: 0 }
  const server = http.createServer((req, res) => {
    setTimeout(() => {
      if (state.failing) {
        res.writeHead(500).end()
        return
      }
      const body =
        req.url === '/breakers'
          ? [
              {
                name: 'payment',
                state: 'CLOSED',
                failureRate: 0,
                slowCallRate: 0,
                calls: 1,
                msUntilProbe: null,
                latency: { p50: 1, p99: 2 },
                totals: { successes: 1, failures: 0, slowCalls: 0, rejections: 0 },
              },
            ]
          : req.url === '/caches'
            ? {}
            : { totals: { completed: state.completed, aborted: 0 }, live: {}, recent: [], parked: [] }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }, state.delayMs)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const process = {
    name: 'coordinator',
    replica: 0,
    status: 'ready',
    url,
    child: undefined,
    describe: () => ({ name: 'coordinator', replica: 0, pid: null, url, status: process.status, restarts: 0 }),
  }
  return { state, process, close: () => new Promise((r) => server.close(r)) }
}

describe('the dashboard collector', () => {
  const cleanup: (() => unknown)[] = []
  afterEach(async () => {
    for (const f of cleanup.splice(0)) await f()
  })
  const collect = (processes: unknown[], everyMs: number) => {
    const snaps: Snapshot[] = []
    const c = collector(processes as ServiceProcess[], (s) => snaps.push(s), everyMs)
    cleanup.push(c.stop)
    return snaps
  }
  const until = async (snaps: Snapshot[], ok: (s: Snapshot) => boolean, timeoutMs = 5000) => {
    const end = Date.now() + timeoutMs
    for (;;) {
      const s = snaps.at(-1)
      if (s !== undefined && ok(s)) return s
      if (Date.now() > end) throw new Error(`no such snapshot in ${timeoutMs} ms; last: ${JSON.stringify(s)}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  it('waits for a coordinator slower than one tick instead of showing it as down', async () => {
    const coordinator = await fakeCoordinator()
    cleanup.push(coordinator.close)
    coordinator.state.delayMs = 150 // one tick is 100 ms
    coordinator.state.completed = 3
    const snaps = collect([coordinator.process], 100)
    const s = await until(snaps, () => true)
    expect(s.sagas).toMatchObject({ totals: { completed: 3 }, stale: false })
    expect(s.breakers).toHaveLength(1)
  })

  it('keeps what an up process last sent, marked stale, while it does not answer; drops it once it is down', async () => {
    const coordinator = await fakeCoordinator()
    cleanup.push(coordinator.close)
    coordinator.state.completed = 5
    const snaps = collect([coordinator.process], 50)
    await until(snaps, (s) => s.sagas !== null)

    coordinator.state.failing = true
    const silent = await until(snaps, (s) => s.processes[0]?.stale === true)
    expect(silent.sagas).toMatchObject({ totals: { completed: 5 }, stale: true })
    expect(silent.breakers).toMatchObject([{ key: 'coordinator/payment', state: 'CLOSED' }])

    coordinator.state.failing = false
    coordinator.state.completed = 6
    const back = await until(snaps, (s) => s.processes[0]?.stale === false)
    expect(back.sagas).toMatchObject({ totals: { completed: 6 }, stale: false })

    coordinator.process.status = 'stopped'
    const down = await until(snaps, (s) => s.processes[0]?.status === 'stopped')
    expect(down.sagas).toBeNull()
    expect(down.breakers).toEqual([])
  })
})
