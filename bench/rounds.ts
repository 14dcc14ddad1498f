import { measure } from 'mitata'

/** A case's median time per call in one round, in ns. */
export type RoundTimes = Record<string, { p50: number; avg: number }>

/** The middle value (the upper one of an even count). */
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] as number

/**
 * Measures every case once per round, in a rotating order, `rounds` times: a load spike on a shared machine
 * then hits both sides of a ratio instead of one, and no case always follows the same one.
 */
export async function interleavedRounds(
  cases: Record<string, () => Promise<unknown>>,
  rounds: number,
): Promise<RoundTimes[]> {
  const names = Object.keys(cases)
  const result: RoundTimes[] = []
  for (let r = 0; r < rounds; r++) {
    const round: RoundTimes = {}
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length] as string
      const stats = await measure(cases[name] as () => Promise<unknown>, { min_cpu_time: 150e6 })
      round[name] = { p50: stats.p50, avg: stats.avg }
    }
    result.push(round)
  }
  return result
}
