import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEAD_TILES, launchChromium, startPlatform, signInOnMap, watchPage, type Platform } from './harness.ts'

/*
 * Issue #18: operators administered in the browser (admin.html), not with curl. An admin finds the page from the
 * map's header, resets an operator's password (the policy's refusal shown first) and enables them again; that
 * operator's open map is signed out, and they sign in with the new password. A viewer sees no link and is refused by
 * the API. The audit log filters by actor.
 */

const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'ferry to Thoi Son at dawn'

describe('the administration page against the real platform (issue #18)', () => {
  let p: Platform
  let browser: Browser
  let adminCtx: BrowserContext
  let admin: Page
  let problems: string[]

  const signIn = (page: Page, username: string, password = PASSWORD) => signInOnMap(page, p.mapUrl(), username, password)
  const row = (username: string) => admin.locator(`#op-rows tr[data-username="${username}"]:not(.op-reset-row)`)

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([
      startPlatform({
        // the page's devices map asks GET /config for its tiles: none reachable here
        apiConfig: { MAP_TILE_URL: DEAD_TILES },
        operators: [
          { username: 'viewer1', password: PASSWORD, role: 'viewer' },
          { username: 'operator1', password: PASSWORD, role: 'operator' },
          { username: 'admin1', password: PASSWORD, role: 'admin' },
        ],
      }),
      launchChromium(),
    ])
    adminCtx = await browser.newContext({ viewport: { width: 1366, height: 768 } })
    admin = await adminCtx.newPage()
    // the policy's refusal of a weak password is a 400 this test provokes
    problems = watchPage(admin, /status of 400/)
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('an admin resets an operator’s password and enables them again; the operator signs in with the new password', async () => {
    // The operator is at work on the map.
    const opCtx = await browser.newContext({ viewport: { width: 1366, height: 768 } })
    const op = await opCtx.newPage()
    const opProblems = watchPage(op, /status of 401/)
    await signIn(op, 'operator1')
    await op.locator('#user-name').filter({ hasText: 'operator1' }).waitFor()

    // The admin finds the page from the map's header.
    await signIn(admin, 'admin1')
    const link = admin.locator('#admin-link')
    await link.waitFor({ state: 'visible' })
    expect(await link.textContent()).toBe('Quản trị')
    await link.click()
    await admin.waitForURL(/\/admin\.html$/)
    await row('operator1').waitFor()
    expect(await admin.locator('#adm-sign-in').isVisible()).toBe(false)
    expect(await row('operator1').locator('.op-name').textContent()).toBe('operator1')
    expect(await row('operator1').locator('.op-role-select').inputValue()).toBe('operator')
    expect(await row('admin1').locator('.op-disable').count()).toBe(0) // not oneself

    await row('operator1').locator('.op-disable').click()
    await admin.locator('#op-rows tr[data-username="operator1"][data-state="disabled"]').waitFor()
    expect(await row('operator1').locator('.op-state').textContent()).toBe('Đã khóa')
    await op.locator('#sign-in').waitFor({ state: 'visible' })

    // With the keyboard: open the reset form, type a password the policy refuses, then a good one.
    await row('operator1').locator('.op-reset').focus()
    await admin.keyboard.press('Enter')
    const input = admin.locator('#op-rows tr.op-reset-row input.op-reset-password')
    await input.waitFor()
    expect(await input.evaluate((e) => e === document.activeElement)).toBe(true)
    await admin.keyboard.type('qwertyuiop12')
    await admin.keyboard.press('Enter')
    const error = admin.locator('#op-rows .op-reset-error')
    await error.waitFor({ state: 'visible' })
    expect(await error.textContent()).toBe('Không thực hiện được: Mật khẩu không được là một dãy số, dãy chữ hay dãy phím (như 123456789012, qwertyuiop12).')
    await input.fill(NEW_PASSWORD)
    await admin.keyboard.press('Enter')
    await admin.locator('#op-rows tr.op-reset-row').waitFor({ state: 'detached' })
    expect(await admin.locator('#adm-notice').textContent()).toBe('Đã đặt mật khẩu mới cho operator1; các phiên đăng nhập của người này đã kết thúc')

    await row('operator1').locator('.op-enable').click()
    await admin.locator('#op-rows tr[data-username="operator1"][data-state="enabled"]').waitFor()
    expect(await row('operator1').locator('.op-state').textContent()).toBe('Đang dùng')

    // The old password no longer opens the map; the new one does.
    await op.locator('#sign-in-username').fill('operator1')
    await op.locator('#sign-in-password').fill(PASSWORD)
    await op.locator('#sign-in-submit').click()
    await op.locator('#sign-in-error').filter({ hasText: 'Sai' }).waitFor()
    await op.locator('#sign-in-password').fill(NEW_PASSWORD)
    await op.locator('#sign-in-submit').click()
    await op.locator('#sign-in').waitFor({ state: 'hidden' })
    expect(await op.locator('#user-name').textContent()).toBe('operator1')
    expect(await op.locator('#admin-link').isVisible()).toBe(false)
    expect(opProblems).toEqual([])
    await opCtx.close()
    expect(problems).toEqual([])
  })

  it('the audit log shows those actions and filters by actor and action, times in UTC+7', async () => {
    await admin.locator('#audit-rows tr[data-action="operator-enable"]').waitFor()
    await admin.locator('#audit-actor').fill('operator1')
    await admin.locator('#audit-apply').click()
    await admin.waitForFunction(() => {
      const actors = [...document.querySelectorAll('#audit-rows td.audit-actor')].map((e) => e.textContent)
      return actors.length > 0 && actors.every((a) => a === 'operator1')
    })
    const actions = await admin.locator('#audit-rows tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset['action']))
    // newest first: the sign-in with the new password, the failed one with the old, the first sign-in
    expect(actions).toEqual(['sign-in', 'sign-in-failed', 'sign-in'])
    expect(await admin.locator('#audit-status').textContent()).toContain('UTC+7')

    await admin.locator('#audit-actor').fill('admin1')
    await admin.locator('#audit-action').selectOption('operator-password')
    await admin.locator('#audit-apply').click()
    await admin.waitForFunction(
      () =>
        document.querySelectorAll('#audit-rows tr').length === 1 &&
        document.querySelector('#audit-rows tr')?.getAttribute('data-action') === 'operator-password',
    )
    const entry = admin.locator('#audit-rows tr')
    expect(await entry.locator('.audit-action').textContent()).toBe('Đặt lại mật khẩu')
    expect(await entry.locator('.audit-target').textContent()).toBe('operator1')
    const shown = await entry.locator('.audit-time').textContent()
    // the entry's time as Mỹ Tho reads it: within the last minutes, in UTC+7 whatever the browser's zone
    const local = new Intl.DateTimeFormat('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit', year: 'numeric' }).format(Date.now())
    expect(shown).toContain(local)

    // A time range typed in local time: from an hour ahead, nothing.
    const ahead = new Date(Date.now() + 7 * 3600_000 + 3600_000).toISOString().slice(0, 16)
    await admin.locator('#audit-from').fill(ahead)
    await admin.locator('#audit-apply').click()
    await admin.locator('#audit-status[data-state="ready"]').filter({ hasText: 'Không có mục nào' }).waitFor()
    expect(await admin.locator('#audit-rows tr').count()).toBe(0)
    expect(problems).toEqual([])
  })

  it('fits 390 px, and switches to English', async () => {
    await admin.setViewportSize({ width: 390, height: 844 })
    expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await admin.locator('#adm-lang').click()
    expect(await admin.locator('h1').textContent()).toBe('Administration')
    expect(await row('operator1').locator('.op-reset').textContent()).toBe('Reset password')
    expect(await admin.locator('#audit-action option[value="operator-password"]').textContent()).toBe('Password reset')
    await admin.locator('#adm-lang').click()
    await admin.setViewportSize({ width: 1366, height: 768 })
    expect(problems).toEqual([])
  })

  it('a viewer sees no administration link, is refused by the routes (403) and by the page', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } })
    const page = await ctx.newPage()
    const viewerProblems = watchPage(page, /status of 403/)
    await signIn(page, 'viewer1')
    await page.locator('#user-name').filter({ hasText: 'viewer1' }).waitFor()
    await page.locator('#incident-log-link').waitFor()
    expect(await page.locator('#admin-link').isVisible()).toBe(false)

    const statuses = await page.evaluate(async () => {
      const csrf = decodeURIComponent(/(?:^|; )mytho_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '')
      const post = (path: string, body: unknown) =>
        fetch(`/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify(body) }).then(
          (r) => r.status,
        )
      return [
        await fetch('/api/v1/operators').then((r) => r.status),
        await fetch('/api/v1/audit').then((r) => r.status),
        await post('/operators/operator1/enable', {}),
        await post('/operators/operator1/disable', {}),
        await post('/operators/operator1/role', { role: 'viewer' }),
        await post('/operators/viewer1/role', { role: 'admin' }),
        await post('/operators/operator1/password', { password: 'a viewer sets this one' }),
      ]
    })
    expect(statuses).toEqual([403, 403, 403, 403, 403, 403, 403])

    await page.goto(`${p.url}/admin.html`)
    const forbidden = page.locator('#adm-forbidden')
    await forbidden.waitFor({ state: 'visible' })
    expect(await forbidden.textContent()).toBe('Trang này cần vai trò Quản trị. Bạn đang đăng nhập với vai trò Xem.')
    expect(await page.locator('#adm-main').isVisible()).toBe(false)
    expect(viewerProblems).toEqual([])
    await ctx.close()
  })
})
