import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, signInOnMap, startPlatform, watchPage, type Platform } from './harness.ts'

/*
 * The map's header on a phone: an admin's tools (account and sign-out, sound, notifications, four page links,
 * language) are ~1,090 px wide, which at 390 px used to scroll sideways out of sight with no cue. They sit behind
 * "⋯ Thêm" there, a list under the bar that opens and closes like a menu; on the operations room's screen they stay
 * in the bar and the button is not shown.
 */

const PASSWORD = 'Ops-room-Secret-2026!'
/** Every tool an admin has in the header. */
const TOOLS = ['#sign-out', '#sound', '#incident-log-link', '#dead-letters-link', '#history-link', '#admin-link', '#lang']

describe("the map header's tools on a phone and on a wide screen", () => {
  let p: Platform
  let browser: Browser

  beforeAll(async () => {
    p = await startPlatform({ operators: [{ username: 'admin1', password: PASSWORD, role: 'admin' }] })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  async function openAt(width: number, height: number): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width, height } })
    const problems = watchPage(page)
    await signInOnMap(page, p.mapUrl(''), 'admin1', PASSWORD)
    await page.locator('#admin-link').waitFor({ state: 'attached' })
    return { page, problems }
  }

  /** Each selector's box, or null when it is not displayed. */
  const boxes = (page: Page, selectors: string[]) =>
    page.evaluate(
      (sels) =>
        sels.map((s) => {
          const e = document.querySelector(s) as HTMLElement | null
          if (!e || e.offsetParent === null) return null
          const r = e.getBoundingClientRect()
          return { left: r.left, right: r.right, top: r.top, bottom: r.bottom }
        }),
      selectors,
    )

  it('at 390 px: nothing scrolls sideways, "⋯ Thêm" opens every tool on screen, Escape and a tap on the map close it', async () => {
    const { page, problems } = await openAt(390, 844)
    const more = page.locator('#header-more')
    expect(await more.textContent()).toBe('⋯ Thêm')
    expect(await more.getAttribute('aria-expanded')).toBe('false')
    // The bar holds what fits and no more, connecting or live (the longer label first).
    const barWidth = () => page.evaluate(() => document.querySelector('.topbar')!.scrollWidth)
    expect(await barWidth()).toBeLessThanOrEqual(390)
    await page.locator('#link.live').waitFor()
    expect(await barWidth()).toBeLessThanOrEqual(390)
    // "Trực tiếp" whole: the title is what gives way
    expect(
      await page.evaluate(() => {
        const l = document.querySelector('#link')!
        return l.scrollWidth <= l.clientWidth
      }),
    ).toBe(true)
    expect((await boxes(page, ['#header-more']))[0]!.right).toBeLessThanOrEqual(390)
    expect(await boxes(page, TOOLS)).toEqual(TOOLS.map(() => null))

    await more.click()
    expect(await more.getAttribute('aria-expanded')).toBe('true')
    const open = await boxes(page, TOOLS)
    for (const [i, box] of open.entries()) {
      expect(box, TOOLS[i]).not.toBeNull()
      expect(box!.left, TOOLS[i]).toBeGreaterThanOrEqual(0)
      expect(box!.right, TOOLS[i]).toBeLessThanOrEqual(390)
      expect(box!.bottom, TOOLS[i]).toBeLessThanOrEqual(844)
      // a finger-sized row
      expect(box!.bottom - box!.top, TOOLS[i]).toBeGreaterThanOrEqual(32)
    }
    // Who is signed in, by name, which the bar itself has no room for.
    expect(await page.locator('#user-name').isVisible()).toBe(true)

    await page.keyboard.press('Escape')
    expect(await more.getAttribute('aria-expanded')).toBe('false')
    expect(await page.locator('#lang').isVisible()).toBe(false)
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('header-more')

    await more.click()
    await page.locator('#map').click({ position: { x: 100, y: 600 } })
    expect(await page.locator('#lang').isVisible()).toBe(false)

    // The language is one of the tools: switched from the list, the button follows.
    await more.click()
    await page.locator('#lang').click()
    expect(await more.textContent()).toBe('⋯ More')
    expect(await more.getAttribute('title')).toContain('language')
    expect(problems).toEqual([])
    await page.close()
  })

  it('at 1366 px: every tool is in the bar, on screen, and the button is not shown', async () => {
    const { page, problems } = await openAt(1366, 768)
    await page.locator('#sign-out').waitFor({ state: 'visible' })
    expect(await page.locator('#header-more').isVisible()).toBe(false)
    for (const [i, box] of (await boxes(page, TOOLS)).entries()) {
      expect(box, TOOLS[i]).not.toBeNull()
      expect(box!.right, TOOLS[i]).toBeLessThanOrEqual(1366)
      expect(box!.bottom, TOOLS[i]).toBeLessThanOrEqual(44)
    }
    expect(problems).toEqual([])
    await page.close()
  })
})
