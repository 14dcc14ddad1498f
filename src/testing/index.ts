export type { FakeClock } from './fake-clock.js'
export { fakeClock } from './fake-clock.js'
export * from './cache-suites.js'
