import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { logFileName } from '../launcher/supervisor.js'

const root = resolve(import.meta.dirname, '..')
export const services = ['coordinator', 'order', 'inventory', 'payment', 'shipping', 'notification'] as const
export type Service = (typeof services)[number]
const offset: Record<Service | 'launcher', number> = {
  launcher: 0,
  coordinator: 1,
  order: 2,
  inventory: 3,
  payment: 4,
  shipping: 5,
  notification: 6,
}

export interface StackOptions {
  env?: NodeJS.ProcessEnv
  args?: string[]
  /** Merged over the config file (EXAMPLE_CONFIG). */
  config?: unknown
  /** Let the launcher restart a process that dies (off by default: most tests kill processes on purpose). */
  restart?: boolean
}

export interface ProcessInfo {
  name: string
  replica: number
  pid: number | null
  url: string
  status: string
  restarts: number
}

/** The whole stack, booted by the real launcher on free ports, in a data directory of its own. */
export interface Stack {
  portBase: number
  url(service: Service): string
  call<T = unknown>(
    service: Service,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Reply<T>>
  /** The same against a base URL (one replica of a service). */
  callUrl<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<Reply<T>>
  /** A JSON request to the launcher's own port (status, fault API, /api/<service>/...). */
  launcher<T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>>
  processes(): Promise<ProcessInfo[]>
  control(service: Service, action: 'start' | 'stop' | 'kill', replica?: number): Promise<void>
  waitReady(timeoutMs?: number): Promise<void>
  /** Sums a counter of a service's /metrics whose labels contain all of `match`. */
  metric(service: Service, name: string, match?: Record<string, string>, url?: string): Promise<number>
  /** What the launcher and its services printed so far (for a failing test's message). */
  output(): string
  /** The last lines of the logs of `processes`, or of every process (for a failing test's message). */
  logs(processes?: ProcessInfo[]): string
  stop(): Promise<void>
}

export interface Reply<T> {
  status: number
  headers: Headers
  body: T
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const portBase = await freePortRange(7)
  const dataDir = mkdtempSync(join(tmpdir(), 'shop-e2e-'))
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(root, 'dist/launcher/main.js'),
      '--port-base',
      String(portBase),
      ...(o.restart ? [] : ['--no-restart']),
      '--data-dir',
      dataDir,
      ...(o.args ?? []),
    ],
    {
      env: { ...process.env, LOG_LEVEL: 'warn', ...o.env, EXAMPLE_CONFIG: JSON.stringify(o.config ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout?.on('data', (d) => (output += d))
  child.stderr?.on('data', (d) => (output += d))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const url = (s: Service) => `http://127.0.0.1:${portBase + offset[s]}`
  const launcher = `http://127.0.0.1:${portBase}`

  const stack: Stack = {
    portBase,
    url,
    call<T>(service: Service, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      return request<T>(url(service), method, path, body, headers)
    },
    callUrl: (base, method, path, body) => request(base, method, path, body, {}),
    launcher: (method, path, body) => request(launcher, method, path, body, {}),
    async processes() {
      const res = await fetch(`${launcher}/status`)
      return ((await res.json()) as { services: ProcessInfo[] }).services
    },
    async control(service, action, replica = 0) {
      const res = await fetch(`${launcher}/processes/${service}/${replica}/${action}`, { method: 'POST' })
      if (!res.ok) throw new Error(`launcher ${action} ${service}: ${res.status}`)
    },
    async waitReady(timeoutMs = 150_000) {
      const until = Date.now() + timeoutMs
      let ps: ProcessInfo[] = []
      for (;;) {
        try {
          ps = await stack.processes()
          if (ps.length > 0 && ps.every((p) => p.status === 'ready')) return
        } catch {}
        // Without restarts a process that exited never becomes ready: say so now, with its log.
        const gone = o.restart ? undefined : ps.find((p) => p.status === 'exited')
        if (gone !== undefined || Date.now() > until || child.exitCode !== null || child.signalCode !== null)
          throw new Error(
            `stack not ready${gone ? `: ${gone.name}-${gone.replica} exited` : ` in ${timeoutMs} ms`}\n` +
              `launcher output:\n${output}\nprocesses: ${JSON.stringify(ps)}\n` +
              stack.logs(ps.filter((p) => p.status !== 'ready')),
          )
        await sleep(200)
      }
    },
    async metric(service, name, match = {}, base = url(service)) {
      const text = await (await fetch(`${base}/metrics`)).text()
      let sum = 0
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
        if (Object.entries(match).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.split(' ').pop())
      }
      return sum
    },
    output: () => output,
    logs(processes) {
      const dir = join(dataDir, 'logs')
      const files = processes
        ? processes.map((p) => logFileName(p.name, p.replica))
        : existsSync(dir)
          ? readdirSync(dir)
          : []
      let text = ''
      for (const file of files) {
        const path = join(dir, file)
        const log = existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(-40).join('\n') : '(no log)'
        text += `--- ${path}\n${log}\n`
      }
      return text
    },
    async stop() {
      child.kill('SIGTERM')
      await exited
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
  await stack.waitReady()
  return stack
}

async function request<T>(
  base: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Reply<T>> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T }
}

/** The saga id the coordinator derives from an Idempotency-Key. */
export const sagaIdOf = (key: string) => `ord-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `fn` until it returns a value `ok` accepts. */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (ok(v)) return v
    if (Date.now() > until) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(v)}`)
    await sleep(100)
  }
}

/** A base port with `n` free ports above it (and the replica ports the launcher would use). */
export async function freePortRange(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below Linux's ephemeral range (32768 up): a port checked free there can be taken, before the service
    // binds it, by an outgoing connection's local port or by another test's listen(0).
    const base = 10_000 + Math.floor(Math.random() * (32_768 - 10_000 - 200))
    let ok = true
    for (let i = 0; i < n && ok; i++) ok = await portFree(base + i)
    // Replicas listen at base + 100 + offset * 10 + r.
    for (let i = 100; i < 170 && ok; i += 10) ok = (await portFree(base + i)) && (await portFree(base + i + 1))
    if (ok) return base
  }
  throw new Error('no free port range')
}

function portFree(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = net.createServer()
    s.once('error', () => r(false))
    s.listen(port, '127.0.0.1', () => s.close(() => r(true)))
  })
}
