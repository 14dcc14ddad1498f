import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { controlApi } from '../launcher/control-api.js'
import { toServiceFaults, validateFaults } from '../launcher/fault-schema.js'
import { sampleLatency } from '../lib/faults.js'

describe('POST /faults validation', () => {
  it.each([
    [{ services: { payment: { errorRate: 101 } } }, '/services/payment/errorRate'],
    [{ services: { payment: { errorRate: -1 } } }, '/services/payment/errorRate'],
    [{ services: { payment: { errorRate: '50' } } }, '/services/payment/errorRate'],
    [{ services: { billing: { errorRate: 5 } } }, '/services'],
    [{ services: { payment: { latency: { fixedMs: 60_001 } } } }, '/services/payment/latency'],
    [{ services: { payment: { latency: { distribution: 'pareto', spreadMs: 5 } } } }, '/services/payment/latency'],
    [{ services: { payment: { process: 'explode' } } }, '/services/payment/process'],
    [{ gateway: { declineRate: 150 } }, '/gateway/declineRate'],
    [{ surprise: true }, '/'],
    [[], '/'],
  ])('refuses %j, naming %s', (body, path) => {
    const v = validateFaults(body, { redis: true })
    expect(v.ok).toBe(false)
    if (!v.ok) expect(v.errors.join(' ')).toContain(path)
  })

  it('refuses a Redis cut when the shop has no Redis', () => {
    expect(validateFaults({ redis: { cut: true } }, { redis: false })).toEqual({
      ok: false,
      errors: ['/redis: the shop runs without Redis (start it with REDIS_URL)'],
    })
    expect(validateFaults({ redis: { cut: true } }, { redis: true }).ok).toBe(true)
  })

  it('turns percent into the service fraction and flattens latency', () => {
    expect(toServiceFaults({ errorRate: 25, latency: { fixedMs: 300 }, hang: false })).toEqual({
      errorRate: 0.25,
      hang: false,
      latencyMs: 300,
      latencyDistribution: 'fixed',
      latencySpreadMs: 0,
    })
    expect(toServiceFaults({ latency: { distribution: 'uniform', baseMs: 100, spreadMs: 50 } })).toEqual({
      latencyMs: 100,
      latencyDistribution: 'uniform',
      latencySpreadMs: 50,
    })
  })

  it('samples each latency distribution from its parameters', () => {
    const f = { latencyMs: 100, errorRate: 0, latencySpreadMs: 50 }
    expect(sampleLatency({ ...f, latencyDistribution: 'fixed' }, () => 0.9)).toBe(100)
    expect(sampleLatency({ ...f, latencyDistribution: 'uniform' }, () => 0.5)).toBe(125)
    // exponential: 100 - ln(1 - 0.5) * 50
    expect(sampleLatency({ ...f, latencyDistribution: 'exponential' }, () => 0.5)).toBeCloseTo(100 + Math.LN2 * 50, 6)
    // normal with u1 = 1 - e^-0.5 (z = cos(2*pi*0) = 1 at u2 = 0): mean + 1 sd
    const draws = [1 - Math.exp(-0.5), 0]
    expect(sampleLatency({ ...f, latencyDistribution: 'normal' }, () => draws.shift()!)).toBeCloseTo(150, 6)
  })
})

describe('the launcher fault API over HTTP', () => {
  let server: http.Server
  let base: string
  const start = async (token: string | undefined) => {
    const api = controlApi({
      processes: [],
      urls: {},
      host: token ? '0.0.0.0' : '127.0.0.1',
      self: 'http://127.0.0.1:1',
      token,
      redis: undefined,
      gatewayDefaults: { latencyMs: 5, errorRate: 0 },
    })
    const s = http.createServer(async (req, res) => {
      if (!(await api.handle(req, res, new URL(req.url ?? '/', 'http://x')))) res.writeHead(404).end()
    })
    s.on('close', () => api.close())
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    return s
  }
  beforeAll(async () => {
    server = await start(undefined)
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => server.close())

  it('answers bad values with 400 problem+json and changes nothing', async () => {
    const before = await (await fetch(`${base}/faults`)).json()
    for (const body of ['{"services":{"payment":{"errorRate":500}}}', 'not json', '{"redis":{"cut":true}}']) {
      const res = await fetch(`${base}/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(((await res.json()) as { type: string }).type).toBe('validation')
    }
    expect(await (await fetch(`${base}/faults`)).json()).toEqual(before)
  })

  it('bound beyond loopback, refuses requests without the token', async () => {
    const guarded = await start('s3cret-token')
    const url = `http://127.0.0.1:${(guarded.address() as AddressInfo).port}`
    try {
      expect((await fetch(`${url}/faults`)).status).toBe(401)
      expect(
        (await fetch(`${url}/faults`, { method: 'DELETE', headers: { authorization: 'Bearer wrong-token!' } })).status,
      ).toBe(401)
      expect((await fetch(`${url}/processes/payment/0/kill`, { method: 'POST' })).status).toBe(401)
      expect((await fetch(`${url}/faults`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200)
      // The page itself loads without it (it reads the token from its own URL).
      expect((await fetch(`${url}/`)).status).toBe(200)
    } finally {
      guarded.close()
    }
  })
})
