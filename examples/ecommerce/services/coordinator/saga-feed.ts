import type { SagaOrchestrator } from 'bulwark/saga'
import { SAGA_EVENT_TYPES } from 'bulwark/saga'
import type { App } from '../../lib/service.js'

interface Recent {
  sagaId: string
  status: string
  startedAt: number
  updatedAt: number
  /** Each event as it was committed: the step timeline the dashboard draws. */
  events: { type: string; step?: string; at: number }[]
}

const statusAfter: Record<string, string> = {
  SagaStarted: 'running',
  CompensationStarted: 'compensating',
  SagaParked: 'parked',
  SagaResumed: 'running',
  SagaCompleted: 'completed',
  SagaAborted: 'aborted',
}

/**
 * `GET /sagas/feed` for the dashboard: counts by status of the sagas this process drove since it started,
 * finished totals (completions per second are their difference over time), the last 20 sagas with their
 * events, and the parked sagas (read from the store at boot, kept from events after). Kept from the
 * orchestrator's events, so reading it never scans the store.
 */
export function sagaFeed(app: App, orchestrator: SagaOrchestrator) {
  const recent = new Map<string, Recent>()
  const status = new Map<string, string>()
  const totals = { started: 0, completed: 0, aborted: 0, parked: 0, compensated: 0 }
  const parked = new Map<string, { sagaId: string; reason: string; step: string; at: number }>()
  const bootParked = orchestrator.list({ status: 'parked', limit: 100 }).then(
    (list) => {
      for (const s of list)
        parked.set(s.sagaId, { sagaId: s.sagaId, reason: s.parkedReason ?? '', step: '', at: s.updatedAt })
    },
    () => {},
  )
  for (const type of SAGA_EVENT_TYPES) {
    orchestrator.on(type, (sagaId: string, data: { step?: string; at: number; reason?: unknown }) => {
      let r = recent.get(sagaId)
      if (r === undefined) {
        r = { sagaId, status: 'running', startedAt: data.at, updatedAt: data.at, events: [] }
        recent.set(sagaId, r)
        if (recent.size > 20) recent.delete(recent.keys().next().value as string)
      }
      r.events.push({ type, ...(data.step === undefined ? {} : { step: data.step }), at: data.at })
      r.updatedAt = data.at
      const next = statusAfter[type]
      if (next !== undefined) {
        r.status = next
        status.set(sagaId, next)
      }
      if (type === 'SagaStarted') totals.started++
      if (type === 'SagaCompleted') totals.completed++
      if (type === 'SagaAborted') totals.aborted++
      if (type === 'StepCompensated') totals.compensated++
      if (type === 'SagaParked') {
        totals.parked++
        parked.set(sagaId, { sagaId, reason: String(data.reason ?? ''), step: data.step ?? '', at: data.at })
      }
      if (type === 'SagaResumed' || type === 'SagaResolved') parked.delete(sagaId)
      // Finished sagas leave the status map (it counts the live ones); the totals keep them.
      if (type === 'SagaCompleted' || type === 'SagaAborted') status.delete(sagaId)
    })
  }
  app.get('/sagas/feed', async () => {
    await bootParked
    const live: Record<string, number> = { running: 0, compensating: 0, parked: 0 }
    for (const s of status.values()) live[s] = (live[s] ?? 0) + 1
    live.parked = parked.size
    return {
      at: Date.now(),
      totals,
      live,
      recent: [...recent.values()].reverse(),
      parked: [...parked.values()],
    }
  })
}
