import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openIncidentStore, type IncidentStore, type NewIncident } from '@mytho/alerts'
import { launchChromium, startPlatform, watchPage, type Platform } from './harness.ts'

/*
 * Issue #17, finding 7: once acknowledged and cleared, an incident left the panel and nothing showed it again. The
 * incident log (incidents.html) lists it, closed, with its whole timeline and the acknowledgement's note, behind the
 * map's sign-in; the shift report prints what happened in the shift and what is still open.
 */

const PASSWORD = 'correct horse battery staple'
const H = 3600_000
const NOTE = 'Đã báo UBND phường Mỹ Phong, nước rút lúc 15 giờ'
const CLOSED_TITLE = 'Ngập do triều cường / lũ: Báo động II'
const OPEN_TITLE = 'Ngập do triều cường / lũ: Báo động III'

function incident(id: string, over: Partial<NewIncident>): NewIncident {
  const now = Date.now()
  return {
    id,
    ruleId: 'flood',
    subject: 'wl-my-phong-riverside',
    subjectType: 'device',
    deviceIds: ['wl-my-phong-riverside'],
    kind: 'water_level',
    level: 2,
    peakLevel: 2,
    severity: 'warning',
    title: { vi: CLOSED_TITLE, en: 'Flood (high water): Alarm level II' },
    state: 'open',
    metric: 'waterLevelCm',
    lastValue: 152,
    peakValue: 153,
    ward: 'my-phong',
    action: null,
    raisedAt: now - 5 * H,
    updatedAt: now - 5 * H,
    ...over,
  }
}

