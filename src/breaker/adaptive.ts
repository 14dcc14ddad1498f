import type { Duration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import { expectOptions, optionalDuration, optionalNumber, optionKeys } from '../core/validate.js'

/** A slow-call threshold learned from the latencies the breaker observes. */
export interface AdaptiveSlowCallOptions {
  /** The threshold is this multiple of the observed percentile. A number >= 1. @default 3 */
  multiplier?: number
  /** The percentile observed. In (0, 1). @default 0.99 */
  percentile?: number
  /** The learned threshold never goes below this. @default '50ms' */
  floor?: Duration
  /** The learned threshold never goes above this. @default '30s' */
  ceiling?: Duration
  /** Samples needed before the learned threshold replaces `slowCallDuration`. @default 100 */
  minSamples?: number
  /** Recent samples weigh more: every this many samples the histogram is halved. @default 10000 */
  halfLife?: number
}

export interface ResolvedAdaptive {
  multiplier: number
  percentile: number
  floor: number
  ceiling: number
  minSamples: number
  halfLife: number
}

export function resolveAdaptive(input: AdaptiveSlowCallOptions): ResolvedAdaptive {
  const o = expectOptions(
    'adaptiveSlowCall',
    input,
    optionKeys<AdaptiveSlowCallOptions>({
      multiplier: true,
      percentile: true,
      floor: true,
      ceiling: true,
      minSamples: true,
      halfLife: true,
    }),
  )
  const floor = optionalDuration('adaptiveSlowCall.floor', o.floor, 50)
  const ceiling = optionalDuration('adaptiveSlowCall.ceiling', o.ceiling, 30_000)
  if (ceiling < floor)
    throw new ValidationError('adaptiveSlowCall.ceiling', `a duration >= floor (${floor} ms)`, o.ceiling)
  return {
    multiplier: optionalNumber('adaptiveSlowCall.multiplier', o.multiplier, 3, { min: 1 }),
    percentile: optionalNumber('adaptiveSlowCall.percentile', o.percentile, 0.99, {
      min: 0,
      max: 1,
      exclusiveMin: true,
      exclusiveMax: true,
    }),
    floor,
    ceiling,
    minSamples: optionalNumber('adaptiveSlowCall.minSamples', o.minSamples, 100, { min: 1, integer: true }),
    halfLife: optionalNumber('adaptiveSlowCall.halfLife', o.halfLife, 10_000, { min: 10, integer: true }),
  }
}

/** Sub-buckets per power of two: bucket bounds grow by 2^(1/4) ≈ 19%, the histogram's relative error. */
const PER_OCTAVE = 4
/** 40 octaves of milliseconds reach 2^40 ms (35 years): every duration fits, in 160 counters. */
const BUCKETS = 40 * PER_OCTAVE
/** Recompute the percentile every this many samples, so the hot path only increments a counter. */
const RECOMPUTE_EVERY = 32

/**
 * A log-bucket latency histogram (HdrHistogram-like, fixed 160 counters) with exponential decay, giving the
 * learned slow-call threshold `clamp(multiplier * p, floor, ceiling)`. Memory is constant whatever the
 * traffic, observing is O(1), and the percentile is recomputed every 32 samples in O(160).
 */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS)
  #total = 0
  #sinceRecompute = 0
  #sinceDecay = 0
  #samples = 0
  threshold: number

  constructor(
    readonly options: ResolvedAdaptive,
    initial: number,
  ) {
    this.threshold = initial
  }

  /** Records a latency; returns the (possibly updated) threshold. */
  observe(ms: number): number {
    const at = ms < 1 ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log2(ms) * PER_OCTAVE))
    this.#counts[at]!++
    this.#total++
    this.#samples++
    if (++this.#sinceDecay >= this.options.halfLife) this.#decay()
    if (++this.#sinceRecompute >= RECOMPUTE_EVERY && this.#samples >= this.options.minSamples) this.#recompute()
    return this.threshold
  }

  /** The observed percentile in ms (the upper bound of its bucket), or undefined before any sample. */
  percentile(): number | undefined {
    if (this.#total === 0) return undefined
    let rank = this.options.percentile * this.#total
    for (let i = 0; i < BUCKETS; i++) {
      rank -= this.#counts[i]!
      if (rank <= 0) return i === 0 ? 1 : 2 ** (i / PER_OCTAVE)
    }
    return 2 ** (BUCKETS / PER_OCTAVE)
  }

  #recompute(): void {
    this.#sinceRecompute = 0
    const p = this.percentile()
    if (p === undefined) return
    const { multiplier, floor, ceiling } = this.options
    this.threshold = Math.min(ceiling, Math.max(floor, multiplier * p))
  }

  #decay(): void {
    this.#sinceDecay = 0
    this.#total = 0
    for (let i = 0; i < BUCKETS; i++) {
      this.#counts[i]! /= 2
      this.#total += this.#counts[i]!
    }
  }
}
