import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCredentialStore, openDeviceDirectory, type CredentialStore, type DeviceDirectory } from '@mytho/directory'
import { DeviceRecord, readingsTopic } from '@mytho/schema'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { connectDevice, waitFor } from '@mytho/testing'
import { launchChromium, startPlatform, watchPage, type Platform } from './harness.ts'

/*
 * Issue #18: the rejected messages in the browser. Letters made by the real broker and ingest: a device with a secret
 * but no registry record (unknown_device), a seed gauge sending broken JSON with a control byte, and an unknown
 * device's payload carrying markup and a right-to-left override. The page shows each reason in Vietnamese with its
 * fix, the payloads as text with the escapes marked, filters by reason and device, and after the device's record is
 * entered, re-drives its reading into the store once.
 */

const PASSWORD = 'correct horse battery staple'
const UNKNOWN = 'wl-unregistered-01'
const GAUGE = 'wl-hydro-station'
const record = {
  id: UNKNOWN,
  kind: 'water_level',
  nameVi: 'Đo mực nước chưa đăng ký',
  nameEn: 'Unregistered water level',
  lat: 10.36,
  lon: 106.36,
  ward: 'my-tho',
  intervalS: 300,
  batteryPowered: true,
  waterBody: 'canal',
  locationConfidence: 'C',
}

