/**
 * How the Redis adapters get a client: a ready one from the user, or one they create and own.
 *
 * ioredis is an optional peer dependency, so it is loaded here lazily, only when a client must be
 * created: importing `bulwark/cache` (or `bulwark/cache/redis` with `{ client }`) never loads it.
 */
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis'
import { toAbortedError } from '../../core/abort.js'
import { BulwarkError, ValidationError } from '../../core/errors.js'
import { loadPeer } from '../../core/peer.js'

/** How a Redis adapter connects: a ready client, or a URL and/or ioredis options for a client it owns. */
export interface RedisConnectionOptions {
  /**
   * A ready ioredis client: a `Redis` (plain, or Sentinel-configured with `sentinels` and `name`) or a
   * `Cluster`. It is used as is (its own offline queue, retries and timeouts apply) and left open by
   * `close()`. Mutually exclusive with `url`, `connection` and `cluster`.
   * @default undefined
   */
  client?: Redis | Cluster
  /**
   * A Redis URL (`redis://user:pass@host:6379/0`) for a client the adapter creates, owns and closes.
   * @default 'redis://127.0.0.1:6379' when neither `client` nor `connection` is given
   */
  url?: string
  /**
   * ioredis options for the created client, applied over Bulwark's defaults: auto-pipelining
   * (`enableAutoPipelining: true`, commands of one tick share one write; pass `false` to turn it off)
   * and fail-fast settings (`enableOfflineQueue: false`, `maxRetriesPerRequest: 0`,
   * `autoResendUnfulfilledCommands: false`, `connectTimeout: 2000`, reconnect every 100 ms up to 1 s),
   * which make a command fail at once while Redis is down instead of queueing behind the outage. A Redis that hangs with its connection open
   * is bounded by the cache's hard timeout (the cache stops waiting at its deadline); using the driver on its own,
   * pass a signal or set `commandTimeout` here (it costs a timer per command).
   * A Sentinel setup is options too: `{ sentinels: [{ host, port }], name: 'mymaster' }`.
   * @default {}
   */
  connection?: RedisOptions
  /**
   * A Redis Cluster the adapter connects to, owns and closes: its startup nodes and ioredis
   * `ClusterOptions`, applied over the same fail-fast defaults (for every node connection, and
   * `enableOfflineQueue: false` for the cluster, so a command for a failed-over slot fails at once).
   * Unlike a created `Redis`, the cluster does not auto-pipeline: with ioredis's Cluster
   * auto-pipelining, calls never recovered from a master's failover in the failover test.
   * Mutually exclusive with `url` and `connection`.
   * @default undefined
   */
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions }
}

/**
 * Fail-fast defaults: a cache must never queue callers behind a Redis outage. No `commandTimeout`:
 * its timer per command costs about as much as the rest of the driver's work on an L2 hit, and the
 * cache already puts a deadline on every call.
 */
const FAIL_FAST: RedisOptions = {
  // Commands issued in the same tick go out in one write: under concurrent load, fewer syscalls and
  // Redis reads per command (about twice the throughput of a plain client on loopback).
  enableAutoPipelining: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: 2_000,
  retryStrategy: (times: number) => Math.min(times * 100, 1_000),
}

type IoredisModule = {
  Redis?: new (options: RedisOptions) => Redis
  default?: new (options: RedisOptions) => Redis
  Cluster?: new (nodes: ClusterNode[], options: ClusterOptions) => Cluster
}

function loadModule(): IoredisModule {
  return loadPeer<IoredisModule>('ioredis', 'bulwark/cache/redis')
}

function loadIoredis(): new (options: RedisOptions) => Redis {
  const ioredis = loadModule()
  const ctor = ioredis.Redis ?? ioredis.default
  if (!ctor) throw new BulwarkError('E_MISSING_PEER', 'The installed `ioredis` exports no Redis class')
  return ctor
}

/** Validates the connection part of an adapter's options (nothing is created yet). */
export function validateConnection(options: RedisConnectionOptions): void {
  const { client, url, connection, cluster } = options
  if (client !== undefined) {
    const shaped = typeof client === 'object' && client !== null && typeof client.duplicate === 'function'
    if (!shaped) throw new ValidationError('client', 'an ioredis client', client)
    if (url !== undefined || connection !== undefined || cluster !== undefined) {
      throw new ValidationError('client', 'given alone (without `url`, `connection` or `cluster`)', client)
    }
  }
  if (cluster !== undefined) {
    const shaped = typeof cluster === 'object' && cluster !== null && Array.isArray(cluster.nodes)
    if (!shaped || cluster.nodes.length === 0) {
      throw new ValidationError('cluster', '{ nodes: [at least one node], options? }', cluster)
    }
    if (url !== undefined || connection !== undefined) {
      throw new ValidationError('cluster', 'given alone (without `url` or `connection`)', cluster)
    }
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    throw new ValidationError('url', 'a redis:// or rediss:// URL', url)
  }
  if (connection !== undefined && (typeof connection !== 'object' || connection === null)) {
    throw new ValidationError('connection', 'an ioredis options object', connection)
  }
}

/** Whether a client is an ioredis `Cluster` (its own flag: works across two installed copies). */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as Cluster).isCluster === true
}

/** Creates the cluster of `options.cluster` with the fail-fast defaults (`overrides` win for every node). */
export function createOwnedCluster(
  cluster: NonNullable<RedisConnectionOptions['cluster']>,
  overrides: RedisOptions = {},
): Cluster {
  const Ctor = loadModule().Cluster
  if (!Ctor) throw new BulwarkError('E_MISSING_PEER', 'The installed `ioredis` exports no Cluster class')
  const given = cluster.options ?? {}
  const client = new Ctor(cluster.nodes, {
    enableOfflineQueue: false,
    clusterRetryStrategy: FAIL_FAST.retryStrategy,
    ...given,
    redisOptions: { ...FAIL_FAST, ...given.redisOptions, ...overrides },
  })
  client.on('error', () => {})
  return client
}

