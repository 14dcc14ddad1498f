/**
 * One child process of the "processes x appenders" figure of `eventstore.bench.ts`: opens one store of
 * the kind it is given, reports `ready`, waits for `go`, runs its appenders, and reports how many
 * appends it made and when (wall clock, so the parent can take the span over all processes).
 * argv: kind, appenders, appends per appender, stream prefix, JSON target.
 */
import { type AppenderKind, type AppenderTarget, openAppenders, peerFailures } from './eventstore-appenders.js'

const [kind, appenders, perAppender, prefix, target] = process.argv.slice(2) as [string, string, string, string, string]
const set = await openAppenders(kind as AppenderKind, JSON.parse(target) as AppenderTarget, Number(appenders))
const runs = Array.from({ length: Number(appenders) }, (_, a) => set.make(`${prefix}-${a}`))
// One warm-up append each, so connections are open and statements prepared before the clock starts.
for (const append of runs) await append()
process.send?.({ ready: true })
process.once('message', async () => {
  const started = Date.now()
  await Promise.all(
    runs.map(async (append) => {
      for (let k = 0; k < Number(perAppender); k++) await append()
    }),
  )
  const finished = Date.now()
  await set.close()
  process.send?.({ started, finished, appends: runs.length * Number(perAppender), failures: peerFailures.count }, () =>
    process.exit(0),
  )
})
