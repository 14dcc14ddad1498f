/**
 * A private redis-server for fault tests: started on a free port, and stopped, killed, restarted (on
 * the same port, so clients reconnect to it) or made to drop connections, without touching the
 * shared Redis other tests use.
 *
 * @example
 * ```ts
 * const server = await startRedisServer()
 * await server.clientKill('pubsub')
 * await server.kill()
 * await server.start()
 * await server.close()
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Whether the server process is running. */
  readonly running: boolean
  /** Starts the server (again) on the same port; resolves when it accepts connections. */
  start(): Promise<void>
  /** `SHUTDOWN NOSAVE`: a clean stop that closes every connection. */
  stop(): Promise<void>
  /** SIGKILL: the process dies at once, as in a crash. */
  kill(): Promise<void>
  /** SIGSTOP: the server hangs with its connections open, answering nothing (a stalled Redis). */
  freeze(): void
  /** SIGCONT: the frozen server answers again. */
  thaw(): void
  /** Kills and starts again on the same port. */
  restart(): Promise<void>
  /** `CLIENT KILL TYPE <type>`; resolves to the number of connections closed. */
  clientKill(type: 'pubsub' | 'normal'): Promise<number>
  /** Runs one command on a short-lived connection. */
  command(name: string, ...args: (string | number)[]): Promise<unknown>
  /** Kills the server for good. */
  close(): Promise<void>
}

const alive = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL')
})

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

/**
 * Spawns `redis-server` with `args` (run in `cwd` when given) and resolves once it logs `readyText`;
 * the process is SIGKILLed when the test process exits, whatever happens to the test.
 */
export async function spawnRedis(
  args: string[],
  options: { cwd?: string; readyText?: string } = {},
): Promise<ChildProcess> {
  const readyText = options.readyText ?? 'Ready to accept connections'
  const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd })
  alive.add(started)
  started.once('exit', () => alive.delete(started))
  await new Promise<void>((resolve, reject) => {
    let output = ''
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(readyText)) {
        started.stdout?.off('data', onData)
        started.off('exit', onExit)
        resolve()
      }
    }
    const onExit = (code: number | null) => reject(new Error(`redis-server exited with ${code}: ${output}`))
    started.stdout?.on('data', onData)
    started.once('exit', onExit)
  })
  started.stdout?.resume()
  started.stderr?.resume()
  return started
}

/** Runs one command on the server at `port`, on a short-lived connection. */
export async function commandAt(port: number, name: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    return await client.call(name, ...args)
  } finally {
    client.disconnect()
  }
}

/** Polls `probe` every 100 ms until it yields a value (errors count as not yet); throws after `timeoutMs`. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Resolves once `child` has exited (at once if it already has). */
export async function exited(child: ChildProcess | undefined): Promise<void> {
  if (child && child.exitCode === null && child.signalCode === null) await once(child, 'exit')
}

/** Starts a redis-server with no persistence, on `port` or a free one. */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  port ??= await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined

  const spawnServer = async (): Promise<void> => {
    if (child) return
    const started = await spawnRedis([
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ])
    child = started
    started.once('exit', () => {
      if (child === started) child = undefined
    })
  }

  const command = (name: string, ...args: (string | number)[]) => commandAt(port as number, name, ...args)

  const kill = async (): Promise<void> => {
    const current = child
    current?.kill('SIGCONT')
    current?.kill('SIGKILL')
    await exited(current)
  }

  await spawnServer()
  return {
    port,
    url,
    get running() {
      return child !== undefined
    },
    start: spawnServer,
    async stop() {
      const current = child
      await command('SHUTDOWN', 'NOSAVE').catch(() => {})
      await exited(current)
    },
    kill,
    freeze() {
      child?.kill('SIGSTOP')
    },
    thaw() {
      child?.kill('SIGCONT')
    },
    async restart() {
      await kill()
      await spawnServer()
    },
    async clientKill(type) {
      return (await command('CLIENT', 'KILL', 'TYPE', type)) as number
    },
    command,
    close: kill,
  }
}

/** How many times `command` ran on `server` since it started or since `CONFIG RESETSTAT` (INFO commandstats). */
export async function commandCalls(server: RedisServer, command: string): Promise<number> {
  const info = (await server.command('INFO', 'commandstats')) as string
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)
  return match ? Number(match[1]) : 0
}

/** Deletes every key matching `pattern` (SCAN + UNLINK, never KEYS or FLUSHDB): test and bench cleanup. */
export async function unlinkMatching(client: Redis, pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000)
    if (keys.length > 0) await client.unlink(keys)
    cursor = next
  } while (cursor !== '0')
}
