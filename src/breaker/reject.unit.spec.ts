import { describe, expect, it } from 'vitest'
import { Rejection } from './reject.js'

describe('Rejection', () => {
  it('gives every caller its own promise rejecting with the same error', async () => {
    const error = new Error('open')
    const rejection = new Rejection(error)
    const a = rejection.reject()
    const b = rejection.reject()
    expect(a).not.toBe(b)
    await expect(a).rejects.toBe(error)
    await expect(b).rejects.toBe(error)
    expect(rejection.error).toBe(error)
  })

  it('rejects only after the caller attached its handler (one microtask later)', async () => {
    const rejection = new Rejection(new Error('open'))
    let settled = false
    const p = rejection.reject()
    p.catch(() => {
      settled = true
    })
    expect(settled).toBe(false)
    await p.catch(() => {})
    expect(settled).toBe(true)
  })
})
