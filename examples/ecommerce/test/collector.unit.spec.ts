import { afterEach, describe, expect, it } from 'vitest'
import { collector, type Snapshot } from '../launcher/collector.js'
import type { ServiceProcess } from '../launcher/supervisor.js'
import { closedBreaker, fakeService } from './fake-service.js'

const fakeCoordinator = () => fakeService('coordinator', { breakers: [closedBreaker('payment')] })

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
    expect(silent.breakers).toMatchObject([{ key: 'coordinator/payment', state: 'closed' }])

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
