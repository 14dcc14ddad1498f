/**
 * Run by memory.unit.spec.ts as `node --expose-gc --import tsx test/support/breaker-memory-probe.ts`: sends one
 * million calls through one breaker per window type (successes, failures, slow calls, rejections while
 * open) and prints the heap growth after full GCs, as JSON.
 */
import { circuitBreaker } from '../../src/breaker/index.js'
import type { Clock } from '../../src/core/clock.js'

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc')

let now = 0
const clock: Clock = {
  now: () => now,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as never),
}
const ok = () => 'ok'
const fail = () => Promise.reject(new Error('fail'))
const noop = () => {}

async function drive(breaker: ReturnType<typeof circuitBreaker>, calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) {
    now += 1
    // Every 5,000 calls, a burst of failures opens the circuit for a while; slow calls are sprinkled in.
    const fn = i % 5_000 < 60 ? fail : ok
    if (i % 97 === 0) now += 300
    await breaker.execute(fn).catch(noop)
  }
}

function heap(): number {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

const results: Record<string, { growthBytes: number; calls: number; opened: number }> = {}
for (const window of [{ type: 'count', size: 100 } as const, { type: 'time', duration: '10s', buckets: 10 } as const]) {
  const breaker = circuitBreaker({
    clock,
    window,
    minimumCalls: 20,
    slowCallDuration: 200,
    openDuration: 50,
    halfOpen: { permittedCalls: 1 },
  })
  let opened = 0
  breaker.on('stateChange', (_from, to) => {
    if (to === 'open') opened++
  })
  await drive(breaker, 50_000)
  const before = heap()
  await drive(breaker, 1_000_000)
  const after = heap()
  results[window.type] = {
    growthBytes: after - before,
    calls: breaker.metrics().totals.successes + breaker.metrics().totals.failures,
    opened,
  }
}
process.stdout.write(JSON.stringify(results))
