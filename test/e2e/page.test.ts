/**
 * The companion page as a person uses it, in real Chromium with a real relay:
 * two tabs, every part of the page checked with real data (names, avatars,
 * connection kinds and round trips, lines, votes, actions), a person who
 * renames themselves, talks to one companion by picking it and to another
 * by @mention, the event log filtered, settings refused and saved, another
 * companion opened from the page. Screenshots at desktop and phone widths
 * go to test-results/screenshots/ (git-ignored).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { launchBrowser, openPanel } from '../helpers/browser.ts'
import type { Browser } from '../helpers/browser.ts'
import { networkSkipReason } from '../helpers/netns.ts'
import { spawnRelay } from '../helpers/relay-process.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'

const skip = networkSkipReason({ browser: true })
const SCREENSHOTS = resolve(import.meta.dirname, '../../test-results/screenshots')
const SETTINGS = 'turn-limit=4&pace=150&vote-window=1500'

/** Records, in the page, every text an element with this test id has shown. */
async function watchTexts (page: Page, testId: string): Promise<void> {
  await page.evaluate((id) => {
    const seen = new Set<string>()
    ;(window as any)[`seen:${id}`] = seen
    const look = (): void => { for (const el of document.querySelectorAll(`[data-testid="${id}"]`)) seen.add(el.textContent?.trim() ?? '') }
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true })
    look()
  }, testId)
}
/** Runs in the page: visible text whose contrast with its background is under 4.5:1. */
function lowContrastTexts (): string[] {
  const probe = document.createElement('canvas').getContext('2d')!
  // Any CSS colour (rgb(), color(srgb …), oklab …) to sRGB 0–255 and alpha, via a canvas pixel.
  const rgba = (css: string): [number, number, number, number] => {
    probe.clearRect(0, 0, 1, 1)
    probe.fillStyle = '#000'
    probe.fillStyle = css
    probe.fillRect(0, 0, 1, 1)
    const [r, g, b, a] = probe.getImageData(0, 0, 1, 1).data
    return [r, g, b, a / 255]
  }
  const luminance = ([r, g, b]: number[]): number => {
    const [R, G, B] = [r, g, b].map(v => { const c = v / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4 })
    return 0.2126 * R + 0.7152 * G + 0.0722 * B
  }
  const background = (el: Element | null): number[] => {
    const layers: Array<[number, number, number, number]> = []
    for (let e = el; e !== null; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor)
      if (c[3] > 0) layers.push(c)
      if (c[3] >= 1) break
    }
    let base = layers.at(-1)?.[3] === 1 ? layers.pop()!.slice(0, 3) : rgba(getComputedStyle(document.documentElement).backgroundColor).slice(0, 3)
    for (const [r, g, b, a] of layers.reverse()) base = [r * a + base[0] * (1 - a), g * a + base[1] * (1 - a), b * a + base[2] * (1 - a)]
    return base
  }
  const poor: string[] = []
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    const el = node.parentElement
    if (el === null || node.textContent?.trim() === '' || el.closest('svg, [aria-hidden=true]') !== null) continue
    const style = getComputedStyle(el)
    const box = el.getBoundingClientRect()
    if (box.width === 0 || style.visibility === 'hidden' || Number(style.opacity) < 1 || el.closest('details:not([open]) > :not(summary)') !== null) continue
    const bg = background(el)
    const [r, g, b, a] = rgba(style.color)
    const fg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)]
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x)
    const ratio = (hi + 0.05) / (lo + 0.05)
    if (ratio < 4.5) poor.push(`${ratio.toFixed(2)}: ${el.tagName.toLowerCase()}.${el.className} "${node.textContent!.trim().slice(0, 30)}"`)
  }
  return [...new Set(poor)].slice(0, 10)
}

const seenTexts = async (page: Page, testId: string): Promise<string[]> =>
  await page.evaluate((id) => [...(window as any)[`seen:${id}`] as Set<string>], testId)

