import net from 'node:net'

/**
 * A TCP relay between the services and Redis, so the launcher can cut every service's Redis connection
 * at once (what a network partition does) and let them reconnect when the fault is cleared.
 */
export async function redisRelay(
  redisUrl: string,
): Promise<{ url: string; cut(on: boolean): void; isCut(): boolean; close(): void }> {
  const target = new URL(redisUrl)
  const sockets = new Set<net.Socket>()
  let cut = false
  const server = net.createServer((client) => {
    if (cut) return client.destroy()
    const upstream = net.connect(Number(target.port || 6379), target.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = new URL(redisUrl)
  url.hostname = '127.0.0.1'
  url.port = String((server.address() as net.AddressInfo).port)
  return {
    url: url.toString(),
    cut(on) {
      cut = on
      if (on) for (const s of sockets) s.destroy()
    },
    isCut: () => cut,
    close() {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}
