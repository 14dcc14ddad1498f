import { execFileSync } from 'node:child_process'
import { chromium } from 'playwright-core'

/** Debian's chromium package (CI installs it with apt-get); never a downloaded browser. '' when absent. */
export const chromiumPath = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim()
  } catch {
    return ''
  }
})()

/** A headless chromium from {@link chromiumPath}. */
export function launchChromium() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
}
