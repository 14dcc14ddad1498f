import { describe, expect, it } from 'vitest'
import {
  checkSlo,
  hitRatioDelta,
  overTime,
  parseDuration,
  parseMix,
  parseSlo,
  percentiles,
  type Sample,
  summarize,
} from '../scripts/load/report.js'

const at = (t: number, latencyMs: number, status = 200, scenario = 'browse'): Sample => ({
  t,
  latencyMs,
  status,
  scenario,
})

describe('load report arithmetic', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i) // 1..100, unsorted
    expect(percentiles(values)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 })
    expect(percentiles([7])).toEqual({ count: 1, p50: 7, p90: 7, p99: 7, max: 7 })
    expect(percentiles([])).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null })
  })

  it('buckets latency and errors per second, empty seconds included', () => {
    const b = overTime([at(100, 10), at(900, 30), at(2500, 50, 503), at(2999, 70, 0)], 3000)
    expect(b.map((x) => [x.t, x.count, x.p50, x.errors])).toEqual([
      [0, 2, 10, 0],
      [1, 0, null, 0],
      [2, 2, 50, 2],
    ])
  })

  it('summarizes per scenario and overall: ok, errors by class, rate', () => {
    const s = summarize(
      [
        at(0, 5),
        at(10, 15, 404),
        at(20, 25, 500, 'place-order'),
        at(30, 35, 0, 'place-order'),
        at(40, 45, 201, 'place-order'),
      ],
      2000,
    )
    const all = s.find((r) => r.scenario === 'all')!
    expect(all).toMatchObject({ count: 5, ok: 2, errors: { '4xx': 1, '5xx': 1, error: 1 }, perSecond: 2.5, p50: 25 })
    expect(s.find((r) => r.scenario === 'place-order')).toMatchObject({ count: 3, ok: 1, perSecond: 1.5 })
  })

  it('checks objectives against the overall row', () => {
    const all = summarize([at(0, 100), at(0, 200), at(0, 600, 500)], 1000).find((r) => r.scenario === 'all')!
    expect(checkSlo(parseSlo('p99<500ms,p50<300ms,errors<50%'), all)).toEqual([
      { slo: 'p99<500ms', value: 600, met: false },
      { slo: 'p50<300ms', value: 200, met: true },
      { slo: 'errors<50%', value: 1 / 3, met: true },
    ])
    expect(parseSlo('p90<1.5s')[0]).toMatchObject({ metric: 'p90', limit: 1500 })
    expect(() => parseSlo('p42<1ms')).toThrow(/--slo/)
  })

  it('normalises the mix and reads durations', () => {
    expect(parseMix('place-order:80,browse:15,update-product:5', ['place-order', 'browse', 'update-product'])).toEqual({
      'place-order': 0.8,
      browse: 0.15,
      'update-product': 0.05,
    })
    expect(() => parseMix('checkout:1', ['browse'])).toThrow(/--mix/)
    expect(() => parseMix('browse:0', ['browse'])).toThrow(/more than 0/)
    expect([parseDuration('60s'), parseDuration('2m'), parseDuration('250ms')]).toEqual([60_000, 120_000, 250])
    expect(() => parseDuration('60')).toThrow(/--duration/)
  })

  it('measures cache hit ratios over the run only', () => {
    expect(hitRatioDelta({ l1Hits: 10, l2Hits: 0, misses: 10 }, { l1Hits: 40, l2Hits: 5, misses: 15 })).toEqual({
      reads: 40,
      l1HitRatio: 0.75,
      l2HitRatio: 0.5,
    })
    expect(hitRatioDelta(undefined, { l1Hits: 0, l2Hits: 0, misses: 0 })).toEqual({
      reads: 0,
      l1HitRatio: null,
      l2HitRatio: null,
    })
  })
})
