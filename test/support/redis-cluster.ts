/**
 * A private Redis Cluster for tests: `masters` masters with `replicas` replicas each, on free ports,
 * in a temporary directory, made with `redis-cli --cluster create`. Nodes can be SIGKILLed and the
 * promotion of their replica awaited; `close()` kills every node and removes the directory.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster({ masters: 3, replicas: 1 })
 * const client = cluster.client()
 * const port = await cluster.masterOf('product:1')
 * await cluster.kill(port)
 * const promoted = await cluster.waitForFailover(port)
 * await cluster.close()
 * ```
 */

import type { ChildProcess } from 'node:child_process'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Cluster, type ClusterOptions } from 'ioredis'
import { commandAt, exited, freePort, spawnRedis, until } from './redis-server.js'

const run = promisify(execFile)

export interface RedisClusterOptions {
  /** @default 3 */
  masters?: number
  /** Replicas per master. @default 0 */
  replicas?: number
  /** `cluster-node-timeout`: how long a master may be silent before its replica takes over. @default 1000 */
  nodeTimeout?: number
  /** More `redis-server` arguments for every node (`['--rename-command', 'SPUBLISH', '']`). */
  args?: string[]
}

export interface RedisCluster {
  /** Ports of every node, masters first as created. */
  readonly ports: readonly number[]
  /** `{ host, port }` of every node, for `new Cluster(startupNodes)`. */
  readonly startupNodes: readonly { host: string; port: number }[]
  /** A new ioredis Cluster on these nodes (the caller closes it). */
  client(options?: ClusterOptions): Cluster
  /** Port of the master that currently serves `key`'s slot. */
  masterOf(key: string): Promise<number>
  /** Ports of the current masters. */
  masters(): Promise<number[]>
  /** SIGKILLs the node on `port`. */
  kill(port: number): Promise<void>
  /** Resolves with the port of the replica promoted in place of the (killed) master on `port`. */
  waitForFailover(port: number, timeoutMs?: number): Promise<number>
  /** Runs one command on the node at `port`, on a short-lived connection. */
  command(port: number, name: string, ...args: (string | number)[]): Promise<unknown>
  /** Kills every node and removes the directory. */
  close(): Promise<void>
}

interface NodeLine {
  port: number
  master: boolean
  failed: boolean
  /** Port of its master, for a replica. */
  masterId: string
  id: string
  slots: boolean
}

function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', masterId = '', , , , , ...slots] = line.split(' ')
      return {
        id,
        port: Number(address.split('@')[0]?.split(':')[1]),
        master: flags.includes('master'),
        failed: flags.includes('fail'),
        masterId,
        slots: slots.length > 0,
      }
    })
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3
  const replicas = options.replicas ?? 0
  const nodeTimeout = options.nodeTimeout ?? 1_000
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-cluster-'))
  const ports: number[] = []
  for (let i = 0; i < masters * (1 + replicas); i++) ports.push(await freePort())
  const children = new Map<number, ChildProcess>()
  const command = commandAt
  const close = async () => {
    for (const child of children.values()) child.kill('SIGKILL')
    await Promise.all([...children.values()].map(exited))
    await rm(dir, { recursive: true, force: true })
  }

  try {
    await Promise.all(
      ports.map(async (port) => {
        const child = await spawnRedis(
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            String(nodeTimeout),
            // A replica may take over however long its master has been gone: on a loaded machine an
            // election can fail and be retried past the default limit (10 node timeouts + 10 s), after
            // which the replica would never try again.
            '--cluster-replica-validity-factor',
            '0',
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            dir,
            ...(options.args ?? []),
          ],
          { cwd: dir },
        )
        children.set(port, child)
      }),
    )
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ])
    // Every node agrees the cluster is whole, and every replica has its first full copy.
    await until('cluster_state:ok on every node', 30_000, async () => {
      for (const port of ports) {
        const info = (await command(port, 'CLUSTER', 'INFO')) as string
        if (!info.includes('cluster_state:ok')) return undefined
      }
      const lines = parseNodes((await command(ports[0] as number, 'CLUSTER', 'NODES')) as string)
      if (lines.filter((line) => line.master && line.slots).length !== masters) return undefined
      for (const line of lines.filter((l) => !l.master)) {
        const info = (await command(line.port, 'INFO', 'replication')) as string
        if (!info.includes('master_link_status:up')) return undefined
      }
      return true
    })
  } catch (error) {
    await close()
    throw error
  }

  const livePort = () => {
    for (const [port, child] of children) if (child.exitCode === null && child.signalCode === null) return port
    throw new Error('no node is alive')
  }
  const nodes = async () => parseNodes((await command(livePort(), 'CLUSTER', 'NODES')) as string)
  /** The replica ids of each master killed through `kill`, as they were just before. */
  const replicasOf = new Map<number, string[]>()

  return {
    ports,
    startupNodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    client: (clientOptions) =>
      new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        clientOptions,
      ),
    async masterOf(key) {
      const slot = (await command(livePort(), 'CLUSTER', 'KEYSLOT', key)) as number
      const shards = (await command(livePort(), 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][]
      const shard = shards.find(([from, to]) => slot >= from && slot <= to)
      if (!shard) throw new Error(`no master serves slot ${slot}`)
      return shard[2][1]
    },
    async masters() {
      return (await nodes()).filter((line) => line.master && !line.failed && line.slots).map((line) => line.port)
    },
    async kill(port) {
      // Its replicas, read while it is alive: a loaded machine can stall the caller long enough for the
      // failover to be over before it asks, and a promoted replica no longer names its old master.
      const view = await nodes().catch(() => undefined)
      const killed = view?.find((line) => line.port === port)
      if (view && killed)
        replicasOf.set(
          port,
          view.filter((l) => l.masterId === killed.id).map((l) => l.id),
        )
      const child = children.get(port)
      child?.kill('SIGKILL')
      await exited(child)
    },
    async waitForFailover(port, timeoutMs = 30_000) {
      let candidates = replicasOf.get(port)
      if (candidates === undefined) {
        const view = await nodes()
        const killed = view.find((line) => line.port === port)
        if (!killed) throw new Error(`no node on port ${port}`)
        candidates = view.filter((line) => line.masterId === killed.id).map((line) => line.id)
      }
      const replicas = candidates
      try {
        return await until(`a replica of ${port} to take over`, timeoutMs, async () => {
          const promoted = (await nodes()).find(
            (line) => replicas.includes(line.id) && line.master && !line.failed && line.slots,
          )
          if (!promoted) return undefined
          const info = (await command(promoted.port, 'CLUSTER', 'INFO')) as string
          return info.includes('cluster_state:ok') ? promoted.port : undefined
        })
      } catch (error) {
        // What the cluster thought when it gave up, for the failing test's message.
        const view = await command(livePort(), 'CLUSTER', 'NODES').catch((e: unknown) => String(e))
        throw new Error(`${(error as Error).message}\nCLUSTER NODES:\n${String(view)}`, { cause: error })
      }
    },
    command,
    close,
  }
}
