/**
 * The bus on a Redis Cluster. With sharded pub/sub (Redis 7: `SPUBLISH`/`SSUBSCRIBE`) a channel lives
 * on the shard that serves its slot, so the bus keeps one listening connection per master that owns
 * one of its channels; without it (Redis 6, or `shardedPubSub: false`) `PUBLISH` reaches every node
 * and one connection to any master listens.
 *
 * Whatever the mode, a change of which master serves any slot (a failover, a slot migration) counts
 * as a lost connection: messages published meanwhile may be gone (a killed master takes the messages
 * it had not forwarded; a migrated shard channel is unsubscribed by the server), so the bus reports
 * `lost`, subscribes again on the new topology, and the cache flushes L1 once.
 */
import type { Cluster, Redis } from 'ioredis'
import type { Clock } from '../../core/clock.js'
import type { BusTransport, TransportEvents } from './redis-bus-listener.js'
import { closeClient } from './redis-connection.js'
import { slotOf } from './redis-slots.js'

/** Who serves each slot, as one string of `<first slot>=<master>` runs: compared, never parsed. */
function ownersOf(cluster: Cluster): string {
  let signature = ''
  let previous: string | undefined
  for (let slot = 0; slot < 16384; slot++) {
    const owner = cluster.slots[slot]?.[0] ?? ''
    if (owner !== previous) signature += `${slot}=${owner};`
    previous = owner
  }
  return signature
}

/**
 * SSUBSCRIBE on `link`. ioredis never settles an SSUBSCRIBE answered MOVED (it only emits `moved`),
 * so that reply, or the link closing, rejects it here.
 */
function listen(link: Redis, channel: string): Promise<unknown> {
  let moved = () => {}
  let closed = () => {}
  return new Promise((resolve, reject) => {
    moved = () => reject(new Error(`"${channel}" is not served by ${link.options.host}:${link.options.port}`))
    closed = () => reject(new Error('the listening connection closed'))
    link.once('moved', moved)
    link.once('close', closed)
    link.ssubscribe(channel).then(resolve, reject)
  }).finally(() => {
    link.off('moved', moved)
    link.off('close', closed)
  })
}

export class ClusterTransport implements BusTransport {
  readonly #cluster: Cluster
  readonly #clock: Clock
  readonly #events: TransportEvents
  /** Listening connections by node (`host:port`). */
  readonly #links = new Map<string, Redis>()
  #sharded: boolean | Promise<boolean> | undefined
  /** Who served each slot when every channel was last subscribed; `undefined` while not subscribed. */
  #owners: string | undefined
  #retry: ReturnType<Clock['setTimeout']> | undefined
  #retryDelay = 100
  #closed = false

