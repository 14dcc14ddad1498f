/**
 * The README's TypeScript examples are compiled against the source, with `bulwark/*` resolved through
 * package.json "exports" as a user's project would resolve it. Only the services the examples talk to
 * (a database, inventory, payments, shipping) are declared here.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { expect, it } from 'vitest'
import { publicEntries } from '../scripts/exports.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const AMBIENT = `
type Product = { id: string; name: string }
declare const db: { products: { find(id: string): Promise<Product | null> } }
declare const inventory: {
  reserve(key: string, sku: string, qty: number): Promise<{ reservationId: string }>
  release(key: string): Promise<void>
}
declare const payments: {
  charge(key: string, amount: number, signal: AbortSignal): Promise<{ chargeId: string }>
  refund(key: string): Promise<void>
}
declare const shipping: { ship(key: string, reservation: { reservationId: string }): Promise<{ tracking: string }> }
`

function exportPaths(): Record<string, string[]> {
  return Object.fromEntries(publicEntries(new URL('../', import.meta.url)).map((e) => [e.specifier, [e.source]]))
}

it('every TypeScript example in the README compiles', () => {
  const readme = readFileSync(`${root}README.md`, 'utf8')
  const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
  expect(snippets.length).toBeGreaterThanOrEqual(4)

  const dir = `${root}.tmp/readme`
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}/ambient.d.ts`, AMBIENT)
  const files = snippets.map((code, i) => {
    const file = `${dir}/snippet-${i}.ts`
    writeFileSync(file, `${code}\nexport {}\n`)
    return file
  })
  const program = ts.createProgram([`${dir}/ambient.d.ts`, ...files], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    baseUrl: root,
    paths: exportPaths(),
    noUnusedLocals: false,
  })
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file === undefined || d.file.fileName.startsWith(dir))
    .map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined
      const name = d.file ? d.file.fileName.slice(dir.length + 1) : ''
      return `${name}:${where ? where.line + 1 : '?'} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
    })
  rmSync(dir, { recursive: true, force: true })
  expect(problems).toEqual([])
}, 120_000)
