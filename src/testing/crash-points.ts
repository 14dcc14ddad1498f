import { BulwarkError, ValidationError } from '../core/errors.js'
import { expectNumber, expectOptions, optionalFunction, optionalNumber, optionKeys } from '../core/validate.js'

/** Options of {@link crashPoints}. */
export interface CrashPointsOptions {
  /** Chance that one `maybeCrash` call crashes: a number in [0, 1], or one per label (missing labels: 0). */
  probability: number | Readonly<Record<string, number>>
  /** Seed of the pseudo-random sequence, so a failing run can be replayed. @default 1 */
  seed?: number
  /** Calls that never crash before the first one may (lets a process finish starting). @default 0 */
  after?: number
  /**
   * What a crash does. @default () => process.kill(process.pid, 'SIGKILL') (no cleanup, no flush: a real crash)
   * If it returns, `maybeCrash` throws a `CrashPointError`, so the code after the crash point never runs.
   */
  kill?: (label: string) => void
}

/** Thrown by `maybeCrash` when the configured `kill` returned instead of ending the process. */
export class CrashPointError extends BulwarkError {
  constructor(label: string) {
    super('E_CRASH_POINT', `Crashed at ${JSON.stringify(label)}`, { context: { label } })
  }
}

/** A set of crash points: code under test calls `maybeCrash(label)` where a crash would hurt most. */
export interface CrashPoints {
  /** Crashes with the configured probability; otherwise returns. */
  maybeCrash(label: string): void
  /** Calls of `maybeCrash` so far, by label. */
  readonly counts: ReadonlyMap<string, number>
  /** Stops crashing (for a final, clean phase); `enable()` starts again. */
  disable(): void
  enable(): void
}

/**
 * Crash-point injection for recovery tests: run the system in a child process, call `maybeCrash` before
 * and after each effect and each append, and the process dies (SIGKILL by default) at a random, seeded
 * point. Restart it and check that recovery leaves no effect applied twice and nothing lost.
 *
 * @example
 * ```ts
 * // A seed per run, printed, so that a run that finds a bug can be replayed with SEED=<seed>.
 * const seed = process.env.SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.SEED)
 * console.log(`crash points: seed ${seed}`)
 * const crash = crashPoints({ probability: 0.01, seed })
 * const orchestrator = createSagaOrchestrator({
 *   store,
 *   instanceId: 'crash-test', // every life is the same instance: recover() resumes the killed one's sagas at once
 *   hooks: { beforeAppend: () => crash.maybeCrash('before-append'), afterAppend: () => crash.maybeCrash('after-append') },
 * })
 * async function charge(key: string) {
 *   crash.maybeCrash('before-charge')
 *   await payments.charge(key)
 *   crash.maybeCrash('after-charge')
 * }
 * ```
 */
export function crashPoints(options: CrashPointsOptions): CrashPoints {
  const o = expectOptions(
    'options',
    options,
    optionKeys<CrashPointsOptions>({ probability: true, seed: true, after: true, kill: true }),
  )
  const chance = resolveProbability(o.probability)
  const next = mulberry32(optionalNumber('seed', o.seed, 1, { integer: true }))
  const after = optionalNumber('after', o.after, 0, { min: 0, integer: true })
  const kill = optionalFunction<(label: string) => void>('kill', o.kill, () => process.kill(process.pid, 'SIGKILL'))
  const counts = new Map<string, number>()
  let calls = 0
  let enabled = true
  return {
    counts,
    maybeCrash(label) {
      counts.set(label, (counts.get(label) ?? 0) + 1)
      // Draw on every call, so the sequence of crash points depends only on the seed and the calls.
      const draw = next()
      if (!enabled || ++calls <= after || draw >= chance(label)) return
      kill(label)
      throw new CrashPointError(label)
    },
    disable() {
      enabled = false
    },
    enable() {
      enabled = true
    },
  }
}

function resolveProbability(input: unknown): (label: string) => number {
  if (typeof input === 'number') {
    const p = expectNumber('probability', input, { min: 0, max: 1 })
    return () => p
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError('probability', 'a number in [0, 1] or a record of them by label', input)
  }
  const byLabel = new Map<string, number>()
  for (const [label, p] of Object.entries(input))
    byLabel.set(label, expectNumber(`probability.${label}`, p, { min: 0, max: 1 }))
  return (label) => byLabel.get(label) ?? 0
}

/** A small, fast, seedable PRNG (Mulberry32): uniform numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
