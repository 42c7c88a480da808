import type { Browser, BrowserContext, Page } from 'playwright-core'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CITY_BOUNDS } from '@mytho/schema/city'
import { DeviceReading } from '@mytho/schema'
import { DEAD_TILES, launchChromium, startPlatform, watchPage, type Platform } from './harness.ts'

/*
 * Issue #18: devices administered in the browser. An admin provisions a gauge placed by a click on the small map; its
 * secret and a mosquitto_pub line are shown once; the device then connects over real MQTT with that secret. Rotation
 * refuses the old secret, disabling refuses the device, a CSV import reports its bad row, a move is saved. A viewer
 * is refused by every route.
 */

const PASSWORD = 'correct horse battery staple'
const ID = 'wl-test-ferry'
// markup in a name must stay text
const NAME_VI = '<b>Bến phà</b> Rạch Miễu'

/** A device's CONNECT: resolves to the client when the broker accepts it, rejects with the CONNACK code when not. */
const connect = (p: Platform, id: string, secret: string) =>
  mqtt.connectAsync(p.mqttUrl, { clientId: id, username: id, password: secret, reconnectPeriod: 0, connectTimeout: 10_000 })

async function refusedCode(p: Platform, id: string, secret: string): Promise<number | undefined> {
  try {
    const c = await connect(p, id, secret)
    await c.endAsync(true)
    return 0
  } catch (err) {
    return (err as { code?: number }).code
  }
}

/** The sample publish of the shown mosquitto_pub line, sent as that line would send it: QoS 1, acknowledged. */
async function publishAsShown(p: Platform, command: string, secret: string): Promise<{ sent: number | undefined; acks: number[] }> {
  const arg = (flag: string) => new RegExp(` ${flag} '([^']*)'`).exec(command)?.[1]
  const id = arg('-u')!
  const payload = arg('-m')!
  // the line's sample is a reading its kind's contract accepts
  expect(DeviceReading.safeParse(JSON.parse(payload)).success).toBe(true)
  expect(arg('-P')).toBe(secret)
  expect(arg('-i')).toBe(id)
  const c = await connect(p, id, secret)
  const acks: number[] = []
  c.on('packetreceive', (packet) => {
    if (packet.cmd === 'puback' && packet.messageId !== undefined) acks.push(packet.messageId)
  })
  try {
    const sent = await c.publishAsync(arg('-t')!, payload, { qos: 1 })
    return { sent: sent?.messageId, acks }
  } finally {
    await c.endAsync(true)
  }
}

