import { describe, expect, it } from 'vitest'
import type { RedriveResult, RedriveStatus, Rejection } from '@mytho/schema'
import { publishReading, waitFor } from '@mytho/testing'
import { gauge, redrivePlatform } from './redrive-harness.ts'

/*
 * Re-drive on the embedded default (SQLite): the API asks the ingest over the broker (the API's store refuses every
 * write, as its read-only credential does on InfluxDB), the ingest validates, stores and removes the letters.
 * InfluxDB, the refusals on the bus and the wait: redrive-over-bus.test.ts.
 */
async function platform() {
  const p = await redrivePlatform()
  return { ...p, store: p.ingestStore }
}

describe('POST /dead-letters/redrive', () => {
  it('stores a provisioned device’s unknown_device readings once, keeps what still fails, and audits it', async () => {
    const { api, apiStore, store, unknownDevice, provision } = await platform()
    const admin = await api.signIn('admin')
    const operator = await api.signIn('operator')
    const device = await unknownDevice(gauge.id)
    const t0 = Date.now() - 60_000
    await publishReading(device, gauge.id, { kind: 'water_level', ts: t0, waterLevelCm: 120.5 })
    await publishReading(device, gauge.id, [
      { kind: 'water_level', ts: t0 + 1000, waterLevelCm: 121 },
      { kind: 'water_level', ts: t0 + 2000, waterLevelCm: 'cao' },
    ])
    await waitFor(async () => (await store.deadLetterCounts({ deviceId: gauge.id }))['unknown_device'] === 3, { what: 'three unknown_device letters' })
    const listed = await api.call<Rejection[]>(operator, 'GET', `/dead-letters?deviceId=${gauge.id}`)
    expect(listed.body.map((l) => l.code)).toEqual(['unknown_device', 'unknown_device', 'unknown_device'])
    expect(listed.body.every((l) => typeof l.id === 'string')).toBe(true)

    const history = async () =>
      (await store.history({ deviceIds: [gauge.id], metric: 'waterLevelCm', from: t0 - 1, to: t0 + 10_000, window: 'raw' }))[0]!.points.map((p) => [
        p.ts,
        p.mean,
      ])
    expect(await history()).toEqual([])
    const status = () => api.call<RedriveStatus>(operator, 'GET', `/dead-letters/redrive?deviceId=${gauge.id}`).then((r) => r.body)
    expect(await status()).toEqual({ deviceId: gauge.id, registered: false, disabled: false, pending: 3 })
    expect((await api.call(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })).status).toBe(404)

    await provision(gauge)
    expect(await status()).toEqual({ deviceId: gauge.id, registered: true, disabled: false, pending: 3 })
    const first = await api.call<RedriveResult>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({ redriven: 2, stored: 2, stillRejected: [{ reason: 'invalid_reading', id: expect.any(String) }] })
    expect(await history()).toEqual([
      [t0, 120.5],
      [t0 + 1000, 121],
    ])
    const left = await api.call<Rejection[]>(operator, 'GET', `/dead-letters?deviceId=${gauge.id}`)
    expect(left.body.map((l) => l.id)).toEqual([first.body.stillRejected[0]!.id])

    const second = await api.call<RedriveResult>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })
    expect(second.body).toMatchObject({ redriven: 0, stored: 0 })
    expect(await history()).toHaveLength(2)

    const audit = (await api.call<{ actor: string; target: string; detail: unknown }[]>(admin, 'GET', '/audit?action=dead-letter-redrive')).body
    expect(audit.map((e) => [e.actor, e.target, e.detail])).toEqual([
      ['operator1', gauge.id, { redriven: 0, stored: 0, stillRejected: 1 }],
      ['operator1', gauge.id, { redriven: 2, stored: 2, stillRejected: 1 }],
    ])

    // the counts over time: all three were rejected in this hour; the two re-driven ones are no longer dead letters
    const now = Date.now()
    const counts = await api.call<{ start: number; code: string; count: number }[]>(
      operator,
      'GET',
      `/dead-letters/counts?deviceId=${gauge.id}&from=${now - 3_600_000}&to=${now + 1}&bucket=hour`,
    )
    expect(counts.body.reduce((n, b) => n + b.count, 0)).toBe(1)
    expect(apiStore.writesTried).toEqual([])
  })

  it('refuses a viewer, a body without a device, a device not provisioned, and a POST without the CSRF token', async () => {
    const { api } = await platform()
    const viewer = await api.signIn('viewer')
    const operator = await api.signIn('operator')
    expect((await api.call(viewer, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })).status).toBe(403)
    expect((await api.call(viewer, 'GET', '/dead-letters')).status).toBe(403)
    expect((await api.call(undefined, 'POST', '/dead-letters/redrive', { deviceId: gauge.id })).status).toBe(401)

    const noDevice = await api.call<{ error: string }>(operator, 'POST', '/dead-letters/redrive', {})
    expect(noDevice.status).toBe(400)
    expect(noDevice.body.error).toMatch(/invalid body field deviceId/)
    const badIds = await api.call<{ error: string }>(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id, ids: [] })
    expect(badIds.status).toBe(400)
    expect(badIds.body.error).toMatch(/invalid body field ids/)

    const unknown = await api.call<{ error: string }>(operator, 'POST', '/dead-letters/redrive', { deviceId: 'wl-nowhere' })
    expect(unknown.status).toBe(404)
    expect(unknown.body.error).toMatch(/wl-nowhere is not in the registry/)
    expect((await api.call(operator, 'POST', '/dead-letters/redrive', { deviceId: gauge.id }, { csrf: false })).status).toBe(403)

    const bucketAlone = await api.call<{ error: string }>(operator, 'GET', '/dead-letters/counts?bucket=hour')
    expect(bucketAlone.status).toBe(400)
    expect(bucketAlone.body.error).toMatch(/invalid query parameter bucket/)
  })
})
