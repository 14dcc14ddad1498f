// The shop's live dashboard: one SSE stream (/events, a snapshot a second), uPlot charts, plain DOM.
;(() => {
  const token = new URLSearchParams(location.search).get('token')
  const auth = token ? { authorization: `Bearer ${token}` } : {}
  const $ = (s) => document.querySelector(s)
  const esc = (v) => String(v ?? '').replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
  const pct = (v) => (v == null ? '–' : `${(v * 100).toFixed(1)}%`)
  const ms = (v) => (v == null ? '–' : `${v} ms`)
  const KEEP = 120
  const api = async (method, path, body, headers = {}) => {
    const res = await fetch(path, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    let json
    try {
      json = JSON.parse(text)
    } catch {
      json = text
    }
    return { status: res.status, body: json }
  }

  // ---- charts: a history per series, appended once per snapshot
  const charts = new Map()
  /**
   * The chart `id`; made anew (its history dropped) when its series change (a service adds a cache) or its
   * element left the page (a breaker's card, removed while its service was down).
   */
  function chart(id, parent, title, series, opts = {}) {
    const labels = series.map(([label]) => label).join('\n')
    let c = charts.get(id)
    if (c && c.labels === labels && c.el.isConnected) return c
    if (c) {
      c.plot.destroy()
      c.el.remove()
    }
    const el = document.createElement('div')
    parent.appendChild(el)
    const data = [[], ...series.map(() => [])]
    const plot = new uPlot(
      {
        title,
        width: opts.width ?? 340,
        height: opts.height ?? 130,
        scales: { x: { time: true }, ...(opts.scales ?? {}) },
        series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 1.5 }))],
        axes: [{}, { size: 40 }],
        legend: { show: opts.legend ?? true },
      },
      data,
      el,
    )
    c = { plot, data, el, labels }
    charts.set(id, c)
    return c
  }
  function push(c, at, values) {
    c.data[0].push(at / 1000)
    for (const [i, v] of values.entries()) c.data[i + 1].push(v)
    if (c.data[0].length > KEEP) for (const a of c.data) a.shift()
    c.plot.setData(c.data)
  }

  // ---- breakers
  const stateColor = { closed: '#2f9e44', open: '#e03131', half_open: '#f08c00', forced_open: '#862e9c' }
  function renderBreakers(snap) {
    const root = $('#breakers')
    const seen = new Set()
    for (const b of snap.breakers) {
      const id = `br-${b.key.replace(/[^a-z0-9]/gi, '-')}`
      seen.add(id)
      let card = document.getElementById(id)
      if (!card) {
        card = document.createElement('div')
        card.className = 'card'
        card.id = id
        card.dataset.breaker = b.key
        card.innerHTML = `<div><b>${esc(b.service)} → ${esc(b.name)}</b> <span class="badge" data-testid="breaker-state"></span> <span class="probe"></span></div>
          <div class="nums"></div><div class="timeline"></div>`
        root.appendChild(card)
      }
      const badge = card.querySelector('.badge')
      badge.textContent = b.state.toUpperCase()
      badge.className = `badge state-${b.state}`
      // The time left until it may probe: sent each second, so it moves by the clock without calls.
      card.querySelector('.probe').textContent =
        b.msUntilProbe != null ? `may probe in ${(b.msUntilProbe / 1000).toFixed(0)} s` : ''
      const s = b.perSec
      card.querySelector('.nums').innerHTML =
        `failure rate ${pct(b.failureRate)} · slow-call rate ${pct(b.slowCallRate)} (${b.windowCalls} calls in window)<br>` +
        `calls/s: ok ${s.success} · failed ${s.failure} · slow ${s.slow} · rejected ${s.rejected} · p50 ${ms(b.p50)} · p99 ${ms(b.p99)}`
      const tl = b.timeline
      const from = Math.max(tl[0]?.at ?? snap.at, snap.at - 10 * 60_000)
      const span = Math.max(1, snap.at - from)
      card.querySelector('.timeline').innerHTML = tl
        .map((t, i) => {
          const start = Math.max(t.at, from)
          const end = tl[i + 1]?.at ?? snap.at
          if (end <= from) return ''
          return `<span title="${esc(t.state)} from ${new Date(t.at).toLocaleTimeString()}" style="width:${((end - start) / span) * 100}%;background:${stateColor[t.state] ?? '#888'}"></span>`
        })
        .join('')
      const c = chart(id, card, 'calls/s', [
        ['ok', '#2f9e44'],
        ['failed', '#e03131'],
        ['slow', '#f08c00'],
        ['rejected', '#862e9c'],
      ])
      push(c, snap.at, [s.success, s.failure, s.slow, s.rejected])
      const l = chart(`${id}-lat`, card, 'latency ms', [
        ['p50', '#1971c2'],
        ['p99', '#c92a2a'],
      ])
      push(l, snap.at, [b.p50, b.p99])
    }
    for (const el of [...root.children]) if (!seen.has(el.id)) el.remove()
  }

  // ---- caches
  function renderCaches(snap) {
    $('#caches tbody').innerHTML = snap.caches
      .map(
        (c) =>
          `<tr data-cache="${esc(c.key)}"><td>${esc(c.key)}</td><td>${pct(c.l1HitRatio)}</td><td>${pct(c.l2HitRatio)}</td><td>${c.readsPerSec}</td><td>${c.loads}</td><td>${c.staleServed}</td><td>${c.invalidationsSent}</td><td>${c.invalidationsReceived}</td><td>${c.l1Entries}</td></tr>`,
      )
      .join('')
    if (snap.caches.length > 0) {
      const c = chart(
        'caches',
        $('#cache-chart'),
        'L1 hit ratio',
        snap.caches.map((x, i) => [x.key, ['#1971c2', '#2f9e44', '#f08c00', '#862e9c', '#e03131'][i % 5]]),
        { width: 700 },
      )
      push(
        c,
        snap.at,
        snap.caches.map((x) => x.l1HitRatio),
      )
    }
  }

  // ---- sagas
  function renderSagas(snap) {
    const s = snap.sagas
    if (!s) {
      $('#saga-counts').textContent = 'coordinator down'
      return
    }
    const t = s.totals
    $('#saga-counts').innerHTML =
      `started <b>${t.started}</b> · completed <b data-testid="sagas-completed">${t.completed}</b> · aborted <b data-testid="sagas-aborted">${t.aborted}</b> · ` +
      `steps compensated <b data-testid="steps-compensated">${t.compensated}</b> · running <b>${s.live.running}</b> · compensating <b>${s.live.compensating}</b> · parked <b>${s.live.parked}</b> · ` +
      `completions/s <b>${s.completionsPerSec}</b>` +
      (s.stale ? ' · <i title="the coordinator did not answer in time; these are its last figures">stale</i>' : '')
    push(
      chart(
        'sagas',
        $('#saga-chart'),
        'sagas/s',
        [
          ['completed', '#2f9e44'],
          ['aborted', '#e03131'],
        ],
        { width: 700 },
      ),
      snap.at,
      [s.completionsPerSec, s.abortsPerSec],
    )
    $('#sagas-recent').innerHTML = s.recent
      .map(
        (r) =>
          `<li data-saga="${esc(r.sagaId)}"><span class="status-${esc(r.status)}">${esc(r.status)}</span> ${esc(r.sagaId)} ` +
          r.events
            .map((e) => `<span class="step ev-${esc(e.type)}" title="${esc(e.type)} ${esc(e.step)}"></span>`)
            .join('') +
          '</li>',
      )
      .join('')
    $('#sagas-parked').innerHTML =
      s.parked.length === 0
        ? '<li>none</li>'
        : s.parked
            .map(
              (p) =>
                `<li>${esc(p.sagaId)}: ${esc(p.reason)} <button data-resume="${esc(p.sagaId)}">Resume</button> <button data-resolve="${esc(p.sagaId)}">Resolve</button></li>`,
            )
            .join('')
  }
  $('#sagas-recent').addEventListener('click', async (e) => {
    const li = e.target.closest('li[data-saga]')
    if (li) showSaga(li.dataset.saga)
  })
  async function showSaga(id) {
    const r = await api('GET', `/api/coordinator/sagas/${encodeURIComponent(id)}`)
    if (r.status !== 200) {
      $('#saga-detail').textContent = JSON.stringify(r.body)
      return
    }
    const s = r.body
    const t0 = s.timeline?.[0]?.at ?? 0
    $('#saga-detail').innerHTML =
      `<b>${esc(s.sagaId)}</b> <span class="status-${esc(s.status)}">${esc(s.status)}</span>` +
      (s.failure ? ` — ${esc(s.failure.message ?? JSON.stringify(s.failure))}` : '') +
      `<table><tr><th>+ms</th><th>event</th><th>step</th></tr>` +
      (s.timeline ?? [])
        .map(
          (e) =>
            `<tr class="ev"><td>${(e.at ?? 0) - t0}</td><td>${esc(e.type)}</td><td>${esc(e.step ?? e.data?.step ?? '')}</td></tr>`,
        )
        .join('') +
      '</table>'
  }
  $('#sagas-parked').addEventListener('click', async (e) => {
    const resume = e.target.dataset.resume
    const resolve = e.target.dataset.resolve
    if (resume) await api('POST', `/api/coordinator/sagas/${encodeURIComponent(resume)}/resume`)
    if (resolve) {
      const note = prompt('Resolution note (what a person did):', 'refunded by hand')
      if (note) await api('POST', `/api/coordinator/sagas/${encodeURIComponent(resolve)}/resolve`, { note })
    }
  })

  // ---- processes
  function renderProcesses(snap) {
    $('#processes tbody').innerHTML = snap.processes
      .map(
        (p) =>
          `<tr data-process="${esc(p.name)}"><td>${esc(p.name)}${p.replica ? `#${p.replica}` : ''}</td><td class="${p.status === 'ready' ? 'up' : 'down'}">${p.status === 'ready' ? (p.stale ? 'up, not answering' : 'up') : esc(p.status)}</td><td>${p.pid ?? ''}</td><td>${p.rssMb ?? ''}</td><td>${p.restarts}</td>` +
          `<td><button data-act="kill" data-name="${esc(p.name)}" data-replica="${p.replica}">kill</button> <button data-act="start" data-name="${esc(p.name)}" data-replica="${p.replica}">start</button></td></tr>`,
      )
      .join('')
    const total = snap.processes.reduce((n, p) => n + (p.rssMb ?? 0), 0)
    $('#processes thead th:nth-child(4)').textContent = `RSS MB (total ${total.toFixed(0)})`
  }
  $('#processes').addEventListener('click', async (e) => {
    const b = e.target.dataset
    if (b.act) await api('POST', `/processes/${b.name}/${b.replica}/${b.act}`)
  })

  // ---- faults
  const form = $('#fault-form')
  form.service.innerHTML = ['coordinator', 'order', 'inventory', 'payment', 'shipping', 'notification']
    .map((s) => `<option>${s}</option>`)
    .join('')
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const f = form.elements
    const num = (el) => (el.value === '' ? undefined : Number(el.value))
    const sf = {}
    if (num(f.errorRate) !== undefined) sf.errorRate = num(f.errorRate)
    if (f.latencyKind.value === 'fixed') sf.latency = { fixedMs: num(f.baseMs) ?? 0 }
    else if (f.latencyKind.value)
      sf.latency = { distribution: f.latencyKind.value, baseMs: num(f.baseMs) ?? 0, spreadMs: num(f.spreadMs) ?? 0 }
    if (f.hang.checked) sf.hang = true
    if (f.process.value) sf.process = f.process.value
    const body = {}
    if (Object.keys(sf).length > 0) body.services = { [f.service.value]: sf }
    const g = {}
    if (num(f.declineRate) !== undefined) g.declineRate = num(f.declineRate)
    if (num(f.gatewayErrorRate) !== undefined) g.errorRate = num(f.gatewayErrorRate)
    if (Object.keys(g).length > 0) body.gateway = g
    if (f.redisCut.checked) body.redis = { cut: true }
    const r = await api('POST', '/faults', body)
    $('#fault-result').textContent = `${r.status} ${JSON.stringify(r.body)}`
  })
  $('#clear-faults').addEventListener('click', async () => {
    const r = await api('DELETE', '/faults')
    form.reset()
    $('#fault-result').textContent = `${r.status} cleared`
  })

  // ---- orders and load
  let n = 0
  $('#order-one').addEventListener('click', async () => {
    const i = Math.floor(Math.random() * 1000)
    const r = await api(
      'POST',
      '/api/coordinator/orders',
      {
        customerId: `cust-${String(1 + (i % 1000)).padStart(4, '0')}`,
        items: [{ sku: `sku-${String(1 + ((i * 7) % 5000)).padStart(5, '0')}`, quantity: 1 }],
      },
      { 'idempotency-key': `dash-${Date.now()}-${n++}-${Math.random().toString(36).slice(2)}` },
    )
    $('#load-state').textContent = `order: ${r.status} ${r.body?.status ?? r.body?.detail ?? ''}`
  })
  $('#load-form').addEventListener('submit', async (e) => {
    e.preventDefault()
    const f = e.target.elements
    const r = await api('POST', '/load', { rate: Number(f.rate.value), duration: f.duration.value, mix: f.mix.value })
    $('#load-state').textContent = r.status === 202 ? 'load running' : JSON.stringify(r.body)
  })

  // ---- the stream
  const es = new EventSource(`/events${token ? `?token=${encodeURIComponent(token)}` : ''}`)
  es.onopen = () => {
    $('#conn').textContent = 'live'
    $('#conn').className = 'badge state-closed'
  }
  es.onerror = () => {
    $('#conn').textContent = 'reconnecting'
    $('#conn').className = 'badge state-open'
  }
  es.onmessage = (m) => {
    const snap = JSON.parse(m.data)
    window.__lastSnapshot = snap
    $('#clock').textContent = new Date(snap.at).toLocaleTimeString()
    // Each panel on its own: one that cannot draw a snapshot must not freeze the others.
    for (const render of [renderBreakers, renderCaches, renderSagas, renderProcesses]) {
      try {
        render(snap)
      } catch (error) {
        console.error(`dashboard: ${render.name} failed`, error)
      }
    }
    $('#faults-current').textContent = `current faults: ${JSON.stringify(snap.faults)}`
    if (snap.load)
      $('#load-state').textContent =
        `load ${snap.load.running ? 'running' : 'done'}: ${snap.load.output.split('\n').filter(Boolean).slice(-1)[0] ?? ''}`
  }
})()