describe('devices on the administration page against the real platform (issue #18)', () => {
  let p: Platform
  let browser: Browser
  let ctx: BrowserContext
  let admin: Page
  let problems: string[]
  const row = (id: string) => admin.locator(`#dev-rows tr[data-device-id="${id}"]`)
  const adminUrl = () => `${p.url}/admin.html?tiles=${encodeURIComponent(DEAD_TILES)}`

  async function secretShown(): Promise<{ secret: string; command: string }> {
    const box = admin.locator('#dev-secret-host .dev-secret')
    await box.waitFor({ state: 'visible' })
    expect(await box.locator('.dev-warning').textContent()).toBe(
      'Khóa này sẽ không được hiển thị lại. Hãy sao chép và cài vào thiết bị ngay; nếu làm mất, hãy đổi khóa.',
    )
    const secret = await box.locator('.dev-secret-value .dev-copy-value').inputValue()
    const command = await box.locator('.dev-command .dev-copy-value').inputValue()
    return { secret, command }
  }
  async function closeSecret(): Promise<void> {
    await admin.locator('#dev-secret-host .dev-secret-close').click()
    await admin.locator('#dev-secret-host').waitFor({ state: 'hidden' })
  }

  beforeAll(async () => {
    ;[p, browser] = await Promise.all([
      startPlatform({
        // the broker as installers reach it from outside: the page's test line names it
        apiConfig: { MQTT_PUBLIC_URL: 'mqtt://mqtt.mytho.example:1884' },
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
    // the import's bad row is refused inside a 200; the dead tile server fails its requests
    problems = watchPage(admin, /127\.0\.0\.1:9\//)
    await admin.goto(adminUrl())
    await admin.locator('#adm-username').fill('admin1')
    await admin.locator('#adm-password').fill(PASSWORD)
    await admin.locator('#adm-sign-in-submit').click()
    await admin.locator('#dev-rows tr').first().waitFor()
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  let secret = ''

  it('provisions a device placed by a click on the small map; its secret and mosquitto_pub line are shown once, and it connects', async () => {
    await admin.locator('#dev-new-id').fill(ID)
    await admin.locator('#dev-new-kind').selectOption('water_level')
    await admin.locator('#dev-new-name-vi').fill(NAME_VI)
    await admin.locator('#dev-new-name-en').fill('Rach Mieu ferry landing')
    await admin.locator('#dev-new-ward').selectOption('my-tho')
    await admin.locator('#dev-new-water-body').selectOption('river')

    // No tile server: the map still draws the city box, and a click in it fills lat/lon.
    const map = admin.locator('#dev-map')
    await map.locator('path.leaflet-interactive, path').first().waitFor()
    const box = (await map.boundingBox())!
    await admin.mouse.click(box.x + box.width / 2 + 20, box.y + box.height / 2 + 10)
    await admin.waitForFunction(() => (document.getElementById('dev-new-lat') as HTMLInputElement).value !== '')
    const lat = Number(await admin.locator('#dev-new-lat').inputValue())
    const lon = Number(await admin.locator('#dev-new-lon').inputValue())
    expect(lat).toBeGreaterThan(CITY_BOUNDS.south)
    expect(lat).toBeLessThan(CITY_BOUNDS.north)
    expect(lon).toBeGreaterThan(CITY_BOUNDS.west)
    expect(lon).toBeLessThan(CITY_BOUNDS.east)

    // With the keyboard: Enter on the focused map places the device at its centre.
    await admin.locator('#dev-new-lat').fill('')
    await map.focus()
    await admin.keyboard.press('Enter')
    await admin.waitForFunction(() => (document.getElementById('dev-new-lat') as HTMLInputElement).value !== '')
    expect(Number(await admin.locator('#dev-new-lat').inputValue())).not.toBe(lat)

    await admin.locator('#dev-create-submit').click()
    const shown = await secretShown()
    secret = shown.secret
    expect(secret.length).toBeGreaterThanOrEqual(16)
    expect(shown.command).toBe(
      `mosquitto_pub -h 'mqtt.mytho.example' -p 1884 -i '${ID}' -u '${ID}' -P '${secret}' -q 1 -t 'mytho/v1/devices/${ID}/readings' -m '{"kind":"water_level","waterLevelCm":120}'`,
    )
    expect(await admin.locator('#adm-notice').textContent()).toBe(`Đã thêm thiết bị ${ID}`)
    await admin.locator('#dev-secret-host .dev-secret-value .dev-copy-btn').click()
    expect(await admin.evaluate(() => navigator.clipboard.readText())).toBe(secret)

    await row(ID).waitFor()
    expect(await row(ID).locator('.dev-name').textContent()).toBe(NAME_VI)
    expect(await row(ID).locator('.dev-name b').count()).toBe(0)
    expect(await row(ID).locator('.dev-state').textContent()).toBe('Đang dùng')
    expect(await row(ID).locator('.dev-seen').textContent()).toBe('Chưa')

    // The broker accepts the device with that secret and acknowledges its QoS 1 publish.
    const { sent, acks } = await publishAsShown(p, shown.command, secret)
    expect(sent).toBeTypeOf('number')
    expect(acks).toEqual([sent])

    // Shown once: gone when closed, and not there after a reload.
    await closeSecret()
    const onPage = (s: string) =>
      admin.evaluate(
        (s) =>
          document.body.textContent!.includes(s) ||
          [...document.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input, textarea')].some((e) => e.value.includes(s)),
        s,
      )
    expect(await onPage(secret)).toBe(false)
    await admin.reload()
    await row(ID).waitFor()
    expect(await onPage(secret)).toBe(false)
    expect(await admin.locator('#dev-secret-host').isVisible()).toBe(false)
    expect(problems).toEqual([])
  })

  it('finds a device by its name without diacritics, or by id', async () => {
    const total = await admin.locator('#dev-rows tr[data-device-id]').count()
    await admin.locator('#dev-search').fill('BEN PHA')
    await admin.waitForFunction((n) => document.querySelectorAll('#dev-rows tr[data-device-id]').length < n, total)
    await row(ID).waitFor()
    const names = await admin.locator('#dev-rows tr[data-device-id] .dev-name').allTextContents()
    for (const n of names)
      expect(
        n
          .normalize('NFD')
          .replace(/\p{Diacritic}/gu, '')
          .toLowerCase(),
      ).toContain('ben pha')
    await admin.locator('#dev-search').fill('WL-TEST')
    await admin.waitForFunction(() => document.querySelectorAll('#dev-rows tr[data-device-id]').length === 1)
    await admin.locator('#dev-search').fill('')
  })

  it('rotates the secret (the old one refused, the new accepted), then disables and enables the device', async () => {
    await row(ID).locator('.dev-rotate').click()
    const rotated = await secretShown()
    expect(rotated.secret).not.toBe(secret)
    expect(await admin.locator('#dev-secret-host h3').textContent()).toBe(`Khóa bí mật của ${ID}`)
    expect(await refusedCode(p, ID, secret)).toBe(4) // bad user name or password
    expect(await refusedCode(p, ID, rotated.secret)).toBe(0)
    // Leaving the page clears it (the back-forward cache would otherwise show it again on Back).
    await admin.evaluate(() => dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })))
    await admin.locator('#dev-secret-host').waitFor({ state: 'hidden' })
    expect(await admin.locator('#dev-secret-host .dev-copy-value').count()).toBe(0)

    await row(ID).locator('.dev-disable').click()
    await admin.locator(`#dev-rows tr[data-device-id="${ID}"][data-state="disabled"]`).waitFor()
    expect(await row(ID).locator('.dev-state').textContent()).toBe('Đã khóa')
    expect(await refusedCode(p, ID, rotated.secret)).not.toBe(0)

    await row(ID).locator('.dev-enable').click()
    await admin.locator(`#dev-rows tr[data-device-id="${ID}"][data-state="enabled"]`).waitFor()
    expect(await refusedCode(p, ID, rotated.secret)).toBe(0)
    expect(problems).toEqual([])
  })

  it('moves a device by clicking the small map, with the keyboard to save', async () => {
    await row(ID).locator('.dev-move').click()
    const before = Number(await admin.locator('#dev-move-lat').inputValue())
    const box = (await admin.locator('#dev-map').boundingBox())!
    await admin.mouse.click(box.x + box.width / 2 - 60, box.y + box.height / 2 - 40)
    await admin.waitForFunction((b) => Number((document.getElementById('dev-move-lat') as HTMLInputElement).value) !== b, before)
    const lat = Number(await admin.locator('#dev-move-lat').inputValue())
    const lon = Number(await admin.locator('#dev-move-lon').inputValue())
    await admin.locator('#dev-move-lat').focus()
    await admin.keyboard.press('Enter')
    await admin.locator('#dev-move').waitFor({ state: 'hidden' })
    expect(await admin.locator('#adm-notice').textContent()).toBe(`Đã dời ${ID} tới ${lat}, ${lon}`)
    const saved = await admin.evaluate(
      async (id) => ((await (await fetch('/api/v1/admin/devices')).json()) as { id: string; lat: number; lon: number }[]).find((d) => d.id === id),
      ID,
    )
    expect(saved).toMatchObject({ lat, lon })
  })

  it('imports a CSV: the bad row is named with its reason, the good rows are created and their secrets shown once', async () => {
    const csv = [
      'id,kind,nameVi,nameEn,lat,lon,ward,intervalS,batteryPowered,locationConfidence,waterBody',
      'rain-import-one,rain,Trạm mưa Một,Rain one,10.36,106.36,my-tho,300,true,B,',
      'rain-import-bad,rain,Trạm mưa Hỏng,Rain broken,11.5,106.36,my-tho,300,true,B,',
      'wl-import-two,water_level,Trạm Hai,Gauge two,10.355,106.37,my-phong,300,false,C,canal',
    ].join('\n')
    await admin.locator('#dev-import-file').setInputFiles({ name: 'devices.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
    await admin.locator('#dev-import-submit').click()
    const summary = admin.locator('#dev-import-report .dev-import-summary')
    await summary.waitFor()
    expect(await summary.textContent()).toBe('3 dòng: tạo 2, lỗi 1')
    const bad = admin.locator('#dev-import-report tr.dev-import-failed')
    expect(await bad.count()).toBe(1)
    expect(await bad.getAttribute('data-row')).toBe('2')
    expect(await bad.locator('.dev-import-id').textContent()).toBe('rain-import-bad')
    expect(await bad.locator('.dev-import-result').textContent()).toMatch(/^Lỗi: lat: /)
    await row('rain-import-one').waitFor()
    await row('wl-import-two').waitFor()
    expect(await row('rain-import-bad').count()).toBe(0)

    // Each new device's secret, once, with its line; the second one connects.
    const two = admin.locator('#dev-secret-host .dev-secret-one[data-device-id="wl-import-two"]')
    await two.waitFor()
    const secretTwo = await two.locator('.dev-secret-value .dev-copy-value').inputValue()
    expect(await two.locator('.dev-command .dev-copy-value').inputValue()).toContain(`-m '{"kind":"water_level","waterLevelCm":120}'`)
    expect(await refusedCode(p, 'wl-import-two', secretTwo)).toBe(0)
    await closeSecret()
    expect(problems).toEqual([])
  })

  it('fits 390 px and switches to English', async () => {
    await admin.setViewportSize({ width: 390, height: 844 })
    expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    expect(await row(ID).locator('.dev-rotate').isVisible()).toBe(true)
    await admin.locator('#adm-lang').click()
    expect(await admin.locator('#dev-heading').textContent()).toBe('Devices')
    expect(await row(ID).locator('.dev-name').textContent()).toBe('Rach Mieu ferry landing')
    expect(await row(ID).locator('.dev-rotate').textContent()).toBe('Rotate secret')
    await admin.locator('#adm-lang').click()
    await admin.setViewportSize({ width: 1366, height: 768 })
    expect(problems).toEqual([])
  })

  it('a viewer is refused by every device route (403)', async () => {
    const vctx = await browser.newContext({ viewport: { width: 1366, height: 768 } })
    const page = await vctx.newPage()
    const viewerProblems = watchPage(page, /status of 403|127\.0\.0\.1:9\//)
    await page.goto(adminUrl())
    await page.locator('#adm-username').fill('viewer1')
    await page.locator('#adm-password').fill(PASSWORD)
    await page.locator('#adm-sign-in-submit').click()
    await page.locator('#adm-forbidden').waitFor({ state: 'visible' })
    const statuses = await page.evaluate(async (id) => {
      const csrf = decodeURIComponent(/(?:^|; )mytho_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '')
      const send = (method: string, path: string, body: string, type = 'application/json') =>
        fetch(`/api/v1${path}`, { method, headers: { 'content-type': type, 'X-CSRF-Token': csrf }, body }).then((r) => r.status)
      return [
        await fetch('/api/v1/admin/devices').then((r) => r.status),
        await send('POST', '/admin/devices', '{}'),
        await send('POST', '/admin/devices/import', 'id\n', 'text/csv'),
        await send('POST', `/admin/devices/${id}/rotate-secret`, '{}'),
        await send('POST', `/admin/devices/${id}/disable`, '{}'),
        await send('POST', `/admin/devices/${id}/enable`, '{}'),
        await send('PATCH', `/admin/devices/${id}`, JSON.stringify({ lat: 10.36, lon: 106.36 })),
      ]
    }, ID)
    expect(statuses).toEqual([403, 403, 403, 403, 403, 403, 403])
    expect(await page.locator('#adm-main').isVisible()).toBe(false)
    expect(viewerProblems).toEqual([])
    await vctx.close()
  })
})
