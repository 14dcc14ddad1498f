// Every adapter subpath loads from the tarball next to the newest major of its client library.
import { expect, it } from 'vitest'

it.each([
  ['bulwark/cache/redis', 'redisCacheDriver'],
  ['bulwark/eventstore/sqlite', 'sqliteEventStore'],
  ['bulwark/eventstore/postgres', 'postgresEventStore'],
  ['bulwark/eventstore/mongodb', 'mongoEventStore'],
  ['bulwark/breaker/prometheus', 'prometheusExporter'],
])('%s loads and exports %s', async (specifier, name) => {
  const module = (await import(specifier)) as Record<string, unknown>
  expect(typeof module[name]).toBe('function')
})
