import { BulwarkError } from '../../core/errors.js'
import type { RecordedEvent, Upcasters } from '../types.js'

/** Turns a recorded event into its current shape. */
export type UpcastFn = (event: RecordedEvent) => RecordedEvent

const identity: UpcastFn = (event) => event

/**
 * Builds the function adapters apply to every event they read. Chosen once at construction: with no
 * upcasters it is the identity, so reads pay nothing.
 *
 * An event of schema version `n` is passed through `upcasters[type][n]`, `[n + 1]`, ... while one is
 * registered; the result carries the version it reached in `metadata.schemaVersion`.
 */
export function makeUpcast(upcasters: Upcasters | undefined): UpcastFn {
  if (!upcasters || Object.keys(upcasters).length === 0) return identity
  return (event) => {
    const steps = upcasters[event.type]
    if (!steps) return event
    let version = event.metadata.schemaVersion
    let step = steps[version]
    if (!step) return event
    let data = event.data
    while (step) {
      try {
        data = step(data, event)
      } catch (cause) {
        throw new BulwarkError(
          'E_UPCAST_FAILED',
          `Upcasting ${event.type} from schema version ${version} failed (event ${event.id}, stream ${event.streamId})`,
          { cause, context: { eventId: event.id, type: event.type, schemaVersion: version } },
        )
      }
      version++
      step = steps[version]
    }
    return { ...event, data, metadata: { ...event.metadata, schemaVersion: version } }
  }
}
