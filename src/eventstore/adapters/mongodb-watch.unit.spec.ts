/**
 * The change-stream watch's states, driven by a stand-in for the driver's ChangeStream (an emitter with
 * `close()`, as the driver's is) and the fake clock: what a server would make the stream do is emitted
 * by hand.
 */
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { fakeClock } from '../../testing/fake-clock.js'
import { MongoReplicaSetRequiredError } from './mongodb-errors.js'
import { MongoWatch } from './mongodb-watch.js'

class FakeChangeStream extends EventEmitter {
  closed = false
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.emit('close')
  }
}

function setup(ready: () => Promise<void> = async () => {}) {
  const clock = fakeClock()
  const streams: FakeChangeStream[] = []
  const counters = {
    watch: () => {
      const stream = new FakeChangeStream()
      streams.push(stream)
      return stream as never
    },
  }
  const watch = new MongoWatch({ counters, clock, retryDelayMs: 1_000, ready })
  let wakes = 0
  const stop = watch.add(() => {
    wakes++
  })
  return { clock, streams, watch, stop, wakes: () => wakes }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('MongoWatch', () => {
  it('opens one change stream, and wakes watchers on each change', async () => {
    const { streams, watch, wakes } = setup()
    await settle()
    expect(watch.state).toBe('open')
    expect(streams).toHaveLength(1)
    streams[0]?.emit('resumeTokenChanged')
    streams[0]?.emit('change', {})
    streams[0]?.emit('change', {})
    expect(wakes()).toBe(3)
  })

  it.each([
    ['an invalidate (the stream closes without an error)', (s: FakeChangeStream) => s.emit('close')],
    ['an error', (s: FakeChangeStream) => s.emit('error', new Error('interrupted'))],
  ])('re-opens after %s, once the retry delay has passed, and wakes everyone', async (_label, end) => {
    const { clock, streams, watch, wakes } = setup()
    await settle()
    end(streams[0] as FakeChangeStream)
    expect(watch.state).toBe('waiting')
    clock.advance(999)
    expect(streams).toHaveLength(1)
    clock.advance(1)
    await settle()
    expect(watch.state).toBe('open')
    expect(streams).toHaveLength(2)
    streams[1]?.emit('resumeTokenChanged')
    expect(wakes()).toBe(1)
    streams[1]?.emit('change', {})
    expect(wakes()).toBe(2)
  })

  it('does not re-open a stream it closed itself when the last watcher left', async () => {
    const { clock, streams, watch, stop } = setup()
    await settle()
    stop()
    await settle()
    expect(streams[0]?.closed).toBe(true)
    expect(watch.state).toBe('idle')
    clock.advance(10_000)
    expect(streams).toHaveLength(1)
  })

  it('gives up for good on a standalone server instead of failing every second', async () => {
    const { clock, streams, watch } = setup(async () => {
      throw new MongoReplicaSetRequiredError()
    })
    await settle()
    expect(watch.state).toBe('unsupported')
    clock.advance(60_000)
    await settle()
    expect(streams).toHaveLength(0)
    watch.notify() // local appends still wake watchers
  })

  it('retries the server check when it failed for another reason', async () => {
    let calls = 0
    const { clock, streams, watch } = setup(async () => {
      if (++calls === 1) throw new Error('server selection timed out')
    })
    await settle()
    expect(watch.state).toBe('waiting')
    clock.advance(1_000)
    await settle()
    expect(watch.state).toBe('open')
    expect(streams).toHaveLength(1)
  })

  it('stops: closes the stream and cancels a pending re-open', async () => {
    const { clock, streams, watch } = setup()
    await settle()
    streams[0]?.emit('close')
    await watch.stop()
    clock.advance(5_000)
    await settle()
    expect(streams).toHaveLength(1)
    expect(watch.state).toBe('idle')
  })
})
