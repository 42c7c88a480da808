import mqtt, { type MqttClient } from 'mqtt'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLATFORM_HEALTH_TOPIC } from '@mytho/schema'
import { readDemoSecrets } from '@mytho/runtime'
import { launchChromium, pipelineHealth, startPlatform, watchPage, type Platform } from './harness.ts'

/*
 * Live, the banners over the map's top (an open alarm, the pipeline's health) must not hide a device's popup opened
 * near the top edge: Leaflet's pan into view keeps its top below their foot, at a phone's 390 px and the room's
 * 1366 px. The alarm is a real one: readings published over MQTT to the real ingest, whose alert engine raises it;
 * the pipeline's health is published as svc-ingest, the one account allowed to (as pipeline-banner.test.ts does).
 */

/** Raises a critical flood incident (BĐ III, 160 cm): two readings 6 min apart meet the 5-minute hold at once. */
const GAUGE = 'wl-my-phong-riverside'
/** Another device, whose popup is opened near the top edge (not the alarm's own). */
const OTHER = 'wl-bao-dinh-mid'
const VIEWPORTS = [
  { width: 390, height: 844 },
  { width: 1366, height: 768 },
]

interface Hook {
  __mytho?: { stats(): { live: boolean }; store: { meta: Map<string, { lat: number; lon: number }> } }
}