/** The owned client `options` describe: a cluster, or one Redis (URL, options, Sentinel). */
export function createOwned(options: RedisConnectionOptions): Redis | Cluster {
  return options.cluster ? createOwnedCluster(options.cluster) : createOwnedClient(options)
}

/** Creates a client with the fail-fast defaults; `overrides` win over both defaults and user options. */
export function createOwnedClient(options: RedisConnectionOptions, overrides: RedisOptions = {}): Redis {
  const Ctor = loadIoredis()
  const fromUrl = options.url ?? (options.connection ? undefined : 'redis://127.0.0.1:6379')
  const merged: RedisOptions = { ...FAIL_FAST, ...options.connection, ...overrides }
  const client = fromUrl
    ? new (Ctor as unknown as new (url: string, o: RedisOptions) => Redis)(fromUrl, merged)
    : new Ctor(merged)
  // Without a listener ioredis prints every connection error; the adapters report errors on calls.
  client.on('error', () => {})
  return client
}

/**
 * Resolves when an owned client is ready for the first time, when its first connection attempt fails
 * (refused, reset: commands then fail at once, as on any disconnected client, instead of waiting for
 * their deadline while it retries), or after `timeoutMs`. With the offline queue disabled, this is what
 * lets the very first commands after construction wait for the connection instead of failing.
 *
 * The wait is on real time (an unref'd timer), never on an injected clock: it is about a socket, and a
 * test that moves its fake clock before the client connected must not make the first calls fail.
 */
export function firstReady(client: Redis | Cluster, timeoutMs: number): Promise<void> | undefined {
  if (client.status === 'ready') return undefined
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      client.off('ready', done)
      client.off('error', done)
      client.off('close', done)
      client.off('end', done)
      resolve()
    }
    const timer = setTimeout(done, timeoutMs)
    timer.unref()
    client.once('ready', done)
    client.once('error', done)
    client.once('close', done)
    client.once('end', done)
  })
}

/** How long an owned client may take to connect the first time. */
export function connectTimeoutOf(client: Redis | Cluster): number {
  const options = isCluster(client) ? client.options.redisOptions : client.options
  return options?.connectTimeout ?? 2_000
}

/** The rejecters of the calls waiting on each signal: one abort listener per signal, not per call. */
const waiting = new WeakMap<AbortSignal, Set<(error: Error) => void>>()

function waitersOf(signal: AbortSignal): Set<(error: Error) => void> {
  let waiters = waiting.get(signal)
  if (waiters === undefined) {
    const created = new Set<(error: Error) => void>()
    waiting.set(signal, created)
    signal.addEventListener(
      'abort',
      () => {
        const error = toAbortedError(signal)
        for (const reject of created) reject(error)
        created.clear()
      },
      { once: true },
    )
    waiters = created
  }
  return waiters
}

/** `command()`'s promise, with a synchronous throw (of the command or of building its arguments) as its rejection. */
export function sent<T>(command: () => Promise<T>): Promise<T> {
  try {
    return command()
  } catch (error) {
    return Promise.reject(error)
  }
}

/**
 * Lets the caller stop waiting for `promise` when `signal` aborts (Redis may still run the command).
 * Calls that share a signal (the cache groups L2 calls by deadline) share one abort listener: adding
 * and removing an EventTarget listener per call costs more than the rest of the driver's work, and
 * grows with the number of listeners already on the signal. `map` / `mapError`, when given, turn the
 * outcome inside the same reaction (one promise fewer than a `then` after the race).
 */
export function raceSignal<T, R = T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  map?: (value: T) => R,
  mapError?: (error: unknown) => never,
): Promise<R> {
  if (signal === undefined) return (map ? promise.then(map, mapError) : promise) as Promise<R>
  if (signal.aborted) {
    promise.catch(() => {})
    return Promise.reject(toAbortedError(signal))
  }
  const waiters = waitersOf(signal)
  return new Promise<R>((resolve, reject) => {
    waiters.add(reject)
    promise.then(
      (value) => {
        waiters.delete(reject)
        if (map === undefined) resolve(value as unknown as R)
        else {
          try {
            resolve(map(value))
          } catch (error) {
            reject(error)
          }
        }
      },
      (error: unknown) => {
        waiters.delete(reject)
        if (mapError === undefined) reject(error)
        else {
          try {
            mapError(error)
          } catch (mapped) {
            reject(mapped)
          }
        }
      },
    )
  })
}

/**
 * Closes a client politely (QUIT lets replies in flight arrive) but never waits long for it: a frozen
 * server would leave QUIT unanswered, so after `graceMs` (real time) the connection is simply dropped.
 */
export async function closeClient(client: Redis | Cluster, graceMs = 1_000): Promise<void> {
  if (client.status === 'end') return
  if (client.status !== 'ready') {
    client.disconnect()
    return
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  const dropped = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs)
  })
  await Promise.race([client.quit().catch(() => {}), dropped])
  clearTimeout(timer)
  // QUIT may have lost the race: drop the connection (a no-op once it has ended).
  client.disconnect()
}

/** Wraps a client error as `E_CACHE_L2`, keeping abort and Bulwark errors as they are. */
export function l2Error(operation: string, error: unknown): Error {
  if (error instanceof Error && (error as { isBulwarkError?: unknown }).isBulwarkError === true) return error
  const message = error instanceof Error ? error.message : String(error)
  return new BulwarkError('E_CACHE_L2', `Redis ${operation} failed: ${message}`, {
    cause: error,
    context: { driver: 'redis', operation },
  })
}
