import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@mytho/testing'
import { launchChromium, mapStats, startPlatform, waitForIndexed, watchPage, type Platform } from './harness.ts'

const GAUGE = 'wl-bao-dinh-mouth'

describe('operator map in headless Chromium against the real platform', () => {
  let p: Platform
  let browser: Browser
  let page: Page
  let problems: string[]
  beforeAll(async () => {
    ;[p, browser] = await Promise.all([startPlatform(), launchChromium()])
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    problems = watchPage(page)
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('draws every device of the seed fleet (clustered on canvas) and the ward names with no tile server reachable', async () => {
    await page.goto(p.mapUrl())
    const s = await waitForIndexed(page, p.registry.size)
    expect(s.devices).toBe(p.registry.size)
    // at the city view every device is either drawn as a marker or counted inside a drawn cluster
    expect(s.drawnPoints + s.clusteredDevices).toBe(p.registry.size)
    expect(s.byStatus['never_seen']).toBe(p.registry.size)
    expect(await page.locator('.ward-label').count()).toBe(5)
    // no boundary, river or box drawn from memory: without the city's overlay files there is no geometry (issue #21)
    expect(await page.locator('.leaflet-pane svg path').count()).toBe(0)
    await expect(page.locator('#link').textContent()).resolves.toBe('Trực tiếp')
    expect(problems).toEqual([])
  })

  it('opens a device from a deep link and shows a reading published over MQTT in its popup within 2 s', async () => {
    await page.goto(p.mapUrl(`#d=${GAUGE}`))
    await page.locator(`.device-popup[data-device-id="${GAUGE}"]`).waitFor()
    await page.waitForFunction(() => (window as unknown as { __mytho: { stats(): { live: boolean } } }).__mytho.stats().live)
    const device = await p.device(GAUGE)
    await p.publish(device, GAUGE, { kind: 'water_level', ts: Date.now(), waterLevelCm: 152.5 })
    const published = Date.now()
    const value = page.locator('.device-popup tr[data-field="waterLevelCm"] td.value')
    await value.waitFor({ timeout: 2000 })
    expect(Date.now() - published).toBeLessThan(2000)
    expect(await value.textContent()).toBe('152,5 cm')
    // the deep link keeps the selection; the status chip follows the server (152.5 cm is above BĐ II)
    expect(page.url()).toContain(`d=${GAUGE}`)
    await page.waitForFunction(() => !!document.querySelector('.device-popup .chip.status'))
    const status = (id: string) =>
      page.evaluate(
        (id) => (window as unknown as { __mytho: { store: { devices: Map<string, { status: string }> } } }).__mytho.store.devices.get(id)?.status,
        id,
      )
    await waitFor(async () => (await status(GAUGE)) === 'warning', { what: 'the gauge at 152.5 cm to be in warning' })
    expect(await page.locator('.device-popup .chip.status').getAttribute('data-status')).toBe('warning')
    // Mỹ Tho time is UTC+7 whatever the browser's zone; Vietnamese order: time, then date
    const seen = await page.locator('.device-popup .popup-seen').textContent()
    const hh = String((new Date(published).getUTCHours() + 7) % 24).padStart(2, '0')
    expect(seen).toMatch(new RegExp(`^Lần cuối: ${hh}:\\d\\d:\\d\\d \\d\\d/\\d\\d/\\d{4} \\(giờ Việt Nam, UTC\\+7\\)$`))
    expect(problems).toEqual([])
  })

  it('finds a device by its name without diacritics', async () => {
    await page.goto(p.mapUrl())
    // the map's code runs after its entry (which opens the live link), and the names come after the first snapshot
    await page.waitForFunction(() => ((window as unknown as { __mytho?: { store: { meta: Map<string, unknown> } } }).__mytho?.store.meta.size ?? 0) > 0)
    await page.locator('#search').fill('bao dinh')
    const first = page.locator('#search-results li').first()
    await first.waitFor()
    expect(await page.locator('#search-results li').count()).toBeGreaterThanOrEqual(3)
    await page.locator('#search').press('Enter')
    await page.locator('.device-popup').waitFor()
  })

  it('switches to English and back, and remembers the choice across a reload', async () => {
    await page.goto(p.mapUrl())
    await page.waitForFunction(() => (window as unknown as { __mytho?: unknown }).__mytho !== undefined)
    await expect(page.locator('.topbar h1 span').textContent()).resolves.toBe('Mỹ Tho — Trung tâm điều hành đô thị thông minh')
    await page.locator('#lang').click()
    await expect(page.locator('.topbar h1 span').textContent()).resolves.toBe('My Tho — Smart City Operations Centre')
    expect(await page.locator('.filter-kinds label').first().textContent()).toBe('Traffic')
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en')
    await page.reload()
    await page.waitForFunction(() => (window as unknown as { __mytho?: unknown }).__mytho !== undefined)
    await expect(page.locator('.topbar h1 span').textContent()).resolves.toBe('My Tho — Smart City Operations Centre')
    await page.locator('#lang').click()
    expect(await page.locator('.filter-kinds label').first().textContent()).toBe('Giao thông')
    expect(problems).toEqual([])
  })

  it('shows a dropped link, dims the data, and gets the current state back on reconnect without a reload', async () => {
    await page.goto(p.mapUrl(`#d=${GAUGE}`))
    await page.waitForFunction(() => (window as unknown as { __mytho: { stats(): { live: boolean } } }).__mytho.stats().live)
    await page.evaluate(() => ((window as unknown as { __marker: number }).__marker = 1)) // gone if the page reloads
    const restart = await p.stopApi()
    await page.locator('#banner').waitFor({ state: 'visible' })
    expect(await page.locator('#banner').textContent()).toContain('Mất kết nối — đang kết nối lại…')
    expect(await page.locator('.device-popup .popup-stale').isVisible()).toBe(true)
    expect((await mapStats(page)).live).toBe(false)
    // a reading arrives while the map is cut off; ingest stores it, the new API reads it back from storage
    const device = await p.device(GAUGE)
    await p.publish(device, GAUGE, { kind: 'water_level', ts: Date.now(), waterLevelCm: 99 })
    await restart()
    await page.waitForFunction(() => (window as unknown as { __mytho: { stats(): { live: boolean } } }).__mytho.stats().live, undefined, { timeout: 10_000 })
    await waitFor(async () => (await page.locator('.device-popup tr[data-field="waterLevelCm"] td.value').textContent()) === '99 cm', {
      what: 'the reading sent while disconnected',
    })
    expect(await page.locator('#banner').isHidden()).toBe(true)
    expect(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker)).toBe(1)
  })

  it('filters by kind and status from a deep link, and keeps the filters in the URL', async () => {
    const gauges = p.registry.devices.filter((d) => d.kind === 'water_level').length
    await page.goto(p.mapUrl('#k=water_level&s=ok,never_seen,warning,alarm,offline'))
    await page.waitForFunction(() => (window as unknown as { __mytho: { stats(): { live: boolean } } }).__mytho.stats().live)
    await waitFor(async () => (await mapStats(page)).indexed === gauges, { what: `only the ${gauges} water-level gauges indexed` })
    expect(await page.locator('input[name="kinds:traffic"]').isChecked()).toBe(false)
    expect(await page.locator('input[name="kinds:water_level"]').isChecked()).toBe(true)
    await page.locator('input[name="kinds:salinity"]').check()
    const salinity = p.registry.devices.filter((d) => d.kind === 'salinity').length
    await waitFor(async () => (await mapStats(page)).indexed === gauges + salinity, { what: 'salinity probes added' })
    expect(new URL(page.url()).hash).toContain('k=water_level,salinity')
    await page.locator('input[name="statuses:never_seen"]').uncheck()
    await waitFor(async () => (await mapStats(page)).indexed < gauges + salinity, { what: 'never-seen devices filtered out' })
  })

  it('uses OpenStreetMap tiles with their attribution by default (requests stopped in the browser)', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } })
    const tiles: string[] = []
    await ctx.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => {
      tiles.push(route.request().url())
      return route.abort()
    })
    const osm = await ctx.newPage()
    await osm.goto(p.url)
    await waitFor(() => tiles.length > 0, { what: 'a tile request' })
    expect(tiles.every((u) => u.startsWith('https://tile.openstreetmap.org/'))).toBe(true)
    expect(await osm.locator('.leaflet-control-attribution').textContent()).toContain('© OpenStreetMap contributors')
    await waitForIndexed(osm, p.registry.size)
    await ctx.close()
  })
})
