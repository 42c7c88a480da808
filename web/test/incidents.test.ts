import type { MqttClient } from 'mqtt'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { launchChromium, mapStats, startPlatform, watchPage, type Platform } from './harness.ts'

/** Raises a critical flood incident (BĐ III, 160 cm): two readings 6 min apart meet the 5-minute hold at once. */
const CRITICAL_GAUGE = 'wl-my-phong-riverside'
/** Raises a warning (BĐ II, 150 cm); its registry name is hostile markup. */
const WARNING_GAUGE = 'wl-bao-dinh-mid'
const EVIL = '<img src=x onerror=alert(1)>'
const OPERATOR = 'Trần Văn Bình'

interface Hook {
  __mytho: { stats(): { live: boolean; alarmed: number; drawnAlarms: number; incidents: number } }
}

describe('incidents on the operator map, against the real platform', () => {
  let p: Platform
  let browser: Browser
  let page: Page
  let problems: string[]
  const dialogs: string[] = []
  const clients = new Map<string, MqttClient>()

  const raise = async (id: string, cm: [number, number]) => {
    if (!clients.has(id)) clients.set(id, await p.device(id))
    const now = Date.now()
    await p.publish(clients.get(id)!, id, [
      { kind: 'water_level', ts: now - 6 * 60_000, waterLevelCm: cm[0] },
      { kind: 'water_level', ts: now - 30_000, waterLevelCm: cm[1] },
    ])
  }
  const incidentOf = async (deviceId: string): Promise<Incident> => {
    const list = (await (await fetch(`${p.url}/api/v1/incidents?deviceId=${deviceId}`)).json()) as Incident[]
    expect(list).toHaveLength(1)
    return list[0]!
  }
  const row = (deviceId: string) => page.locator(`#incidents li.incident[data-device-id="${deviceId}"]`)

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([
      startPlatform({ editRegistry: (devices) => devices.map((d) => (d.id === WARNING_GAUGE ? { ...d, nameVi: EVIL, nameEn: EVIL } : d)) }),
      launchChromium(),
    ])
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    problems = watchPage(page)
    page.on('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    await page.goto(p.mapUrl())
    await page.waitForFunction(() => (window as unknown as Hook).__mytho?.stats().live === true)
    // registry names are loaded after the first snapshot; the rows name devices with them
    await page.waitForFunction(() => (window as unknown as { __mytho: { store: { meta: Map<string, unknown> } } }).__mytho.store.meta.size > 0)
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('lists a warning with the device name as text, and does not sound the severe-incident cue for it', async () => {
    expect(await page.locator('#incidents .incident-empty').textContent()).toBe('Không có sự cố nào')
    await raise(WARNING_GAUGE, [152, 153])
    await row(WARNING_GAUGE).waitFor()
    expect(await row(WARNING_GAUGE).getAttribute('data-severity')).toBe('warning')
    expect(await row(WARNING_GAUGE).locator('.incident-device').textContent()).toBe(EVIL)
    expect(await row(WARNING_GAUGE).locator('.sev-badge').textContent()).toBe('Cảnh báo')
    expect(await page.locator('img[src="x"]').count()).toBe(0)
    expect(await page.locator('#incident-banner').isHidden()).toBe(true)
  })

  it('shows a critical flood incident raised over MQTT within 2 s, first in the panel, with its Vietnamese title and a banner until acknowledged', async () => {
    await raise(CRITICAL_GAUGE, [162, 164])
    const published = Date.now()
    await row(CRITICAL_GAUGE).waitFor({ timeout: 2000 })
    expect(Date.now() - published).toBeLessThan(2000)
    const inc = await incidentOf(CRITICAL_GAUGE)
    expect(inc).toMatchObject({ ruleId: 'flood', severity: 'critical', state: 'open' })
    const r = row(CRITICAL_GAUGE)
    expect(await r.locator('.incident-title').textContent()).toBe(inc.title.vi)
    expect(inc.title.vi).toMatch(/^Ngập do triều cường \/ lũ: /)
    expect(await r.locator('.sev-badge').textContent()).toBe('Nguy hiểm')
    expect(await r.locator('.incident-state').textContent()).toBe('Chưa xác nhận')
    expect(await r.locator('.incident-age').textContent()).toMatch(/^(vừa xong|\d+ phút trước)$/)
    // critical before warning, although the warning is older
    expect(await page.locator('#incidents li.incident').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset['severity']))).toEqual([
      'critical',
      'warning',
    ])
    // the banner flashes with the title and stays until the incident is acknowledged; a click opens the device
    const banner = page.locator('#incident-banner')
    await banner.waitFor({ state: 'visible' })
    expect(await banner.locator('.incident-banner-title').textContent()).toBe(inc.title.vi)
    expect(await page.evaluate(() => getComputedStyle(document.getElementById('incident-banner')!).animationName)).toBe('incident-flash')
    // at the fleet view the gauge is drawn with a halo, or its cluster with a red outline
    await waitFor(async () => (await page.evaluate(() => (window as unknown as Hook).__mytho.stats().drawnAlarms)) === 1, {
      what: 'the gauge drawn with an alarm halo',
    })
    expect((await page.evaluate(() => (window as unknown as Hook).__mytho.stats())).alarmed).toBe(1)
    await banner.locator('.incident-banner-title').click()
    // the popup lists the device's incidents and marks the raise time on its chart
    await page.locator(`.device-popup[data-device-id="${CRITICAL_GAUGE}"] .popup-incident-list li[data-incident-id="${inc.id}"]`).waitFor()
    await page.locator('.device-popup .popup-chart[data-marks="1"] .uplot').waitFor()
    expect(await page.locator('.device-popup .popup-incidents-title').textContent()).toBe('Lịch sử sự cố (giờ Việt Nam, UTC+7)')
    expect(await banner.isVisible()).toBe(true)
    expect(problems).toEqual([])
  })

  it('reflects an acknowledgement made over the REST API without a session as anonymous, its claimed name as text', async () => {
    const inc = await incidentOf(CRITICAL_GAUGE)
    const res = await fetch(`${p.url}/api/v1/incidents/${inc.id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: EVIL, note: 'Đã báo UBND phường' }),
    })
    expect(res.status).toBe(200)
    const r = page.locator(`#incidents li[data-incident-id="${inc.id}"][data-state="acknowledged"]`)
    await r.waitFor()
    expect(await r.locator('.incident-state').textContent()).toBe('Đã xác nhận')
    // issue #15: nobody without a session is an operator; the name given is only a claim
    expect(await r.locator('.incident-ack').textContent()).toBe(`Xác nhận bởi: Ẩn danh (127.0.0.1) — tự xưng “${EVIL}”`)
    expect(await page.locator('img[src="x"]').count()).toBe(0)
    expect(await r.locator('.ack-btn').count()).toBe(0)
    // taken: the banner goes; the note shows on the row (issue #17, not only a hover tooltip)
    await page.locator('#incident-banner').waitFor({ state: 'hidden' })
    expect(await r.locator('.incident-note').textContent()).toBe('Ghi chú: Đã báo UBND phường')
    // still critical and unresolved: still first, still haloed
    expect(await page.locator('#incidents li.incident').first().getAttribute('data-incident-id')).toBe(inc.id)
    expect((await page.evaluate(() => (window as unknown as Hook).__mytho.stats())).alarmed).toBe(1)
  })

  it('acknowledges through the panel: the in-page form sends the name, the panel shows it as claimed by an anonymous caller, the name is remembered', async () => {
    const inc = await incidentOf(WARNING_GAUGE)
    await row(WARNING_GAUGE).locator('.ack-btn').click()
    const dialog = page.locator('#ack-dialog')
    await dialog.waitFor({ state: 'visible' })
    await page.locator('#ack-name').fill(OPERATOR)
    await page.locator('#ack-note').fill('Đã cử đội kiểm tra cống')
    await page.locator('#ack-submit').click()
    const r = page.locator(`#incidents li[data-incident-id="${inc.id}"][data-state="acknowledged"]`)
    await r.waitFor()
    expect(await r.locator('.incident-ack').textContent()).toBe(`Xác nhận bởi: Ẩn danh (127.0.0.1) — tự xưng “${OPERATOR}”`)
    expect(await r.locator('.incident-note').textContent()).toBe('Ghi chú: Đã cử đội kiểm tra cống')
    // The live push can show the acknowledgement before the form has its HTTP answer (and loaded the schema to read
    // it): the form closes once it has.
    await dialog.waitFor({ state: 'hidden' })
    const acked = await incidentOf(WARNING_GAUGE)
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'anonymous@127.0.0.1', ackNote: 'Đã cử đội kiểm tra cống' })
    expect(acked.events.at(-1)).toMatchObject({ type: 'acknowledged', by: 'anonymous@127.0.0.1', claimedBy: OPERATOR })
    expect(await page.evaluate(() => localStorage.getItem('mytho.operator'))).toBe(OPERATOR)
  })

  it('shows the API refusal as text in the form', async () => {
    // a new incident, then the same acknowledge form for an id the API does not know
    await page.evaluate(() => {
      const m = (window as unknown as { __mytho: { incidents: { active: Map<string, Incident>; upsert(i: Incident): void } } }).__mytho.incidents
      const any = [...m.active.values()][0]!
      m.upsert({ ...any, id: 'inc-not-there', state: 'open', acknowledgedAt: null, acknowledgedBy: null, severity: 'info' })
    })
    await page.locator('#incidents li[data-incident-id="inc-not-there"] .ack-btn').click()
    expect(await page.locator('#ack-name').inputValue()).toBe(OPERATOR)
    await page.locator('#ack-submit').click()
    await page.locator('#ack-error').waitFor({ state: 'visible' })
    expect(await page.locator('#ack-error').textContent()).toBe('Không xác nhận được: no incident inc-not-there')
    await page.locator('#ack-cancel').click()
  })

  it('switches the panel to English', async () => {
    const inc = await incidentOf(CRITICAL_GAUGE)
    await page.locator('#lang').click()
    const r = page.locator(`#incidents li[data-incident-id="${inc.id}"]`)
    await waitFor(async () => (await r.locator('.incident-title').textContent()) === inc.title.en, { what: 'the English title' })
    expect(await r.locator('.incident-state').textContent()).toBe('Acknowledged')
    expect(await r.locator('.incident-ack').textContent()).toBe(`Acknowledged by: Anonymous (127.0.0.1) — claims “${EVIL}”`)
    expect(await r.locator('.incident-age').textContent()).toMatch(/^(just now|\d+ min ago)$/)
    expect(await page.locator('.incidents h2').textContent()).toBe('Active incidents')
    await page.locator('#lang').click()
    expect(await page.locator('img[src="x"]').count()).toBe(0)
    expect(dialogs).toEqual([])
    expect(problems.filter((x) => !/404/.test(x))).toEqual([])
    expect((await mapStats(page)).live).toBe(true)
  })
})
