/**
 * The reconnecting watch's life cycle, driven by the fake clock and by stand-in connections that report
 * what a server would make them report (established, a commit, a failure) when the test says so.
 */
import { describe, expect, it } from 'vitest'
import { fakeClock } from '../../testing/fake-clock.js'
import { ReconnectingWatch, type WatchLink } from './reconnecting-watch.js'

const DELAY = 1_000

interface FakeConnection {
  link: WatchLink
  closed: boolean
}

function setup(options: { isUnsupported?: (error: unknown) => boolean } = {}) {
  const clock = fakeClock()
  const connections: FakeConnection[] = []
  const watch = new ReconnectingWatch({
    connect: (link) => {
      const connection: FakeConnection = { link, closed: false }
      connections.push(connection)
      return {
        async close() {
          connection.closed = true
        },
      }
    },
    clock,
    retryDelayMs: DELAY,
    ...options,
  })
  const wakes = { a: 0, b: 0 }
  const watchA = () => watch.add(() => wakes.a++)
  const watchB = () => watch.add(() => wakes.b++)
  const last = () => connections[connections.length - 1] as FakeConnection
  return { clock, connections, watch, wakes, watchA, watchB, last }
}

describe('ReconnectingWatch', () => {
  it('opens one connection with the first watcher, and wakes every watcher once it is established and on each commit', () => {
    const { connections, watch, wakes, watchA, watchB, last } = setup()
    expect(connections).toHaveLength(0)
    watchA()
    expect(connections).toHaveLength(1)
    expect(watch.state).toBe('open')
    watchB()
    expect(connections).toHaveLength(1)
    last().link.notify() // established
    last().link.notify() // a commit
    expect(wakes).toEqual({ a: 2, b: 2 })
    watch.notify() // this process's own append
    expect(wakes).toEqual({ a: 3, b: 3 })
  })

  it('closes the connection with the last watcher only, and opens a new one for the next first watcher', async () => {
    const { connections, watch, wakes, watchA, watchB, last } = setup()
    const stopA = watchA()
    const stopB = watchB()
    stopA()
    expect(last().closed).toBe(false)
    last().link.notify()
    expect(wakes).toEqual({ a: 0, b: 1 })
    stopB()
    expect(last().closed).toBe(true)
    expect(watch.state).toBe('idle')
    // The connection closed by the watch reports its end: nothing is re-opened, nobody is woken.
    last().link.lost()
    last().link.notify()
    expect(watch.state).toBe('idle')
    watchA()
    expect(connections).toHaveLength(2)
    expect(connections[0]?.closed).toBe(true)
    expect(last().closed).toBe(false)
  })

  it('re-opens after a failure once the retry delay has passed, not before, and ignores the failed connection', () => {
    const { clock, connections, watch, wakes, watchA, last } = setup()
    watchA()
    const failed = last()
    failed.link.lost(new Error('connection reset'))
    expect(failed.closed).toBe(true)
    expect(watch.state).toBe('waiting')
    clock.advance(DELAY - 1)
    expect(connections).toHaveLength(1)
    clock.advance(1)
    expect(connections).toHaveLength(2)
    expect(watch.state).toBe('open')
    failed.link.notify()
    failed.link.lost(new Error('late'))
    expect(wakes.a).toBe(0)
    expect(watch.state).toBe('open')
    last().link.notify() // back: everyone reads what was missed
    expect(wakes.a).toBe(1)
  })

  it('keeps trying, one delay apart, while the connection cannot be opened', () => {
    const { clock, connections, watchA, last } = setup()
    watchA()
    for (let attempt = 1; attempt <= 3; attempt++) {
      last().link.lost(new Error('refused'))
      clock.advance(DELAY)
      expect(connections).toHaveLength(attempt + 1)
    }
  })

  it('does not re-open when stopped or left by its last watcher while waiting to re-open', async () => {
    const stopped = setup()
    stopped.watchA()
    stopped.last().link.lost(new Error('reset'))
    await stopped.watch.stop()
    expect(stopped.clock.pendingTimers()).toBe(0)
    stopped.clock.advance(10 * DELAY)
    expect(stopped.connections).toHaveLength(1)
    expect(stopped.watch.state).toBe('idle')

    const left = setup()
    const stopA = left.watchA()
    left.last().link.lost(new Error('reset'))
    stopA()
    expect(left.clock.pendingTimers()).toBe(0)
    left.clock.advance(10 * DELAY)
    expect(left.connections).toHaveLength(1)
    expect(left.watch.state).toBe('idle')
  })

  it('closes a connection still being opened when stopped, and ignores what it reports afterwards', async () => {
    const { clock, connections, watch, wakes, watchA, last } = setup()
    watchA()
    await watch.stop()
    expect(last().closed).toBe(true)
    last().link.notify()
    last().link.lost(new Error('too late'))
    clock.advance(10 * DELAY)
    expect(connections).toHaveLength(1)
    expect(wakes.a).toBe(0)
    watchA()
    expect(connections).toHaveLength(1) // stopped for good
  })

  it('gives up for good after an error that says no connection can work, and still wakes on local appends', async () => {
    const unsupported = new Error('no change streams here')
    const { clock, connections, watch, wakes, watchA, last } = setup({ isUnsupported: (e) => e === unsupported })
    const stopA = watchA()
    last().link.lost(unsupported)
    expect(watch.state).toBe('unsupported')
    clock.advance(10 * DELAY)
    expect(connections).toHaveLength(1)
    watch.notify()
    expect(wakes.a).toBe(1)
    stopA()
    watchA()
    expect(connections).toHaveLength(1)
    expect(watch.state).toBe('unsupported')
  })

  it('without a way to connect, only wakes watchers on local appends', () => {
    const clock = fakeClock()
    const watch = new ReconnectingWatch({ connect: undefined, clock, retryDelayMs: DELAY })
    let wakes = 0
    watch.add(() => wakes++)
    expect(watch.state).toBe('idle')
    watch.notify()
    expect(wakes).toBe(1)
  })
})
