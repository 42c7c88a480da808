import { existsSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { silentLogger } from '@mytho/runtime'
import { makeTempDir, startRedisServer, type RedisServer } from '@mytho/testing'
import { openRedisCredentialStore } from '@mytho/directory'
import { startSecuredApi } from './auth-harness.ts'

/*
 * Hosts that share nothing but REDIS_URL: host A runs broker A and API A, host B broker B and API B, each its
 * own DATA_DIR. A device provisioned, rotated or disabled through API A is judged by broker B at its next
 * CONNECT from the credential rows in Redis, and its live connection on B is dropped by the registry notice
 * that crosses the broker cluster.
 */
describe('device provisioning across hosts on Redis', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(() => redis?.stop())

  const host = async (name: string) => {
    const tmp = makeTempDir(`mytho-host-${name}-`)
    onTestFinished(() => tmp.cleanup())
    const broker = await createBroker(
      loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', REDIS_URL: redis.url }),
      { logger: silentLogger },
    )
    const { mqttPort } = await broker.start()
    onTestFinished(() => broker.stop())
    return { dir: tmp.path, mqttUrl: `mqtt://127.0.0.1:${mqttPort}` }
  }

  const gauge = {
    id: 'wl-rach-gam-02',
    kind: 'water_level',
    nameVi: 'Đo mực nước rạch Gầm 2',
    nameEn: 'Water level Rach Gam 2',
    lat: 10.36,
    lon: 106.36,
    ward: 'my-tho',
    intervalS: 300,
    batteryPowered: true,
    waterBody: 'canal',
    locationConfidence: 'C',
  }

  it('broker B accepts the secret API A gave, refuses the old one after a rotation and the device once disabled', async () => {
    const a = await host('a')
    const b = await host('b')
    // API A's live feed publishes the registry notices (svc-api's demo secret is in host A's DATA_DIR: broker A seeded it).
    const apiA = await startSecuredApi({ REDIS_URL: redis.url, MQTT_URL: a.mqttUrl }, a.dir)
    const apiB = await startSecuredApi({ REDIS_URL: redis.url }, b.dir)
    const admin = await apiA.signIn('admin')
    const onB = async (password: string): Promise<MqttClient> => {
      const c = await mqtt.connectAsync(b.mqttUrl, { clientId: gauge.id, username: gauge.id, password, reconnectPeriod: 0, connectTimeout: 5000 })
      onTestFinished(() => c.endAsync(true))
      return c
    }
    const refusalOnB = (password: string) =>
      onB(password).then(
        () => 0,
        (err: { code: number }) => err.code,
      )
    const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()))

    const created = await apiA.call<{ deviceId: string; secret: string }>(admin, 'POST', '/admin/devices', gauge)
    expect(created).toMatchObject({ status: 201, body: { deviceId: gauge.id, secret: expect.any(String) } })
    const adminB = await apiB.signIn('admin')
    expect((await apiB.call(adminB, 'POST', '/admin/devices', gauge)).status).toBe(409)
    const first = await onB(created.body.secret)
    const firstClosed = closed(first)

    const rotated = await apiA.call<{ deviceId: string; secret: string }>(admin, 'POST', `/admin/devices/${gauge.id}/rotate-secret`)
    expect(rotated.status).toBe(200)
    await firstClosed
    expect(await refusalOnB(created.body.secret)).toBe(4)
    const secondClosed = closed(await onB(rotated.body.secret))

    expect((await apiA.call(admin, 'POST', `/admin/devices/${gauge.id}/disable`)).status).toBe(200)
    await secondClosed
    expect(await refusalOnB(rotated.body.secret)).toBe(5)
    const listedOnB = (await apiB.call(adminB, 'GET', '/admin/devices')).body as { id: string; disabled: boolean; hasSecret: boolean }[]
    expect(listedOnB.find((d) => d.id === gauge.id)).toMatchObject({ disabled: true, hasSecret: true })

    expect((await apiB.call(adminB, 'POST', `/admin/devices/${gauge.id}/enable`)).status).toBe(200)
    await (await onB(rotated.body.secret)).endAsync()
    // Nothing of it went to a host's SQLite.
    for (const dir of [a.dir, b.dir]) expect(existsSync(join(dir, 'meta.sqlite'))).toBe(false)
  })

  it("with no notice at all (an API node without a broker link), a broker node's login cache lets no old secret through", async () => {
    const b = await host('b2')
    const api = await startSecuredApi({ REDIS_URL: redis.url }, b.dir)
    const admin = await api.signIn('admin')
    const id = 'wl-rach-gam-03'
    const login = (password: string) =>
      mqtt.connectAsync(b.mqttUrl, { clientId: id, username: id, password, reconnectPeriod: 0, connectTimeout: 5000 }).then(
        (c) => c.endAsync(true).then(() => 0),
        (err: { code: number }) => err.code,
      )
    const created = await api.call<{ deviceId: string; secret: string }>(admin, 'POST', '/admin/devices', { ...gauge, id })
    expect(created.status).toBe(201)
    // The second login is answered from broker B's cache.
    expect([await login(created.body.secret), await login(created.body.secret)]).toEqual([0, 0])
    const rotated = await api.call<{ deviceId: string; secret: string }>(admin, 'POST', `/admin/devices/${id}/rotate-secret`)
    expect(await login(created.body.secret)).toBe(4)
    expect(await login(rotated.body.secret)).toBe(0)
    expect(await login(rotated.body.secret)).toBe(0)
    expect((await api.call(admin, 'POST', `/admin/devices/${id}/disable`)).status).toBe(200)
    expect(await login(rotated.body.secret)).toBe(5)
  })

  it('two admins creating one device id on two API nodes at once: one gets it and its secret, the other a 409', async () => {
    const url = `${redis.url}/2`
    const [a, b] = [await startSecuredApi({ REDIS_URL: url }), await startSecuredApi({ REDIS_URL: url })]
    const [adminA, adminB] = [await a.signIn('admin'), await b.signIn('admin')]
    const id = 'wl-rach-gam-04'
    const answers = await Promise.all([
      a.call<{ deviceId: string; secret: string }>(adminA, 'POST', '/admin/devices', { ...gauge, id }),
      b.call<{ deviceId: string; secret: string }>(adminB, 'POST', '/admin/devices', { ...gauge, id }),
    ])
    expect(answers.map((x) => x.status).sort()).toEqual([201, 409])
    const creds = openRedisCredentialStore(url)
    onTestFinished(() => creds.close())
    expect(await creds.verify(id, answers.find((x) => x.status === 201)!.body.secret)).toBe('ok')
  })
})
