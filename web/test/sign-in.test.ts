import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '@mytho/schema'
import { launchChromium, mapStats, startPlatform, watchPage, type Platform } from './harness.ts'

const PASSWORD = 'correct horse battery staple'
/** Raises a critical flood incident (BĐ III): two readings 6 min apart meet the 5-minute hold at once. */
const GAUGE = 'wl-my-phong-riverside'
/** A deep link: the view the operator had, which sign-in must not lose. */
const HASH = '#lat=10.35500&lon=106.36000&z=14'

describe('sign-in on the operator map, against the real platform with sign-in on', () => {
  let p: Platform
  let browser: Browser
  let page: Page
  let problems: string[]

  const signInPage = () => page.locator('#sign-in')
  const signInAs = async (username: string, password = PASSWORD) => {
    await page.locator('#sign-in-username').fill(username)
    await page.locator('#sign-in-password').fill(password)
    await page.locator('#sign-in-submit').click()
  }
  const waitLive = () => page.waitForFunction(() => (window as unknown as { __mytho?: { stats(): { live: boolean } } }).__mytho?.stats().live === true)
  /** An admin's REST session, to end another operator's session the way an admin does. */
  const adminPost = async (path: string) => {
    const login = await fetch(`${p.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin1', password: PASSWORD }),
    })
    const { csrfToken } = (await login.json()) as { csrfToken: string }
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')
    return fetch(`${p.url}/api/v1${path}`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' }, body: '{}' })
  }

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([
      startPlatform({
        operators: [
          { username: 'viewer1', password: PASSWORD, role: 'viewer' },
          { username: 'operator1', password: PASSWORD, role: 'operator' },
          { username: 'admin1', password: PASSWORD, role: 'admin' },
        ],
        apiConfig: { LOGIN_MAX_FAILURES: 2, LOGIN_LOCKOUT_S: 125 },
      }),
      launchChromium(),
    ])
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    // the wrong passwords' 401 and the lockout's 429 are the errors this test provokes
    problems = watchPage(page, /status of 4(01|29).*\/api\/v1\/auth\/login/)
    // a critical incident waiting in the store before anyone signs in
    const gauge = await p.device(GAUGE)
    const now = Date.now()
    await p.publish(gauge, GAUGE, [
      { kind: 'water_level', ts: now - 6 * 60_000, waterLevelCm: 162 },
      { kind: 'water_level', ts: now - 30_000, waterLevelCm: 164 },
    ])
    await page.goto(p.mapUrl(HASH))
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('shows the Vietnamese sign-in page and no device data before sign-in', async () => {
    await signInPage().waitFor({ state: 'visible' })
    expect(await page.locator('#sign-in h2').textContent()).toBe('Đăng nhập')
    expect(await page.locator('#sign-in-submit').textContent()).toBe('Đăng nhập')
    expect(await page.locator('#user').isHidden()).toBe(true)
    const s = await mapStats(page)
    expect({ devices: s.devices, live: s.live }).toEqual({ devices: 0, live: false })
    expect(await page.locator('#incidents li.incident').count()).toBe(0)
  })

  it('says so when the password is wrong, in either language', async () => {
    await signInAs('operator1', 'not the password')
    await page.locator('#sign-in-error').waitFor({ state: 'visible' })
    expect(await page.locator('#sign-in-error').textContent()).toBe('Sai tên đăng nhập hoặc mật khẩu')
    await page.locator('#sign-in-lang').click()
    expect(await page.locator('#sign-in-error').textContent()).toBe('Wrong user name or password')
    expect(await page.locator('#sign-in h2').textContent()).toBe('Sign in')
    await page.locator('#sign-in-lang').click()
    expect((await mapStats(page)).devices).toBe(0)
  })

  it('a viewer signs in: the map draws the seed fleet, the header names them, no acknowledge button', async () => {
    await signInAs('viewer1')
    await signInPage().waitFor({ state: 'hidden' })
    await waitLive()
    expect((await mapStats(page)).devices).toBe(p.registry.size)
    expect(await page.locator('#user-name').textContent()).toBe('viewer1')
    expect(await page.locator('#user-role').textContent()).toBe('Xem')
    const row = page.locator(`#incidents li.incident[data-device-id="${GAUGE}"]`)
    await row.waitFor()
    expect(await row.locator('.ack-btn').count()).toBe(0)
    // nor the bulk acknowledgement's check boxes and buttons
    expect(await page.locator('#incidents .incident-select').count()).toBe(0)
    expect(await page.locator('#bulk-ack').isHidden()).toBe(true)
    expect(new URL(page.url()).hash).toBe(HASH)
  })

  it('a session ended elsewhere (operator disabled) brings back the sign-in page, the view kept in the URL', async () => {
    expect((await adminPost('/operators/viewer1/disable')).status).toBe(200)
    await signInPage().waitFor({ state: 'visible' })
    expect(await page.locator('#sign-in-error').textContent()).toBe('Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.')
    expect(new URL(page.url()).hash).toBe(HASH)
  })

  it('an operator acknowledges through the panel: only a note, the CSRF token sent, the session names them', async () => {
    await signInAs('operator1')
    await signInPage().waitFor({ state: 'hidden' })
    await waitLive()
    expect(await page.locator('#user-role').textContent()).toBe('Trực ban')
    const row = page.locator(`#incidents li.incident[data-device-id="${GAUGE}"]`)
    await row.locator('.ack-btn').click()
    await page.locator('#ack-dialog').waitFor({ state: 'visible' })
    // the name comes from the session
    expect(await page.locator('#ack-name').isHidden()).toBe(true)
    await page.locator('#ack-note').fill('Đã báo UBND phường')
    const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/acknowledge'))
    await page.locator('#ack-submit').click()
    const req = await sent
    expect(req.headers()['x-csrf-token']).toMatch(/.{16,}/)
    expect(req.postDataJSON()).toEqual({ note: 'Đã báo UBND phường' })
    const acked = page.locator(`#incidents li.incident[data-device-id="${GAUGE}"][data-state="acknowledged"]`)
    await acked.waitFor()
    expect(await acked.locator('.incident-ack').textContent()).toBe('Xác nhận bởi: operator1')
    const list = (await (await fetch(`${p.url}/api/v1/incidents?deviceId=${GAUGE}`, { headers: { cookie: await cookieHeader() } })).json()) as Incident[]
    expect(list[0]).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'operator1', ackNote: 'Đã báo UBND phường' })
  })

  it('signing out returns to the sign-in page, with no device data and the view still in the URL', async () => {
    await page.locator('#sign-out').click()
    await page.waitForLoadState('load')
    await signInPage().waitFor({ state: 'visible' })
    expect((await mapStats(page)).devices).toBe(0)
    expect(new URL(page.url()).hash).toBe(HASH)
    // the API agrees: the old cookie is gone
    expect(await page.evaluate(async () => ((await (await fetch('/api/v1/auth/me')).json()) as { role: unknown }).role)).toBeNull()
  })

  it('a locked address is told how long to wait (Retry-After as text)', async () => {
    const attempt = async (username: string) => {
      const answered = page.waitForResponse((r) => r.url().endsWith('/auth/login'))
      await signInAs(username, 'wrong guess')
      return (await answered).status()
    }
    // Failures count per (name, address) and per address (api/src/auth/throttle.ts): a guesser trying a new name each
    // time is locked once the address has 4 × LOGIN_MAX_FAILURES = 8 failures (the file's earlier wrong password counts).
    const statuses: number[] = []
    for (let i = 1; i <= 10 && statuses.at(-1) !== 429; i++) statuses.push(await attempt(`ghost${i}`))
    expect(statuses.at(-1)).toBe(429)
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true)
    await page.locator('#sign-in-error[data-kind="signInLocked"]').waitFor()
    expect(await page.locator('#sign-in-error').textContent()).toMatch(/^Đăng nhập sai quá nhiều lần\. Thử lại sau 2 phút [45] giây\.$/)
    expect(await signInPage().isVisible()).toBe(true)
    expect(problems).toEqual([])
  })

  const cookieHeader = async () =>
    (await page.context().cookies())
      .filter((c) => c.name.startsWith('mytho_'))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ')
})
