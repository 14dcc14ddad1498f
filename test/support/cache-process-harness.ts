/**
 * The parent side of `cache-process.ts`: forks a cache into its own OS process (through tsx) and
 * sends it commands. Used by the multi-process integration test and by the invalidation benchmark.
 *
 * @example
 * ```ts
 * const other = await forkCacheProcess({ url, namespace: 'ns', keyPrefix: 'test:' })
 * await other.request({ op: 'getOrSet', key: 'k', value: 1 })
 * await other.close()
 * ```
 */
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { CacheStats } from '../../src/cache/index.js'
import type { Request, StartOptions } from './cache-process.js'

const script = fileURLToPath(new URL('./cache-process.ts', import.meta.url))

/** An L1 invalidation the child applied, stamped on the machine-wide monotonic clock. */
export interface InvalidationEvent {
  type: string
  keys: string[]
  at: number
}

export interface CacheProcess {
  readonly pid: number
  /** Invalidations received so far, in order. */
  readonly invalidations: InvalidationEvent[]
  request<T = unknown>(request: Request): Promise<T>
  stats(): Promise<CacheStats>
  /** Resolves with the first invalidation (received from now on) that names `key`. */
  nextInvalidation(key: string): Promise<InvalidationEvent>
  close(): Promise<void>
}

type Reply = { id?: number; value?: unknown; error?: string; event?: string } & Partial<InvalidationEvent>

export async function forkCacheProcess(options: StartOptions): Promise<CacheProcess> {
  const child: ChildProcess = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  const invalidations: InvalidationEvent[] = []
  const watchers: { key: string; resolve: (event: InvalidationEvent) => void }[] = []
  let nextId = 1

  child.on('message', (reply: Reply) => {
    if (reply.event === 'invalidation') {
      const event = { type: reply.type ?? '', keys: reply.keys ?? [], at: reply.at ?? 0 }
      invalidations.push(event)
      for (const watcher of watchers.splice(0)) {
        if (event.keys.some((k) => k.endsWith(watcher.key))) watcher.resolve(event)
        else watchers.push(watcher)
      }
      return
    }
    if (reply.id === undefined) return
    const waiter = pending.get(reply.id)
    pending.delete(reply.id)
    if (reply.error !== undefined) waiter?.reject(new Error(`child ${child.pid}: ${reply.error}`))
    else waiter?.resolve(reply.value)
  })
  child.once('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`child exited with ${code}`))
    pending.clear()
  })
  await once(child, 'message')

  const request = <T>(message: Request): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      child.send({ id, ...message })
    })

  const pid = await request<number>({ op: 'start', ...options })
  return {
    pid,
    invalidations,
    request,
    stats: () => request<CacheStats>({ op: 'stats' }),
    nextInvalidation: (key) => new Promise((resolve) => watchers.push({ key, resolve })),
    async close() {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      await request({ op: 'close' }).catch(() => {})
      await exited
    },
  }
}
