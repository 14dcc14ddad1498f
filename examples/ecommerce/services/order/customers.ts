import type { Duration } from 'bulwark'
import { type Cache, cached } from 'bulwark/cache'
import type { DocTable } from '../../lib/doc-table.js'
import { notFound } from '../../lib/errors.js'
import { pick, seededRandom } from '../../lib/seed-random.js'

export interface Customer {
  id: string
  name: string
  email: string
  phone: string
  tier: 'standard' | 'gold'
}

/** Customers, cached 30 min and evicted when one changes (the Redis bus carries it to the other replicas). */
export function customers(docs: DocTable, cache: Cache, ttl: Duration) {
  class CustomerRepository {
    @cached({ cache, key: (id: string) => `customer:${id}`, ttl, tags: ['customers'] })
    async find(id: string): Promise<Customer | null> {
      return (await docs.get<Customer>('customers', id)) ?? null
    }
  }
  const repo = new CustomerRepository()
  return {
    find: (id: string) => repo.find(id),
    list: (limit: number, offset: number) => docs.list<Customer>('customers', { limit, offset }),
    async update(id: string, patch: Partial<Omit<Customer, 'id'>>) {
      const current = await docs.get<Customer>('customers', id)
      if (current === undefined) throw notFound(`Customer ${id}`)
      const next = { ...current, ...patch }
      await docs.put('customers', id, next)
      await cache.delete(`customer:${id}`)
      return next
    },
  }
}

const first = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Margaret', 'Linus']
const last = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Hamilton',
  'Torvalds',
]

/** 1,000 customers by default, the same on every fresh start. */
export async function seedCustomers(docs: DocTable, count: number): Promise<number> {
  if ((await docs.count('customers')) > 0) return 0
  const random = seededRandom(7)
  const rows: [string, Customer][] = []
  for (let i = 1; i <= count; i++) {
    const id = `cust-${String(i).padStart(4, '0')}`
    const name = `${pick(random, first)} ${pick(random, last)}`
    rows.push([
      id,
      {
        id,
        name,
        email: `${name.toLowerCase().replace(' ', '.')}.${i}@example.com`,
        phone: `+1555${String(i).padStart(7, '0')}`,
        tier: random() < 0.1 ? 'gold' : 'standard',
      },
    ])
  }
  await docs.putMany('customers', rows)
  return count
}
