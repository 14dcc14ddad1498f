/**
 * While an orchestrator drives a saga, something a caller awaits is pending, so the process must not end.
 * The saga's own waits (a retriable step's backoff, the deadline) and its steps' policies (a `retry`
 * backoff, a `timeout`) run on the clock, whose timers do not keep a process alive, and a step may wait on
 * nothing else. So every drive holds the process open from its start to its end (or `close()`); the
 * heartbeat that renews the lease is housekeeping, and holds nothing.
 *
 * One ref'd handle serves every drive of the process: it measures no time (time comes from the clock), it
 * only counts as pending work for the event loop.
 */
let holders = 0
/** Created once, then only ref'd and unref'd: sagas run one after another would otherwise make one each. */
let handle: ReturnType<typeof setInterval> | undefined

/** Keeps the process alive until the returned function is called (calling it again does nothing). */
export function holdProcess(): () => void {
  if (holders++ === 0) {
    handle ??= setInterval(noop, 2 ** 31 - 1)
    handle.ref()
  }
  let held = true
  return () => {
    if (!held) return
    held = false
    if (--holders === 0) handle?.unref()
  }
}

function noop(): void {}
