import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ServiceProcess } from '../launcher/supervisor.js'
import { eventually } from './stack.js'

describe('the launcher’s process supervisor', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  // The launcher piped a process's stdout and stderr into one log, and each pipe ended the log when its
  // source ended: a process whose stdout closed before it exited got "write after end" on the exit line,
  // an unhandled 'error' that killed the launcher and left the stack never ready.
  it('keeps the log of a process that closes its stdout before it exits, and stays up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'supervisor-'))
    dirs.push(dir)
    const entry = join(dir, 'early-close.cjs')
    writeFileSync(
      entry,
      `process.stdout.write('before\\n', () => {
         require('node:fs').closeSync(1)
         setTimeout(() => { process.stderr.write('after\\n'); setTimeout(() => process.exit(3), 200) }, 200)
       })`,
    )
    const p = new ServiceProcess({
      name: 'shipping',
      replica: 0,
      port: 1,
      host: '127.0.0.1',
      env: process.env,
      logDir: dir,
      restart: false,
      entry,
    })
    p.start()
    const log = join(dir, 'shipping.log')
    const text = await eventually(
      async () => (existsSync(log) ? readFileSync(log, 'utf8') : ''),
      (t) => t.includes('# exited'),
      10_000,
    )
    expect(text).toBe('before\nafter\n# exited code=3 signal=null\n')
    expect(p.status).toBe('exited')
  })
})
