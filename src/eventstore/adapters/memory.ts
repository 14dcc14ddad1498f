import { expectOptions, optionKeys } from '../../core/validate.js'
import {
  checkExpectedVersion,
  EventStoreShell,
  findIdempotentResult,
  type PreparedAppend,
  type PreparedSnapshot,
  rowToEvent,
  type StoreBackend,
  type StoredRow,
  type ValidReadAllOptions,
  type ValidReadStreamOptions,
  Watchers,
} from '../internal/index.js'
import type { AppendResult, EventStoreOptions, RecordedEvent, Snapshot } from '../types.js'

/** Options of {@link memoryEventStore}. */
export interface MemoryEventStoreOptions extends EventStoreOptions {}

/**
 * An event store in process memory: a full adapter (same conformance suite as SQLite, PostgreSQL and
 * MongoDB), for tests, examples and single-process tools. Nothing survives the process.
 *
 * Appends run synchronously between two awaits, so each is atomic and positions are assigned in commit
 * order with no gap. Events are kept as JSON text and parsed on every read, as a database would, so a
 * caller mutating what it wrote or read cannot change the store.
 *
 * @example
 * ```ts
 * const store = memoryEventStore({ clock: fakeClock() })
 * await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' })
 * const events = await store.readStream('order-1')
 * ```
 */
export function memoryEventStore(options: MemoryEventStoreOptions = {}): MemoryEventStore {
  return new MemoryEventStore(options)
}

/** The class behind {@link memoryEventStore}. */
export class MemoryEventStore extends EventStoreShell {
  constructor(options: MemoryEventStoreOptions = {}) {
    expectOptions('options', options, optionKeys<MemoryEventStoreOptions>({ clock: true, upcasters: true }))
    super('memory', options, () => new MemoryBackend())
  }
}

/** Arrays and maps: each append runs synchronously, so it is atomic and numbered in commit order. */
class MemoryBackend implements StoreBackend {
  readonly #log: StoredRow[] = []
  readonly #streams = new Map<string, StoredRow[]>()
  readonly #byId = new Map<string, StoredRow>()
  readonly #snapshots = new Map<string, string>()
  readonly #checkpoints = new Map<string, number>()
  readonly watchers = new Watchers()

  append(append: PreparedAppend): AppendResult {
    const stream = this.#streams.get(append.streamId) ?? []
    const repeated = findIdempotentResult(
      append.streamId,
      append.events,
      append.events.map((e) => (e.idGiven ? this.#byId.get(e.id) : undefined)),
    )
    if (repeated) return repeated
    checkExpectedVersion(append.streamId, append.expectedVersion, stream.length)
    const recordedAt = append.recordedAt.getTime()
    const firstPosition = this.#log.length + 1
    for (const e of append.events) {
      const row: StoredRow = {
        id: e.id,
        type: e.type,
        dataJson: e.dataJson,
        metadataJson: e.metadataJson,
        streamId: append.streamId,
        streamVersion: stream.length + 1,
        globalPosition: this.#log.length + 1,
        recordedAt,
      }
      this.#log.push(row)
      stream.push(row)
      this.#byId.set(row.id, row)
    }
    this.#streams.set(append.streamId, stream)
    return { nextExpectedVersion: stream.length, firstPosition, lastPosition: this.#log.length }
  }

  readStream(streamId: string, { direction, fromVersion, maxCount }: ValidReadStreamOptions): RecordedEvent[] {
    const stream = this.#streams.get(streamId) ?? []
    let rows: StoredRow[]
    if (direction === 'forwards') {
      const start = Math.max(0, (fromVersion ?? 1) - 1)
      rows = stream.slice(start, start + Math.min(maxCount, stream.length))
    } else {
      const end = Math.min(fromVersion ?? stream.length, stream.length)
      rows = stream.slice(Math.max(0, end - maxCount), end).reverse()
    }
    return rows.map(rowToEvent)
  }

  readAll({ after, maxCount, types, recordedFrom, recordedTo }: ValidReadAllOptions): RecordedEvent[] {
    const typeSet = types ? new Set(types) : undefined
    const from = recordedFrom?.getTime() ?? Number.NEGATIVE_INFINITY
    const to = recordedTo?.getTime() ?? Number.POSITIVE_INFINITY
    const out: RecordedEvent[] = []
    // Positions are 1..n with no gap, so the first event after `after` is at index `after`.
    for (let i = after; i < this.#log.length && out.length < maxCount; i++) {
      const row = this.#log[i] as StoredRow
      if (typeSet && !typeSet.has(row.type)) continue
      if (row.recordedAt < from || row.recordedAt >= to) continue
      out.push(rowToEvent(row))
    }
    return out
  }

  streamVersion(streamId: string): number {
    return this.#streams.get(streamId)?.length ?? 0
  }

  headPosition(): number {
    return this.#log.length
  }

  saveSnapshot({ snapshot }: PreparedSnapshot): void {
    this.#snapshots.set(snapshot.streamId, JSON.stringify(snapshot))
  }

  loadSnapshot(streamId: string): Snapshot | undefined {
    const json = this.#snapshots.get(streamId)
    return json === undefined ? undefined : (JSON.parse(json) as Snapshot)
  }

  loadCheckpoint(subscriptionId: string): number | undefined {
    return this.#checkpoints.get(subscriptionId)
  }

  storeCheckpoint(subscriptionId: string, position: number): void {
    this.#checkpoints.set(subscriptionId, position)
  }

  async close(): Promise<void> {
    this.watchers.clear()
  }
}
