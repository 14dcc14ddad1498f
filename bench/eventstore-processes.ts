/**
 * Runs `processes` child processes of `eventstore-worker.ts`, each with `appenders` concurrent appenders
 * on one store, starts them together once all are connected, and returns the appends per second over
 * the span from the first start to the last finish.
 */
import { fork } from 'node:child_process'
import { type AppenderKind, type AppenderTarget, peerFailures } from './eventstore-appenders.js'

interface Done {
  started: number
  finished: number
  appends: number
  failures: number
}

export async function processesAppendsPerSecond(
  kind: AppenderKind,
  target: AppenderTarget,
  shape: { processes: number; appenders: number; perAppender: number },
): Promise<number> {
  const worker = new URL('./eventstore-worker.ts', import.meta.url).pathname
  const children = Array.from({ length: shape.processes }, (_, p) =>
    fork(
      worker,
      [kind, String(shape.appenders), String(shape.perAppender), `proc-${kind}-${p}`, JSON.stringify(target)],
      { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    ),
  )
  const message = <T>(child: (typeof children)[number]) =>
    new Promise<T>((resolve, reject) => {
      child.once('message', (m) => resolve(m as T))
      child.once('exit', (code) => reject(new Error(`${kind} worker exited with ${code}`)))
    })
  await Promise.all(children.map((child) => message(child)))
  const done = children.map((child) => message<Done>(child))
  for (const child of children) child.send('go')
  const results = await Promise.all(done)
  const span = Math.max(...results.map((r) => r.finished)) - Math.min(...results.map((r) => r.started))
  const appends = results.reduce((sum, r) => sum + r.appends, 0)
  peerFailures.count += results.reduce((sum, r) => sum + r.failures, 0)
  return Math.round((appends * 1000) / span)
}
