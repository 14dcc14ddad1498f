/**
 * Follows the launcher's /events during a run: the first and last snapshots and every breaker transition;
 * `onSnapshot` also gets every snapshot as it arrives (the demos keep them all for their timeline).
 */
export interface CacheRow {
  key: string
  l1Hits: number
  l2Hits: number
  misses: number
}
export interface Snap {
  at: number
  caches: CacheRow[]
  breakers: { key: string; state: string }[]
}

export async function watchLauncher<S extends Snap = Snap>(launcher: string, onSnapshot?: (s: S) => void) {
  const ctl = new AbortController()
  let first: Snap | undefined
  let last: Snap | undefined
  const states = new Map<string, string>()
  const transitions: { key: string; from: string; to: string; at: number }[] = []
  const take = (s: Snap) => {
    first ??= s
    last = s
    for (const b of s.breakers) {
      const before = states.get(b.key)
      if (before !== undefined && before !== b.state)
        transitions.push({ key: b.key, from: before, to: b.state, at: s.at })
      states.set(b.key, b.state)
    }
  }
  const reading = (async () => {
    const res = await fetch(`${launcher}/events`, { signal: ctl.signal })
    if (!res.ok || !res.body) throw new Error(`${launcher}/events: ${res.status}`)
    let buf = ''
    for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
      buf += chunk
      let i = buf.indexOf('\n\n')
      while (i >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 2)
        if (line.startsWith('data: ')) {
          const snap = JSON.parse(line.slice(6)) as S
          take(snap)
          onSnapshot?.(snap)
        }
        i = buf.indexOf('\n\n')
      }
    }
  })().catch((error) => {
    if (!ctl.signal.aborted) console.warn(`not following ${launcher}/events: ${(error as Error).message}`)
  })
  // The first snapshot, so cache ratios are measured over the run only.
  for (let i = 0; i < 30 && first === undefined; i++) await new Promise((r) => setTimeout(r, 100))
  return {
    stop() {
      ctl.abort()
      void reading
      return { first, last, transitions }
    },
  }
}
