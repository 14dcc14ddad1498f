import type { Clock } from '../../core/clock.js'
import { expectOptions, optionKeys } from '../../core/validate.js'
import { StoreClosedError } from '../errors.js'
import {
  checkExpectedVersion,
  findIdempotentResult,
  iterateAllPages,
  iterateStreamPages,
  prepareAppend,
  prepareSnapshot,
  resolveStoreOptions,
  rowToEvent,
  type StoredRow,
  type UpcastFn,
  validateCheckpoint,
  validateId,
  validateListener,
  validateReadAllOptions,
  validateReadStreamOptions,
  Watchers,
} from '../internal/index.js'
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  EventStoreOptions,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  Snapshot,
} from '../types.js'

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
export class MemoryEventStore implements EventStore {
  readonly #clock: Clock
  readonly #upcast: UpcastFn
  readonly #log: StoredRow[] = []
  readonly #streams = new Map<string, StoredRow[]>()
  readonly #byId = new Map<string, StoredRow>()
  readonly #snapshots = new Map<string, string>()
  readonly #checkpoints = new Map<string, number>()
  readonly #watchers = new Watchers()
  #closed = false

  constructor(options: MemoryEventStoreOptions = {}) {
    expectOptions('options', options, optionKeys<MemoryEventStoreOptions>({ clock: true, upcasters: true }))
    const { clock, upcast } = resolveStoreOptions(options)
    this.#clock = clock
    this.#upcast = upcast
  }

  async appendToStream(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    this.#assertOpen()
    const append = prepareAppend(streamId, events, options, this.#clock)
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
    this.#watchers.notify()
    return { nextExpectedVersion: stream.length, firstPosition, lastPosition: this.#log.length }
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    this.#assertOpen()
    validateId(streamId)
    const { direction, fromVersion, maxCount } = validateReadStreamOptions(options)
    const stream = this.#streams.get(streamId) ?? []
    let rows: StoredRow[]
    if (direction === 'forwards') {
      const start = Math.max(0, (fromVersion ?? 1) - 1)
      rows = stream.slice(start, start + Math.min(maxCount, stream.length))
    } else {
      const end = Math.min(fromVersion ?? stream.length, stream.length)
      rows = stream.slice(Math.max(0, end - maxCount), end).reverse()
    }
    return rows.map((row) => this.#upcast(rowToEvent(row)))
  }

  iterateStream(streamId: string, options?: ReadStreamOptions & { pageSize?: number }): AsyncIterable<RecordedEvent> {
    return iterateStreamPages((id, o) => this.readStream(id, o), streamId, options)
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    this.#assertOpen()
    const { after, maxCount, types, recordedFrom, recordedTo } = validateReadAllOptions(options)
    const typeSet = types ? new Set(types) : undefined
    const from = recordedFrom?.getTime() ?? Number.NEGATIVE_INFINITY
    const to = recordedTo?.getTime() ?? Number.POSITIVE_INFINITY
    const out: RecordedEvent[] = []
    // Positions are 1..n with no gap, so the first event after `after` is at index `after`.
    for (let i = after; i < this.#log.length && out.length < maxCount; i++) {
      const row = this.#log[i] as StoredRow
      if (typeSet && !typeSet.has(row.type)) continue
      if (row.recordedAt < from || row.recordedAt >= to) continue
      out.push(this.#upcast(rowToEvent(row)))
    }
    return out
  }

  iterateAll(options?: ReadAllOptions & { pageSize?: number }): AsyncIterable<RecordedEvent> {
    return iterateAllPages((o) => this.readAll(o), options)
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen()
    return this.#streams.get(validateId(streamId))?.length ?? 0
  }

  async headPosition(): Promise<number> {
    this.#assertOpen()
    return this.#log.length
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#assertOpen()
    const { snapshot: s } = prepareSnapshot(snapshot)
    this.#snapshots.set(s.streamId, JSON.stringify(s))
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    this.#assertOpen()
    const json = this.#snapshots.get(validateId(streamId))
    return json === undefined ? undefined : (JSON.parse(json) as Snapshot)
  }

  async loadCheckpoint(subscriptionId: string): Promise<number | undefined> {
    this.#assertOpen()
    return this.#checkpoints.get(validateId(subscriptionId, 'subscriptionId'))
  }

  async storeCheckpoint(subscriptionId: string, position: number): Promise<void> {
    this.#assertOpen()
    validateCheckpoint(subscriptionId, position)
    this.#checkpoints.set(subscriptionId, position)
  }

  watch(listener: () => void): () => void {
    this.#assertOpen()
    return this.#watchers.add(validateListener(listener))
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#watchers.clear()
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError('memory')
  }
}
