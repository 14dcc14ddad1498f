/**
 * The `set` messages of one tick in one `PUBLISH` per channel. Every `cache.set` publishes which key it
 * wrote and at what version; the `set` messages a bus is given for one channel (by one source) while the
 * current tick runs go out when it ends as one message carrying all their keys and versions, which the
 * receivers already read as a list. Up to {@link MAX_KEYS} keys per message.
 *
 * Why: ioredis spends several microseconds of CPU on each command it sends, and each receiving process
 * parses and dispatches each message. Under concurrent writes, one `PUBLISH` for the writes of a tick
 * costs each side a fraction of one per write (`npm run bench:cache`, "L2 under concurrent load").
 *
 * Order on a channel holds: any other message (`delete`, `deleteByTags`, `clear`) first sends the `set`
 * keys waiting on its channel, then itself. Each write still gets its own answer: a failed `PUBLISH`
 * fails each of the writes it carried.
 */
import type { BusMessage } from '../types.js'
import { encodeMessage } from './redis-bus-codec.js'
import { sent } from './redis-connection.js'

// The real nextTick, taken when this module loads: a test's fake timers (Jest fakes process.nextTick by
// default) must not hold back the commands the test is waiting for.
const nextTick = process.nextTick

/** Keys per message at most. */
export const MAX_KEYS = 512

interface Pending {
  readonly source: string
  readonly keys: string[]
  readonly versions: number[]
  /** Two per message joined: how to resolve and reject its publish. */
  readonly settle: ((value: unknown) => void)[]
}

export class PublishBatch {
  readonly #pending = new Map<string, Pending>()
  readonly #send: (channel: string, raw: string) => Promise<unknown>
  #scheduled = false

  /** `send`: one PUBLISH of an encoded message. */
  constructor(send: (channel: string, raw: string) => Promise<unknown>) {
    this.#send = send
  }

  /** Publishes `message` on `channel`: a `set` with the other `set`s of this tick, anything else now. */
  publish(channel: string, message: BusMessage): Promise<unknown> {
    if (message.type !== 'set') {
      this.#flushChannel(channel)
      return sent(() => this.#send(channel, encodeMessage(message)))
    }
    let pending = this.#pending.get(channel)
    if (
      pending !== undefined &&
      (pending.source !== message.source || pending.keys.length + message.keys.length > MAX_KEYS)
    ) {
      this.#flushChannel(channel)
      pending = undefined
    }
    if (pending === undefined) {
      pending = { source: message.source, keys: [], versions: [], settle: [] }
      this.#pending.set(channel, pending)
      if (!this.#scheduled) {
        this.#scheduled = true
        nextTick(this.flush)
      }
    }
    const { keys, versions } = pending
    for (let i = 0; i < message.keys.length; i++) {
      keys.push(message.keys[i] as string)
      versions.push(message.versions[i] as number)
    }
    const settle = pending.settle
    return new Promise((resolve, reject) => {
      settle.push(resolve, reject)
    })
  }

  /** Sends every message waiting (at the end of the tick, and before the bus closes). */
  readonly flush = (): void => {
    this.#scheduled = false
    for (const channel of this.#pending.keys()) this.#flushChannel(channel)
  }

  #flushChannel(channel: string): void {
    const pending = this.#pending.get(channel)
    if (pending === undefined) return
    this.#pending.delete(channel)
    const { source, keys, versions, settle } = pending
    sent(() => this.#send(channel, encodeMessage({ source, type: 'set', keys, versions }))).then(
      (reply) => {
        for (let i = 0; i < settle.length; i += 2) (settle[i] as (value: unknown) => void)(reply)
      },
      (error: unknown) => {
        for (let i = 1; i < settle.length; i += 2) (settle[i] as (value: unknown) => void)(error)
      },
    )
  }
}
