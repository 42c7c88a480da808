import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { launchChromium, startPlatform, watchPage, type Platform } from './harness.ts'

/*
 * Issue #18, finding 3: history was a 24-hour sparkline in a popup, one device, no range, no zoom, no value on hover,
 * no export. The history explorer (history.html) compares gauges over a chosen range in the window the range calls
 * for, says value, unit and Mỹ Tho time under the cursor, and downloads the same as CSV; a deep link reopens it.
 */

const PASSWORD = 'correct horse battery staple'
const A = 'wl-my-phong-riverside'
const B = 'wl-thoi-son-islet'
const MIN = 60_000
const H = 60 * MIN

/** A's and B's readings, at the same times: every 2 minutes over the last 5 hours, whole seconds. */
const NOW = Math.floor(Date.now() / 1000) * 1000
const times = Array.from({ length: 150 }, (_, i) => NOW - 5 * H + i * 2 * MIN)
const levelOf = (id: string, i: number) => (id === A ? 118 + (i % 17) * 1.5 : 92 + (i % 11) * 0.5)

const localTime = new Intl.DateTimeFormat('vi-VN', {
  timeZone: 'Asia/Ho_Chi_Minh',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})
const viNumber = new Intl.NumberFormat('vi-VN', { maximumFractionDigits: 1 })

/** RFC 4180 rows (quoted cells may hold commas, quotes and line breaks), CRLF or LF, BOM left on the first cell. */
function csvRows(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++
      else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') row.push(cell), (cell = '')
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = '')
    else if (c !== '\r') cell += c
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell])
  return rows
}

