import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import mqtt, { type MqttClient } from 'mqtt'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { silentLogger } from '@mytho/runtime'
import type { ImportReport } from '@mytho/schema'
import { makeTempDir, makeTestCertificate } from '@mytho/testing'
import { demoAdminPath } from '../src/auth/first-admin.ts'
import { startSecuredApi } from './auth-harness.ts'

/** A real broker on port 0 over `dir`, and the API signed in as admin with its live feed (svc-api) on that broker. */
async function platform() {
  const tmp = makeTempDir('mytho-api-provisioning-')
  onTestFinished(() => tmp.cleanup())
  const broker = await createBroker(
    loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', MQTT_PERSISTENCE: 'memory' }),
    { logger: silentLogger },
  )
  const { mqttPort } = await broker.start()
  onTestFinished(() => broker.stop())
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
  const api = await startSecuredApi({ MQTT_URL: mqttUrl }, tmp.path)
  const admin = await api.signIn('admin')
  const device = async (id: string, password: string): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(mqttUrl, { clientId: id, username: id, password, reconnectPeriod: 0, connectTimeout: 5000 })
    onTestFinished(() => c.endAsync(true))
    return c
  }
  const refusal = (id: string, password: string) =>
    device(id, password).then(
      () => 0,
      (err: { code: number }) => err.code,
    )
  return { api, admin, device, refusal }
}

const gauge = {
  id: 'wl-rach-gam-01',
  kind: 'water_level',
  nameVi: 'Đo mực nước rạch Gầm',
  nameEn: 'Water level Rach Gam',
  lat: 10.36,
  lon: 106.36,
  ward: 'my-tho',
  intervalS: 300,
  batteryPowered: true,
  waterBody: 'canal',
  locationConfidence: 'C',
}

describe('device provisioning through the API and the broker', () => {
  it('create shows the secret once; disable drops the live connection and refuses the reconnect; rotate stops the old secret', async () => {
    const { api, admin, device, refusal } = await platform()
    const created = await api.call<{ deviceId: string; secret: string }>(admin, 'POST', '/admin/devices', gauge)
    expect(created).toMatchObject({ status: 201, body: { deviceId: gauge.id, secret: expect.any(String) } })
    expect((await api.call(admin, 'POST', '/admin/devices', gauge)).status).toBe(409)
    const listed = (await api.call(admin, 'GET', '/admin/devices')).body as { id: string; disabled: boolean }[]
    expect(listed.find((d) => d.id === gauge.id)).toMatchObject({ disabled: false, hasSecret: true })

    const live = await device(gauge.id, created.body.secret)
    const dropped = new Promise<void>((resolve) => live.once('close', () => resolve()))
    expect(await api.call(admin, 'POST', `/admin/devices/${gauge.id}/disable`)).toMatchObject({ status: 200, body: { id: gauge.id, disabled: true } })
    await dropped
    expect(await refusal(gauge.id, created.body.secret)).toBe(5)

    expect((await api.call(admin, 'POST', `/admin/devices/${gauge.id}/enable`)).status).toBe(200)
    const again = await device(gauge.id, created.body.secret)
    const closed = new Promise<void>((resolve) => again.once('close', () => resolve()))
    const rotated = await api.call<{ deviceId: string; secret: string }>(admin, 'POST', `/admin/devices/${gauge.id}/rotate-secret`)
    expect(rotated).toMatchObject({ status: 200, body: { deviceId: gauge.id, secret: expect.any(String) } })
    await closed
    expect(await refusal(gauge.id, created.body.secret)).toBe(4)
    await (await device(gauge.id, rotated.body.secret)).endAsync()

    const audit = (await api.call(admin, 'GET', '/audit?actor=admin1')).body as { action: string; target: string | null }[]
    expect(audit.map((e) => `${e.action} ${e.target ?? ''}`.trim())).toEqual([
      `device-rotate ${gauge.id}`,
      `device-enable ${gauge.id}`,
      `device-disable ${gauge.id}`,
      `device-create ${gauge.id}`,
      'sign-in',
    ])
  })

  it('CSV import creates the good rows and reports every bad row with each reason', async () => {
    const { api, admin, device } = await platform()
    const csv = [
      'id,kind,nameVi,nameEn,lat,lon,ward,intervalS,batteryPowered,waterBody,road,locationConfidence',
      'wl-import-01,water_level,"Đo mực nước, cầu Quay",Water level Quay bridge,10.355,106.365,my-tho,300,true,canal,,C',
      'tc-import-02,traffic,Đếm xe Ấp Bắc,Traffic Ap Bac,10.37,106.35,trung-an,60,false,,Ấp Bắc,B',
      'wl-import-01,water_level,Trùng,Duplicate,10.355,106.365,my-tho,300,true,canal,,C',
      'Bad Id,water_level,Sai,Wrong,11.5,106.365,my-tho,300,maybe,,,C',
      'wl-hydro-station,water_level,Đã có,Exists,10.355,106.365,my-tho,300,true,canal,,A',
      'svc-api,traffic,Dịch vụ,Service,10.37,106.35,trung-an,60,false,,QL1,B',
      'too,few,cells',
    ].join('\n')
    const res = await api.call<ImportReport>(admin, 'POST', '/admin/devices/import', csv, { contentType: 'text/csv' })
    expect(res.status).toBe(200)
    expect(res.body.format).toBe('csv')
    expect(res.body.total).toBe(7)
    expect(res.body.created.map((c: { deviceId: string }) => c.deviceId)).toEqual(['wl-import-01', 'tc-import-02'])
    expect(res.body.failed).toMatchInlineSnapshot(`
      [
        {
          "errors": [
            "id: wl-import-01 repeats row 1",
          ],
          "id": "wl-import-01",
          "row": 3,
        },
        {
          "errors": [
            "id: lower-case letters, digits and dashes, 3–64 characters, not starting with mytho- or svc-",
            "lat: Too big: expected number to be <=10.42",
            "batteryPowered: Invalid input: expected boolean, received string",
          ],
          "id": "Bad Id",
          "row": 4,
        },
        {
          "errors": [
            "id: device wl-hydro-station is already provisioned",
          ],
          "id": "wl-hydro-station",
          "row": 5,
        },
        {
          "errors": [
            "id: lower-case letters, digits and dashes, 3–64 characters, not starting with mytho- or svc-",
          ],
          "id": "svc-api",
          "row": 6,
        },
        {
          "errors": [
            "expected 12 cells, got 3",
          ],
          "row": 7,
        },
      ]
    `)
    const first = res.body.created[0] as { deviceId: string; secret: string }
    await (await device(first.deviceId, first.secret)).endAsync()
  })

  it('GeoJSON import reads [lon, lat] and the properties; an unknown gateway is reported', async () => {
    const { api, admin } = await platform()
    const { lat, lon, ...props } = gauge
    const fc = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: props },
        { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { ...props, id: 'wl-gw-child', gatewayId: 'no-such-gateway' } },
        { type: 'Feature', geometry: { type: 'LineString', coordinates: [] }, properties: {} },
      ],
    }
    const res = await api.call<ImportReport>(admin, 'POST', '/admin/devices/import', JSON.stringify(fc), { contentType: 'application/geo+json' })
    expect(res.body.created.map((c: { deviceId: string }) => c.deviceId)).toEqual([gauge.id])
    expect(res.body.failed.map((f: { row: number; errors: string[] }) => [f.row, f.errors[0]])).toEqual([
      [2, 'gatewayId: no-such-gateway is not a provisioned device'],
      [3, expect.stringMatching(/^feature geometry/)],
    ])
  })
})

