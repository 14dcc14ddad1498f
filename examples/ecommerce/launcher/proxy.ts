import http from 'node:http'

/** A round-robin HTTP proxy: the service's port in front of its replicas. */
export function roundRobinProxy(targets: () => number[], host: string): http.Server {
  let next = 0
  const agent = new http.Agent({ keepAlive: true })
  return http.createServer((req, res) => {
    const ports = targets()
    if (ports.length === 0) {
      res.writeHead(503, { 'content-type': 'application/problem+json' })
      res.end(JSON.stringify({ type: 'no-replica', title: 'Service Unavailable', status: 503 }))
      return
    }
    const port = ports[next++ % ports.length]!
    const upstream = http.request(
      { host, port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/problem+json' })
      res.end(JSON.stringify({ type: 'replica-unreachable', title: 'Bad Gateway', status: 502 }))
    })
    req.pipe(upstream)
  })
}
