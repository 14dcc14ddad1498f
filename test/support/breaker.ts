export { type Deferred, deferred } from './deferred.js'

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

export const ok = () => 'ok'
export const boom = (): never => {
  throw new Error('boom')
}
