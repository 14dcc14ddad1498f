import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// The union in errors.ts, the codes the source throws and the table in docs/errors.md must be the same set:
// a code thrown but not listed (or listed but never thrown) fails here, not in a user's `switch`.
const root = join(import.meta.dirname, '..', '..')
const CODE = /'(E_[A-Z0-9_]+)'/g

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    const isTest = /\.(spec|test|test-d)\.ts$/.test(entry.name)
    return entry.name.endsWith('.ts') && !isTest ? [path] : []
  })
}

/** Code text without comments, so a code only mentioned in JSDoc does not count as thrown. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
}

function codesIn(text: string): Set<string> {
  return new Set([...text.matchAll(CODE)].map((m) => m[1] as string))
}

const errorsTs = readFileSync(join(root, 'src/core/errors.ts'), 'utf8')
const unionText = /export type BulwarkErrorCode =([\s\S]*?)\n\n/.exec(errorsTs)?.[1] ?? ''
const listed = codesIn(unionText)

const used = new Set<string>()
for (const file of sourceFiles(join(root, 'src'))) {
  let text = code(readFileSync(file, 'utf8'))
  if (file.endsWith(join('core', 'errors.ts'))) text = text.replace(unionText, '')
  for (const c of codesIn(text)) used.add(c)
}

const documented = codesIn(readFileSync(join(root, 'docs/errors.md'), 'utf8').replace(/`/g, "'"))

describe('the error catalogue', () => {
  it('parses a non-trivial union and source', () => {
    expect(listed.size).toBeGreaterThan(20)
    expect(used.has('E_INVALID_OPTION')).toBe(true)
  })

  it('lists every code the source throws, and only those', () => {
    expect([...used].filter((c) => !listed.has(c)).sort(), 'thrown but not in BulwarkErrorCode').toEqual([])
    expect([...listed].filter((c) => !used.has(c)).sort(), 'in BulwarkErrorCode but never thrown').toEqual([])
  })

  it('has one row per code in docs/errors.md', () => {
    expect([...documented].sort()).toEqual([...listed].sort())
  })

  it('has no escape hatch in the union', () => {
    expect(unionText).not.toMatch(/string/)
  })
})
