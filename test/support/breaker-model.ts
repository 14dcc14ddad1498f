/**
 * A reference model of the breaker's state machine, written for clarity rather than speed: plain arrays,
 * no rings, no typed arrays, no lazy bookkeeping tricks. The model-based test runs random sequences against
 * it and the real breaker and requires them to agree at every step.
 */
export interface ModelConfig {
  window: { type: 'count'; size: number } | { type: 'time'; duration: number; buckets: number }
  minimumCalls: number
  /** false: the failure rate never opens. */
  failureRateThreshold: number | false
  /** Opens on the `threshold`-th failure within `within` ms; undefined: off. */
  failureCount: { threshold: number; within: number } | undefined
  /** Opens on this many failures in a row; undefined: off. */
  consecutiveFailures: number | undefined
  slowCallRateThreshold: number
  /** undefined: no slow-call detection. */
  slowCallDuration: number | undefined
  openDuration: number
  permittedCalls: number
  deadline: number
}

export type ModelState = 'closed' | 'open' | 'half_open' | 'forced_open'
export type Admission = 'closed' | 'probe' | 'E_CIRCUIT_OPEN' | 'E_CIRCUIT_ISOLATED'

interface Call {
  kind: 'closed' | 'probe'
  start: number
  gen: number
  /** Counted as slow while running (closed calls), or permit released (probes). */
  counted: boolean
  done: boolean
}

const FAILED = 1
const SLOW = 2

export class BreakerModel {
  state: ModelState = 'closed'
  now: number
  gen = 0
  openUntil = 0
  probes = 0
  successes = 0
  records: { t: number; outcome: number }[] = []
  /** Times of every failure of closed calls since the circuit last closed (the count trips' input). */
  failureTimes: number[] = []
  streak = 0
  readonly calls: Call[] = []

  constructor(
    readonly config: ModelConfig,
    start: number,
  ) {
    this.now = start
  }

  /** What reading the state (or a call arriving) does first: due transitions and in-flight slow calls. */
  observe(): void {
    if (this.state === 'closed') {
      let flagged = 0
      for (const call of this.calls) {
        if (call.kind !== 'closed' || call.done || call.counted || call.gen !== this.gen) continue
        if (this.now - call.start > (this.config.slowCallDuration ?? Number.POSITIVE_INFINITY)) {
          call.counted = true
          this.records.push({ t: this.now, outcome: SLOW })
          flagged++
        }
      }
      if (flagged > 0) this.evaluate()
    } else if (this.state === 'open' && this.now >= this.openUntil) {
      this.transition('half_open')
    }
  }

  start(): { admission: Admission; id: number } {
    this.observe()
    const reject = (admission: Admission) => ({ admission, id: -1 })
    if (this.state === 'forced_open') return reject('E_CIRCUIT_ISOLATED')
    if (this.state === 'open') return reject('E_CIRCUIT_OPEN')
    if (this.state === 'half_open') {
      const p = this.config.permittedCalls
      if (this.probes >= p || this.probes + this.successes >= p) return reject('E_CIRCUIT_OPEN')
      this.probes++
    }
    const kind = this.state === 'closed' ? 'closed' : 'probe'
    this.calls.push({ kind, start: this.now, gen: this.gen, counted: false, done: false })
    return { admission: kind, id: this.calls.length - 1 }
  }

  /** The call's function settles (`failed`), or its caller aborts it (`aborted`). */
  settle(id: number, failed: boolean, aborted = false): void {
    const call = this.calls[id]!
    if (call.done) return
    call.done = true
    const outcome = aborted
      ? -1
      : (failed ? FAILED : 0) |
        (this.now - call.start > (this.config.slowCallDuration ?? Number.POSITIVE_INFINITY) ? SLOW : 0)
    if (call.kind === 'probe') {
      this.settleProbe(call, outcome)
      return
    }
    if (aborted || call.gen !== this.gen) return
    // The count trips see every closed call's result, even one already counted as slow while running.
    const tripped = this.countTrips((outcome & FAILED) !== 0)
    if (!call.counted) this.records.push({ t: this.now, outcome })
    if (tripped) this.open()
    else if (!call.counted) this.evaluate()
  }

  /** What `toJSON().counts` holds: the streak and the latest `failureCount.threshold` failure times. */
  counts(): { consecutiveFailures: number; failureTimes: number[] } | undefined {
    const { failureCount, consecutiveFailures } = this.config
    if (failureCount === undefined && consecutiveFailures === undefined) return undefined
    const kept = failureCount === undefined ? 0 : failureCount.threshold
    return { consecutiveFailures: this.streak, failureTimes: kept === 0 ? [] : this.failureTimes.slice(-kept) }
  }

  private countTrips(failed: boolean): boolean {
    if (!failed) {
      this.streak = 0
      return false
    }
    this.streak++
    this.failureTimes.push(this.now)
    const { failureCount, consecutiveFailures } = this.config
    const recent = failureCount && this.failureTimes.filter((t) => t > this.now - failureCount.within).length
    return (
      (consecutiveFailures !== undefined && this.streak >= consecutiveFailures) ||
      (failureCount !== undefined && (recent as number) >= failureCount.threshold)
    )
  }

  advance(ms: number): void {
    const target = this.now + ms
    const due = this.calls
      .map((call, id) => ({ call, id, at: call.start + this.config.deadline }))
      .filter(({ call, at }) => call.kind === 'probe' && !call.done && at <= target)
      .sort((a, b) => a.at - b.at || a.id - b.id)
    for (const { call, at } of due) {
      this.now = Math.max(this.now, at)
      call.done = true
      this.settleProbe(call, FAILED)
    }
    this.now = target
  }

  isolate(): void {
    this.transition('forced_open')
  }

  reset(): void {
    this.transition('closed')
  }

  window(): { calls: number; failures: number; slowCalls: number } {
    const w = this.config.window
    let kept = this.records
    if (w.type === 'count') kept = this.records.slice(-w.size)
    else {
      const width = w.duration / w.buckets
      const current = Math.floor(this.now / width)
      kept = this.records.filter((r) => Math.floor(r.t / width) > current - w.buckets)
    }
    return {
      calls: kept.length,
      failures: kept.filter((r) => r.outcome & FAILED).length,
      slowCalls: kept.filter((r) => r.outcome & SLOW).length,
    }
  }

  private settleProbe(call: Call, outcome: number): void {
    if (call.counted) return
    call.counted = true
    this.probes-- // the permit is released whatever the phase; the outcome counts only in its own phase
    if (call.gen !== this.gen || outcome === -1) return
    if (outcome !== 0) this.open()
    else if (++this.successes >= this.config.permittedCalls) this.transition('closed')
  }

  private evaluate(): void {
    const { calls, failures, slowCalls } = this.window()
    if (calls < this.config.minimumCalls) return
    const rate = this.config.failureRateThreshold
    if ((rate !== false && failures / calls >= rate) || slowCalls / calls >= this.config.slowCallRateThreshold)
      this.open()
  }

  private open(): void {
    this.openUntil = this.now + this.config.openDuration
    this.transition('open')
  }

  private transition(to: ModelState): void {
    this.state = to
    this.gen++
    this.successes = 0
    if (to === 'closed') {
      this.records = []
      this.failureTimes = []
      this.streak = 0
    }
  }
}
