/**
 * Group commit: appends that arrive while the store is busy (or in the same tick) are written by one
 * transaction, a "round", so a round pays one commit (one WAL flush on PostgreSQL, one WAL write on
 * SQLite) for all of them. Each append still succeeds or fails alone: the adapter's round isolates
 * them (a savepoint each) and answers one outcome per append, in the order given.
 *
 * Rounds run one at a time, in submission order, so appends of one process commit in the order they
 * were made and the positions of a round follow that order.
 */

/** What a round answers for one append: its result, or the error that append alone failed with. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown }

/** Writes `items` in one transaction; one outcome per item, same order. A throw fails the whole round. */
export type RunRound<T, R> = (items: readonly T[]) => Promise<readonly Outcome<R>[]> | readonly Outcome<R>[]

/** When a round starts after the first append arrives at an idle queue. */
export type Schedule = (start: () => void) => void

/** Starts the round once the current microtasks have run: appends made in the same tick join it. */
export const inMicrotask: Schedule = (start) => queueMicrotask(start)

interface Entry<T, R> {
  item: T
  resolve(value: R): void
  reject(error: unknown): void
}

/** A queue of appends written in rounds by `runRound`, at most `maxRound` per round. */
export class GroupCommit<T, R> {
  readonly #runRound: RunRound<T, R>
  readonly #maxRound: number
  readonly #schedule: Schedule
  #queue: Entry<T, R>[] = []
  #busy = false
  #idle: (() => void)[] = []

  constructor(options: { runRound: RunRound<T, R>; maxRound: number; schedule?: Schedule }) {
    this.#runRound = options.runRound
    this.#maxRound = options.maxRound
    this.#schedule = options.schedule ?? inMicrotask
  }

  /** Queues `item` for the next round; settles with its own outcome. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (!this.#busy) {
        this.#busy = true
        this.#schedule(() => void this.#drain())
      }
    })
  }

  /** Resolves once every append submitted so far has settled. */
  idle(): Promise<void> {
    if (!this.#busy) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  // Runs rounds until the queue is empty. Appends that arrive during a round wait for the next one:
  // they are what makes the next round bigger while the database is busy.
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const round = this.#queue.length <= this.#maxRound ? this.#queue : this.#queue.slice(0, this.#maxRound)
      this.#queue = round === this.#queue ? [] : this.#queue.slice(this.#maxRound)
      await this.#run(round)
    }
    this.#busy = false
    for (const resolve of this.#idle.splice(0)) resolve()
  }

  async #run(round: Entry<T, R>[]): Promise<void> {
    let outcomes: readonly Outcome<R>[]
    try {
      outcomes = await this.#runRound(round.map((e) => e.item))
    } catch (error) {
      for (const entry of round) entry.reject(error)
      return
    }
    for (let i = 0; i < round.length; i++) {
      const entry = round[i] as Entry<T, R>
      const outcome = outcomes[i] as Outcome<R>
      if (outcome.ok) entry.resolve(outcome.value)
      else entry.reject(outcome.error)
    }
  }
}
