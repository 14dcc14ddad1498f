import { ValidationError } from '../core/errors.js'
import { expectNumber, expectOptions, optionalNumber, optionKeys } from '../core/validate.js'
import { WrongExpectedVersionError } from './errors.js'
import { isPlainObject } from './internal/json.js'
import { validateId } from './internal/validate.js'
import type { AppendResult, EventMetadata, EventStore, JsonValue, NewEvent, RecordedEvent } from './types.js'

const AGGREGATE_REPOSITORY_OPTIONS = optionKeys<AggregateRepositoryOptions<unknown, DomainEvent, unknown>>({
  aggregate: true,
  streamPrefix: true,
  snapshots: true,
  maxRetries: true,
  onSnapshotError: true,
})

/** The events an aggregate emits: a union of `{ type: 'X'; data: {...} }`. */
export type DomainEvent = { type: string; data: JsonValue }

/** The recorded form of each member of the union `E`. */
export type RecordedOf<E extends DomainEvent> = E extends {
  type: infer T extends string
  data: infer D extends JsonValue
}
  ? RecordedEvent<T, D>
  : never

/**
 * An aggregate: how its state starts, how each event changes it, and (optionally) which events a
 * command produces. `evolve` and `decide` are pure: the repository does all I/O.
 */
export interface Aggregate<State, E extends DomainEvent, Command = never> {
  /** The state of an aggregate with no events. Called once per load, so it may return a fresh object. */
  initialState: () => State
  /** The state after `event`. */
  evolve: (state: State, event: RecordedOf<E>) => State
  /** The events `command` produces in `state` (none: `[]`); throw to refuse the command. Needed by `handle`. */
  decide?: (command: Command, state: State) => E | readonly E[]
}

/** Snapshot policy of {@link aggregateRepository}. */
export interface SnapshotPolicy<State> {
  /** Save a snapshot each time the stream's version crosses a multiple of `every`. */
  every: number
  /** Shape version of the snapshot: snapshots saved under another version are ignored. @default 1 */
  schemaVersion?: number
  /** State to JSON. @default the state itself (it must then be JSON) */
  toSnapshot?: (state: State) => JsonValue
  /** JSON to state. @default the JSON itself */
  fromSnapshot?: (snapshot: JsonValue) => State
}

/** Options of {@link aggregateRepository}. */
export interface AggregateRepositoryOptions<State, E extends DomainEvent, Command> {
  aggregate: Aggregate<State, E, Command>
  /** Stream id of aggregate `id` is `streamPrefix + id`. @default '' */
  streamPrefix?: string
  /** Snapshot every N events. @default no snapshots */
  snapshots?: SnapshotPolicy<State>
  /** How many times `handle` reloads and decides again after a concurrent writer won. @default 3 */
  maxRetries?: number
  /**
   * Called when saving a snapshot fails. The events are committed by then, so the save still succeeds;
   * only the next load is slower. @default logs a warning with console.warn
   */
  onSnapshotError?: (error: unknown, streamId: string) => void
}

/** An aggregate's state at a version. */
export interface Loaded<State> {
  state: State
  /** The stream's version the state reflects (0: no events). Pass it as `expectedVersion`. */
  version: number
}

/** What `handle` did. */
export interface Handled<State, E extends DomainEvent> extends Loaded<State> {
  /** The events `decide` produced (empty: nothing was written). */
  events: readonly E[]
  /** The append's result; absent when `decide` produced no events. */
  result?: AppendResult
  /** How many conflicts were retried. */
  retries: number
}

/** Loads and saves one kind of aggregate. See {@link aggregateRepository}. */
export interface AggregateRepository<State, E extends DomainEvent, Command> {
  /** Loads from the latest snapshot (if any) plus the events after it. */
  load(id: string): Promise<Loaded<State>>
  /** Appends events with optimistic concurrency; saves a snapshot when the policy says so. */
  save(
    id: string,
    events: readonly (E & Partial<NewEvent>)[],
    options: { expectedVersion: number; metadata?: EventMetadata },
  ): Promise<AppendResult>
  /** Load, decide, save; on a concurrent write (WrongExpectedVersionError), does it all again, at most `maxRetries` times. */
  handle(id: string, command: Command, options?: { metadata?: EventMetadata }): Promise<Handled<State, E>>
  /** The state as of `at`: every event recorded at or before that time, none after. */
  aggregateStateAt(id: string, at: Date): Promise<Loaded<State>>
}

/**
 * A repository for event-sourced aggregates.
 *
 * @example
 * ```ts
 * type OrderEvent = { type: 'OrderPlaced'; data: { total: number } } | { type: 'OrderPaid'; data: { amount: number } }
 * const orders = aggregateRepository(store, {
 *   streamPrefix: 'order-',
 *   snapshots: { every: 100 },
 *   aggregate: {
 *     initialState: () => ({ status: 'new' as string, total: 0 }),
 *     evolve: (state, e: RecordedOf<OrderEvent>) =>
 *       e.type === 'OrderPlaced' ? { status: 'placed', total: e.data.total } : { ...state, status: 'paid' },
 *     decide: (cmd: { pay: number }, state): OrderEvent[] =>
 *       state.status === 'placed' ? [{ type: 'OrderPaid', data: { amount: cmd.pay } }] : [],
 *   },
 * })
 * const { state, version } = await orders.handle('o-1', { pay: 42 })
 * ```
 */
