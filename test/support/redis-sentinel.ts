/**
 * A private Sentinel setup for tests: one primary, one replica and one Sentinel (quorum 1) on free
 * ports, in a temporary directory. The primary can be SIGKILLed and the promotion of the replica
 * awaited; `close()` kills every process and removes the directory.
 *
 * @example
 * ```ts
 * const sentinel = await startRedisSentinel()
 * const client = sentinel.client() // a Sentinel-configured ioredis Redis
 * await sentinel.killPrimary()
 * const promoted = await sentinel.waitForFailover()
 * await sentinel.close()
 * ```
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type RedisOptions } from 'ioredis'
import { commandAt, exited, freePort, spawnRedis, until } from './redis-server.js'

export interface RedisSentinel {
  /** The name Sentinel monitors the primary under. */
  readonly name: string
  readonly sentinelPort: number
  /** Port of the primary as started (it changes after a failover). */
  readonly primaryPort: number
  readonly replicaPort: number
  /** ioredis options that reach the primary through Sentinel (for `connection` or `new Redis`). */
  readonly connection: RedisOptions
  /** A new Sentinel-configured ioredis client (the caller closes it). */
  client(options?: RedisOptions): Redis
  /** SIGKILLs the current primary; resolves with its port. */
  killPrimary(): Promise<number>
  /** Resolves with the port of the primary Sentinel reports once it differs from `oldPort`. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>
  /** Kills every process and removes the directory. */
  close(): Promise<void>
}

export async function startRedisSentinel(options: { downAfterMs?: number } = {}): Promise<RedisSentinel> {
  const name = 'bulwark'
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-sentinel-'))
  const [primaryPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()]
  const children = new Map<number, ChildProcess>()
  const close = async () => {
    for (const child of children.values()) child.kill('SIGKILL')
    await Promise.all([...children.values()].map(exited))
    await rm(dir, { recursive: true, force: true })
  }
  const server = (port: number, ...args: string[]) =>
    spawnRedis(['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
      cwd: dir,
    }).then((child) => {
      children.set(port, child)
    })

  try {
    await server(primaryPort)
    await server(replicaPort, '--replicaof', '127.0.0.1', String(primaryPort))
    await until('the replica to sync', 15_000, async () => {
      const info = (await commandAt(replicaPort, 'INFO', 'replication')) as string
      return info.includes('master_link_status:up') ? true : undefined
    })
    const config = join(dir, 'sentinel.conf')
    const downAfter = options.downAfterMs ?? 1_000
    await writeFile(
      config,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`,
        `sentinel down-after-milliseconds ${name} ${downAfter}`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    )
    const sentinel = await spawnRedis([config, '--sentinel'], { cwd: dir, readyText: '+monitor master' })
    children.set(sentinelPort, sentinel)
    // Sentinel knows the replica before anything may fail over to it.
    await until('Sentinel to discover the replica', 15_000, async () => {
      const replicas = (await commandAt(sentinelPort, 'SENTINEL', 'REPLICAS', name)) as unknown[]
      return replicas.length > 0 ? true : undefined
    })
  } catch (error) {
    await close()
    throw error
  }

  const connection: RedisOptions = { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name }
  const currentPrimary = async () => {
    const [, port] = (await commandAt(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string]
    return Number(port)
  }
  return {
    name,
    sentinelPort,
    primaryPort,
    replicaPort,
    connection,
    client: (clientOptions) => new Redis({ ...connection, ...clientOptions }),
    async killPrimary() {
      const port = await currentPrimary()
      const child = children.get(port)
      child?.kill('SIGKILL')
      await exited(child)
      return port
    },
    async waitForFailover(oldPort, timeoutMs = 30_000) {
      return until('Sentinel to promote the replica', timeoutMs, async () => {
        const port = await currentPrimary()
        if (port === oldPort) return undefined
        const info = (await commandAt(port, 'INFO', 'replication')) as string
        return info.includes('role:master') ? port : undefined
      })
    },
    close,
  }
}
