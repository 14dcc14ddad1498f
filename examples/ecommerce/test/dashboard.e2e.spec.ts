import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { chromiumPath as executablePath, launchChromium } from './browser.js'
import { testConfig } from './scenarios.js'
import { type Stack, startStack } from './stack.js'

const shots = join(import.meta.dirname, '../.data/screenshots')

describe.skipIf(executablePath === '')('the dashboard in a browser', () => {
  let stack: Stack
  let browser: Browser
  let page: Page
  const breaker = (key: string) => page.locator(`[data-breaker="${key}"] [data-testid="breaker-state"]`)
  // A short wait per read so that expect.poll's timeout, not the locator's 30 s default, bounds each poll.
  const count = async (id: string) => Number(await page.getByTestId(id).textContent({ timeout: 1000 }))
  const placeOrders = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const answered = page.waitForResponse((r) => r.url().endsWith('/api/coordinator/orders'))
      await page.getByTestId('place-order').click()
      await answered
    }
  }

  beforeAll(async () => {
    if (executablePath === '') console.warn('SKIPPED: no chromium binary (apt-get install -y chromium)')
    mkdirSync(shots, { recursive: true })
    stack = await startStack({ config: testConfig, env: { REDIS_URL: '', DATABASE_URL: '', MONGODB_URI: '' } })
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1400, height: 1600 } })
  })
  afterAll(async () => {
    await browser?.close()
    await stack?.stop()
  })

  it('shows the payment breaker open and sagas compensated under injected failures, then closed again', async () => {
    onTestFailed(async () => {
      // What the page last received and what the processes printed: enough to tell a slow feed from a dead one.
      await page.screenshot({ path: join(shots, 'failed.png'), fullPage: true }).catch(() => {})
      const seen = await page
        .evaluate(() => ({
          conn: document.querySelector('#conn')?.textContent,
          sagaCounts: document.querySelector('#saga-counts')?.textContent,
          snapshot: (window as unknown as { __lastSnapshot?: unknown }).__lastSnapshot,
        }))
        .catch((error: unknown) => String(error))
      console.error(
        `dashboard at failure: ${JSON.stringify(seen).slice(0, 4000)}\nstack output:\n${stack.output()}\n${stack.logs()}`,
      )
    })
    await page.goto(`http://127.0.0.1:${stack.portBase}/`)
    await expect.poll(() => breaker('coordinator/payment').textContent(), { timeout: 10_000 }).toBe('CLOSED')

    await placeOrders(3)
    await expect.poll(() => count('sagas-completed'), { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    await page.screenshot({ path: join(shots, '1-orders-completed.png'), fullPage: true })

    // Payment answers 500 to every call: the coordinator's breaker opens on the 3rd failure.
    await page.locator('#fault-form select[name=service]').selectOption('payment')
    await page.locator('#fault-form input[name=errorRate]').fill('100')
    const applied = page.waitForResponse((r) => r.url().endsWith('/faults') && r.request().method() === 'POST')
    await page.getByTestId('apply-fault').click()
    expect((await applied).status()).toBe(200)
    await placeOrders(5)
    await expect.poll(() => breaker('coordinator/payment').textContent(), { timeout: 10_000 }).toBe('OPEN')
    await expect.poll(() => count('sagas-aborted'), { timeout: 10_000 }).toBeGreaterThanOrEqual(5)
    await expect.poll(() => count('steps-compensated'), { timeout: 10_000 }).toBeGreaterThanOrEqual(5)
    await expect
      .poll(() => page.locator('[data-breaker="coordinator/payment"] .probe').textContent(), { timeout: 5000 })
      .toMatch(/may probe in \d+ s/)
    // One aborted saga's full event log, compensations included.
    await page.locator('#sagas-recent li', { hasText: 'aborted' }).first().click()
    await expect
      .poll(() => page.getByTestId('saga-detail').textContent(), { timeout: 5000 })
      .toContain('StepCompensated')
    await page.screenshot({ path: join(shots, '2-payment-breaker-open.png'), fullPage: true })

    // Cleared: after the open time (2 s in the test config) a probe goes through and the breaker closes.
    await page.getByTestId('clear-faults').click()
    await expect
      .poll(() => page.getByTestId('faults-current').textContent(), { timeout: 5000 })
      .toContain('"services":{}')
    await expect
      .poll(
        async () => {
          await placeOrders(1)
          return breaker('coordinator/payment').textContent()
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBe('CLOSED')
    await page.screenshot({ path: join(shots, '3-payment-breaker-closed.png'), fullPage: true })
  })
})
