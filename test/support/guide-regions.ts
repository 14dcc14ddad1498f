import { readFileSync } from 'node:fs'

/** A `// #region name` ... `// #endregion name` block of a test file, dedented as a guide prints it. */
export interface GuideRegion {
  name: string
  code: string
}

/**
 * The `#region` blocks of the test file at `source`, each dedented to its least indented line, as a guide
 * (docs/*.md) embeds them: guide tests check that the guide contains each one verbatim.
 */
export function guideRegions(source: URL): GuideRegion[] {
  const text = readFileSync(source, 'utf8')
  return [...text.matchAll(/\/\/ #region ([\w-]+)\n([\s\S]*?)\n\s*\/\/ #endregion \1/g)].map(([, name, body]) => {
    const lines = (body as string).split('\n')
    const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length))
    return { name: name as string, code: lines.map((l) => l.slice(indent)).join('\n') }
  })
}
