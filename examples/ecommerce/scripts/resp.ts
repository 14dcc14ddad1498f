// A minimal Redis client for the benchmark: one TCP connection, RESP2 commands one at a time, so a GET's round
// trip is measured without any client library's own work.
import net from 'node:net'

export type Reply = string | number | null | Reply[] | Error

/** Parses one RESP2 reply at `at`; undefined while it is incomplete. */
function parse(buf: Buffer, at: number): { value: Reply; end: number } | undefined {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return undefined
  const line = buf.toString('utf8', at + 1, eol)
  switch (String.fromCharCode(buf[at]!)) {
    case '+':
      return { value: line, end: eol + 2 }
    case '-':
      return { value: new Error(line), end: eol + 2 }
    case ':':
      return { value: Number(line), end: eol + 2 }
    case '$': {
      const n = Number(line)
      if (n < 0) return { value: null, end: eol + 2 }
      if (buf.length < eol + 2 + n + 2) return undefined
      return { value: buf.toString('utf8', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 }
    }
    case '*': {
      const n = Number(line)
      const items: Reply[] = []
      let end = eol + 2
      for (let i = 0; i < n; i++) {
        const item = parse(buf, end)
        if (item === undefined) return undefined
        items.push(item.value)
        end = item.end
      }
      return { value: n < 0 ? null : items, end }
    }
    default:
      throw new Error(`not a RESP reply: ${line}`)
  }
}

/** Connects to `redis://host:port`; `command` sends one command and resolves with its reply. */
export async function respClient(url: string) {
  const u = new URL(url)
  const socket = net.connect(Number(u.port || 6379), u.hostname)
  socket.setNoDelay(true)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let buf: Buffer = Buffer.alloc(0)
  let waiting: ((r: Reply) => void) | undefined
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
    const r = parse(buf, 0)
    if (r === undefined) return
    buf = buf.subarray(r.end)
    const w = waiting
    waiting = undefined
    w?.(r.value)
  })
  const command = (...args: string[]) =>
    new Promise<Reply>((resolve) => {
      waiting = resolve
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
    })
  /** Every key matching `pattern` (SCAN, not KEYS: the server may be shared). */
  const scan = async (pattern: string) => {
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, found] = (await command('SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000')) as [string, string[]]
      keys.push(...found)
      cursor = next
    } while (cursor !== '0')
    return keys
  }
  return { command, scan, close: () => socket.destroy() }
}
