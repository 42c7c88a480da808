import mqtt from 'mqtt'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readingsTopic, type HistorySeries } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { DEAD_TILES, launchChromium, startPlatform, signInOnMap, watchPage, type Platform } from './harness.ts'

/*
 * Issue #18, the whole installer's flow with nothing restarted: an admin provisions a gauge on the administration
 * page, the device connects with the secret the page showed once and publishes, and the operator's map (open all the
 * while) draws it with that reading, which is stored, not dead-lettered. Broker, ingest and API share a registry that
 * follows the device directory, as npm start wires them.
 */
const PASSWORD = 'correct horse battery staple'
const ID = 'wl-cho-go-ferry'

interface Hook {
  __mytho?: {
    stats(): { live: boolean }
    store: { devices: Map<string, { status: string; lastReading: { fields: Record<string, number> } | null }> }
  }
}

describe('provision on the admin page → the device publishes → the open map draws it, no restart', () => {
  let p: Platform
  let browser: Browser
  let admin: Page
  let map: Page
  let problems: string[]

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
    // same browser, same session cookie: the admin page opens signed in
    admin = await ctx.newPage()
    await admin.goto(`${p.url}/admin.html?tiles=${encodeURIComponent(DEAD_TILES)}`)
    await admin.locator('#dev-rows tr').first().waitFor()
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('is on the map with its reading, and the reading is stored', async () => {
    expect(await map.evaluate((id) => (window as unknown as Hook).__mytho!.store.devices.has(id), ID)).toBe(false)
    await admin.locator('#dev-new-id').fill(ID)
    await admin.locator('#dev-new-kind').selectOption('water_level')
    await admin.locator('#dev-new-name-vi').fill('Mực nước bến đò Chợ Gạo')
    await admin.locator('#dev-new-name-en').fill('Cho Gao ferry gauge')
    await admin.locator('#dev-new-ward').selectOption('my-tho')
    await admin.locator('#dev-new-water-body').selectOption('river')
    await admin.locator('#dev-map').focus()
    await admin.keyboard.press('Enter')
    await admin.waitForFunction(() => (document.getElementById('dev-new-lat') as HTMLInputElement).value !== '')
    await admin.locator('#dev-create-submit').click()
    const secret = await admin.locator('#dev-secret-host .dev-secret .dev-secret-value .dev-copy-value').inputValue()
    expect(secret.length).toBeGreaterThanOrEqual(16)

    // the installer's device, with the secret it was given
    const device = await mqtt.connectAsync(p.mqttUrl, { clientId: ID, username: ID, password: secret, reconnectPeriod: 0 })
    const ts = Date.now() - 1000
    try {
      await device.publishAsync(readingsTopic(ID), JSON.stringify({ kind: 'water_level', ts, waterLevelCm: 123.4 }), { qos: 1 })
    } finally {
      await device.endAsync()
    }

    const drawn = await waitFor(
      () =>
        map.evaluate((id) => {
          const d = (window as unknown as Hook).__mytho!.store.devices.get(id)
          return d?.lastReading ? { status: d.status, cm: d.lastReading.fields['waterLevelCm'] } : undefined
        }, ID),
      { timeoutMs: 15_000, what: 'the new gauge on the open map with its reading' },
    )
    expect(drawn).toEqual({ status: 'ok', cm: 123.4 })
    const cookie = (await admin.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
    const history = (await (
      await fetch(`${p.url}/api/v1/devices/${ID}/history?metric=waterLevelCm&from=${ts - 1}&to=${ts + 1}`, { headers: { cookie } })
    ).json()) as HistorySeries
    expect(history.points.map((pt) => pt.mean)).toEqual([123.4])
    const dead = (await (await fetch(`${p.url}/api/v1/dead-letters?deviceId=${ID}`, { headers: { cookie } })).json()) as unknown[]
    expect(dead).toEqual([])
    expect(problems).toEqual([])
  })
})
