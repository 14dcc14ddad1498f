import { describe, expect, it } from 'vitest'
import { TypedEmitter } from './events.js'

type Events = { ping: (n: number) => void; pong: () => void }

class Probe extends TypedEmitter<Events> {
  listened(): boolean {
    return this.hasListeners()
  }
}

describe('TypedEmitter.hasListeners', () => {
  it('follows every way a listener is added and removed', () => {
    const emitter = new Probe()
    const seen: number[] = []
    const ping = (n: number) => seen.push(n)
    const pong = () => {}
    expect(emitter.listened()).toBe(false)
    emitter.on('ping', ping)
    expect(emitter.listened()).toBe(true)
    emitter.addListener('pong', pong)
    emitter.off('ping', ping)
    expect(emitter.listened()).toBe(true) // pong is still there
    emitter.removeListener('pong', pong)
    expect(emitter.listened()).toBe(false)
    emitter.addListener('ping', ping).on('pong', pong)
    emitter.removeAllListeners('ping')
    expect(emitter.listened()).toBe(true)
    emitter.removeAllListeners()
    expect(emitter.listened()).toBe(false)
    expect(emitter.emit('ping', 1)).toBe(false)
    expect(seen).toEqual([])
  })

  it('is false again once a `once` listener has run', () => {
    const emitter = new Probe()
    const seen: number[] = []
    emitter.once('ping', (n) => seen.push(n))
    expect(emitter.listened()).toBe(true)
    emitter.emit('ping', 1)
    emitter.emit('ping', 2)
    expect(seen).toEqual([1])
    expect(emitter.listened()).toBe(false)
  })
})
