/*
 * docs/map.png for the README: the whole platform in-process with the device simulator (king-tide
 * scenario, so river gauges are in alarm, with 24 h of back-filled history for the chart), the map at
 * 1366×768 in headless Chromium with no tile server (the picture shows what the map draws itself),
 * the incident panel and banner, and the popup of a gauge with a critical incident.   npx tsx platform/scripts/screenshot.ts [out.png]
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSimulator, loadSimConfig } from '@mytho/devices-sim'
import { silentLogger } from '@mytho/runtime'
import { waitFor } from '@mytho/testing'
import { launchChromium, mapStats, startPlatform } from '@mytho/web/test-harness'

const out = process.argv[2] ?? fileURLToPath(new URL('../../docs/map.png', import.meta.url))
/*
 * Incidents need their condition held 5 minutes of device time (`ts` stays real time at any SIM_SPEED), so two
 * gauges are left out of the simulator and publish a rising tide that already holds: one critical (BĐ III), one
 * warning (BĐ II). The critical one's popup shows its incident and the raise line on its chart.
 */
const CRITICAL_GAUGE = 'wl-my-phong-riverside'
const WARNING_GAUGE = 'wl-bao-dinh-mid'
const MIN = 60_000

const platform = await startPlatform({
  afterStart: async ({ mqttUrl, registry, dataDir, registryFile }) => {
    const sim = createSimulator(
      loadSimConfig({
        MQTT_URL: mqttUrl,
        DATA_DIR: dataDir,
        DEVICE_REGISTRY_FILE: registryFile,
        SIM_SCENARIO: process.env['SIM_SCENARIO'] ?? 'king-tide',
        SIM_SPEED: process.env['SIM_SPEED'] ?? '720',
        SIM_BACKFILL_HOURS: '24',
        SIM_DEVICES: registry.devices
          .map((d) => d.id)
          .filter((id) => id !== CRITICAL_GAUGE && id !== WARNING_GAUGE)
          .join(','),
      }),
      { registry, logger: silentLogger },
    )
    await sim.start()
    return () => sim.stop()
  },
})
const browser = await launchChromium()
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
  await page.goto(platform.mapUrl())
  await page.waitForFunction(() => (window as unknown as { __mytho?: { stats(): { live: boolean } } }).__mytho?.stats().live === true)
  // wait until most of the fleet has reported and some gauges have crossed an alarm level
  await waitFor(
    async () => {
      const s = await mapStats(page)
      return (s.byStatus['never_seen'] ?? 0) <= 2 && (s.byStatus['alarm'] ?? 0) + (s.byStatus['warning'] ?? 0) > 0
    },
    { timeoutMs: 60_000, what: 'the fleet to report and a gauge to alarm' },
  )
  await page.waitForTimeout(3000) // a few minutes of simulated tide for the chart
  const now = Date.now()
  const tide = (points: [number, number][]) => points.map(([minAgo, cm]) => ({ kind: 'water_level', ts: now - minAgo * MIN, waterLevelCm: cm }))
  await platform.publish(
    await platform.device(WARNING_GAUGE),
    WARNING_GAUGE,
    tide([
      [30, 131],
      [20, 141],
      [8, 152],
      [0.5, 153],
    ]),
  )
  await waitFor(async () => (await page.evaluate(() => (window as unknown as { __mytho: { stats(): { incidents: number } } }).__mytho.stats().incidents)) > 0, {
    what: 'the warning in the panel',
  })
  await platform.publish(
    await platform.device(CRITICAL_GAUGE),
    CRITICAL_GAUGE,
    tide([
      [45, 112],
      [35, 121],
      [25, 133],
      [18, 141],
      [12, 152],
      [9, 158],
      [7, 161],
      [5, 162],
      [3, 163],
      [1.5, 164],
      [0.5, 164],
    ]),
  )
  await page.locator('#incident-banner').waitFor({ state: 'visible' })
  const gauge = await page.evaluate(
    (id) => (window as unknown as { __mytho: { select(id: string, pan: boolean): boolean } }).__mytho.select(id, true) && id,
    CRITICAL_GAUGE,
  )
  await page.locator('.popup-chart .uplot').waitFor({ timeout: 15_000 })
  await page.waitForTimeout(1500) // let the live feed fill
  mkdirSync(dirname(out), { recursive: true })
  await page.screenshot({ path: out })
  const s = await mapStats(page)
  process.stdout.write(
    `saved ${out} (popup ${gauge}): ${s.devices} devices, ${s.drawnPoints} markers, ${s.drawnClusters} clusters, ${JSON.stringify(s.byStatus)}\n`,
  )
} finally {
  await browser.close()
  await platform.stop()
}