export function aggregateRepository<State, E extends DomainEvent, Command = never>(
  store: EventStore,
  options: AggregateRepositoryOptions<State, E, Command>,
): AggregateRepository<State, E, Command> {
  if (!isPlainObject(options)) throw new ValidationError('options', 'an options object', options)
  expectOptions('options', options, AGGREGATE_REPOSITORY_OPTIONS)
  const { aggregate, streamPrefix = '', snapshots } = options
  if (!isPlainObject(aggregate))
    throw new ValidationError('aggregate', 'an object { initialState, evolve, decide? }', aggregate)
  // Name the member that is wrong: "got an object" says nothing about which one.
  if (typeof aggregate.initialState !== 'function')
    throw new ValidationError('aggregate.initialState', 'a function () => state', aggregate.initialState)
  if (typeof aggregate.evolve !== 'function')
    throw new ValidationError('aggregate.evolve', 'a function (state, event) => state', aggregate.evolve)
  if (aggregate.decide !== undefined && typeof aggregate.decide !== 'function')
    throw new ValidationError('aggregate.decide', 'a function (command, state) => events', aggregate.decide)
  if (typeof streamPrefix !== 'string') throw new ValidationError('streamPrefix', 'a string', streamPrefix)
  const maxRetries = optionalNumber('maxRetries', options.maxRetries, 3, { min: 0, integer: true })
  const policy = snapshots && resolvePolicy(snapshots)
  const onSnapshotError =
    options.onSnapshotError ??
    ((error: unknown, streamId: string) => console.warn(`bulwark: snapshot of ${streamId} not saved`, error))
  const evolve = aggregate.evolve as (state: State, event: RecordedEvent) => State
  const streamOf = (id: string) => validateId(streamPrefix + validateId(id, 'id'), 'streamPrefix + id')

  async function fold(
    streamId: string,
    start: Loaded<State>,
    stop: { until?: Date; maxCount?: number } = {},
  ): Promise<Loaded<State>> {
    const { until, maxCount } = stop
    let { state, version } = start
    for await (const event of store.iterateStream(streamId, { fromVersion: version + 1, maxCount })) {
      if (until && event.recordedAt.getTime() > until.getTime()) break
      state = evolve(state, event)
      version = event.streamVersion
    }
    return { state, version }
  }

  async function load(id: string): Promise<Loaded<State>> {
    const streamId = streamOf(id)
    const snapshot = policy && (await store.loadSnapshot(streamId))
    const start =
      policy && snapshot && snapshot.schemaVersion === policy.schemaVersion
        ? { state: policy.fromSnapshot(snapshot.state), version: snapshot.streamVersion }
        : { state: aggregate.initialState(), version: 0 }
    return fold(streamId, start)
  }

  async function save(
    id: string,
    events: readonly (E & Partial<NewEvent>)[],
    { expectedVersion, metadata }: { expectedVersion: number; metadata?: EventMetadata },
  ): Promise<AppendResult> {
    const streamId = streamOf(id)
    const toAppend = metadata ? events.map((e) => ({ ...e, metadata: { ...metadata, ...e.metadata } })) : events
    const result = await store.appendToStream(streamId, toAppend, { expectedVersion })
    if (policy && Math.floor(result.nextExpectedVersion / policy.every) > Math.floor(expectedVersion / policy.every)) {
      try {
        // Loading again costs one read every `every` events, and snapshots exactly what a reader would fold.
        const { state, version } = await load(id)
        await store.saveSnapshot({
          streamId,
          streamVersion: version,
          state: policy.toSnapshot(state),
          schemaVersion: policy.schemaVersion,
        })
      } catch (error) {
        onSnapshotError(error, streamId)
      }
    }
    return result
  }

  async function handle(id: string, command: Command, handleOptions: { metadata?: EventMetadata } = {}) {
    const decide = aggregate.decide
    if (!decide) throw new ValidationError('aggregate.decide', 'a function to handle commands', undefined)
    for (let retries = 0; ; retries++) {
      const loaded = await load(id)
      const decided = decide(command, loaded.state)
      const events: readonly E[] = Array.isArray(decided) ? decided : [decided as E]
      if (events.length === 0) return { ...loaded, events, retries }
      try {
        const result = await save(id, events, { expectedVersion: loaded.version, ...handleOptions })
        const after = await fold(streamOf(id), loaded, { maxCount: events.length })
        return { ...after, events, result, retries }
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || retries >= maxRetries) throw error
      }
    }
  }

  return {
    load,
    save,
    handle,
    async aggregateStateAt(id, at) {
      if (!(at instanceof Date) || Number.isNaN(at.getTime()))
        throw new ValidationError('at', 'a valid Date', at, { code: 'E_INVALID_ARGUMENT' })
      return fold(streamOf(id), { state: aggregate.initialState(), version: 0 }, { until: at })
    },
  }
}

function resolvePolicy<State>(policy: SnapshotPolicy<State>): Required<SnapshotPolicy<State>> {
  if (!isPlainObject(policy)) throw new ValidationError('snapshots', 'a policy { every, ... }', policy)
  return {
    every: expectNumber('snapshots.every', policy.every, { min: 1, integer: true }),
    schemaVersion: optionalNumber('snapshots.schemaVersion', policy.schemaVersion, 1, { min: 1, integer: true }),
    toSnapshot: policy.toSnapshot ?? ((state) => state as JsonValue),
    fromSnapshot: policy.fromSnapshot ?? ((json) => json as State),
  }
}
