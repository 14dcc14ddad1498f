import { readFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'

// The example's folder, compiled (dist/scripts/load) or not.
const here = resolve(import.meta.dirname, '../..')
const root = basename(here) === 'dist' ? resolve(here, '..') : here

const esc = (v: unknown) => String(v ?? '').replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)

/** A report that opens from disk with no network: uPlot and the data are inlined. */
export function reportHtml(report: {
  startedAt: string
  rate: number
  durationMs: number
  summary: {
    scenario: string
    count: number
    ok: number
    errors: Record<string, number>
    perSecond: number
    p50: number | null
    p90: number | null
    p99: number | null
    max: number | null
  }[]
  overTime: { t: number; count: number; p50: number | null; p90: number | null; p99: number | null; errors: number }[]
  sagas: Record<string, number>
  caches: Record<string, { reads: number; l1HitRatio: number | null; l2HitRatio: number | null }>
  breakerTransitions: { key: string; from: string; to: string; t: number }[]
  slo: { slo: string; value: number | null; met: boolean }[]
}): string {
  const uplotJs = readFileSync(join(root, 'node_modules/uplot/dist/uPlot.iife.min.js'), 'utf8')
  const uplotCss = readFileSync(join(root, 'node_modules/uplot/dist/uPlot.min.css'), 'utf8')
  const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`)
  const rows = report.summary
    .map(
      (r) =>
        `<tr><td>${esc(r.scenario)}</td><td>${r.count}</td><td>${r.ok}</td><td>${esc(JSON.stringify(r.errors))}</td><td>${r.perSecond}</td><td>${r.p50 ?? '–'}</td><td>${r.p90 ?? '–'}</td><td>${r.p99 ?? '–'}</td><td>${r.max ?? '–'}</td></tr>`,
    )
    .join('')
  const data = JSON.stringify(report.overTime).replace(/</g, '\\u003c')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Load report ${esc(report.startedAt)}</title>
<style>${uplotCss}
body{font:13px system-ui,sans-serif;margin:16px;color:#1d232b}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}.missed{color:#c92a2a;font-weight:600}.met{color:#2f9e44}</style>
</head><body>
<h1>Load report</h1>
<p>started ${esc(report.startedAt)}, ${report.rate} req/s for ${(report.durationMs / 1000).toFixed(1)} s</p>
<h2>Requests</h2><table><tr><th>scenario</th><th>count</th><th>ok</th><th>errors</th><th>req/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr>${rows}</table>
<h2>Objectives</h2><ul>${report.slo.map((s) => `<li class="${s.met ? 'met' : 'missed'}">${esc(s.slo)}: ${s.met ? 'met' : 'missed'} (${s.value ?? 'no data'})</li>`).join('') || '<li>none given</li>'}</ul>
<h2>Latency over time</h2><div id="lat"></div><h2>Responses and errors per second</h2><div id="err"></div>
<h2>Saga outcomes</h2><ul>${
    Object.entries(report.sagas)
      .map(([k, v]) => `<li>${esc(k)}: ${v}</li>`)
      .join('') || '<li>no orders</li>'
  }</ul>
<h2>Cache hit ratios over the run</h2><table><tr><th>cache</th><th>reads</th><th>L1 hit</th><th>L2 hit</th></tr>${Object.entries(
    report.caches,
  )
    .map(
      ([k, c]) =>
        `<tr><td>${esc(k)}</td><td>${c.reads}</td><td>${pct(c.l1HitRatio)}</td><td>${pct(c.l2HitRatio)}</td></tr>`,
    )
    .join('')}</table>
<h2>Breaker transitions</h2><ul>${report.breakerTransitions.map((x) => `<li>t=${x.t.toFixed(1)} s ${esc(x.key)}: ${esc(x.from)} → ${esc(x.to)}</li>`).join('') || '<li>none</li>'}</ul>
<script>${uplotJs}</script>
<script>
const d = ${data}
const x = d.map((b) => b.t)
new uPlot({ width: 900, height: 260, scales: { x: { time: false } }, series: [{ label: 's' }, { label: 'p50', stroke: '#1971c2' }, { label: 'p90', stroke: '#f08c00' }, { label: 'p99', stroke: '#c92a2a' }] },
  [x, d.map((b) => b.p50), d.map((b) => b.p90), d.map((b) => b.p99)], document.getElementById('lat'))
new uPlot({ width: 900, height: 200, scales: { x: { time: false } }, series: [{ label: 's' }, { label: 'responses', stroke: '#2f9e44' }, { label: 'errors', stroke: '#c92a2a' }] },
  [x, d.map((b) => b.count), d.map((b) => b.errors)], document.getElementById('err'))
</script></body></html>
`
}
