import type { CacheContext } from './context.js'
import type { BusMessage } from './types.js'

/**
 * Subscribes the cache to its bus channel. Another process's message drops the keys, tags or namespace
 * it names from L1 (and fences reads in flight, so a read that began before it cannot put the old
 * value back). A reconnect flushes L1: messages sent while the connection was down are lost.
 * Resolves once subscribed; failures are counted as bus errors and rethrown for `ready()`.
 */
export function subscribe(ctx: CacheContext): Promise<void> {
  const bus = ctx.options.bus
  if (bus === undefined) return Promise.resolve()
  return bus
    .subscribe(ctx.options.channel, {
      source: ctx.instanceId,
      message: (message) => receive(ctx, message),
      disconnected: () => ctx.events.emit('busDisconnected'),
      reconnected: () => {
        ctx.fence.touchAll('')
        ctx.l1.deleteByPrefix('')
        ctx.counters.busReconnects++
        ctx.events.emit('busReconnected')
      },
    })
    .catch((error: unknown) => {
      ctx.busError(error)
      throw error
    })
}

function receive(ctx: CacheContext, message: BusMessage): void {
  if (!isMessage(message)) {
    ctx.busError(new TypeError('Malformed invalidation message'))
    return
  }
  if (message.source === ctx.instanceId) return
  const root = ctx.rootPrefix
  switch (message.type) {
    case 'set':
    case 'delete':
      for (const key of message.keys) {
        if (!key.startsWith(root)) continue
        const local = key.slice(root.length)
        ctx.fence.touch(local)
        ctx.l1.delete(local)
      }
      break
    case 'deleteByTags': {
      const local = localPrefix(root, message.prefix)
      if (local === undefined) return
      ctx.fence.touchAll(local)
      ctx.l1.deleteByTags(local, message.tags)
      break
    }
    case 'clear': {
      const local = localPrefix(root, message.prefix)
      if (local === undefined) return
      ctx.fence.touchAll(local)
      ctx.l1.deleteByPrefix(local)
      break
    }
  }
  ctx.counters.invalidationsReceived++
  ctx.events.emit('invalidationReceived', message)
}

/** The L1 prefix an L2 prefix covers here: `''` when it covers our whole namespace, `undefined` when none of it. */
function localPrefix(root: string, prefix: string): string | undefined {
  if (prefix.startsWith(root)) return prefix.slice(root.length)
  if (root.startsWith(prefix)) return ''
  return undefined
}

// Messages come from other processes: check the shape before acting on one.
function isMessage(value: unknown): value is BusMessage {
  if (typeof value !== 'object' || value === null) return false
  const m = value as Record<string, unknown>
  if (typeof m.source !== 'string') return false
  switch (m.type) {
    case 'set':
    case 'delete':
      return Array.isArray(m.keys) && m.keys.every((k) => typeof k === 'string')
    case 'deleteByTags':
      return typeof m.prefix === 'string' && Array.isArray(m.tags) && m.tags.every((t) => typeof t === 'string')
    case 'clear':
      return typeof m.prefix === 'string'
    default:
      return false
  }
}
