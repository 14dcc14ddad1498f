// Places orders against a running shop (each worker one order at a time, following a 202 to the saga's end)
// and reports completed place-order sagas per second.
//   node dist/scripts/load.js --url http://127.0.0.1:3001 --orders 300 --concurrency 16
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { request } from 'undici'

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3001' },
    orders: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '16' },
  },
})
const total = Number(values.orders)
const concurrency = Number(values.concurrency)
const url = `${values.url}/orders`
let next = 0
const counts: Record<string, number> = {}

async function worker() {
  while (next < total) {
    const i = next++
    const sku = `sku-${String(1 + (i % 5000)).padStart(5, '0')}`
    const customerId = `cust-${String(1 + (i % 1000)).padStart(4, '0')}`
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `load-${randomUUID()}` },
      body: JSON.stringify({ customerId, items: [{ sku, quantity: 1 }] }),
    })
    let body = (await res.body.json()) as { status?: string; sagaId?: string }
    // 202: the saga goes on; follow it to its end, so the rate counts sagas finished, not requests answered.
    while (res.statusCode === 202 && (body.status === 'running' || body.status === 'compensating')) {
      await new Promise((r) => setTimeout(r, 100))
      body = (await (await request(`${values.url}/sagas/${body.sagaId}`)).body.json()) as typeof body
    }
    counts[body.status ?? `HTTP ${res.statusCode}`] = (counts[body.status ?? `HTTP ${res.statusCode}`] ?? 0) + 1
  }
}

const t0 = performance.now()
await Promise.all(Array.from({ length: concurrency }, worker))
const seconds = (performance.now() - t0) / 1000
const completed = counts.completed ?? 0
console.log(JSON.stringify({ orders: total, concurrency, seconds: Number(seconds.toFixed(2)), outcomes: counts }))
console.log(`${(completed / seconds).toFixed(1)} completed place-order sagas/s`)
