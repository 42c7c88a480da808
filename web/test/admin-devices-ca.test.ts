import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadApiConfig } from '@mytho/api'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { silentLogger } from '@mytho/runtime'
import { freePort, makeTempDir } from '@mytho/testing'
import { DEAD_TILES, launchChromium, startPlatform, watchPage, type Platform } from './harness.ts'

const run = promisify(execFile)
const MAKE_SECRETS = fileURLToPath(new URL('../../deploy/make-secrets.sh', import.meta.url))

/*
 * The installer's test line against compose's TLS setup: the broker's certificate is signed by the private CA of
 * deploy/make-secrets.sh, which the system's authorities do not know. With MQTT_PUBLIC_CA_FILE the admin page offers
 * that CA for download beside the new secret, and the mosquitto_pub line uses --cafile with the downloaded file's
 * name: here the line is run exactly as shown, in the folder the browser saved the file to, against a broker on TLS
 * with that certificate, and the broker receives the reading.
 */
const PASSWORD = 'correct horse battery staple'
const ID = 'wl-test-ca-kit'

describe('the admin page’s test line with the platform’s own CA (MQTT_PUBLIC_CA_FILE)', () => {
  const secrets = makeTempDir('mytho-web-ca-secrets-')
  const kit = makeTempDir('mytho-web-ca-kit-')
  const tls = join(secrets.path, 'mqtt-tls')
  let p: Platform
  let browser: Browser
  let admin: Page
  let problems: string[]
  let tlsPort = 0
  /** What the TLS broker received: topic and client id of each device publish. */
  const heard: { topic: string; clientId: string | undefined; payload: string }[] = []

  beforeAll(async () => {
    await run('sh', [MAKE_SECRETS, secrets.path], { env: { ...process.env, MQTT_TLS_NAMES: 'localhost,127.0.0.1' } })
    tlsPort = await freePort()
    ;[p, browser] = await Promise.all([
      startPlatform({
        apiConfig: {
          // as compose sets them: the public TLS address and the CA make-secrets.sh made
          MQTT_PUBLIC_URL: `mqtts://localhost:${tlsPort}`,
          MQTT_PUBLIC_CA: loadApiConfig({ MQTT_PUBLIC_CA_FILE: join(tls, 'ca.pem') }).MQTT_PUBLIC_CA!,
        },
        operators: [{ username: 'admin1', password: PASSWORD, role: 'admin' }],
        // The devices' TLS listener, on the same credential store (DATA_DIR/meta.sqlite) the API provisions into.
        afterStart: async ({ dataDir, registry, registryFile }) => {
          const broker = await createBroker(
            loadBrokerConfig({
              DATA_DIR: dataDir,
              MQTT_HOST: '127.0.0.1',
              MQTT_PORT: '0',
              MQTT_WS_PORT: 'off',
              MQTT_TLS_PORT: String(tlsPort),
              MQTT_TLS_CERT: join(tls, 'cert.pem'),
              MQTT_TLS_KEY: join(tls, 'key.pem'),
              MQTT_PERSISTENCE: 'memory',
              SEED_DEMO_SECRETS: 'false',
              DEVICE_REGISTRY_FILE: registryFile,
            }),
            { registry, logger: silentLogger },
          )
          await broker.start()
          broker.aedes.on('publish', (packet, client) => {
            if (client) heard.push({ topic: packet.topic, clientId: client.id, payload: packet.payload.toString() })
          })
          return () => broker.stop()
        },
      }),
      launchChromium(),
    ])
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true })
    admin = await ctx.newPage()
    problems = watchPage(admin, /127\.0\.0\.1:9\//)
    await admin.goto(`${p.url}/admin.html?tiles=${encodeURIComponent(DEAD_TILES)}`)
    await admin.locator('#adm-username').fill('admin1')
    await admin.locator('#adm-password').fill(PASSWORD)
    await admin.locator('#adm-sign-in-submit').click()
    await admin.locator('#dev-rows tr').first().waitFor()
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
    secrets.cleanup()
    kit.cleanup()
  })

  /** The secret box's CA link, secret and line. */
  async function shown() {
    const box = admin.locator('#dev-secret-host .dev-secret')
    await box.waitFor({ state: 'visible' })
    const link = box.locator('.dev-ca a')
    return {
      link,
      secret: await box.locator('.dev-secret-value .dev-copy-value').inputValue(),
      command: await box.locator('.dev-command .dev-copy-value').inputValue(),
    }
  }
  async function closeSecret(): Promise<void> {
    await admin.locator('#dev-secret-host .dev-secret-close').click()
    await admin.locator('#dev-secret-host').waitFor({ state: 'hidden' })
  }
  const lineFor = (secret: string) =>
    `mosquitto_pub -h 'localhost' -p ${tlsPort} --cafile 'mytho-mqtt-ca.pem' -i '${ID}' -u '${ID}' -P '${secret}' -q 1 -t 'mytho/v1/devices/${ID}/readings' -m '{"kind":"water_level","waterLevelCm":120}'`

  it('offers the CA for download beside a new secret; the line, run as shown with that file, publishes over TLS', async () => {
    await admin.locator('#dev-new-id').fill(ID)
    await admin.locator('#dev-new-kind').selectOption('water_level')
    await admin.locator('#dev-new-name-vi').fill('Bộ đo thử chứng chỉ')
    await admin.locator('#dev-new-name-en').fill('Certificate test gauge')
    await admin.locator('#dev-new-ward').selectOption('my-tho')
    await admin.locator('#dev-new-water-body').selectOption('river')
    // placed with the keyboard: Enter on the focused map puts it at the centre
    await admin.locator('#dev-map path').first().waitFor()
    await admin.locator('#dev-map').focus()
    await admin.keyboard.press('Enter')
    await admin.waitForFunction(() => (document.getElementById('dev-new-lat') as HTMLInputElement).value !== '')
    await admin.locator('#dev-create-submit').click()

    const { link, secret, command } = await shown()
    expect(await link.textContent()).toBe('Tải chứng chỉ CA (mytho-mqtt-ca.pem)')
    expect(await link.getAttribute('download')).toBe('mytho-mqtt-ca.pem')
    expect(command).toBe(lineFor(secret))

    // The browser's download, from the signed-in session: the CA make-secrets.sh made, under the name the line uses.
    const [download] = await Promise.all([admin.waitForEvent('download'), link.click()])
    expect(download.suggestedFilename()).toBe('mytho-mqtt-ca.pem')
    await download.saveAs(join(kit.path, download.suggestedFilename()))
    expect(readFileSync(join(kit.path, 'mytho-mqtt-ca.pem'), 'utf8')).toBe(readFileSync(join(tls, 'ca.pem'), 'utf8'))

    // The line exactly as shown, where the file was saved: TLS checked against that CA, QoS 1 acknowledged (exit 0).
    await run('sh', ['-c', command], { cwd: kit.path, timeout: 15_000 })
    const got = heard.filter((h) => h.clientId === ID)
    expect(got.map((h) => h.topic)).toEqual([`mytho/v1/devices/${ID}/readings`])
    // as sent, with the broker's receive time stamped on
    expect(JSON.parse(got[0]!.payload)).toEqual({ kind: 'water_level', waterLevelCm: 120, rxTs: expect.any(Number) })
    // What the line said before (the system's authorities) cannot check this broker: the CA is what makes it work.
    await expect(
      run('sh', ['-c', command.replace("--cafile 'mytho-mqtt-ca.pem'", '--capath /etc/ssl/certs')], { cwd: kit.path, timeout: 15_000 }),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/TLS error/) })
    expect(heard.filter((h) => h.clientId === ID)).toHaveLength(1)
    await closeSecret()
    expect(problems).toEqual([])
  })

  it('in English, at 390 px, with a rotated secret', async () => {
    await admin.setViewportSize({ width: 390, height: 844 })
    await admin.locator('#adm-lang').click()
    await admin.locator(`#dev-rows tr[data-device-id="${ID}"] .dev-rotate`).click()
    const { link, secret, command } = await shown()
    expect(await link.textContent()).toBe('Download the CA certificate (mytho-mqtt-ca.pem)')
    expect(command).toBe(lineFor(secret))
    expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    // reachable with the keyboard, like the copy buttons beside it
    await link.focus()
    expect(await admin.evaluate(() => document.activeElement?.closest('.dev-ca') !== null)).toBe(true)
    await closeSecret()
    await admin.locator('#adm-lang').click()
    expect(problems).toEqual([])
  })
})