describe('a popup opened near the top of the live map stays clear of the banners over it', () => {
  let p: Platform
  let browser: Browser
  let page: Page
  let problems: string[]
  let gauge: MqttClient
  let svc: MqttClient

  const bannersBottom = async (): Promise<number> => {
    const b = (await page.locator('.banners').boundingBox())!
    return b.y + b.height
  }

  /**
   * Puts the device 24 px under the map's top edge and opens its popup there, as a click on it would (no centring);
   * waits for its chart (the popup at its full height) and for Leaflet's pan to leave its top below the banners.
   * Returns how far below the map's top the banners end.
   */
  async function popupNearTopClearsBanners(id: string): Promise<number> {
    await page.evaluate((deviceId) => {
      const w = (window as unknown as Hook).__mytho as unknown as {
        map: { latLngToContainerPoint(ll: [number, number]): { y: number }; panBy(p: [number, number], o: { animate: boolean }): void; closePopup(): void }
        store: { meta: Map<string, { lat: number; lon: number }> }
        select(id: string, pan?: boolean): boolean
      }
      const d = w.store.meta.get(deviceId)!
      w.map.closePopup()
      w.map.panBy([0, w.map.latLngToContainerPoint([d.lat, d.lon]).y - 24], { animate: false })
      w.select(deviceId, false)
    }, id)
    const popup = page.locator('.leaflet-popup').filter({ has: page.locator(`.device-popup[data-device-id="${id}"]`) })
    await page.waitForFunction(() => {
      const c = document.querySelector('.device-popup .popup-chart')
      return c !== null && (c.querySelector('.uplot') !== null || /^(Không có dữ liệu|No data)/.test(c.textContent ?? ''))
    })
    await expect.poll(async () => (await popup.boundingBox())!.y - (await bannersBottom()), { timeout: 10_000 }).toBeGreaterThanOrEqual(0)
    return (await bannersBottom()) - (await page.locator('#map').boundingBox())!.y
  }

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([startPlatform({ ingestEnv: { INGEST_HEALTH_INTERVAL_MS: '600000' } }), launchChromium()])
    const secrets = readDemoSecrets(p.dataDir)!
    svc = await mqtt.connectAsync(p.mqttUrl, {
      clientId: 'mytho-ingest-popup-banners',
      username: 'svc-ingest',
      password: secrets.services['svc-ingest']!,
      reconnectPeriod: 0,
    })
    page = await browser.newPage({ viewport: VIEWPORTS[1]! })
    problems = watchPage(page)
    await page.goto(p.mapUrl('#lat=10.35300&lon=106.37800&z=15'))
    await page.waitForFunction(
      () => (window as unknown as Hook).__mytho?.stats().live === true && ((window as unknown as Hook).__mytho?.store.meta.size ?? 0) > 0,
    )
    gauge = await p.device(GAUGE)
    const now = Date.now()
    await p.publish(gauge, GAUGE, [
      { kind: 'water_level', ts: now - 6 * 60_000, waterLevelCm: 162 },
      { kind: 'water_level', ts: now - 30_000, waterLevelCm: 164 },
    ])
    await page.locator('#incident-banner').waitFor({ state: 'visible' })
  }, 120_000)
  afterAll(async () => {
    await svc?.endAsync(true)
    await browser?.close()
    await p?.stop()
  })

  it('an open alarm: at 390 px and 1366 px the popup pans below the alarm banner, which reaches past the usual 60 px margin', async () => {
    expect(await page.locator('#replay-banner').isHidden()).toBe(true)
    for (const size of VIEWPORTS) {
      await page.setViewportSize(size)
      for (const id of [OTHER, GAUGE]) {
        const room = await popupNearTopClearsBanners(id)
        // the alarm banner is what lies there, deeper than the margin a popup keeps anyway
        const alarm = (await page.locator('#incident-banner').boundingBox())!
        expect(alarm.y + alarm.height).toBeLessThanOrEqual(await bannersBottom())
        expect(room).toBeGreaterThan(60)
      }
    }
    expect(problems).toEqual([])
  }, 60_000)

  it('the pipeline banner under the alarm: the popup pans below the whole stack', async () => {
    const degraded = pipelineHealth('degraded', 1234, 7 * 60_000)
    await svc.publishAsync(PLATFORM_HEALTH_TOPIC, JSON.stringify(degraded), { qos: 1, retain: true })
    await page.locator('#pipeline-banner[data-status="degraded"]').waitFor({ state: 'visible' })
    for (const size of VIEWPORTS) {
      await page.setViewportSize(size)
      const room = await popupNearTopClearsBanners(OTHER)
      const pipeline = (await page.locator('#pipeline-banner').boundingBox())!
      const alarm = (await page.locator('#incident-banner').boundingBox())!
      // the stack's foot is the pipeline banner's, below the alarm's
      expect(pipeline.y).toBeGreaterThan(alarm.y + alarm.height)
      expect(room).toBeGreaterThanOrEqual(pipeline.y + pipeline.height - (await page.locator('#map').boundingBox())!.y)
    }
    expect(problems).toEqual([])
  }, 60_000)

  it('a banner that appears while the popup is open pans the popup below it', async () => {
    for (const size of [...VIEWPORTS].reverse()) {
      await page.setViewportSize(size)
      await svc.publishAsync(PLATFORM_HEALTH_TOPIC, JSON.stringify(pipelineHealth('ok')), { qos: 1, retain: true })
      await page.locator('#pipeline-banner').waitFor({ state: 'hidden' })
      // the stack is the alarm banner alone again before the popup opens under it
      const alarmBottom = async () => {
        const a = (await page.locator('#incident-banner').boundingBox())!
        return a.y + a.height
      }
      await expect.poll(async () => (await bannersBottom()) - (await alarmBottom()), { timeout: 10_000 }).toBeLessThan(1)
      await popupNearTopClearsBanners(OTHER)
      const popup = page.locator('.leaflet-popup').filter({ has: page.locator(`.device-popup[data-device-id="${OTHER}"]`) })
      // Leaflet's pan into view can leave the popup lower than the stack needs (its margin is at least 60 px): put its
      // top where the pan puts it under a deep stack, 8 px below, so the banner about to appear is sure to cover it.
      const slack = (await popup.boundingBox())!.y - (await bannersBottom())
      await page.evaluate((dy) => {
        const w = (window as unknown as Hook).__mytho as unknown as { map: { panBy(p: [number, number], o: { animate: boolean }): void } }
        w.map.panBy([0, dy], { animate: false })
      }, Math.round(slack) - 8)
      const before = (await popup.boundingBox())!.y
      const stackBefore = await bannersBottom()
      const alarmBefore = (await page.locator('#incident-banner').boundingBox())!
      await svc.publishAsync(PLATFORM_HEALTH_TOPIC, JSON.stringify(pipelineHealth('degraded')), { qos: 1, retain: true })
      await page.locator('#pipeline-banner[data-status="degraded"]').waitFor({ state: 'visible' })
      // the stack grew over the open popup's top; the popup follows it down without being opened again
      const pipeline = (await page.locator('#pipeline-banner').boundingBox())!
      const alarmAfter = (await page.locator('#incident-banner').boundingBox())!
      expect(
        pipeline.y + pipeline.height,
        `${size.width}: slack ${slack}, before ${before}, stack ${stackBefore}, alarm ${JSON.stringify(alarmBefore)} → ${JSON.stringify(alarmAfter)}, pipeline ${JSON.stringify(pipeline)}`,
      ).toBeGreaterThan(before)
      await expect.poll(async () => (await popup.boundingBox())!.y - (await bannersBottom()), { timeout: 10_000 }).toBeGreaterThanOrEqual(0)
      expect(
        (await popup.boundingBox())!.y,
        `${size.width} px: popup top ${before} under banners to ${stackBefore}, now to ${await bannersBottom()}`,
      ).toBeGreaterThan(before)
    }
    expect(problems).toEqual([])
  }, 60_000)
})
