import { describe, expect, it } from 'vitest'
import { isBulwarkError } from '../core/errors.js'
import { crashPoints } from './crash-points.js'

function run(seed: number, probability: number, calls = 1_000): string[] {
  const crashes: string[] = []
  const points = crashPoints({ probability, seed, kill: () => void 0 })
  for (let i = 0; i < calls; i++) {
    try {
      points.maybeCrash(`p${i}`)
    } catch (error) {
      expect(isBulwarkError(error, 'E_CRASH_POINT')).toBe(true)
      crashes.push(`p${i}`)
    }
  }
  return crashes
}

describe('crashPoints', () => {
  it('crashes at seeded, reproducible points, at about the configured rate', () => {
    const a = run(42, 0.05)
    expect(run(42, 0.05)).toEqual(a)
    expect(run(43, 0.05)).not.toEqual(a)
    expect(a.length).toBeGreaterThan(25)
    expect(a.length).toBeLessThan(80)
    expect(run(1, 0)).toEqual([])
    expect(run(1, 1, 10)).toHaveLength(10)
  })

  it('calls kill with the label; if kill returns, the code after the point does not run', () => {
    const killed: string[] = []
    const points = crashPoints({ probability: { 'after-charge': 1 }, kill: (label) => void killed.push(label) })
    points.maybeCrash('before-charge')
    expect(() => points.maybeCrash('after-charge')).toThrowError('Crashed at "after-charge"')
    expect(killed).toEqual(['after-charge'])
    expect(points.counts.get('before-charge')).toBe(1)
  })

  it('spares the first `after` calls and can be disabled', () => {
    const points = crashPoints({ probability: 1, after: 2, kill: () => undefined })
    points.maybeCrash('a')
    points.maybeCrash('b')
    expect(() => points.maybeCrash('c')).toThrowError()
    points.disable()
    points.maybeCrash('d')
    points.enable()
    expect(() => points.maybeCrash('e')).toThrowError()
  })

  it('rejects bad options naming them', () => {
    expect(() => crashPoints({ probability: 1.5 })).toThrowError(
      'Expected `probability` to be a number in [0, 1], got 1.5',
    )
    expect(() => crashPoints({ probability: { x: -1 } })).toThrowError(/probability\.x/)
    expect(() => crashPoints({ probability: 0.1, seed: 1.5 })).toThrowError(/`seed`/)
    expect(() => crashPoints({ probability: 0.1, kill: 'now' as never })).toThrowError(/`kill`/)
  })
})