describe('first admin and HTTPS', () => {
  it('a demo start writes the generated admin password to DATA_DIR/secrets/demo-admin.json; it signs in', async () => {
    const tmp = makeTempDir('mytho-api-first-admin-')
    onTestFinished(() => tmp.cleanup())
    const api = await startSecuredApi({ AUTH_DEMO_ADMIN: true, ADMIN_USERNAME: 'citadmin' }, tmp.path)
    const { username, password } = JSON.parse(readFileSync(demoAdminPath(tmp.path), 'utf8')) as { username: string; password: string }
    expect(username).toBe('citadmin')
    expect((await api.login('citadmin', password)).status).toBe(200)
  })

  it('serves over HTTPS with a certificate generated in the test', async () => {
    const tmp = makeTempDir('mytho-api-https-')
    onTestFinished(() => tmp.cleanup())
    const { cert, key } = makeTestCertificate(tmp.path, { cn: 'localhost', san: 'IP:127.0.0.1' })
    const api = await startSecuredApi({ HTTPS_CERT: cert, HTTPS_KEY: key }, tmp.path)
    const port = new URL(api.url).port
    const res = await new Promise<{ status: number; hsts: string | undefined; cookie: string[] }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/api/v1/auth/login', method: 'POST', ca: readFileSync(cert), headers: { 'content-type': 'application/json' } },
        (r) => {
          r.resume()
          resolve({ status: r.statusCode ?? 0, hsts: r.headers['strict-transport-security'], cookie: r.headers['set-cookie'] ?? [] })
        },
      )
      req.on('error', reject)
      req.end(JSON.stringify({ username: 'viewer1', password: 'correct horse battery staple' }))
    })
    expect(res.status).toBe(200)
    expect(res.hsts).toMatch(/max-age=/)
    expect(res.cookie.find((c) => c.startsWith('mytho_session='))).toMatch(/; Secure/)
  })
})
