import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { controlApi } from '../launcher/control-api.js'
import type { ServiceProcess } from '../launcher/supervisor.js'
import { chromiumPath, launchChromium } from './browser.js'
import { closedBreaker, fakeService } from './fake-service.js'

// The dashboard page against the launcher's real control API and collector, with stand-in services whose
// answers the test sets: the page's own logic, without the timing of six real processes starting.
describe.skipIf(chromiumPath === '')('the dashboard page as services come and go', () => {
  let browser: Browser
  let page: Page
  const closers: (() => unknown)[] = []
  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    for (const f of closers.reverse()) await f()
  })

  const counters = { l1Hits: 1, l2Hits: 0, misses: 1, loads: 1, staleServed: 0, l1Entries: 1 }

  it('keeps every panel live when a service starting later adds a cache, and redraws a card whose service came back', async () => {
    const notification = await fakeService('notification', {
      breakers: [closedBreaker('notification-channel')],
      caches: { templates: counters },
    })
    const coordinator = await fakeService('coordinator', {
      breakers: [closedBreaker('payment')],
      caches: { customers: counters },
      completed: 7,
    })
    coordinator.process.status = 'starting'
    closers.push(notification.close, coordinator.close)
    const api = controlApi({
      processes: [notification.process, coordinator.process] as unknown as ServiceProcess[],
      urls: {},
      host: '127.0.0.1',
      self: 'http://127.0.0.1:1',
      token: undefined,
      redis: undefined,
      gatewayDefaults: { latencyMs: 5, errorRate: 0 },
    })
    const server = http.createServer(async (req, res) => {
      if (!(await api.handle(req, res, new URL(req.url ?? '/', 'http://x')))) res.writeHead(404).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    closers.push(() => {
      api.close()
      server.closeAllConnections()
      return new Promise((r) => server.close(r))
    })
    page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('console', (m) => {
      // The browser's own request for /favicon.ico is a 404 here; the page's errors are what counts.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text())
    })
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)

    const cacheRows = () => page.locator('#caches tbody tr').count()
    await expect.poll(cacheRows, { timeout: 10_000 }).toBe(1)
    await expect.poll(() => page.locator('#saga-counts').textContent(), { timeout: 5000 }).toBe('coordinator down')

    coordinator.process.status = 'ready'
    await expect.poll(cacheRows, { timeout: 10_000 }).toBe(2)
    await expect
      .poll(() => page.getByTestId('sagas-completed').textContent({ timeout: 1000 }), { timeout: 10_000 })
      .toBe('7')
    coordinator.state.completed = 8
    await expect
      .poll(() => page.getByTestId('sagas-completed').textContent({ timeout: 1000 }), { timeout: 10_000 })
      .toBe('8')
    await expect
      .poll(() => page.locator('#processes tr[data-process="coordinator"] td:nth-child(2)').textContent())
      .toBe('up')
    // Both caches are series of the hit-ratio chart now.
    expect(await page.locator('#cache-chart .u-legend .u-series').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('coordinator/customers')]),
    )

    // Down: its breaker card goes. Back: the card returns with its charts drawn again.
    const card = page.locator('[data-breaker="coordinator/payment"]')
    coordinator.process.status = 'stopped'
    await expect.poll(() => card.count(), { timeout: 10_000 }).toBe(0)
    coordinator.process.status = 'ready'
    await expect.poll(() => card.locator('.uplot').count(), { timeout: 10_000 }).toBe(2)
    expect(errors).toEqual([])
  })
})
