/**
 * The entry reads of one tick in one command. Every read the driver is asked for while the current tick
 * runs goes out when it ends: one `GET` when it is alone, one `MGET` when there are more (split every
 * {@link MAX_BATCH} keys).
 *
 * Why: under concurrent load ioredis spends several microseconds of CPU on each command it sends (its
 * command object, promise, argument encoding, reply dispatch), more than Redis spends on a key, and more
 * than the cache spends on a hit. One `MGET` for the hundred reads of a busy tick costs a fraction of a
 * hundred `GET`s, auto-pipelined or not (`npm run bench:cache`, "L2 under concurrent load"). A read waits
 * for nothing it would not have waited for anyway: ioredis's own auto-pipelining also sends at the end of
 * the tick.
 *
 * What does not change: each read is still its own call to the cache (its own deadline, breaker permit
 * and fallback), a failed `MGET` fails each of its reads as their `GET`s would have failed, and the
 * replies are the same strings a `GET` returns (`MGET` answers `nil` for a key holding another type, which
 * the cache reads as absent, as it reads any value that is not one of its entries).
 */

import { sent } from './redis-connection.js'

// The real nextTick, taken when this module loads: a test's fake timers (Jest fakes process.nextTick by
// default) must not hold back the commands the test is waiting for.
const nextTick = process.nextTick

/** Keys per `MGET` at most. */
export const MAX_BATCH = 512

export class ReadBatch {
  /** The keys of the tick so far, and beside them, two per key, how to resolve and reject each read. */
  #keys: string[] = []
  #settle: ((value: unknown) => void)[] = []
  readonly #one: (key: string) => Promise<string | null>
  readonly #many: (keys: string[]) => Promise<(string | null)[]>

  /** `one`: the read of one entry key (`GET`); `many`: of several, aligned with them (`MGET`). */
  constructor(one: (key: string) => Promise<string | null>, many: (keys: string[]) => Promise<(string | null)[]>) {
    this.#one = one
    this.#many = many
  }

  /** The stored string of entry key `key` (`null` when absent), read with the other reads of this tick. */
  get(key: string): Promise<string | null> {
    return new Promise<string | null>((resolve, reject) => {
      if (this.#keys.push(key) === 1) nextTick(this.#flush)
      this.#settle.push(resolve as (value: unknown) => void, reject)
    })
  }

  readonly #flush = (): void => {
    const keys = this.#keys
    const settle = this.#settle
    this.#keys = []
    this.#settle = []
    if (keys.length === 1) {
      sent(() => this.#one(keys[0] as string)).then(settle[0], settle[1])
      return
    }
    for (let from = 0; from < keys.length; from += MAX_BATCH) {
      const part = from === 0 && keys.length <= MAX_BATCH ? keys : keys.slice(from, from + MAX_BATCH)
      sent(() => this.#many(part)).then(
        (values) => {
          for (let i = 0; i < part.length; i++) (settle[2 * (from + i)] as (value: unknown) => void)(values[i] ?? null)
        },
        (error: unknown) => {
          for (let i = 0; i < part.length; i++) (settle[2 * (from + i) + 1] as (value: unknown) => void)(error)
        },
      )
    }
  }
}