describe('the companion page', { skip }, () => {
  let dataDir: string
  let relay: RelayProcess
  let browser: Browser
  let aya: Page
  let ren: Page
  let ayaId: string
  let renId: string

  const resting = async (page: Page): Promise<boolean> => await page.getByTestId('companion-status').getAttribute('data-status') === 'resting'

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kotoba-relay-'))
    relay = await spawnRelay({ dataDir })
    browser = await launchBrowser()
    aya = await browser.open(`${relay.httpUrl}?companion=aya&${SETTINGS}`)
    ren = await browser.open(`${relay.httpUrl}?companion=ren&${SETTINGS}`)
    ayaId = (await aya.getByTestId('companion-id').textContent({ timeout: 15_000 }))!
    renId = (await ren.getByTestId('companion-id').textContent({ timeout: 15_000 }))!
    await mkdir(SCREENSHOTS, { recursive: true })
  })

  after(async () => {
    await browser?.close()
    await relay?.kill()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('shows the companion: name, avatar drawn from its id, what it is doing, personality', async () => {
    assert.equal(await aya.getByTestId('companion-name').textContent(), 'Aya')
    const avatar = aya.locator(`[data-testid=avatar][data-avatar-for="${ayaId}"]`).first()
    await avatar.waitFor()
    assert.ok(await avatar.locator('rect').count() > 2, 'the avatar has a pattern')
    assert.match((await aya.getByTestId('companion-doing').textContent())!, /^(resting|listening|thinking|speaking|wants to speak \(importance \d+\))$/)
    assert.ok(((await aya.getByTestId('companion-personality').textContent()) ?? '').length > 5)
    // The same id draws the same face in another tab.
    const html = async (page: Page, id: string): Promise<string> => await page.locator(`[data-testid=avatar][data-avatar-for="${id}"]`).first().innerHTML()
    await ren.locator(`[data-testid=present-companion][data-companion-id="${ayaId}"]`).waitFor({ timeout: 20_000 })
    assert.equal(await html(ren, ayaId), await html(aya, ayaId))
  })

  it('shows who is present and the network: the relay and the other tab by name, connection kinds, round trips, topic counts', async () => {
    await aya.locator(`[data-testid=present-companion][data-companion-id="${renId}"]`).waitFor({ timeout: 20_000 })
    assert.equal(await aya.getByTestId('present-count').textContent(), '1')
    const renPeer = (await ren.getByTestId('peer-id').textContent())!
    const group = aya.locator(`[data-testid=peer-group][data-peer-id="${renPeer}"]`)
    await waitFor(async () => await group.getByTestId('peer-name').textContent() === 'Ren', 'the network panel to name the other tab', 20_000)
    // One direct connection (two tabs that dialled each other at once keep one).
    await waitFor(async () => await group.locator('[data-testid=peer-row][data-kind=webrtc]').count() === 1, 'one direct WebRTC connection to the other tab', 20_000)
    const relayGroup = aya.locator(`[data-testid=peer-group][data-peer-id="${relay.peerId}"]`)
    assert.equal(await relayGroup.getByTestId('peer-name').textContent(), 'relay')
    await relayGroup.locator('[data-testid=peer-row][data-kind=websocket]').waitFor()
    await waitFor(async () => /^\d+ ms$/.test((await group.getByTestId('peer-rtt').textContent()) ?? ''), 'a round trip to the other tab', 15_000)
    await waitFor(async () => /^\d+ ms$/.test((await relayGroup.getByTestId('peer-rtt').textContent()) ?? ''), 'a round trip to the relay', 15_000)
    assert.deepEqual(await aya.getByTestId('topic-count').evaluateAll(els => els.map(e => e.getAttribute('data-topic'))), ['messages', 'actions', 'states', 'queries', 'query-results'])
    assert.equal(await aya.getByTestId('relay-status').getAttribute('data-status'), 'reserved')
  })

  it('the person renames themselves, talks to one companion picked by a chip, and gets an answer with its votes', async () => {
    await waitFor(async () => await resting(aya) && await resting(ren), 'the greetings to end', 60_000)
    await aya.getByTestId('person-rename').click()
    await aya.getByTestId('person-name-input').fill('Tester')
    await aya.getByTestId('person-name-save').click()
    assert.equal(await aya.getByTestId('person-name').textContent(), 'Tester')

    await watchTexts(aya, 'companion-doing')
    await watchTexts(aya, 'typing')
    await aya.locator(`[data-testid=to-companion][data-companion-id="${renId}"]`).click()
    assert.equal(await aya.locator(`[data-testid=to-companion][data-companion-id="${renId}"]`).getAttribute('aria-pressed'), 'true')
    assert.equal(await aya.getByTestId('to-everyone').getAttribute('aria-pressed'), 'false')
    await aya.getByTestId('message-input').fill('Hello Ren, how is your day going?')
    await aya.getByTestId('message-input').press('Enter')

    const mine = aya.locator('[data-testid=line][data-own=true]').filter({ hasText: 'how is your day going' })
    await mine.waitFor()
    assert.equal(await mine.getByTestId('line-speaker').textContent(), 'Tester')
    assert.equal(await mine.getByTestId('line-to').textContent(), 'to Ren')
    const personId = await mine.getAttribute('data-from')
    assert.match(personId!, /^user_/)
    // Ren answers the person (addresses them by name); the line shows in both tabs.
    try {
      await aya.locator(`[data-testid=line][data-from="${renId}"]`).filter({ has: aya.getByTestId('line-to').filter({ hasText: 'Tester' }) }).first().waitFor({ timeout: 30_000 })
    } catch (e) {
      console.log('DBG', JSON.stringify(await aya.getByTestId('line').allTextContents()), JSON.stringify(await ren.getByTestId('line').allTextContents()), await ren.getByTestId('brain-error').count())
      throw e
    }
    await ren.locator('[data-testid=line]').filter({ hasText: 'how is your day going' }).waitFor()
    // The votes behind the person's line: who wanted to speak, and who was chosen.
    const turn = mine.getByTestId('line-turn')
    await turn.waitFor()
    await turn.locator('summary').click()
    assert.equal(await turn.getByTestId('turn-speaker').textContent(), 'Ren')
    assert.ok(await turn.getByTestId('turn-vote').count() >= 1)
    assert.match((await turn.getByTestId('turn-vote').first().textContent())!, /Ren ✓\s*speak\s*\d+/)

    await waitFor(async () => await resting(aya) && await resting(ren), 'the conversation to rest', 60_000)
    const doing = await seenTexts(aya, 'companion-doing')
    assert.ok(doing.includes('thinking'), `Aya was seen thinking: ${doing.join(' | ')}`)
    assert.ok(doing.some(d => d === 'listening' || d.startsWith('wants to speak')), `Aya was seen listening or wanting to speak: ${doing.join(' | ')}`)
    const typing = await seenTexts(aya, 'typing')
    assert.ok(typing.some(t => /^Ren is about to speak/.test(t)), `the typing indicator showed Ren: ${typing.join(' | ')}`)
    // Actions arrived and were shown.
    await aya.getByTestId('present-action').first().waitFor()
  })

  it('the conversation follows new lines, stops following when the reader scrolls up, and comes back on request', async () => {
    const list = aya.getByTestId('conversation')
    const gap = async (): Promise<number> => await list.evaluate(el => el.scrollHeight - el.scrollTop - el.clientHeight)
    await waitFor(async () => await list.evaluate(el => el.scrollHeight > el.clientHeight + 100), 'enough lines to scroll')
    // Opening an older line's votes (the test before) may have scrolled the list up to it: back to the latest first.
    if (await aya.getByTestId('jump-to-latest').count() > 0) await aya.getByTestId('jump-to-latest').click()
    await waitFor(async () => await gap() < 24, 'the list to sit at the bottom')
    await list.evaluate(el => { el.scrollTop = 0 })
    await aya.getByTestId('jump-to-latest').waitFor()
    const lines = await aya.getByTestId('line').count()
    await aya.getByTestId('message-input').fill('Tell me one more thing, everyone.')
    await aya.getByTestId('message-input').press('Enter')
    await waitFor(async () => await aya.getByTestId('line').count() > lines, 'the new line')
    assert.equal(await list.evaluate(el => el.scrollTop), 0, 'a reader who scrolled up stays where they are')
    await aya.getByTestId('jump-to-latest').click()
    await waitFor(async () => await gap() < 24, 'back at the latest line')
    assert.equal(await aya.getByTestId('jump-to-latest').count(), 0)
    await waitFor(async () => await resting(aya) && await resting(ren), 'the conversation to rest', 60_000)
  })

  it('an @mention addresses that companion only', async () => {
    await aya.getByTestId('to-everyone').click()
    await aya.getByTestId('message-input').fill('@Aya what do you think about tea?')
    assert.equal(await aya.locator(`[data-testid=to-companion][data-companion-id="${ayaId}"]`).getAttribute('aria-pressed'), 'true', 'the mention shows as picked')
    await aya.getByTestId('send-button').click()
    const line = aya.locator('[data-testid=line][data-own=true]').filter({ hasText: 'about tea' })
    await line.waitFor()
    assert.equal(await line.getByTestId('line-to').textContent(), 'to Aya')
    await aya.locator(`[data-testid=line][data-from="${ayaId}"]`).last().waitFor({ timeout: 30_000 })
    await waitFor(async () => await resting(aya) && await resting(ren), 'the conversation to rest', 60_000)
  })

  it('the event log filters by topic and by text', async () => {
    await openPanel(aya, 'log-panel')
    await aya.getByTestId('log-topic').selectOption('actions')
    const topics = await aya.getByTestId('log-entry').evaluateAll(els => els.map(e => e.getAttribute('data-topic')))
    assert.ok(topics.length > 0 && topics.every(t => t === 'actions'), `only actions: ${topics.join(',')}`)
    await aya.getByTestId('log-topic').selectOption('all')
    await aya.getByTestId('log-filter').fill('about tea')
    const texts = await aya.getByTestId('log-entry').allTextContents()
    assert.ok(texts.length > 0 && texts.every(t => t.includes('about tea')))
    await aya.getByTestId('log-filter').fill('')
  })

  it('settings refuse bad values with a clear message and keep good ones', async () => {
    await openPanel(aya, 'settings-panel')
    // The browser refuses what the field's limits rule out, before the page sees it.
    await aya.getByTestId('turn-limit').fill('0')
    await aya.getByTestId('turn-limit-save').click()
    assert.equal(await aya.getByTestId('turn-limit').evaluate(el => (el as HTMLInputElement).validity.rangeUnderflow), true)
    assert.equal(await aya.getByTestId('turn-limit-outcome').count(), 0)
    await aya.getByTestId('turn-limit').fill('6')
    await aya.getByTestId('turn-limit-save').click()
    assert.match((await aya.getByTestId('turn-limit-outcome').textContent())!, /after 6 lines/)
    await aya.getByTestId('ice-servers').fill('http://example.invalid')
    await aya.getByTestId('ice-save').click()
    assert.match((await aya.getByTestId('ice-outcome').textContent())!, /stun:, stuns:, turn: or turns: URL/)
    await aya.getByTestId('ice-servers').fill('')
    await aya.getByTestId('ice-save').click()
    assert.match((await aya.getByTestId('ice-outcome').textContent())!, /no STUN servers/)
    assert.equal(await aya.evaluate(() => localStorage.getItem('kotoba.turnLimit')), '6')
  })

  it('the person\'s name and the settings are kept across a reload', async () => {
    await ren.reload()
    await ren.getByTestId('companion-id').waitFor({ timeout: 15_000 })
    assert.equal(await ren.getByTestId('person-name').textContent(), 'Tester')
    await waitFor(async () => await ren.getByTestId('present-companion').count() >= 1, 'the tabs to find each other again', 20_000)
  })

  it('the page opens another companion in a new tab', async () => {
    const [opened] = await Promise.all([
      browser.context.waitForEvent('page'),
      aya.getByTestId('open-another').click()
    ])
    const id = opened.getByTestId('companion-id')
    await id.waitFor({ timeout: 15_000 })
    assert.ok(![ayaId, renId].includes((await id.textContent())!), 'a third companion')
    await aya.locator('[data-testid=present-companion]').nth(1).waitFor({ timeout: 20_000 })
    await opened.close()
  })

  it('fits desktop and phone widths, every control has a name, no console errors; screenshots saved', async () => {
    for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]] as const) {
      await aya.setViewportSize(viewport)
      const overflow = await aya.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      const wide = await aya.evaluate(() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(-4).map(e => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`))
      assert.ok(overflow <= 0, `${name}: no sideways scrolling (${overflow}px too wide: ${wide.join('; ')})`)
      const conversation = await aya.getByTestId('conversation').evaluate(el => el.scrollWidth - el.clientWidth)
      const culprits = await aya.getByTestId('conversation').evaluate(el => [...el.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > el.getBoundingClientRect().right + 1).slice(0, 4).map(e => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().width)}`))
      assert.ok(conversation <= 0, `${name}: the conversation's lines fit its width (${conversation}px too wide: ${culprits.join('; ')})`)
      await aya.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: name === 'phone' })
    }
    // Text is readable: WCAG AA contrast (4.5:1) against what is behind it, in light and dark.
    for (const scheme of ['light', 'dark'] as const) {
      await aya.emulateMedia({ colorScheme: scheme })
      const poor = await aya.evaluate(lowContrastTexts)
      assert.deepEqual(poor, [], `${scheme}: text with low contrast`)
    }
    await aya.emulateMedia({ colorScheme: 'light' })
    assert.notEqual(await aya.getByTestId('log-panel').getAttribute('open'), null, 'the event log opened earlier stays open while the page updates')
    const unnamed = await aya.evaluate(() => [...document.querySelectorAll('button, input, select, textarea')]
      .filter(el => {
        const e = el as HTMLInputElement
        const labelled = (e.labels?.length ?? 0) > 0 || e.getAttribute('aria-label') !== null || (el.tagName === 'BUTTON' && (el.textContent ?? '').trim() !== '')
        return !labelled && e.type !== 'hidden'
      })
      .map(el => el.outerHTML.slice(0, 80)))
    assert.deepEqual(unnamed, [])
    assert.deepEqual(browser.consoleErrors, [])
  })
})
