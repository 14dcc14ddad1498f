import type { CacheContext } from './context.js'
import { type PreparedEntry, prepareEntry, type Read } from './entries.js'
import { L2Call, type L2Gateway } from './l2.js'
import type { Policy } from './options.js'
import type { BusMessage, L2Driver, L2Entry } from './types.js'

/**
 * Writes prepared entries to L2 (one round trip) and then tells the other processes, in that order:
 * a process that drops its L1 copy on our message must find the new value when it reads L2 again.
 * Never rejects.
 */
export async function writeThrough(
  ctx: CacheContext,
  writes: readonly (readonly [key: string, entry: PreparedEntry])[],
  deadline: number,
): Promise<void> {
  if (writes.length === 1) {
    const [key, entry] = writes[0] as readonly [string, PreparedEntry]
    return writeOne(ctx, key, entry, deadline)
  }
  const pairs = writes.flatMap(([key, { l2 }]) => (l2 === undefined ? [] : [[ctx.rootPrefix + key, l2] as const]))
  const l2 = ctx.l2
  if (l2 !== undefined && pairs.length > 0) {
    await l2.call('setMany', deadline, (d, signal) => d.setMany(pairs, signal))
  }
  await ctx.publish(
    {
      source: ctx.instanceId,
      type: 'set',
      keys: writes.map(([key]) => ctx.rootPrefix + key),
      versions: writes.map(([, entry]) => entry.l1.version),
    },
    deadline,
  )
}

/**
 * {@link writeThrough} of one entry (every `set`): the L2 write, then the publish, as one call of the L2
 * breaker under one deadline (see {@link WriteThrough}). Never rejects.
 */
function writeOne(ctx: CacheContext, key: string, entry: PreparedEntry, deadline: number, now?: number): Promise<void> {
  const l2Key = ctx.rootPrefix + key
  const message: BusMessage = { source: ctx.instanceId, type: 'set', keys: [l2Key], versions: [entry.l1.version] }
  const l2 = ctx.l2
  if (l2 === undefined || entry.l2 === undefined) return ctx.publish(message, deadline) ?? Promise.resolve()
  const write = new WriteThrough(ctx, l2, { key: l2Key, entry: entry.l2, message, deadline })
  l2.start(write, deadline, now)
  return write.done
}

/**
 * A write of one entry and then its publish: one permit of the breaker for both (they go to the same
 * Redis, and the breaker sees one call of an operation whose two round trips succeed or fail together),
 * one place under the shared deadline, and no promise of its own but the caller's. When the breaker is
 * not closed, the write goes through it as a whole and the publish then on its own, as any publish.
 */
class WriteThrough extends L2Call<unknown> {
  /** Resolves once the write and the publish are done, failed or timed out. */
  readonly done: Promise<void>
  #resolve!: (value: undefined | Promise<void>) => void
  #publishing = false
  readonly #ctx: CacheContext
  readonly #write: { key: string; entry: L2Entry; message: BusMessage; deadline: number }

  constructor(
    ctx: CacheContext,
    l2: L2Gateway,
    write: { key: string; entry: L2Entry; message: BusMessage; deadline: number },
  ) {
    super(l2, 'set')
    this.#ctx = ctx
    this.#write = write
    this.done = new Promise((resolve) => {
      this.#resolve = resolve
    })
    // Assigned here rather than as class fields: see `L2Read`.
    this.onValue = () => {
      if (this.#publishing) {
        if (this.end(false, undefined)) this.#resolve(undefined)
      } else if (!this.ended) this.#publish()
    }
    this.onError = (error) => {
      // The driver's or the bus's own failures as their `set` or `publish` would report them.
      if (this.#publishing) {
        const raw = this.#ctx.rawPublish
        const reported = raw === undefined ? error : raw.error(error, this.#ctx.options.channel)
        if (this.end(true, reported)) this.#publishEnded(reported)
      } else {
        const raw = this.gateway.rawWrite
        const reported = raw === undefined ? error : raw.error(error)
        if (this.end(true, reported)) this.#writeFailed(reported)
      }
    }
  }

  /** Written (then: published). After the write, publish within the same permit and deadline. */
  readonly onValue: () => void
  /** The write (then: the publish) failed. */
  readonly onError: (error: unknown) => void

  run(driver: L2Driver, signal?: AbortSignal): Promise<unknown> {
    const raw = this.gateway.rawWrite
    const { key, entry } = this.#write
    return raw === undefined ? driver.set(key, entry, signal) : raw.set(key, entry, signal)
  }

  expire(error: unknown): void {
    this.onError(error)
  }

  #publish(): void {
    const { bus, channel } = this.#ctx.options
    if (bus === undefined) {
      if (this.end(false, undefined)) this.#resolve(undefined)
      return
    }
    if (!this.admittedHere) {
      // The breaker ran the write as a whole: the publish asks it on its own.
      this.end(false, undefined)
      this.#resolve(this.#ctx.publish(this.#write.message, this.#write.deadline))
      return
    }
    this.#publishing = true
    try {
      this.#ctx.announce(this.#write.message)
    } catch (error) {
      // An `invalidationSent` listener threw: the caller gets its error, as from any step of the write.
      this.end(false, undefined)
      this.#resolve(Promise.reject(error))
      return
    }
    let sent: Promise<unknown>
    try {
      const raw = this.#ctx.rawPublish
      sent = raw === undefined ? bus.publish(channel, this.#write.message) : raw.publish(channel, this.#write.message)
    } catch (error) {
      sent = Promise.reject(error)
    }
    sent.then(this.onValue, this.onError)
  }

  /** The write failed (or timed out): counted, and the publish still goes out, on its own, as before. */
  #writeFailed(error: unknown): void {
    this.gateway.failed('set', error)
    this.#resolve(this.#ctx.publish(this.#write.message, this.#write.deadline))
  }