describe('the history explorer against the real platform (issue #18)', () => {
  let p: Platform
  let browser: Browser
  let page: Page
  let problems: string[]
  let store: ReadingStore

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([startPlatform({ operators: [{ username: 'viewer1', password: PASSWORD, role: 'viewer' }] }), launchChromium()])
    // as gauges send a backlog: one batch each over MQTT; PUBACK comes once ingest has stored it
    for (const id of [A, B]) {
      const c = await p.device(id)
      await p.publish(
        c,
        id,
        times.map((ts, i) => ({ kind: 'water_level', ts, waterLevelCm: levelOf(id, i), batteryV: 12.6 })),
      )
    }
    store = createSqliteStore({ path: join(p.dataDir, 'readings.sqlite') })
    page = await browser.newPage({ viewport: { width: 1366, height: 768 }, acceptDownloads: true })
    problems = watchPage(page)
  })
  afterAll(async () => {
    await store?.close()
    await browser?.close()
    await p?.stop()
  })

  it('a deep link opens both gauges on one chart, every reading of the last 6 h, after the map’s sign-in', async () => {
    await page.goto(`${p.url}/history.html#metric=waterLevelCm&devices=${A},${B}&range=6h&window=raw`)
    await page.locator('#h-sign-in').waitFor()
    await page.locator('#h-username').fill('viewer1')
    await page.locator('#h-password').fill(PASSWORD)
    await page.locator('#h-sign-in-submit').click()
    const host = page.locator('#h-chart')
    await page.locator('#h-chart[data-series="2"]').waitFor()
    expect(await host.getAttribute('data-window')).toBe('raw')
    expect(await host.getAttribute('data-points')).toBe(String(2 * times.length))
    expect(await page.locator('#h-metric').inputValue()).toBe('water_level:waterLevelCm')
    expect(await page.locator('#h-range').inputValue()).toBe('6h')
    const chips = await page.locator('#h-chosen li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset['deviceId']))
    expect(chips).toEqual([A, B])
    // one legend entry per gauge, by its Vietnamese name; the alarm levels (BĐ I–III) listed with the chart
    const legend = await page.locator('#h-chart .u-legend .u-series th').allTextContents()
    expect(legend.slice(1).map((s) => s.trim())).toEqual(['Mực nước bờ sông Mỹ Phong', 'Mực nước cù lao Thới Sơn, bờ bắc'])
    expect(await page.locator('#h-levels').textContent()).toMatch(/Báo động I.*cm.*Báo động III/)
    expect(problems).toEqual([])
  })

  it('hovering shows each gauge’s value with its unit and the Mỹ Tho time of the reading', async () => {
    const over = page.locator('#h-chart .u-over')
    const box = (await over.boundingBox())!
    await over.hover({ position: { x: box.width * 0.55, y: box.height / 2 } })
    const cells = page.locator('#h-chart .u-legend .u-series td.u-value')
    await page.waitForFunction(() => document.querySelector('#h-chart .u-legend .u-series td.u-value')?.textContent !== '—')
    const [time, a, b] = await cells.allTextContents()
    const i = times.findIndex((ts) => localTime.format(ts) === time)
    expect(i, `legend time ${time}`).toBeGreaterThanOrEqual(0)
    expect(a).toBe(`${viNumber.format(levelOf(A, i))} cm`)
    expect(b).toBe(`${viNumber.format(levelOf(B, i))} cm`)
  })

  it('dragging across the chart zooms in; ◀ and Shift + drag pan within the range; “Toàn bộ” shows it all again', async () => {
    const host = page.locator('#h-chart')
    const view = async () => [Number(await host.getAttribute('data-view-from')), Number(await host.getAttribute('data-view-to'))] as const
    const [from, to] = await view()
    expect(to - from).toBe(6 * H)
    const box = (await page.locator('#h-chart .u-over').boundingBox())!
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2, { steps: 5 })
    await page.mouse.up()
    await page.waitForFunction((f) => Number(document.querySelector<HTMLElement>('#h-chart')?.dataset['viewFrom']) > f, from)
    const [zFrom, zTo] = await view()
    // a quarter of the 6 h, near its middle
    expect((zTo - zFrom) / H).toBeCloseTo(1.5, 0)
    expect(zFrom).toBeGreaterThan(from + 2.5 * H)
    await page.locator('#h-pan-left').click()
    await page.waitForFunction((f) => Number(document.querySelector<HTMLElement>('#h-chart')?.dataset['viewFrom']) < f, zFrom)
    const [pFrom, pTo] = await view()
    expect(pTo - pFrom).toBeCloseTo(zTo - zFrom, -3)
    expect(zFrom - pFrom).toBeCloseTo((zTo - zFrom) / 2, -3)
    // Shift + drag to the right moves the view earlier, as a map is dragged
    await page.keyboard.down('Shift')
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 })
    await page.mouse.up()
    await page.keyboard.up('Shift')
    await page.waitForFunction((f) => Number(document.querySelector<HTMLElement>('#h-chart')?.dataset['viewFrom']) < f, pFrom)
    const [sFrom, sTo] = await view()
    expect(sTo - sFrom).toBeCloseTo(pTo - pFrom, -3)
    await page.locator('#h-reset').click()
    await page.waitForFunction((t) => Number(document.querySelector<HTMLElement>('#h-chart')?.dataset['viewTo']) === t, to)
    expect(await view()).toEqual([from, to])
    // a double click after a zoom shows the whole 6 h again too, not just the 5 h that have readings
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 })
    await page.mouse.up()
    await page.waitForFunction((f) => Number(document.querySelector<HTMLElement>('#h-chart')?.dataset['viewFrom']) > f, from)
    await page.mouse.dblclick(box.x + box.width * 0.5, box.y + box.height / 2)
    await page.waitForFunction((f) => Number(document.querySelector<HTMLElement>('#h-chart')?.dataset['viewFrom']) === f, from)
    expect(await view()).toEqual([from, to])
  })

  it('a range preset asks again in the window the range calls for, and the hash follows', async () => {
    const asked = page.waitForRequest((r) => r.url().includes('/api/v1/history?'))
    await page.locator('#h-range').selectOption('7d')
    const url = new URL((await asked).url())
    expect(url.searchParams.get('window')).toBe('5m')
    expect(url.searchParams.get('deviceIds')).toBe(`${A},${B}`)
    expect(Number(url.searchParams.get('to')) - Number(url.searchParams.get('from'))).toBe(7 * 24 * H)
    await page.locator('#h-chart[data-window="5m"]').waitFor()
    expect(await page.evaluate(() => location.hash)).toMatch(/range=7d&window=5m$/)

    const again = page.waitForRequest((r) => r.url().includes('/api/v1/history?'))
    await page.locator('#h-range').selectOption('24h')
    expect(new URL((await again).url()).searchParams.get('window')).toBe('1m')
    await page.locator('#h-chart[data-window="1m"]').waitFor()
    expect(problems).toEqual([])
  })

  it('the CSV link downloads the rows the store holds, with a BOM', async () => {
    const href = (await page.locator('#h-csv').getAttribute('href'))!
    const q = new URL(href, p.url).searchParams
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#h-csv').click()])
    expect(download.suggestedFilename()).toMatch(/^lich-su-waterLevelCm-.*\.csv$/)
    const bytes = readFileSync((await download.path())!)
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const [header, ...rows] = csvRows(bytes.subarray(3).toString('utf8'))
    expect(header?.[0]).toBe('Mã thiết bị / Device id')
    const series = await store.history({ deviceIds: [A, B], metric: 'waterLevelCm', from: Number(q.get('from')), to: Number(q.get('to')), window: '1m' })
    const expected = series.flatMap((s) =>
      s.points.map((pt) => [
        s.deviceId,
        new Date(pt.ts + 7 * H).toISOString().replace('Z', '+07:00'),
        new Date(pt.ts).toISOString(),
        String(pt.mean),
        String(pt.count),
      ]),
    )
    expect(expected).toHaveLength(2 * times.length)
    expect(rows.map((r) => [r[0], r[2], r[3], r[4], r[7]])).toEqual(expected)
    expect(rows.every((r) => r[8] === 'cm')).toBe(true)
  })

  it('fits a 390 px phone: every control on the screen, nothing scrolls sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.reload()
    await page.locator('#h-chart[data-series="2"]').waitFor()
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    for (const id of ['h-metric', 'h-search', 'h-range', 'h-window', 'h-show', 'h-csv', 'h-pan-left', 'h-reset', 'h-pan-right']) {
      const b = (await page.locator(`#${id}`).boundingBox())!
      expect(b.x, id).toBeGreaterThanOrEqual(0)
      expect(b.x + b.width, id).toBeLessThanOrEqual(390)
    }
    const c = (await page.locator('#h-chart canvas').boundingBox())!
    expect(c.x + c.width).toBeLessThanOrEqual(390)
    expect(problems).toEqual([])
  })

  it('the map links to it: “Lịch sử số liệu” in the header, “Xem lịch sử” in a gauge’s popup with the gauge chosen', async () => {
    await page.setViewportSize({ width: 1366, height: 768 })
    await page.goto(p.mapUrl(`#d=${B}`))
    const link = page.locator('.device-popup .popup-history-link')
    await link.waitFor()
    expect(await link.textContent()).toBe('Xem lịch sử')
    expect(await page.locator('#history-link').textContent()).toBe('Lịch sử số liệu')
    await link.click()
    await page.waitForURL(/\/history\.html#/)
    await page.locator('#h-chart[data-series="1"]').waitFor()
    expect(await page.locator('#h-chosen li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset['deviceId']))).toEqual([B])
    expect(await page.locator('#h-chart').getAttribute('data-window')).toBe('1m')
    expect(await page.locator('#h-chart').getAttribute('data-points')).toBe(String(times.length))

    // another gauge by the keyboard: typed without diacritics, Enter takes the first match
    await page.locator('#h-search').fill('my phong')
    await page.locator(`#h-results button[data-device-id="${A}"]`).waitFor()
    await page.locator('#h-search').press('Enter')
    await page.locator('#h-chart[data-series="2"]').waitFor()
    expect(await page.evaluate(() => location.hash)).toContain(`devices=${B},${A}`)

    // English, the chart's legend too
    await page.locator('#h-lang').click()
    expect(await page.locator('h1').textContent()).toBe('History')
    expect((await page.locator('#h-chart .u-legend .u-series th').first().textContent())?.trim()).toBe('Time')
    expect(await page.locator('#h-chart .u-legend .u-series th').nth(1).textContent()).toContain('Water level Thoi Son islet, north shore')
    await page.locator('#h-lang').click()
    expect(problems).toEqual([])
  })
})
