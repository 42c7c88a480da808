import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEAD_TILES, launchChromium, mapStats, startPlatform, signInOnMap, watchPage, type MapStats, type Platform } from './harness.ts'

/*
 * An admin disables a gauge on the administration page while an operator's map is open with the gauge's popup, its
 * search result and its warning incident on screen: the gauge leaves the map (marker, counts, feed, search), the popup
 * says why, the incident stays. Enabled again, it comes back on the same page. Broker, ingest and API share a registry
 * that follows the device directory, as npm start wires them.
 */
const PASSWORD = 'correct horse battery staple'
const ID = 'wl-bao-dinh-mid'

interface Hook {
  __mytho?: {
    stats(): MapStats
    store: { devices: Map<string, { status: string }>; meta: Map<string, unknown> }
    select(id: string): boolean
  }
}

describe('a device disabled by an admin leaves the open map, and comes back when enabled', () => {
  let p: Platform
  let browser: Browser
  let admin: Page
  let map: Page
  let problems: string[]
  const row = () => admin.locator(`#dev-rows tr[data-device-id="${ID}"]`)
  const onMap = (present: boolean) =>
    map.waitForFunction(([id, want]) => (window as unknown as Hook).__mytho!.store.devices.has(id as string) === want, [ID, present] as const)

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([
      startPlatform({ liveRegistry: true, operators: [{ username: 'admin1', password: PASSWORD, role: 'admin' }] }),
      launchChromium(),
    ])
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } })
    map = await ctx.newPage()
    problems = watchPage(map)
    await signInOnMap(map, p.mapUrl(), 'admin1', PASSWORD)
    await map.waitForFunction(() => (window as unknown as Hook).__mytho?.stats().live === true)
    await map.waitForFunction(() => (window as unknown as Hook).__mytho!.store.meta.size > 0)
    admin = await ctx.newPage()
    await admin.goto(`${p.url}/admin.html?tiles=${encodeURIComponent(DEAD_TILES)}`)
    await admin.locator('#dev-rows tr').first().waitFor()
    await admin.locator('#dev-search').fill(ID)
    await row().waitFor()
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('drops its marker, counts, feed line, search result and popup, keeps its incident, and brings it back', async () => {
    // a warning on the gauge: an incident in the panel and a line in the live feed
    const gauge = await p.device(ID)
    const now = Date.now()
    await p.publish(gauge, ID, [
      { kind: 'water_level', ts: now - 6 * 60_000, waterLevelCm: 152 },
      { kind: 'water_level', ts: now - 30_000, waterLevelCm: 153 },
    ])
    const incident = map.locator(`#incidents li.incident[data-device-id="${ID}"]`)
    await incident.waitFor()
    await map.locator(`#feed li[data-device-id="${ID}"]`).first().waitFor()
    await map.waitForFunction((id) => (window as unknown as Hook).__mytho!.store.devices.get(id)?.status === 'warning', ID)
    // the index has caught up with the warning (a status change moves counts, no rebuild)
    await map.waitForFunction(() => {
      const s = (window as unknown as Hook).__mytho!.stats()
      return s.indexed === s.devices
    })
    const before = await mapStats(map)
    // its popup open, and the search listing it
    expect(await map.evaluate((id) => (window as unknown as Hook).__mytho!.select(id), ID)).toBe(true)
    await map.locator('.mytho-popup .device-popup').waitFor()
    await map.locator('#search').fill(ID)
    await map.locator(`#search-results li[data-device-id="${ID}"]`).waitFor()

    await row().locator('.dev-disable').click()
    await admin.locator(`#dev-rows tr[data-device-id="${ID}"][data-state="disabled"]`).waitFor()

    await onMap(false)
    await map.waitForFunction((n) => (window as unknown as Hook).__mytho!.stats().indexed === n, before.indexed - 1)
    const after = await mapStats(map)
    expect(after.devices).toBe(before.devices - 1)
    expect(after.byStatus['warning']).toBe(before.byStatus['warning']! - 1)
    await map.waitForFunction((n) => document.querySelector('#counts span')?.textContent === `${n} thiết bị`, before.devices - 1)
    // the popup says why, in the operator's language; the search and the feed no longer list it
    await map.locator('.mytho-popup .popup-removed').waitFor()
    expect(await map.locator('.mytho-popup .popup-removed').textContent()).toBe('Thiết bị này đã bị quản trị viên tắt nên đã được gỡ khỏi bản đồ.')
    expect(await map.locator('.mytho-popup .device-popup').count()).toBe(0)
    await map.locator(`#search-results li[data-device-id="${ID}"]`).waitFor({ state: 'detached' })
    await map.locator(`#feed li[data-device-id="${ID}"]`).first().waitFor({ state: 'detached' })
    // its incident stays: the alarm is still the city's to handle
    expect(await incident.count()).toBe(1)

    await row().locator('.dev-enable').click()
    await admin.locator(`#dev-rows tr[data-device-id="${ID}"][data-state="enabled"]`).waitFor()
    await onMap(true)
    await map.waitForFunction((n) => (window as unknown as Hook).__mytho!.stats().indexed === n, before.indexed)
    const back = await mapStats(map)
    expect(back.devices).toBe(before.devices)
    // back with its last reading: a warning, not a device never seen
    expect(await map.evaluate((id) => (window as unknown as Hook).__mytho!.store.devices.get(id)?.status, ID)).toBe('warning')
    await map.locator('#search').fill('')
    await map.locator('#search').fill(ID)
    await map.locator(`#search-results li[data-device-id="${ID}"]`).waitFor()
    expect(problems).toEqual([])
  })
})