describe('the incident log page and the shift report, against the real platform (issue #17, finding 7)', () => {
  let p: Platform
  let browser: Browser
  let page: Page
  let problems: string[]
  let store: IncidentStore

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([
      startPlatform({
        operators: [
          { username: 'viewer1', password: PASSWORD, role: 'viewer' },
          { username: 'operator1', password: PASSWORD, role: 'operator' },
        ],
      }),
      launchChromium(),
    ])
    // as the ingest's engine and the API write them, into the alerts.sqlite the API reads
    store = openIncidentStore(join(p.dataDir, 'alerts.sqlite'))
    const now = Date.now()
    const closed = incident('inc-closed', {})
    store.create(closed, { at: closed.raisedAt, type: 'raised', level: 2, value: 152 })
    store.update(
      'inc-closed',
      { level: 3, severity: 'critical', title: { vi: OPEN_TITLE, en: 'x' }, value: 161, at: now - 4.8 * H },
      { at: now - 4.8 * H, type: 'escalated', level: 3, value: 161 },
    )
    store.update(
      'inc-closed',
      { level: 2, severity: 'warning', title: closed.title, value: 150, at: now - 4.6 * H },
      { at: now - 4.6 * H, type: 'deescalated', level: 2, value: 150 },
    )
    store.acknowledge('inc-closed', 'operator1', NOTE, now - 4.5 * H)
    store.update(
      'inc-closed',
      { level: 0, severity: 'warning', title: closed.title, value: 120, at: now - 4 * H, cleared: true },
      { at: now - 4 * H, type: 'cleared', level: 0, value: 120 },
    )
    // stored before incidents kept a ward: the page places it by its device (Thới Sơn)
    const open = incident('inc-open', {
      subject: 'wl-thoi-son-islet',
      deviceIds: ['wl-thoi-son-islet'],
      level: 3,
      peakLevel: 3,
      severity: 'critical',
      title: { vi: OPEN_TITLE, en: 'Flood (high water): Alarm level III' },
      ward: null,
      raisedAt: now - 2 * H,
      updatedAt: now - 2 * H,
    })
    store.create(open, { at: open.raisedAt, type: 'raised', level: 3, value: 164 })
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    problems = watchPage(page)
  })
  afterAll(async () => {
    store?.close()
    await browser?.close()
    await p?.stop()
  })

  const item = (id: string) => page.locator(`#log-list li.log-item[data-incident-id="${id}"]`)

  it('asks for the map sign-in, then lists the closed incident with its whole timeline and the note', async () => {
    await page.goto(`${p.url}/incidents.html`)
    await page.locator('#log-sign-in').waitFor()
    expect(await page.locator('#log-list li').count()).toBe(0)
    await page.locator('#log-username').fill('viewer1')
    await page.locator('#log-password').fill(PASSWORD)
    await page.locator('#log-sign-in-submit').click()

    await item('inc-closed').waitFor()
    expect(await item('inc-closed').getAttribute('data-state')).toBe('closed')
    expect(await item('inc-closed').locator('.log-state').textContent()).toBe('Đã đóng')
    expect(await item('inc-closed').locator('.log-ward').textContent()).toBe('Phường: Phường Mỹ Phong')
    const steps = await item('inc-closed')
      .locator('.log-timeline > li')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset['type']))
    expect(steps).toEqual(['raised', 'escalated', 'deescalated', 'acknowledged', 'cleared'])
    const ack = item('inc-closed').locator('.log-timeline > li[data-type="acknowledged"]')
    expect(await ack.locator('.ev-what').textContent()).toContain('operator1')
    expect(await ack.locator('.ev-note').textContent()).toBe(NOTE)
    // Mỹ Tho time (the page's times are UTC+7 whatever the browser's zone)
    expect(await ack.locator('.ev-at').textContent()).toBe(
      new Intl.DateTimeFormat('vi-VN', {
        timeZone: 'Asia/Ho_Chi_Minh',
        day: '2-digit',
        month: '2-digit',
        year: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hour12: false,
      }).format(store.get('inc-closed')!.acknowledgedAt!),
    )
    // the old row without a ward is placed by its device's ward
    expect(await item('inc-open').locator('.log-ward').textContent()).toBe('Phường: Phường Thới Sơn')

    await page.locator('#f-state').selectOption('closed')
    await page.locator('#f-apply').click()
    await page.waitForFunction(() => document.querySelectorAll('#log-list li.log-item').length === 1)
    expect(await item('inc-closed').count()).toBe(1)
    expect(await page.locator('#f-csv').getAttribute('href')).toMatch(/^\/api\/v1\/incidents\/export\.csv\?.*state=closed/)
    await page.locator('#f-state').selectOption('')
    await page.locator('#f-ward').selectOption('thoi-son')
    await page.locator('#f-apply').click()
    await page.waitForFunction(() => document.querySelector('#log-list li.log-item')?.getAttribute('data-incident-id') === 'inc-open')
    expect(await page.locator('#log-list li.log-item').count()).toBe(1)
    expect(problems).toEqual([])
  })

  it('the 8-hour shift report prints the shift: incidents, the acknowledgement with its note, what is open and what closed', async () => {
    await page.locator('#shift-8').click()
    await page.locator('#shift-report').waitFor()
    await page.emulateMedia({ media: 'print' })
    // on paper only the report: no header, no filters, no list
    expect(await page.locator('.log-bar').isVisible()).toBe(false)
    expect(await page.locator('#log-filters').isVisible()).toBe(false)
    expect(await page.locator('.report-title').textContent()).toBe('Báo cáo ca trực 8 giờ')
    const section = (s: string) => page.locator(`#report-body section[data-section="${s}"]`)
    const rows = (s: string) =>
      section(s)
        .locator('tbody tr')
        .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset['incidentId']))
    expect(await rows('incidents')).toEqual(['inc-closed', 'inc-open'])
    expect(await rows('open')).toEqual(['inc-open'])
    expect(await section('open').textContent()).toContain(OPEN_TITLE)
    expect(await rows('closed')).toEqual(['inc-closed'])
    expect(await section('closed').textContent()).toContain(CLOSED_TITLE)
    expect(await rows('acks')).toEqual(['inc-closed'])
    expect(await section('acks').textContent()).toContain(NOTE)
    expect(await section('acks').textContent()).toContain('operator1')
    const pdf = await page.pdf({ format: 'A4' })
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-')
    await page.emulateMedia({ media: 'screen' })

    // English by the toggle
    await page.locator('#log-lang').click()
    expect(await page.locator('.report-title').textContent()).toBe('8-hour shift report')
    expect(await section('open').locator('h3').textContent()).toBe('Still open at the end of the shift')
    await page.locator('#log-lang').click()
    expect(problems).toEqual([])
  })

  it('fits a 390 px phone without sideways scrolling, and the map header links to it', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.locator('#report-close').click()
    await page.locator('#log-main').waitFor()
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await page.locator('#shift-12').click()
    await page.locator('#shift-report').waitFor()
    expect(await page.locator('.report-title').textContent()).toBe('Báo cáo ca trực 12 giờ')
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)

    await page.setViewportSize({ width: 1366, height: 768 })
    await page.goto(p.mapUrl())
    const link = page.locator('#incident-log-link')
    await link.waitFor()
    expect(await link.textContent()).toBe('Nhật ký sự cố')
    await link.click()
    await page.waitForURL(/\/incidents\.html$/)
    await item('inc-closed').waitFor()
    expect(problems).toEqual([])
  })
})