describe('the rejected-messages page and its re-drive, against the real platform (issue #18)', () => {
  let p: Platform
  let browser: Browser
  let page: Page
  let problems: string[]
  let store: ReadingStore
  let credentials: CredentialStore
  let directory: DeviceDirectory
  const t0 = Date.now() - 120_000

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([
      startPlatform({
        // The ingest re-drives, with the registry it follows (a record entered below is read again before it validates).
        liveRegistry: true,
        operators: [
          { username: 'viewer1', password: PASSWORD, role: 'viewer' },
          { username: 'operator1', password: PASSWORD, role: 'operator' },
        ],
      }),
      launchChromium(),
    ])
    store = createSqliteStore({ path: join(p.dataDir, 'readings.sqlite') })
    credentials = openCredentialStore(p.dataDir)
    directory = openDeviceDirectory(p.dataDir)

    const secret = randomBytes(24).toString('base64url')
    await credentials.setSecret(UNKNOWN, 'device', secret)
    const unknown = await connectDevice(p.mqttUrl, UNKNOWN, secret)
    await unknown.publishAsync(readingsTopic(UNKNOWN), JSON.stringify({ kind: 'water_level', ts: t0, waterLevelCm: 118.5 }), { qos: 1 })
    await unknown.publishAsync(
      readingsTopic(UNKNOWN),
      JSON.stringify({ kind: 'water_level', ts: t0 + 1000, waterLevelCm: 119, note: 'trạm\u202egnp.exe<img src=x onerror="window.__pwned=1">' }),
      { qos: 1 },
    )
    await unknown.endAsync()
    const gauge = await p.device(GAUGE)
    await gauge.publishAsync(readingsTopic(GAUGE), Buffer.from('{"kind":"water_level",\x07"waterLevelCm":1'), { qos: 1 })
    await waitFor(async () => (await store.deadLetters()).length === 3, { what: 'three dead letters' })

    page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    problems = watchPage(page)
  })
  afterAll(async () => {
    await credentials?.close()
    await directory?.close()
    await store?.close()
    await browser?.close()
    await p?.stop()
  })

  const items = () => page.locator('#dl-list li.dl-item')
  const codes = () => items().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset['code']))

  it('asks for the map sign-in, then shows each letter with its reason in Vietnamese, its fix and its payload escaped', async () => {
    await page.goto(`${p.url}/dead-letters.html`)
    await page.locator('#dl-sign-in').waitFor()
    await page.locator('#dl-username').fill('operator1')
    await page.locator('#dl-password').fill(PASSWORD)
    await page.locator('#dl-sign-in-submit').click()
    await page.waitForFunction(() => document.querySelectorAll('#dl-list li.dl-item').length === 3)
    expect((await codes()).sort()).toEqual(['not_json', 'unknown_device', 'unknown_device'])

    const unknown = items().filter({ hasText: UNKNOWN }).first()
    expect(await unknown.locator('.dl-reason').textContent()).toBe('Thiết bị chưa được đăng ký')
    expect(await unknown.locator('.dl-fix').textContent()).toBe('Cách xử lý: đăng ký thiết bị (quản trị), rồi bấm “Gửi lại”')
    expect(await unknown.locator('.dl-topic').textContent()).toBe(`Chủ đề: ${readingsTopic(UNKNOWN)}`)
    // not registered yet: nothing to re-drive
    expect(await page.locator('.dl-redrive').count()).toBe(0)

    // the markup stays text, the right-to-left override is shown as an escape, not obeyed
    const marked = items().filter({ hasText: 'gnp.exe' })
    expect(await marked.locator('.dl-payload').textContent()).toContain('trạm\\u{202E}gnp.exe<img src=x onerror=\\"window.__pwned=1\\">')
    expect(await marked.locator('.dl-payload .dl-esc').allTextContents()).toEqual(['\\u{202E}'])
    expect(await page.locator('#dl-list img').count()).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()

    const broken = page.locator('#dl-list li.dl-item[data-code="not_json"]')
    expect(await broken.locator('.dl-reason').textContent()).toBe('Dữ liệu không phải JSON')
    expect(await broken.locator('.dl-payload .dl-esc').allTextContents()).toEqual(['\\x07'])
    expect(await broken.locator('.dl-payload').textContent()).toBe('{"kind":"water_level",\\x07"waterLevelCm":1')
    // counts by reason this hour: 2 unregistered, 1 not JSON
    const counts = page.locator('.dl-counts-table tbody tr')
    expect(await counts.count()).toBeGreaterThanOrEqual(1)
    expect(await page.locator('.dl-counts-table tbody .dl-total-n').evaluateAll((els) => els.reduce((n, e) => n + Number(e.textContent), 0))).toBe(3)
    expect(problems).toEqual([])
  })

  it('filters by reason and by device', async () => {
    await page.locator('#f-reason').selectOption('not_json')
    await page.locator('#f-apply').click()
    await page.waitForFunction(() => document.querySelectorAll('#dl-list li.dl-item').length === 1)
    expect(await codes()).toEqual(['not_json'])

    await page.locator('#f-reason').selectOption('')
    await page.locator('#f-device').fill(UNKNOWN)
    await page.locator('#f-apply').click()
    await page.waitForFunction(() => document.querySelectorAll('#dl-list li.dl-item').length === 2)
    expect(await codes()).toEqual(['unknown_device', 'unknown_device'])
    // the counts follow the device filter
    expect(await page.locator('.dl-counts-table tbody .dl-total-n').evaluateAll((els) => els.reduce((n, e) => n + Number(e.textContent), 0))).toBe(2)

    // a custom range in local time that holds none of them
    await page.locator('#f-period').selectOption('range')
    await page.locator('#f-from').fill('2026-01-01T00:00')
    await page.locator('#f-to').fill('2026-01-02T00:00')
    await page.locator('#f-apply').click()
    await page.waitForFunction(() => document.querySelector('#dl-status')?.getAttribute('data-state') === 'ready')
    expect(await items().count()).toBe(0)
    expect(await page.locator('#dl-status').textContent()).toBe('Không có tin nào bị từ chối')
    await page.locator('#f-period').selectOption('24h')
    expect(problems).toEqual([])
  })

  it('once the device is registered, “Gửi lại” stores its reading once; the one that still fails stays', async () => {
    expect(await directory.insert(DeviceRecord.parse(record))).toBe(true)
    await page.locator('#f-apply').click()
    await page.locator('#dl-redrive-all').waitFor()
    expect(await page.locator('#dl-redrive-all').textContent()).toBe(`Gửi lại 2 tin của ${UNKNOWN}`)
    expect(await page.locator('.dl-redrive').count()).toBe(2)

    await page.locator('#dl-redrive-all').click()
    await page.waitForFunction(() => document.querySelector('#dl-status')?.textContent?.startsWith('Đã gửi lại'))
    expect(await page.locator('#dl-status').textContent()).toMatch(/^Đã gửi lại 1 tin, lưu 1 số đo; 1 tin vẫn bị từ chối/)
    await page.waitForFunction(() => document.querySelectorAll('#dl-list li.dl-item').length === 1)
    expect(await items().first().textContent()).toContain('gnp.exe')
    const stored = async () => (await store.history({ deviceIds: [UNKNOWN], metric: 'waterLevelCm', from: t0 - 1, to: t0 + 10_000, window: 'raw' }))[0]!.points
    expect((await stored()).map((pt) => [pt.ts, pt.mean])).toEqual([[t0, 118.5]])

    // again from the letter's own button: nothing more is stored
    await items().first().locator('.dl-redrive').click()
    await page.waitForFunction(() => document.querySelector('#dl-status')?.textContent?.startsWith('Đã gửi lại 0 tin, lưu 0 số đo'))
    expect(await stored()).toHaveLength(1)
    expect(problems).toEqual([])
  })

  it('switches to English, fits a 390 px phone, and the map header links to it; a viewer is told the page is not theirs', async () => {
    await page.locator('#dl-lang').click()
    expect(await page.locator('h1').textContent()).toBe('Rejected messages')
    expect(await items().first().locator('.dl-reason').textContent()).toBe('Device not registered')
    await page.locator('#dl-lang').click()
    await page.setViewportSize({ width: 390, height: 844 })
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)

    await page.setViewportSize({ width: 1366, height: 768 })
    await page.goto(p.mapUrl())
    const link = page.locator('#dead-letters-link')
    await link.waitFor()
    expect(await link.textContent()).toBe('Tin nhắn bị từ chối')
    await link.click()
    await page.waitForURL(/dead-letters\.html$/)
    await page.locator('#dl-list li.dl-item').first().waitFor()

    const viewer = await browser.newPage()
    const viewerProblems = watchPage(viewer, /403/)
    await viewer.goto(`${p.url}/dead-letters.html`)
    await viewer.locator('#dl-username').fill('viewer1')
    await viewer.locator('#dl-password').fill(PASSWORD)
    await viewer.locator('#dl-sign-in-submit').click()
    await viewer.waitForFunction(() => document.querySelector('#dl-status')?.getAttribute('data-state') === 'forbidden')
    expect(await viewer.locator('#dl-status').textContent()).toMatch(/^Trang này dành cho điều hành viên và quản trị/)
    expect(await viewer.locator('#dl-list li').count()).toBe(0)
    expect(await viewer.locator('#dl-filters').isHidden()).toBe(true)
    await viewer.goto(p.mapUrl())
    await viewer.locator('#counts').waitFor()
    await viewer.waitForFunction(() => document.querySelector('#dead-letters-link') !== null)
    expect(await viewer.locator('#dead-letters-link').isHidden()).toBe(true)
    await viewer.close()
    expect(viewerProblems).toEqual([])
    expect(problems).toEqual([])
  })
})
