/*
 * docs/map.png for the README: the whole platform in-process with the device simulator (king-tide
 * scenario, so river gauges are in alarm, with 24 h of back-filled history for the chart), the map at
 * 1366×768 in headless Chromium with no tile server (the picture shows what the map draws itself),
 * one gauge's popup open.   npx tsx web/scripts/screenshot.ts [out.png]
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSimulator, loadSimConfig } from '@mytho/devices-sim'
import { silentLogger } from '@mytho/runtime'
import { waitFor } from '@mytho/testing'
import { launchChromium, mapStats, startPlatform } from '../test/harness.ts'

const out = process.argv[2] ?? fileURLToPath(new URL('../../docs/map.png', import.meta.url))
const GAUGE = 'wl-hydro-station'

const platform = await startPlatform({
  afterStart: async ({ mqttUrl, registry, dataDir, registryFile }) => {
    const sim = createSimulator(
      loadSimConfig({ MQTT_URL: mqttUrl, DATA_DIR: dataDir, DEVICE_REGISTRY_FILE: registryFile, SIM_SCENARIO: process.env['SIM_SCENARIO'] ?? 'king-tide', SIM_SPEED: process.env['SIM_SPEED'] ?? '720', SIM_BACKFILL_HOURS: '24' }),
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
  await waitFor(async () => {
    const s = await mapStats(page)
    return (s.byStatus['never_seen'] ?? 0) <= 2 && (s.byStatus['alarm'] ?? 0) + (s.byStatus['warning'] ?? 0) > 0
  }, { timeoutMs: 60_000, what: 'the fleet to report and a gauge to alarm' })
  await page.waitForTimeout(3000) // a few minutes of simulated tide for the chart
  // a river gauge in alarm if there is one, else any device in alarm, else the hydrological station
  const gauge = await page.evaluate((fallback) => {
    const m = (window as unknown as { __mytho: { store: { devices: Map<string, { kind: string; status: string }> }; select(id: string, pan: boolean): boolean } }).__mytho
    const all = [...m.store.devices.entries()]
    const hit = all.find(([, d]) => d.kind === 'water_level' && d.status === 'alarm') ?? all.find(([, d]) => d.status === 'alarm')
    const id = hit?.[0] ?? fallback
    m.select(id, false)
    return id
  }, GAUGE)
  await page.locator('.popup-chart .uplot').waitFor({ timeout: 15_000 })
  await page.waitForTimeout(1500) // let the live feed fill
  mkdirSync(dirname(out), { recursive: true })
  await page.screenshot({ path: out })
  const s = await mapStats(page)
  process.stdout.write(`saved ${out} (popup ${gauge}): ${s.devices} devices, ${s.drawnPoints} markers, ${s.drawnClusters} clusters, ${JSON.stringify(s.byStatus)}\n`)
} finally {
  await browser.close()
  await platform.stop()
}
