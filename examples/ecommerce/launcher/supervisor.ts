import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, mkdirSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import { settings } from '../lib/config.js'
import type { ServiceName } from '../lib/runtime.js'
import { exampleRoot } from '../lib/runtime.js'

/** What the launcher adds to each start of a process (the fault API sets them). */
export interface ProcessHooks {
  /** Extra environment of each start: the faults in effect, so a restarted process starts with them. */
  env?(p: ServiceProcess): NodeJS.ProcessEnv
  /** Runs once the process answers /ready, before it is reported ready (faults changed while it started). */
  ready?(p: ServiceProcess): Promise<void>
}

/** One OS process of one service, restarted when it dies on its own (unless told otherwise). */
export class ServiceProcess {
  readonly name: ServiceName
  readonly replica: number
  readonly port: number
  child: ChildProcess | undefined
  status: 'starting' | 'ready' | 'stopped' | 'exited' = 'stopped'
  restarts = 0
  hooks: ProcessHooks = {}
  #wanted = false
  readonly #env: NodeJS.ProcessEnv
  readonly #logFile: string
  readonly #restart: boolean
  readonly #host: string
  readonly #entry: string

  constructor(o: {
    name: ServiceName
    replica: number
    port: number
    host: string
    env: NodeJS.ProcessEnv
    logDir: string
    restart: boolean
    /** The script to run (the service's built `main.js` unless given). */
    entry?: string
  }) {
    this.name = o.name
    this.replica = o.replica
    this.port = o.port
    this.#host = o.host
    this.#env = o.env
    this.#restart = o.restart
    this.#entry = o.entry ?? join(exampleRoot, 'dist/services', o.name, 'main.js')
    mkdirSync(o.logDir, { recursive: true })
    this.#logFile = join(o.logDir, logFileName(o.name, o.replica))
  }

  get url() {
    return `http://${this.#host === '0.0.0.0' ? '127.0.0.1' : this.#host}:${this.port}`
  }

  start(): void {
    if (this.child !== undefined) return
    this.#wanted = true
    this.status = 'starting'
    const log = createWriteStream(this.#logFile, { flags: 'a' })
    // A log that cannot be written (disk full, directory removed) must not take the launcher down.
    log.on('error', () => {})
    // An IPC channel: when the launcher dies, however it dies, the child sees `disconnect` and stops.
    const child = spawn(process.execPath, [...settings.serviceNodeFlags, this.#entry], {
      env: { ...this.#env, ...this.hooks.env?.(this), PORT: String(this.port), REPLICA: String(this.replica) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    // Two sources share the log, and either may end first (a process can close its stdout and go on):
    // neither ends it; `close` does, once the process has exited and both pipes are drained.
    child.stdout?.pipe(log, { end: false })
    child.stderr?.pipe(log, { end: false })
    if (process.env.EXAMPLE_LOGS === 'stdout') child.stdout?.pipe(process.stdout)
    this.child = child
    child.once('close', (code, signal) => log.end(`# exited code=${code} signal=${signal}\n`))
    child.once('exit', () => {
      this.child = undefined
      this.status = this.#wanted ? 'exited' : 'stopped'
      if (this.#wanted && this.#restart) {
        this.restarts++
        setTimeout(() => this.#wanted && this.start(), 1000).unref()
      }
    })
    void this.#waitReady(child)
  }

  async #waitReady(child: ChildProcess) {
    while (this.child === child) {
      if ((await probe(`${this.url}/ready`)) === 200) {
        await this.hooks.ready?.(this).catch(() => {})
        if (this.child === child) this.status = 'ready'
        return
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** SIGTERM (graceful: drain, stop subscriptions, close stores) or SIGKILL; resolves once the process is gone. */
  stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', graceMs = 10_000): Promise<void> {
    this.#wanted = signal === 'SIGKILL' && this.#restart
    const child = this.child
    if (child === undefined) return Promise.resolve()
    return new Promise((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), graceMs)
      child.once('exit', () => {
        clearTimeout(force)
        resolve()
      })
      child.kill(signal)
    })
  }

  describe() {
    return {
      name: this.name,
      replica: this.replica,
      pid: this.child?.pid ?? null,
      url: this.url,
      status: this.status,
      restarts: this.restarts,
    }
  }
}

/** The name of a process's log file in the launcher's log directory (`inventory.log`, `inventory-1.log`). */
export function logFileName(name: string, replica: number): string {
  return `${name}${replica > 0 ? `-${replica}` : ''}.log`
}

/** node:http rather than fetch: the launcher stays small (fetch loads undici, ~30 MB of RSS). */
function probe(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
  })
}
