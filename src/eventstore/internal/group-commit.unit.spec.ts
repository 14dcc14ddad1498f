import { describe, expect, it } from 'vitest'
import { GroupCommit, type Outcome } from './group-commit.js'

/** A round function the test finishes by hand, recording the rounds it was given. */
function controlledRounds() {
  const rounds: number[][] = []
  const finish: ((outcomes: Outcome<string>[] | Error) => void)[] = []
  let running = 0
  let overlapped = false
  const runRound = (items: readonly number[]) => {
    rounds.push([...items])
    if (++running > 1) overlapped = true
    return new Promise<Outcome<string>[]>((resolve, reject) => {
      finish.push((outcomes) => {
        running--
        if (outcomes instanceof Error) reject(outcomes)
        else resolve(outcomes)
      })
    })
  }
  const ok = (items: readonly number[]) => items.map((i): Outcome<string> => ({ ok: true, value: `v${i}` }))
  return { rounds, finish, runRound, ok, overlapped: () => overlapped }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('GroupCommit', () => {
  it('puts what is submitted in one tick in one round, and settles each item with its own outcome', async () => {
    const c = controlledRounds()
    const queue = new GroupCommit({ runRound: c.runRound, maxRound: 10 })
    const settled = Promise.allSettled([1, 2, 3].map((i) => queue.submit(i)))
    await tick()
    expect(c.rounds).toEqual([[1, 2, 3]])
    c.finish[0]?.([
      { ok: true, value: 'one' },
      { ok: false, error: new Error('two failed alone') },
      { ok: true, value: 'three' },
    ])
    expect((await settled).map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([
      'one',
      'two failed alone',
      'three',
    ])
  })

  it('runs one round at a time: what arrives meanwhile is the next round, at most maxRound each', async () => {
    const c = controlledRounds()
    const queue = new GroupCommit({ runRound: c.runRound, maxRound: 2 })
    const first = queue.submit(1)
    await tick()
    const later = [2, 3, 4].map((i) => queue.submit(i))
    await tick()
    expect(c.rounds).toEqual([[1]])
    c.finish[0]?.(c.ok([1]))
    expect(await first).toBe('v1')
    await tick()
    expect(c.rounds).toEqual([[1], [2, 3]])
    c.finish[1]?.(c.ok([2, 3]))
    await tick()
    expect(c.rounds).toEqual([[1], [2, 3], [4]])
    c.finish[2]?.(c.ok([4]))
    expect(await Promise.all(later)).toEqual(['v2', 'v3', 'v4'])
    expect(c.overlapped()).toBe(false)
  })

  it('a round that fails rejects all of its items; the next round proceeds; idle() waits for both', async () => {
    const c = controlledRounds()
    const queue = new GroupCommit({ runRound: c.runRound, maxRound: 10 })
    const doomed = [1, 2].map((i) => queue.submit(i).catch((e: Error) => e.message))
    await tick()
    const next = queue.submit(3)
    let idle = false
    void queue.idle().then(() => {
      idle = true
    })
    c.finish[0]?.(new Error('connection lost'))
    expect(await Promise.all(doomed)).toEqual(['connection lost', 'connection lost'])
    await tick()
    expect(c.rounds).toEqual([[1, 2], [3]])
    expect(idle).toBe(false)
    c.finish[1]?.(c.ok([3]))
    expect(await next).toBe('v3')
    await queue.idle()
    expect(idle).toBe(true)
  })
})