  #publishEnded(error: unknown): void {
    this.#ctx.busError(error)
    this.#resolve(undefined)
  }
}

/**
 * Stores a value just loaded for `key`, unless the key was written or invalidated in this process
 * since the load began: that newer state wins. Returns the L2 write and publish, or
 * `undefined` when nothing needs to go out.
 */
export function storeLoaded(ctx: CacheContext, read: Read, value: unknown): Promise<void> | undefined {
  const { key, policy } = read
  if (ctx.fence.changedSince(key, read.start)) return undefined
  const prepared = prepareEntry(ctx, value, policy)
  if (prepared === undefined) return undefined
  ctx.fence.stored(key)
  ctx.l1.set(key, prepared.l1)
  return writeOne(ctx, key, prepared, ctx.deadline(policy))
}

/**
 * `cache.set`: L1 now, then L2 and the bus within one hard timeout in total. Throws (synchronously) only
 * when the value cannot be serialized; the promise never rejects.
 */
export function setValue(ctx: CacheContext, key: string, policy: Policy, value: unknown): Promise<void> {
  const now = ctx.clock.now()
  const deadline = now + policy.hard
  const prepared = prepareEntry(ctx, value, policy, now)
  ctx.fence.touch(key)
  if (prepared === undefined) {
    // A TTL of 0 means "not cached": drop what the levels hold, as a delete would.
    return deleteKeys(ctx, [key], deadline).then(toVoid)
  }
  ctx.l1.set(key, prepared.l1)
  return writeOne(ctx, key, prepared, deadline, now)
}

function toVoid(): void {}

/** `cache.delete`: resolves to whether any level held the key. */
export async function deleteKeys(
  ctx: CacheContext,
  keys: readonly string[],
  deadline = ctx.deadline(ctx.policy),
): Promise<boolean> {
  let existed = false
  for (const key of keys) {
    ctx.fence.touch(key)
    if (ctx.l1.delete(key)) existed = true
  }
  const l2Keys = keys.map((k) => ctx.rootPrefix + k)
  if (ctx.l2 !== undefined) {
    const removed = await ctx.l2.call('delete', deadline, (d, signal) => d.delete(l2Keys, signal))
    if (typeof removed === 'number' && removed > 0) existed = true
  }
  await ctx.publish({ source: ctx.instanceId, type: 'delete', keys: l2Keys }, deadline)
  return existed
}

/** `cache.deleteByTag`: every key under `prefix` (an L1 key prefix) carrying one of `tags`. */
export async function deleteTags(ctx: CacheContext, prefix: string, tags: readonly string[]): Promise<void> {
  const deadline = ctx.deadline(ctx.policy)
  ctx.fence.touchAll(prefix)
  ctx.l1.deleteByTags(prefix, tags)
  const l2Prefix = ctx.rootPrefix + prefix
  if (ctx.l2 !== undefined) {
    const deleted = await ctx.l2.call('deleteByTags', deadline, (d, signal) => d.deleteByTags(l2Prefix, tags, signal))
    // L1 may hold a key whose tags it learnt from an older write: L2's list is authoritative.
    if (Array.isArray(deleted)) for (const k of deleted) ctx.l1.delete(k.slice(ctx.rootPrefix.length))
  }
  await ctx.publish({ source: ctx.instanceId, type: 'deleteByTags', prefix: l2Prefix, tags: [...tags] }, deadline)
}

/** `cache.clear`: every key under `prefix` (an L1 key prefix; `''` is the whole namespace), nothing else. */
export async function clearPrefix(ctx: CacheContext, prefix: string): Promise<void> {
  const deadline = ctx.deadline(ctx.policy)
  ctx.fence.touchAll(prefix)
  ctx.l1.deleteByPrefix(prefix)
  const l2Prefix = ctx.rootPrefix + prefix
  if (ctx.l2 !== undefined) await ctx.l2.call('clear', deadline, (d, signal) => d.clear(l2Prefix, signal))
  await ctx.publish({ source: ctx.instanceId, type: 'clear', prefix: l2Prefix }, deadline)
}
