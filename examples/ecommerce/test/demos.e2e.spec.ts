import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedisServer } from '../../../test/support/redis-server.js'
import { freePortRange } from './stack.js'

const demo = resolve(import.meta.dirname, '../dist/scripts/demo.js')
const noServers = { REDIS_URL: '', DATABASE_URL: '', MONGODB_URI: '', STACK_PREFIX: '' }

interface DemoResult {
  scenario: string
  breaker?: { key: string; opened_ms: number | null; first_fast_fail_ms: number | null; closed_ms: number | null }
  coordinator?: {
    down_ms: number | null
    ready_ms: number | null
    in_flight_at_kill: number
    their_end: Record<string, number>
  }
  redis?: {
    first_l2_error_ms: number | null
    l2_errors: number
    last_l2_error_ms_after_clear: number | null
    orders_completed_during_cut: number
  }
  sagas: Record<'started' | 'completed' | 'aborted' | 'compensated' | 'parked', number>
  order_errors: Record<string, number> | null
  unfinished: number
  missing: string[]
  timeline: string[]
}

/** Runs `npm run example:demo -- <scenario>` on free ports (it starts its own shop there) with short phases. */
async function runDemo(scenario: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'shop-demo-test-'))
  const portBase = await freePortRange(7)
  const child = spawn(
    process.execPath,
    [demo, scenario, '--port-base', String(portBase), '--out', dir, '--json', join(dir, 'demo.json'), ...args],
    { env: { ...process.env, ...noServers, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const code = await new Promise<number | null>((r) => child.once('exit', r))
  try {
    const result = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')) as DemoResult
    return { code, output, result, portBase }
  } catch {
    throw new Error(`the demo wrote no result (exit ${code}):\n${output}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const timeline = (r: DemoResult) => r.timeline.join('\n')

// Each demo scenario end to end: its own shop on free ports, load, the fault, its clearing, and the facts
// the printed timeline claims, read back from the JSON it writes.
describe('npm run example:demo', () => {
  it('payment-outage: the payment breaker opens, sagas fail fast and compensate, it closes again, nothing lost', async () => {
    const { code, output, result } = await runDemo('payment-outage', [
      ...['--rate', '10', '--warm', '2s', '--fault', '5s', '--recover', '8s', '--open', '2s'],
    ])
    expect(result.missing, output).toEqual([])
    expect(code).toBe(0)
    const b = result.breaker!
    expect(b.key).toBe('coordinator/payment')
    expect(b.opened_ms).not.toBeNull()
    expect(b.opened_ms!).toBeLessThan(5000)
    expect(b.first_fast_fail_ms).not.toBeNull()
    expect(b.closed_ms).not.toBeNull()
    expect(result.sagas.aborted).toBeGreaterThan(0)
    // Each aborted saga undid what it had done: at least the order it created.
    expect(result.sagas.compensated).toBeGreaterThanOrEqual(result.sagas.aborted)
    expect(result.sagas.completed).toBeGreaterThan(0)
    expect(result.unfinished).toBe(0)
    expect(result.order_errors?.error ?? 0).toBe(0) // every order got an answer
    expect(timeline(result)).toMatch(/coordinator\/payment OPEN \(\d+ ms after the fault\)/)
    expect(timeline(result)).toMatch(/coordinator\/payment CLOSED again/)
    expect(timeline(result)).toContain('nothing lost')
    expect(output).toContain('payment-outage: timeline')
  })

  it('slow-inventory: slow calls (none failing) open the inventory breaker; it closes once the latency is gone', async () => {
    const { code, output, result } = await runDemo('slow-inventory', [
      // A 5 s slow-call window: the warm-up's fast calls have left it ~5 s into the fault.
      ...['--rate', '10', '--warm', '2s', '--fault', '10s', '--recover', '10s', '--open', '2s', '--window', '5s'],
    ])
    expect(result.missing, output).toEqual([])
    expect(code).toBe(0)
    const b = result.breaker!
    expect(b.key).toBe('coordinator/inventory')
    // 2.5 s answers: nothing is slow before 2 s (the slow-call threshold) have passed.
    expect(b.opened_ms!).toBeGreaterThan(2000)
    expect(b.first_fast_fail_ms).not.toBeNull()
    expect(b.closed_ms).not.toBeNull()
    expect(result.unfinished).toBe(0)
    expect(timeline(result)).toMatch(/coordinator\/inventory OPEN/)
  })

  it('coordinator-crash: sagas in flight at the SIGKILL all end after the restart, nothing lost', async () => {
    const { code, output, result } = await runDemo('coordinator-crash', [
      ...['--rate', '10', '--warm', '3s', '--fault', '3s', '--recover', '6s'],
    ])
    expect(result.missing, output).toEqual([])
    expect(code).toBe(0)
    const c = result.coordinator!
    expect(c.in_flight_at_kill).toBeGreaterThan(0)
    const ended = (c.their_end.completed ?? 0) + (c.their_end.aborted ?? 0) + (c.their_end.parked ?? 0)
    expect(ended).toBe(c.in_flight_at_kill)
    expect(c.down_ms).not.toBeNull()
    expect(c.ready_ms!).toBeGreaterThan(c.down_ms!)
    expect(result.unfinished).toBe(0)
    expect(timeline(result)).toMatch(/coordinator SIGKILLed with \d+ sagas in flight/)
  })

  describe('redis-down', () => {
    // A Redis of its own: the demo's shop reaches it through the launcher's relay, which the fault cuts.
    let redis: RedisServer
    beforeAll(async () => {
      redis = await startRedisServer()
    })
    afterAll(async () => {
      await redis?.close()
    })

    it('the caches count Redis errors while it is cut, orders still complete, errors stop after, nothing lost', async () => {
      const { code, output, result } = await runDemo(
        'redis-down',
        ['--rate', '10', '--warm', '3s', '--fault', '5s', '--recover', '10s'],
        { REDIS_URL: redis.url },
      )
      expect(result.missing, output).toEqual([])
      expect(code).toBe(0)
      const r = result.redis!
      expect(r.first_l2_error_ms).not.toBeNull()
      expect(r.l2_errors).toBeGreaterThan(0)
      expect(r.orders_completed_during_cut).toBeGreaterThan(0)
      expect(result.sagas.aborted).toBe(0)
      expect(result.unfinished).toBe(0)
      expect(output).toContain(`Redis ${redis.url}`)
    })
  })

  it('refuses a bad --port-base with its usage, before starting anything', async () => {
    const child = spawn(process.execPath, [demo, 'payment-outage', '--port-base', 'abc'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    expect(await new Promise((r) => child.once('exit', r))).toBe(2)
    expect(err).toContain('--port-base must be a port number, got abc')
    expect(err).toContain('usage: npm run example:demo')
  })
})