  constructor(cluster: Cluster, sharded: boolean | undefined, clock: Clock, events: TransportEvents) {
    this.#cluster = cluster
    this.#sharded = sharded
    this.#clock = clock
    this.#events = events
    cluster.on('ready', this.#clusterReady)
    cluster.on('refresh', this.#topologyRefreshed)
  }

  // Listeners on a cluster the bus may not own: removed on close.
  readonly #clusterReady = () => this.#events.ready()

  get ready(): boolean {
    return this.#cluster.status === 'ready' && !this.#closed
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    try {
      const sharded = await this.#shardedPubSub()
      const owners = ownersOf(this.#cluster)
      const plan = sharded ? this.#byShard(channels) : this.#anyMaster(channels)
      for (const [node, link] of this.#links) {
        if (!plan.has(node)) this.#drop(node, link)
      }
      await Promise.all(
        [...plan].map(([node, list]) => {
          const link = this.#link(node)
          // SSUBSCRIBE takes channels of one slot only: one call per channel.
          return sharded ? Promise.all(list.map((channel) => listen(link, channel))) : link.subscribe(...list)
        }),
      )
      if (this.#closed) return
      this.#owners = owners
      this.#retryDelay = 100
    } catch (error) {
      this.#retryLater()
      throw error
    }
  }

  async publish(channel: string, raw: string): Promise<unknown> {
    if (await this.#shardedPubSub()) return this.#cluster.spublish(channel, raw)
    // A keyless PUBLISH would go to a random node, and two messages taking two nodes could arrive out
    // of order: every publisher sends a channel's messages through the master of the channel's slot.
    const owner = this.#cluster.slots[slotOf(channel)]?.[0]
    const node = this.#cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner)
    return (node ?? this.#cluster).publish(channel, raw)
  }

  async close(ownsPublisher: boolean): Promise<void> {
    this.#closed = true
    this.#cluster.off('ready', this.#clusterReady)
    this.#cluster.off('refresh', this.#topologyRefreshed)
    if (this.#retry !== undefined) this.#clock.clearTimeout(this.#retry)
    const links = [...this.#links.values()]
    this.#links.clear()
    await Promise.all([
      ...links.map((link) => closeClient(link)),
      ownsPublisher ? closeClient(this.#cluster) : undefined,
    ])
  }

  /** Whether the cluster has sharded pub/sub: as configured, else asked once (`COMMAND INFO SPUBLISH`). */
  #shardedPubSub(): boolean | Promise<boolean> {
    if (this.#sharded === undefined) {
      const asked = this.#cluster
        .call('COMMAND', 'INFO', 'SPUBLISH')
        .then((reply) => Array.isArray(reply) && reply[0] !== null)
      this.#sharded = asked
      asked.then(
        (sharded) => {
          this.#sharded = sharded
        },
        () => {
          if (this.#sharded === asked) this.#sharded = undefined
        },
      )
    }
    return this.#sharded
  }

  /** Channels by the master serving their slot. */
  #byShard(channels: readonly string[]): Map<string, string[]> {
    const plan = new Map<string, string[]>()
    for (const channel of channels) {
      const node = this.#cluster.slots[slotOf(channel)]?.[0]
      if (node === undefined) throw new Error(`no node serves the slot of channel "${channel}"`)
      const list = plan.get(node)
      if (list) list.push(channel)
      else plan.set(node, [channel])
    }
    return plan
  }

  /** Every channel on one master: the one listened on already if it still is a master. */
  #anyMaster(channels: readonly string[]): Map<string, string[]> {
    const masters = new Set(this.#cluster.slots.map((nodes) => nodes[0]))
    const kept = [...this.#links.keys()].find((node) => masters.has(node))
    const node = kept ?? [...masters].find((n) => n !== undefined)
    if (node === undefined) throw new Error('the cluster has no master')
    return new Map([[node, [...channels]]])
  }

  /** The listening connection to `node`, made on first use from a node connection's options. */
  #link(node: string): Redis {
    const known = this.#links.get(node)
    if (known) return known
    const [host, port] = [node.slice(0, node.lastIndexOf(':')), Number(node.slice(node.lastIndexOf(':') + 1))]
    const template = this.#cluster.nodes('all')[0]
    if (!template) throw new Error('the cluster has no node connection')
    // No reconnects of its own: after a loss the bus subscribes again wherever the channels now live.
    const link = template.duplicate({
      host,
      port,
      lazyConnect: false,
      readOnly: false,
      enableOfflineQueue: true,
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      // It only (s)subscribes: nothing to pipeline (and ioredis would pipeline SSUBSCRIBE).
      enableAutoPipelining: false,
    })
    const deliver = (channel: string, raw: string) => this.#events.message(channel, raw)
    link.on('message', deliver)
    link.on('smessage', deliver)
    link.on('close', () => this.#linkLost(node, link))
    link.on('moved', () => this.#linkLost(node, link))
    link.on('error', (error: Error) => {
      // A shard channel whose slot moved is unsubscribed by the server, unasked.
      if (error.message.includes('sunsubscribe')) this.#linkLost(node, link)
      else this.#events.error(error)
    })
    this.#links.set(node, link)
    return link
  }

  #drop(node: string, link: Redis): void {
    this.#links.delete(node)
    link.disconnect()
  }

  #linkLost(node: string, link: Redis): void {
    if (this.#links.get(node) !== link || this.#closed) return
    this.#drop(node, link)
    this.#lost()
    this.#retryLater()
  }

  readonly #topologyRefreshed = (): void => {
    if (this.#owners === undefined || this.#closed) return
    if (ownersOf(this.#cluster) === this.#owners) return
    this.#lost()
    this.#events.ready()
  }

  #lost(): void {
    this.#owners = undefined
    this.#events.lost()
  }

  /** Asks the cluster where the slots are now, then lets the bus subscribe again (backing off to 1 s). */
  #retryLater(): void {
    if (this.#retry !== undefined || this.#closed) return
    const delay = this.#retryDelay
    this.#retryDelay = Math.min(delay * 2, 1_000)
    this.#retry = this.#clock.setTimeout(() => {
      this.#retry = undefined
      if (this.#closed) return
      this.#cluster.refreshSlotsCache(() => {
        if (!this.#closed) this.#events.ready()
      })
    }, delay)
  }
}
