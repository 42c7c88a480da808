/*
 * The README's pictures of the operations pages (issue #18): the platform in-process with sign-in on and the device
 * simulator (24 h of back-filled history), a few messages the ingest rejects, then an admin signed in on the map
 * opens the administration page, the rejected messages and the history explorer at 1366×768 in headless Chromium.
 *
 *   npx tsx platform/scripts/ops-screenshots.ts [docs-dir]
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { backfillRecent, createSimulator, loadSimConfig } from '@mytho/devices-sim'
import { silentLogger } from '@mytho/runtime'
import { readingsTopic } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { DEAD_TILES, launchChromium, startPlatform } from '@mytho/web/test-harness'

const docs = process.argv[2] ?? fileURLToPath(new URL('../../docs', import.meta.url))
// A throwaway platform in a temp dir: this password lives only as long as the script.
const PASSWORD = 'ops-screenshot-Mekong-2026'
const GAUGES = ['wl-hydro-station', 'wl-my-phong-riverside', 'wl-bao-dinh-mid']
const BROKEN = 'wl-tan-long'

const platform = await startPlatform({
  // as npm start runs: a device provisioned on the page reaches the map and the ingest at once
  liveRegistry: true,
  operators: [
    { username: 'admin1', password: PASSWORD, role: 'admin' },
    { username: 'truc.ban', password: PASSWORD, role: 'operator' },
    { username: 'xem.so.lieu', password: PASSWORD, role: 'viewer' },
  ],
  afterStart: async ({ mqttUrl, registry, dataDir, registryFile }) => {
    const config = loadSimConfig({
      MQTT_URL: mqttUrl,
      DATA_DIR: dataDir,
      DEVICE_REGISTRY_FILE: registryFile,
      SIM_BACKFILL_HOURS: '24',
      SIM_DEVICES: registry.devices
        .map((d) => d.id)
        .filter((id) => id !== BROKEN)
        .join(','),
    })
    // A day of readings first, as npm start does, so the history has a tide to show.
    await backfillRecent(config, { registry, logger: silentLogger })
    const sim = createSimulator(config, { registry, logger: silentLogger })
    await sim.start()
    return () => sim.stop()
  },
})
const browser = await launchChromium()
try {
  // What a misconfigured gauge sends: broken JSON, a value beyond the gauge's range, another kind's reading.
  const gauge = await platform.device(BROKEN)
  await gauge.publishAsync(readingsTopic(BROKEN), Buffer.from('{"kind":"water_level",\x07"waterLevelCm":1'), { qos: 1 })
  await gauge.publishAsync(readingsTopic(BROKEN), JSON.stringify({ kind: 'water_level', ts: Date.now(), waterLevelCm: 9999 }), { qos: 1 })
  await gauge.publishAsync(readingsTopic(BROKEN), JSON.stringify({ kind: 'traffic', ts: Date.now(), vehicleCount: 3 }), { qos: 1 })

  const page = await browser.newPage({ viewport: { width: 1366, height: 768 }, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' })
  await page.goto(platform.mapUrl())
  await page.locator('#sign-in').waitFor({ state: 'visible' })
  await page.locator('#sign-in-username').fill('admin1')
  await page.locator('#sign-in-password').fill(PASSWORD)
  await page.locator('#sign-in-submit').click()
  await page.locator('#admin-link').waitFor({ state: 'visible' })
  mkdirSync(docs, { recursive: true })

  await page.goto(`${platform.url}/admin.html`)
  await page.locator('#op-rows tr').first().waitFor()
  await page.waitForTimeout(500)
  await page.screenshot({ path: join(docs, 'admin.png') })
  // The devices: a new gauge being placed on the small map (no tile server: the city box), the secret shown once.
  await page.goto(`${platform.url}/admin.html?tiles=${encodeURIComponent(DEAD_TILES)}#sec-devices`)
  await page.locator('#dev-rows tr').first().waitFor()
  await page.locator('#dev-new-id').fill('wl-ben-pha-rach-mieu')
  await page.locator('#dev-new-kind').selectOption('water_level')
  await page.locator('#dev-new-name-vi').fill('Mực nước bến phà Rạch Miễu')
  await page.locator('#dev-new-name-en').fill('Rạch Miễu ferry landing gauge')
  await page.locator('#dev-new-ward').selectOption('my-tho')
  await page.locator('#dev-map').focus()
  await page.keyboard.press('Enter')
  await page.locator('#dev-create-submit').click()
  await page.locator('#dev-secret-host .dev-secret').waitFor({ state: 'visible' })
  await page.locator('#sec-devices').scrollIntoViewIfNeeded()
  await page.waitForTimeout(500)
  await page.screenshot({ path: join(docs, 'admin-devices.png') })

  await page.goto(`${platform.url}/dead-letters.html`)
  await waitFor(async () => (await page.locator('.dl-reason').count()) >= 3, { timeoutMs: 15_000, what: 'the rejected messages listed' })
  await page.waitForTimeout(500)
  await page.screenshot({ path: join(docs, 'dead-letters.png') })

  await page.goto(`${platform.url}/history.html#metric=waterLevelCm&devices=${GAUGES.join(',')}&range=24h`)
  await page.locator(`#h-chart[data-series="${GAUGES.length}"]`).waitFor()
  await page.waitForTimeout(800)
  await page.screenshot({ path: join(docs, 'history.png') })
  process.stdout.write(`saved ${join(docs, 'admin.png')}, admin-devices.png, dead-letters.png, history.png\n`)
} finally {
  await browser.close()
  await platform.stop()
}
