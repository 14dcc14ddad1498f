/**
 * The change-stream watch's states, driven by a stand-in for the driver's ChangeStream (an emitter with
 * `close()`, as the driver's is) and the fake clock: what a server would make the stream do is emitted
 * by hand.
 */
import { EventEmitter } from 'node:events'
import type { ChangeStream, Collection, Document } from 'mongodb'
import { describe, expect, it } from 'vitest'
import { mongoDrivers } from '../../../test/support/mongodb-drivers.js'
import { fakeClock } from '../../testing/fake-clock.js'
import type { CounterDocument } from './mongodb-documents.js'
import { MongoReplicaSetRequiredError } from './mongodb-errors.js'
import { MongoWatch } from './mongodb-watch.js'

class FakeChangeStream extends EventEmitter {
  closed = false
  /** Calls of close(): the driver's close() closes the stream's current cursor each time it is called. */
  closeCalls = 0
  async close(): Promise<void> {
    this.closeCalls++
    if (this.closed) return
    this.closed = true
    this.emit('close')
  }
  /** What the driver does when it closes the stream's cursor itself (an invalidate, a resume): 'close', once. */
  cursorClosed(): void {
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

  // The driver resumes after a resumable error by closing its cursor, which the ChangeStream passes on as
  // 'close', and then, once a server is selected, starts a new cursor without checking whether the stream
  // was closed meanwhile (change_stream.js _processErrorStreamMode/_resume, drivers 6.8 and 7.9). The
  // watch closes the stream on that 'close'; the new cursor then runs on a closed stream, and shows itself
  // by the resume tokens of its batches.
  it('closes again a stream it gave up when the driver resumed it all the same (no cursor left running)', async () => {
    const { clock, streams, watch, wakes } = setup()
    await settle()
    streams[0]?.emit('resumeTokenChanged')
    expect(wakes()).toBe(1)
    streams[0]?.cursorClosed() // the old cursor, closed by the driver's resume
    expect(streams[0]?.closeCalls).toBe(1)
    expect(watch.state).toBe('waiting')
    streams[0]?.emit('resumeTokenChanged') // the cursor the resume started on the closed stream
    await settle()
    expect(streams[0]?.closeCalls).toBe(2)
    expect(wakes()).toBe(1)
    clock.advance(1_000)
    await settle()
    expect(watch.state).toBe('open')
    streams[1]?.emit('resumeTokenChanged')
    await settle()
    expect(streams[1]?.closeCalls).toBe(0) // the stream in use is left alone
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

// The driver's own ChangeStream, of each supported major, on a client whose server never answers: its
// events (the cursor's 'close', then 'error') and its close() are what the states above assume.
describe.each(mongoDrivers)('MongoWatch on the ChangeStream of $name (no server)', (driver) => {
  function setupReal() {
    const client = driver.client('mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100&connectTimeoutMS=100')
    const collection = client.db('watch_test').collection<CounterDocument>('counters')
    const streams: ChangeStream<CounterDocument>[] = []
    const counters = {
      watch: (pipeline: Document[]) => {
        const stream = collection.watch(pipeline)
        streams.push(stream)
        return stream
      },
    } as Pick<Collection<CounterDocument>, 'watch'>
    const clock = fakeClock()
    const watch = new MongoWatch({ counters, clock, retryDelayMs: 1_000, ready: async () => {} })
    const until = async (state: MongoWatch['state']) => {
      for (let i = 0; i < 200 && watch.state !== state; i++) await new Promise((r) => setTimeout(r, 10))
      expect(watch.state).toBe(state)
    }
    return { client, streams, clock, watch, until }
  }

  it('waits after the stream fails, and opens a new real stream after the delay', async () => {
    const { client, streams, clock, watch, until } = setupReal()
    try {
      watch.add(() => {})
      await settle()
      expect(watch.state).toBe('open')
      await until('waiting') // server selection failed after 100 ms: 'close', then 'error'
      expect(streams).toHaveLength(1)
      expect(streams[0]?.closed).toBe(true)
      clock.advance(999)
      await settle()
      expect(streams).toHaveLength(1)
      clock.advance(1)
      await settle()
      expect(streams).toHaveLength(2)
      await until('waiting') // the client's topology is closed now: it fails at once
      expect(streams).toHaveLength(2)
    } finally {
      await watch.stop()
      await client.close()
    }
  })

  it('closes an open real stream on stop, and its late events re-open nothing', async () => {
    const { client, streams, clock, watch } = setupReal()
    try {
      watch.add(() => {})
      await settle()
      expect(watch.state).toBe('open')
      await watch.stop()
      expect(watch.state).toBe('idle')
      expect(streams[0]?.closed).toBe(true)
      await new Promise((r) => setTimeout(r, 300))
      clock.advance(10_000)
      await settle()
      expect(streams).toHaveLength(1)
      expect(watch.state).toBe('idle')
    } finally {
      await client.close()
    }
  })
})
