import mqtt, { type MqttClient } from 'mqtt'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLATFORM_HEALTH_TOPIC, type PipelineHealth } from '@mytho/schema'
import { readDemoSecrets } from '@mytho/runtime'
import { launchChromium, pipelineHealth, startPlatform, watchPage, type Platform } from './harness.ts'

/*
 * The ingest's pipeline health reaching the map through the real broker and API. The messages are published
 * as svc-ingest, the one account allowed to (the SQLite store of the map's platform cannot be made to fail; the
 * real InfluxDB outage is api/test/pipeline-health.test.ts). The platform's own ingest announces only at start
 * and on change here (interval at its maximum), so it does not overwrite the test's messages.
 */
describe('pipeline health banner on the operator map', () => {
  let p: Platform
  let browser: Browser
  let page: Page
  let problems: string[]
  let svc: MqttClient
  const announce = (h: PipelineHealth) => svc.publishAsync(PLATFORM_HEALTH_TOPIC, JSON.stringify(h), { qos: 1, retain: true })
  const banner = () => page.locator('#pipeline-banner')

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([startPlatform({ ingestEnv: { INGEST_HEALTH_INTERVAL_MS: '600000' } }), launchChromium()])
    const secrets = readDemoSecrets(p.dataDir)!
    svc = await mqtt.connectAsync(p.mqttUrl, {
      clientId: 'mytho-ingest-banner',
      username: 'svc-ingest',
      password: secrets.services['svc-ingest']!,
      reconnectPeriod: 0,
    })
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    problems = watchPage(page)
    await page.goto(p.mapUrl())
    await page.waitForFunction(() => (window as unknown as { __mytho?: { stats(): { live: boolean } } }).__mytho?.stats().live === true)
  })
  afterAll(async () => {
    await svc?.endAsync(true)
    await browser?.close()
    await p?.stop()
  })

  it('is hidden while the pipeline is ok', async () => {
    expect(await banner().isHidden()).toBe(true)
  })

  it('shows an amber banner with the waiting count and the oldest wait when degraded, in either language', async () => {
    await announce(pipelineHealth('degraded', 1234, 7 * 60_000 + 5_000))
    await page.locator('#pipeline-banner[data-status="degraded"]').waitFor({ state: 'visible' })
    expect(await banner().textContent()).toBe('Dữ liệu đang bị chậm: 1.234 số đo chờ ghi (cũ nhất 7 phút)')
    expect(await banner().evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(243, 156, 18)')
    await page.locator('#lang').click()
    expect(await banner().textContent()).toBe('Data is delayed: 1,234 readings waiting to be stored (oldest 7 min)')
    await page.locator('#lang').click()
  })

  it('turns red when blocked or down', async () => {
    await announce(pipelineHealth('blocked', 2_000_000, 12 * 60_000))
    await page.locator('#pipeline-banner[data-status="blocked"]').waitFor({ state: 'visible' })
    expect(await banner().textContent()).toBe('Hàng chờ ghi dữ liệu đã đầy, số đo mới đang bị giữ lại: 2.000.000 số đo chờ ghi (cũ nhất 12 phút)')
    expect(await banner().evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(215, 25, 28)')
    await announce(pipelineHealth('down', 0, null))
    await page.locator('#pipeline-banner[data-status="down"]').waitFor({ state: 'visible' })
    expect(await banner().textContent()).toBe('Dịch vụ ghi dữ liệu đã ngừng: số đo mới không được lưu')
  })

  it('disappears when the pipeline is ok again, and a page opened meanwhile gets the state on connect', async () => {
    await announce(pipelineHealth('degraded', 5, 20_000))
    await page.locator('#pipeline-banner[data-status="degraded"]').waitFor({ state: 'visible' })
    expect(await banner().textContent()).toBe('Dữ liệu đang bị chậm: 5 số đo chờ ghi (cũ nhất dưới 1 phút)')
    const second = await browser.newPage()
    const secondProblems = watchPage(second)
    await second.goto(p.mapUrl())
    await second.locator('#pipeline-banner[data-status="degraded"]').waitFor({ state: 'visible' })
    await announce(pipelineHealth('ok', 0, null))
    await banner().waitFor({ state: 'hidden' })
    await second.locator('#pipeline-banner').waitFor({ state: 'hidden' })
    await second.close()
    expect([...problems, ...secondProblems]).toEqual([])
  })
})
