import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AgencyKeyScope, type AgencyKeyUse, type AgencyKeyView } from '@mytho/schema'
import { DEAD_TILES, launchChromium, startPlatform, watchPage, type Platform } from './harness.ts'

/*
 * Issue #22 in the browser: an admin issues an agency key on the administration page (water levels of one ward), reads
 * it once from the page and an agency's client uses it against the real sharing interface, which answers that ward's
 * gauges only; the key's uses are listed; revoked in the page, the same request is refused. The open-data flag of a
 * device is switched in the device list and the API reports it; a failed switch goes back. Phone width, English, a
 * viewer who sees none of it.
 */

const PASSWORD = 'correct horse battery staple'
// markup in a name must stay text
const KEY_NAME = '<b>Thủy văn</b> Thới Sơn'
const AGENCY = 'Đài KTTV Đồng Tháp'
const WARD = 'thoi-son'
const GAUGE = 'wl-thoi-son-islet'

describe('agency keys and the open-data flag on the administration page (issue #22)', () => {
  let p: Platform
  let browser: Browser
  let ctx: BrowserContext
  let admin: Page
  let problems: string[]
  let key = ''
  let curlUrl = ''
  const adminUrl = () => `${p.url}/admin.html?tiles=${encodeURIComponent(DEAD_TILES)}`
  const keyRow = () => admin.locator('#ak-rows tr[data-key-id]:not(.ak-uses-row)').filter({ hasText: KEY_NAME })
  const deviceRow = (id: string) => admin.locator(`#dev-rows tr[data-device-id="${id}"]`)
  /** An agency's client: no cookie, the key in the Authorization header. */
  const asAgency = (url: string, k: string) => fetch(url, { headers: { authorization: `Bearer ${k}`, accept: 'application/json' } })
  const adminGet = <T>(path: string): Promise<T> => admin.evaluate(async (path) => (await fetch(`/api/v1${path}`)).json(), path) as Promise<T>
  /** Anywhere in the page: its text or a field's value. */
  const onPage = (s: string) =>
    admin.evaluate(
      (s) =>
        document.body.textContent!.includes(s) ||
        [...document.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input, textarea')].some((e) => e.value.includes(s)),
      s,
    )

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([
      startPlatform({
        apiConfig: { MAP_TILE_URL: DEAD_TILES },
        operators: [
          { username: 'viewer1', password: PASSWORD, role: 'viewer' },
          { username: 'admin1', password: PASSWORD, role: 'admin' },
        ],
      }),
      launchChromium(),
    ])
    ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } })
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: p.url })
    admin = await ctx.newPage()
    // the form's refusals are 400s this test provokes; the dead tile server fails its requests
    problems = watchPage(admin, /status of 400|127\.0\.0\.1:9\//)
    await admin.goto(adminUrl())
    await admin.locator('#adm-username').fill('admin1')
    await admin.locator('#adm-password').fill(PASSWORD)
    await admin.locator('#adm-sign-in-submit').click()
    await admin.locator('#ak-status').filter({ hasText: 'Chưa cấp khóa nào.' }).waitFor()
    await deviceRow(GAUGE).waitFor()
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('issues a key for one ward’s water levels, shown once with a curl line that returns only that ward’s gauges', async () => {
    // The API's refusal is shown beside the form, in the page's words, with the cursor on the field it names.
    await admin.locator('#ak-create-submit').click()
    const error = admin.locator('#ak-create-error')
    await error.waitFor({ state: 'visible' })
    expect(await error.textContent()).toBe('Không cấp được khóa: Hãy nhập tên khóa (tối đa 100 ký tự).')
    expect(await admin.evaluate(() => document.activeElement?.id)).toBe('ak-name')
    await admin.locator('#ak-name').fill(KEY_NAME)
    await admin.locator('#ak-agency').fill(AGENCY)
    await admin.locator('#ak-create-submit').click()
    await error.filter({ hasText: 'Hãy chọn ít nhất một loại thiết bị.' }).waitFor()

    // The schema's defaults are the form's; "all wards" ticks every ward and unticks them.
    expect(await admin.locator('#ak-rate').inputValue()).toBe(String(AgencyKeyScope.shape.ratePerMinute.parse(undefined)))
    expect(await admin.locator(`#ak-access-${AgencyKeyScope.shape.access.parse(undefined)}`).isChecked()).toBe(true)
    expect(await admin.locator('#ak-kind-water_level + span').textContent()).toBe('Mực nước')
    await admin.locator('#ak-ward-all').check()
    expect(await admin.locator('#ak-ward-list input:checked').count()).toBe(5)
    await admin.locator('#ak-ward-all').uncheck()
    expect(await admin.locator('#ak-ward-list input:checked').count()).toBe(0)
    await admin.locator('#ak-kind-water_level').check()
    await admin.locator(`#ak-ward-${WARD}`).check()
    expect(await admin.locator('#ak-ward-all').evaluate((e) => (e as HTMLInputElement).indeterminate)).toBe(true)
    // The last day, in Mỹ Tho time: the key works until that day's midnight there.
    await admin.locator('#ak-expires').fill('2099-12-31')
    // With the keyboard.
    await admin.locator('#ak-create-submit').focus()
    await admin.keyboard.press('Enter')

    const box = admin.locator('#ak-shown-host .ak-shown')
    await box.waitFor({ state: 'visible' })
    expect(await box.locator('.dev-warning').textContent()).toBe(
      'Khóa này sẽ không được hiển thị lại. Hãy sao chép và gửi cho cơ quan nhận ngay, qua kênh an toàn; nếu làm mất, hãy thu hồi và cấp khóa mới.',
    )
    expect(await box.locator('h3').textContent()).toBe(`Khóa “${KEY_NAME}” cho ${AGENCY}`)
    expect(await box.locator('h3 b').count()).toBe(0)
    key = await box.locator('.ak-key .dev-copy-value').inputValue()
    expect(key).toMatch(/^mak_[0-9a-f]{16}_/)
    await box.locator('.ak-key .dev-copy-btn').click()
    expect(await admin.evaluate(() => navigator.clipboard.readText())).toBe(key)
    const curl = await box.locator('.ak-curl .dev-copy-value').inputValue()
    expect(curl).toContain(`-H 'Authorization: Bearer ${key}'`)
    curlUrl = /'(http[^']+)'/.exec(curl)![1]!
    expect(curlUrl.startsWith(`${p.url}/ngsi-ld/v1/entities?type=FloodMonitoring&`)).toBe(true)
    expect(await admin.locator('#ak-create-error').isVisible()).toBe(false)

    const issued = (await adminGet<AgencyKeyView[]>('/admin/agency-keys'))[0]!
    expect(issued.scope).toMatchObject({ kinds: ['water_level'], wards: [WARD], access: 'aggregated' })
    expect(issued.expiresAt).toBe(Date.UTC(2100, 0, 1) - 7 * 3600_000)

    // The curl line's request, made by an agency's client: 200, that ward's gauges and nothing else.
    const res = await asAgency(curlUrl, key)
    expect(res.status).toBe(200)
    const entities = (await res.json()) as { id: string; type: string; areaServed: string }[]
    const expected = p.registry.devices
      .filter((d) => d.kind === 'water_level' && d.ward === WARD)
      .map((d) => `urn:ngsi-ld:FloodMonitoring:mytho:${d.id}`)
      .sort()
    expect(expected.length).toBeGreaterThan(0)
    expect(entities.map((e) => e.id)).toEqual(expected)
    expect(new Set(entities.map((e) => e.areaServed))).toEqual(new Set([WARD]))

    // Shown once: closed, it is nowhere in the page.
    await box.locator('.ak-shown-close').click()
    await admin.locator('#ak-shown-host').waitFor({ state: 'hidden' })
    expect(await admin.locator('#ak-shown-host').innerHTML()).toBe('')
    expect(await onPage(key)).toBe(false)
    expect(await onPage(key.slice(4, 20))).toBe(true) // the id, the key's public half, stays listed

    const row = keyRow()
    expect(await row.locator('.ak-name-text').textContent()).toBe(KEY_NAME)
    expect(await row.locator('b').count()).toBe(0)
    expect(await row.locator('.ak-agency').textContent()).toBe(AGENCY)
    expect(await row.locator('.ak-scope').textContent()).toBe('Mực nước · Phường Thới Sơn · chỉ số liệu tổng hợp · 60 yêu cầu/phút')
    expect(await row.locator('.ak-state-text').textContent()).toBe('Đang dùng')
    expect(await row.locator('.ak-state-when').textContent()).toBe('dùng đến hết ngày 31/12/2099')
    // the keyboard is back on the new key's row
    expect(await admin.evaluate(() => document.activeElement?.closest('tr')?.dataset['keyId'])).toBe(issued.id)
    await admin.locator('#audit-rows tr[data-action="agency-key-create"]').waitFor()
    expect(await admin.locator('#audit-rows tr[data-action="agency-key-create"] .audit-action').first().textContent()).toBe('Cấp khóa cơ quan')
    expect(problems).toEqual([])
  })

  it('lists the key’s uses: time, method, path, status and address, as text', async () => {
    const id = key.slice(4, 20)
    await expect.poll(async () => (await adminGet<AgencyKeyUse[]>(`/admin/agency-keys/${id}/uses`)).length, { timeout: 10_000 }).toBe(1)
    await keyRow().locator('.ak-view-uses').click()
    const use = admin.locator(`#ak-rows tr.ak-uses-row[data-key-id="${id}"] .ak-uses-table tbody tr`)
    await use.first().waitFor()
    expect(await use.count()).toBe(1)
    expect(await use.locator('.ak-use-method').textContent()).toBe('GET')
    expect(await use.locator('.ak-use-path').textContent()).toBe(curlUrl.slice(p.url.length))
    expect(await use.locator('.ak-use-status').textContent()).toBe('200')
    expect(await use.locator('.ak-use-ip').textContent()).toMatch(/127\.0\.0\.1/)
    expect(await use.locator('.ak-use-time').textContent()).toMatch(/\d{2}:\d{2}:\d{2}/)
    expect(await keyRow().locator('.ak-view-uses').getAttribute('aria-expanded')).toBe('true')
  })

  it('revokes the key after a confirm step; it stays listed, greyed, and the agency’s request gets 401', async () => {
    // Escape leaves the confirm step without revoking.
    await keyRow().locator('.ak-revoke').click()
    const confirm = keyRow().locator('.ak-confirm')
    await confirm.waitFor()
    expect(await confirm.locator('.ak-confirm-text').textContent()).toBe(`Thu hồi khóa “${KEY_NAME}”? Cơ quan sẽ không đọc được dữ liệu bằng khóa này nữa.`)
    expect(await admin.evaluate(() => document.activeElement?.classList.contains('ak-revoke-cancel'))).toBe(true)
    await admin.keyboard.press('Escape')
    await confirm.waitFor({ state: 'detached' })
    expect((await asAgency(curlUrl, key)).status).toBe(200)

    await keyRow().locator('.ak-revoke').click()
    await keyRow().locator('.ak-revoke-yes').click()
    await admin.locator('#ak-rows tr[data-status="revoked"]').waitFor()
    const row = keyRow()
    expect(await row.locator('.ak-state-text').textContent()).toBe('Đã thu hồi')
    expect(await row.locator('.ak-state-when').textContent()).toMatch(/^thu hồi lúc /)
    expect(await row.locator('.ak-revoke').count()).toBe(0)
    expect(await row.evaluate((e) => getComputedStyle(e).color)).toBe('rgb(95, 107, 117)')
    expect(await admin.locator('#adm-notice').textContent()).toBe(`Đã thu hồi khóa “${KEY_NAME}”`)
    expect(await admin.locator('#ak-status').textContent()).toBe('1 khóa, 0 đang dùng')

    const res = await asAgency(curlUrl, key)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain('Bearer')
    // the two requests made while it worked are counted; the refused one after revoking is not the key's
    await expect.poll(async () => (await adminGet<AgencyKeyView[]>('/admin/agency-keys'))[0]!.useCount).toBe(2)
    await admin.locator('#audit-rows tr[data-action="agency-key-revoke"]').waitFor()
    expect(problems).toEqual([])
  })

  it('switches a device out of open data with the keyboard; the API reports it', async () => {
    const toggle = deviceRow(GAUGE).locator('.dev-public input')
    expect(await toggle.isChecked()).toBe(true)
    await toggle.focus()
    await admin.keyboard.press('Space')
    await admin.locator(`#dev-rows tr[data-device-id="${GAUGE}"][data-public="false"]`).waitFor()
    expect(await toggle.isChecked()).toBe(false)
    const listed = async () => (await adminGet<{ id: string; public?: boolean }[]>('/admin/devices')).find((d) => d.id === GAUGE)
    expect((await listed())?.public).toBe(false)
    expect(await admin.locator('#adm-notice').textContent()).toBe(`Đã bỏ ${GAUGE} khỏi dữ liệu mở`)
    expect(await admin.evaluate(() => document.activeElement?.closest('tr')?.dataset['deviceId'])).toBe(GAUGE)
    await admin.locator('#audit-rows tr[data-action="device-publish"]').waitFor()

    await admin.keyboard.press('Space')
    await admin.locator(`#dev-rows tr[data-device-id="${GAUGE}"][data-public="true"]`).waitFor()
    expect((await listed())?.public).toBe(true)
    expect(problems).toEqual([])
  })

  it('fits 390 px (a new key shown, the uses open) and switches to English', async () => {
    await admin.setViewportSize({ width: 390, height: 844 })
    // a second key, every ward, raw: its box must fit too
    await admin.locator('#ak-name').fill('open feed')
    await admin.locator('#ak-agency').fill('Sở Nông nghiệp và Môi trường')
    await admin.locator('#ak-kind-rain').check()
    await admin.locator('#ak-ward-all').check()
    await admin.locator('#ak-access-raw').check()
    await admin.locator('#ak-create-submit').click()
    const box = admin.locator('#ak-shown-host .ak-shown')
    await box.waitFor({ state: 'visible' })
    const second = await box.locator('.ak-key .dev-copy-value').inputValue()
    const overflow = () =>
      admin.evaluate(() => {
        const section = document.getElementById('sec-agency-keys')!
        const wide = [section, ...section.querySelectorAll<HTMLElement>('.adm-scroll, .ak-shown, form')].filter((e) => e.scrollWidth > e.clientWidth)
        return { fits: document.documentElement.scrollWidth <= 390, wide: wide.map((e) => e.id || e.className) }
      })
    expect(await overflow()).toEqual({ fits: true, wide: [] })
    await box.locator('.ak-shown-close').click()
    expect(await onPage(second)).toBe(false)
    expect(await admin.locator('#ak-rows tr[data-status="active"] .ak-scope').textContent()).toBe('Lượng mưa · mọi phường · số liệu gốc · 60 yêu cầu/phút')
    await keyRow().locator('.ak-view-uses').waitFor()
    expect(await admin.locator('#ak-rows tr.ak-uses-row').count()).toBe(1)
    expect(await overflow()).toEqual({ fits: true, wide: [] })
    expect(await keyRow().locator('.ak-view-uses').isVisible()).toBe(true)

    await admin.locator('#adm-lang').click()
    expect(await admin.locator('#ak-heading').textContent()).toBe('Agency keys')
    expect(await admin.locator('nav a[href="#sec-agency-keys"]').textContent()).toBe('Agency keys')
    expect(await admin.locator('#ak-create h3').textContent()).toBe('Issue a key')
    expect(await admin.locator('#ak-kind-water_level + span').textContent()).toBe('Water level')
    expect(await admin.locator('#ak-ward-thoi-son + span').textContent()).toBe('Thoi Son ward')
    expect(await keyRow().locator('.ak-state-text').textContent()).toBe('Revoked')
    expect(await keyRow().locator('.ak-scope').textContent()).toBe('Water level · Thoi Son ward · aggregated only · 60 requests/min')
    expect(await keyRow().locator('.ak-view-uses').textContent()).toBe('Hide uses')
    expect(await admin.locator('.ak-uses-table th').first().textContent()).toBe('Time')
    expect(await deviceRow(GAUGE).locator('.dev-public label span').textContent()).toBe('Public')
    expect(await admin.locator('#dev-table th[data-dt="colPublic"]').textContent()).toBe('Public')
    await admin.locator('#adm-lang').click()
    await admin.setViewportSize({ width: 1366, height: 768 })
    expect(problems).toEqual([])
  })

  it('a viewer sees none of it and is refused by the routes (403)', async () => {
    const vctx = await browser.newContext({ viewport: { width: 1366, height: 768 } })
    const page = await vctx.newPage()
    const viewerProblems = watchPage(page, /status of 403|127\.0\.0\.1:9\//)
    await page.goto(adminUrl())
    await page.locator('#adm-username').fill('viewer1')
    await page.locator('#adm-password').fill(PASSWORD)
    await page.locator('#adm-sign-in-submit').click()
    await page.locator('#adm-forbidden').waitFor({ state: 'visible' })
    expect(await page.locator('#sec-agency-keys').isVisible()).toBe(false)
    expect(await page.locator('#ak-create').isVisible()).toBe(false)
    const statuses = await page.evaluate(async (gauge) => {
      const csrf = decodeURIComponent(/(?:^|; )mytho_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '')
      const post = (path: string, body: unknown) =>
        fetch(`/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify(body) }).then(
          (r) => r.status,
        )
      return [
        await fetch('/api/v1/admin/agency-keys').then((r) => r.status),
        await post('/admin/agency-keys', { name: 'x', agency: 'y', scope: { kinds: ['rain'], wards: ['my-tho'] } }),
        await post(`/admin/devices/${gauge}/public`, { public: false }),
      ]
    }, GAUGE)
    expect(statuses).toEqual([403, 403, 403])
    expect(viewerProblems).toEqual([])
    await vctx.close()
  })

  it('a switch the API cannot save goes back, and says why', async () => {
    const toggle = deviceRow(GAUGE).locator('.dev-public input')
    expect(await toggle.isChecked()).toBe(true)
    const restart = await p.stopApi()
    try {
      await toggle.click()
      const error = deviceRow(GAUGE).locator('.dev-public-error')
      await error.waitFor({ state: 'visible' })
      expect(await error.textContent()).toBe('Không thực hiện được: không kết nối được tới máy chủ; chưa lưu')
      expect(await toggle.isChecked()).toBe(true)
      expect(await deviceRow(GAUGE).getAttribute('data-public')).toBe('true')
    } finally {
      await restart()
    }
    expect((await adminGet<{ id: string; public?: boolean }[]>('/admin/devices')).find((d) => d.id === GAUGE)?.public).toBe(true)
    expect(problems).toEqual([])
  })
})
