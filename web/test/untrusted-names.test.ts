import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, startPlatform, watchPage, type Platform } from './harness.ts'

const EVIL = '<img src=x onerror=alert(1)>'
const DEVICE = 'wl-bao-dinh-mid'

describe('names and values from the registry and devices are text, never HTML', () => {
  let p: Platform
  let browser: Browser
  let page: Page
  const dialogs: string[] = []
  beforeAll(async () => {
    ;[p, browser] = await Promise.all([
      startPlatform({ editRegistry: (devices) => devices.map((d) => (d.id === DEVICE ? { ...d, nameVi: EVIL, nameEn: EVIL } : d)) }),
      launchChromium(),
    ])
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    page.on('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('shows a device named <img src=x onerror=alert(1)> as text in the popup, the search results and the live feed', async () => {
    const problems = watchPage(page)
    await page.goto(p.mapUrl(`#d=${DEVICE}`))
    await page.locator('.device-popup h3').waitFor()
    // the popup opens with the first snapshot, which may come before the registry names (the popup then shows the id)
    await page.waitForFunction(() => (window as unknown as { __mytho: { store: { meta: Map<string, unknown> } } }).__mytho.store.meta.size > 0)
    expect(await page.locator('.device-popup h3').textContent()).toBe(EVIL)
    await page.waitForFunction(() => (window as unknown as { __mytho: { stats(): { live: boolean } } }).__mytho.stats().live)
    const device = await p.device(DEVICE)
    await p.publish(device, DEVICE, { kind: 'water_level', ts: Date.now(), waterLevelCm: 101 })
    await page.locator(`#feed li[data-device-id="${DEVICE}"] .feed-name`).waitFor()
    expect(await page.locator(`#feed li[data-device-id="${DEVICE}"] .feed-name`).textContent()).toBe(EVIL)
    await page.locator('#search').fill('img src')
    await page.locator('#search-results li span').first().waitFor()
    expect(await page.locator('#search-results li span').first().textContent()).toBe(EVIL)
    // no element was created from the name: no <img> anywhere in the document, no dialog
    expect(await page.locator('img[src="x"]').count()).toBe(0)
    await page.waitForTimeout(200)
    expect(dialogs).toEqual([])
    expect(problems).toEqual([])
  })
})
