/**
 * Debian's Chromium driven by playwright-core, with the flags WebRTC needs on
 * loopback (see shared field notes): fake media permission so ICE gathers
 * host candidates, loopback candidates allowed, no background traffic.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'
import { CHROMIUM } from './netns.ts'

export interface Browser {
  context: BrowserContext
  /** Opens a tab on `url` and collects its console errors. */
  open: (url: string) => Promise<Page>
  consoleErrors: string[]
  close: () => Promise<void>
}

/**
 * `acceptCertificates`: as a person who checked a relay's certificate and
 * accepted it (`ignoreHTTPSErrors`). `trustKeys`: public keys (base64 of the
 * SHA-256 of their SPKI) whose certificates this browser trusts as if a CA
 * it knows had signed them, as one whose owner installed the relay's
 * certificate does (a service worker registers only then).
 */
export async function launchBrowser (options: { acceptCertificates?: boolean, trustKeys?: string[] } = {}): Promise<Browser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'kotoba-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    ignoreHTTPSErrors: options.acceptCertificates === true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--allow-loopback-in-peer-connection',
      '--use-fake-ui-for-media-stream',
      ...(options.trustKeys === undefined ? [] : [`--ignore-certificate-errors-spki-list=${options.trustKeys.join(',')}`])
    ]
  })
  const consoleErrors: string[] = []
  return {
    context,
    consoleErrors,
    open: async (url) => {
      const page = await context.newPage()
      page.on('console', message => { if (message.type() === 'error') consoleErrors.push(message.text()) })
      page.on('pageerror', error => { consoleErrors.push(error.message) })
      await page.goto(url)
      return page
    },
    close: async () => {
      await context.close()
      await rm(userDataDir, { recursive: true, force: true })
    }
  }
}

/** Opens a folded `<details>` panel of the page (by test id), as a person clicks its summary. */
export async function openPanel (page: Page, testId: string): Promise<void> {
  const panel = page.getByTestId(testId)
  if (await panel.getAttribute('open') === null) await panel.locator('summary').click()
}

/** The companion id a tab shows for its own companion (waits for it). */
export async function companionIdOf (tab: Page): Promise<string> {
  const id = tab.getByTestId('companion-id')
  await id.waitFor({ timeout: 15_000 })
  return (await id.textContent())!
}

/** The ids of the companions a tab lists as here, sorted. */
export async function presentIds (tab: Page): Promise<string[]> {
  return (await tab.getByTestId('present-companion').evaluateAll(rows => rows.map(r => r.getAttribute('data-companion-id') ?? ''))).sort()
}
