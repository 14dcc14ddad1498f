/**
 * Finding sagas without reading every saga stream: only lifecycle events (SagaStarted, SagaParked,
 * SagaResumed, SagaResolved, SagaCompleted, SagaAborted) are read, by type, from the global log.
 *
 * `recover()` also keeps a checkpoint: the position just below the oldest unfinished saga's SagaStarted.
 * Everything before it is finished, so the next scan starts there and its cost follows the sagas still
 * open, not the store's history.
 */
import type { EventStore } from '../eventstore/index.js'
import { LIFECYCLE_EVENT_TYPES, type SagaEventType } from './events.js'

/** What the lifecycle events say about one saga. */
export interface SagaLifecycle {
  sagaId: string
  /** The definition's name (from SagaStarted). */
  name: string
  /** Global position of its SagaStarted. */
  startPosition: number
  /** The last lifecycle event type. */
  last: SagaEventType
}

export interface LifecycleScan {
  sagas: Map<string, SagaLifecycle>
  /** The highest position read (or `after` when nothing was read). */
  lastPosition: number
}

const PREFIX = 'saga-'

/** Reads lifecycle events after `after`, in global order, into one entry per saga. */
export async function scanLifecycle(store: EventStore, after: number): Promise<LifecycleScan> {
  const sagas = new Map<string, SagaLifecycle>()
  let lastPosition = after
  for await (const event of store.iterateAll({ after, types: LIFECYCLE_EVENT_TYPES, pageSize: 1000 })) {
    lastPosition = event.globalPosition
    if (!event.streamId.startsWith(PREFIX)) continue
    const sagaId = event.streamId.slice(PREFIX.length)
    const type = event.type as SagaEventType
    const known = sagas.get(sagaId)
    if (known) known.last = type
    else if (type === 'SagaStarted') {
      const name = String((event.data as { name?: unknown }).name)
      sagas.set(sagaId, { sagaId, name, startPosition: event.globalPosition, last: type })
    }
  }
  return { sagas, lastPosition }
}

export function isFinished(lifecycle: SagaLifecycle): boolean {
  return lifecycle.last === 'SagaCompleted' || lifecycle.last === 'SagaAborted'
}

/** The checkpoint to store after a scan: just below the oldest unfinished saga, or the end of the scan. */
export function nextCheckpoint(scan: LifecycleScan): number {
  let low = scan.lastPosition
  for (const saga of scan.sagas.values()) {
    if (!isFinished(saga)) low = Math.min(low, saga.startPosition - 1)
  }
  return low
}
