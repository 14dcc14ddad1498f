/**
 * Batches on a Redis Cluster: commands that each touch one slot are sent as one pipeline per master,
 * all masters at once, so a batch over any number of slots costs one round trip per node (in
 * parallel), not one per key or per slot.
 */
import type { ChainableCommander, Cluster } from 'ioredis'
import { isNoScript, type LuaScript } from './redis-scripts.js'

/** One command of a batch: the slot it touches and how to queue it on a pipeline. */
export interface SlotCommand {
  readonly slot: number
  queue(pipeline: ChainableCommander): void
}

/** A script call of a batch: sent by its sha, and by its source only to a node that lacks it. */
export interface SlotScript {
  readonly slot: number
  readonly script: LuaScript
  readonly keys: readonly string[]
  readonly args: readonly (string | number)[]
}

/** Resolves once the cluster knows which node serves each slot. */
function slotsKnown(cluster: Cluster): Promise<void> | undefined {
  if (cluster.slots.length > 0 && cluster.status === 'ready') return undefined
  return new Promise((resolve, reject) => {
    const ready = () => {
      cluster.off('end', ended)
      resolve()
    }
    const ended = () => {
      cluster.off('ready', ready)
      reject(new Error('Cluster connection ended'))
    }
    cluster.once('ready', ready)
    cluster.once('end', ended)
  })
}

/**
 * Runs `commands` as one pipeline per node and returns their replies in order; a command's error is
 * its reply (the caller decides), a pipeline that fails as a whole rejects.
 */
export async function runPerNode(
  cluster: Cluster,
  commands: readonly SlotCommand[],
): Promise<[Error | null, unknown][]> {
  const waiting = slotsKnown(cluster)
  if (waiting) await waiting
  const byNode = new Map<string, number[]>()
  for (let i = 0; i < commands.length; i++) {
    // ioredis sends a pipeline to one node: the one serving its slots, named by their node list.
    const node = cluster.slots[(commands[i] as SlotCommand).slot]?.join() ?? ''
    const list = byNode.get(node)
    if (list) list.push(i)
    else byNode.set(node, [i])
  }
  const replies = new Array<[Error | null, unknown]>(commands.length)
  await Promise.all(
    [...byNode.values()].map(async (indexes) => {
      const pipeline = cluster.pipeline()
      for (const i of indexes) (commands[i] as SlotCommand).queue(pipeline)
      const results = await pipeline.exec()
      if (!results) throw new Error('pipeline discarded')
      indexes.forEach((index, at) => {
        replies[index] = results[at] as [Error | null, unknown]
      })
    }),
  )
  return replies
}

/**
 * Runs script calls as one pipeline per node by sha; the calls a node answers NOSCRIPT (a new or
 * promoted master has not seen the script yet) are sent again with the source, once.
 */
export async function runScriptsPerNode(cluster: Cluster, calls: readonly SlotScript[]): Promise<unknown[]> {
  const bySha = (call: SlotScript): SlotCommand => ({
    slot: call.slot,
    queue: (p) => p.evalsha(call.script.sha, call.keys.length, ...call.keys, ...call.args),
  })
  const bySource = (call: SlotScript): SlotCommand => ({
    slot: call.slot,
    queue: (p) => p.eval(call.script.source, call.keys.length, ...call.keys, ...call.args),
  })
  const replies = await runPerNode(cluster, calls.map(bySha))
  const missing = replies.flatMap(([error], i) => (isNoScript(error) ? [i] : []))
  if (missing.length > 0) {
    const again = await runPerNode(
      cluster,
      missing.map((i) => bySource(calls[i] as SlotScript)),
    )
    missing.forEach((index, at) => {
      replies[index] = again[at] as [Error | null, unknown]
    })
  }
  return replies.map(([error, reply]) => {
    if (error) throw error
    return reply
  })
}
