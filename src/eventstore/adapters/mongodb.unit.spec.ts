import { MongoClient } from 'mongodb'
import { describe, expect, it, vi } from 'vitest'
import { mongoDrivers } from '../../../test/support/mongodb-drivers.js'
import { isBulwarkError } from '../../core/errors.js'
import { mongoEventStore } from './mongodb.js'

// Option checks happen in the constructor, before any connection: no server is needed to run them.
describe('mongoEventStore options', () => {
  const client = new MongoClient('mongodb://127.0.0.1:1')

  it.each([
    ['neither client nor url', {}, /`url`/],
    ['an empty url', { url: '' }, /`url`/],
    ['a url that is not a MongoDB connection string', { url: 'http://example.com' }, /`url`/],
    ['a client that is not a MongoClient', { client: {} as MongoClient }, /`client`/],
    ['a database name with a slash', { client, database: 'a/b' }, /`database`/],
    ['a collection prefix with a space', { client, collectionPrefix: 'a b' }, /`collectionPrefix`/],
    ['a watch retry delay that is not a duration', { client, watchRetryDelay: 'soon' as never }, /`watchRetryDelay`/],
  ])('refuses %s with a typed error naming the option', (_label, options, message) => {
    let error: unknown
    try {
      mongoEventStore(options)
    } catch (e) {
      error = e
    }
    expect(isBulwarkError(error, 'E_INVALID_OPTION')).toBe(true)
    expect((error as Error).message).toMatch(message)
  })
})

describe.each(mongoDrivers)('mongoEventStore with a client of $name', (driver) => {
  it('takes the client without connecting, and leaves it open on close', async () => {
    const client = driver.client('mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100')
    const closeClient = vi.spyOn(client, 'close')
    const store = mongoEventStore({ client, database: 'shop' })
    await store.close()
    await expect(store.streamVersion('s')).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
    expect(closeClient).not.toHaveBeenCalled()
    closeClient.mockRestore()
    await client.close()
  })
})
