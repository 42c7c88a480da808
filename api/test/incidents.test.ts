import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { startLivePlatform, type LivePlatform } from './live-harness.ts'

/** Incidents raised by the ingest's engine, served and acknowledged over REST and pushed over Socket.IO. */
describe('incidents over REST and Socket.IO', () => {
  let p: LivePlatform
  const id = 'wl-my-phong-riverside'
  const cityView = { bbox: [106.28, 10.3, 106.44, 10.42] as [number, number, number, number], zoom: 13 }
  const ricePaddiesView = { bbox: [106.0, 10.0, 106.01, 10.01] as [number, number, number, number], zoom: 13 }

  beforeAll(async () => {
    p = await startLivePlatform()
  })
  afterAll(async () => {
    await p?.stop()
  })

  it('pushes a new incident to every browser, in view or not, and lists it over REST', async () => {
    const inView = p.browser(cityView)
    const elsewhere = p.browser(ricePaddiesView)
    await inView.waitForSnapshots(1)
    await elsewhere.waitForSnapshots(1)
    const dev = await p.device(id)
    const t = Date.now()
    await p.publish(dev, id, [
      { kind: 'water_level', ts: t - 6 * 60_000, waterLevelCm: 152 },
      { kind: 'water_level', ts: t - 1000, waterLevelCm: 153 },
    ])
    for (const b of [inView, elsewhere]) await waitFor(() => b.incidentChanges.find((c) => c.incident.subject === id), { what: 'incident push' })
    const res = await fetch(`${p.url}/api/v1/incidents?deviceId=${id}`)
    const list = (await res.json()) as Incident[]
    expect(list).toHaveLength(1)
    expect(list[0]).toMatchObject({ ruleId: 'flood', level: 2, severity: 'warning', state: 'open', title: { en: 'Flood (high water): Alarm level II' } })
  })

  it('acknowledges over REST, tells every browser, and a reconnecting browser gets the active list', async () => {
    const [inc] = (await (await fetch(`${p.url}/api/v1/incidents?deviceId=${id}`)).json()) as Incident[]
    const watcher = p.browser(cityView)
    await waitFor(() => watcher.incidentSnapshots.length > 0, { what: 'incident snapshot on connect' })
    expect(watcher.incidentSnapshots[0]!.map((i) => i.id)).toContain(inc!.id)

    const bad = await fetch(`${p.url}/api/v1/incidents/${inc!.id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"note":"x"}',
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toMatch(/^invalid body field by/)

    const ack = await fetch(`${p.url}/api/v1/incidents/${inc!.id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'Nguyễn Thị Lan', note: 'Đã báo UBND phường Mỹ Phong' }),
    })
    expect(ack.status).toBe(200)
    // no session: the caller is anonymous with its address, the name it gives only a claim (issue #15)
    expect(await ack.json()).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'anonymous@127.0.0.1' })
    const pushed = await waitFor(() => watcher.incidentChanges.find((c) => c.event.type === 'acknowledged'), { what: 'ack push' })
    expect(pushed.event).toMatchObject({ by: 'anonymous@127.0.0.1', claimedBy: 'Nguyễn Thị Lan', note: 'Đã báo UBND phường Mỹ Phong' })

    watcher.socket.disconnect()
    watcher.socket.connect()
    await waitFor(() => watcher.incidentSnapshots.length > 1, { what: 'incident snapshot after reconnect' })
    expect(watcher.incidentSnapshots.at(-1)!.find((i) => i.id === inc!.id)?.state).toBe('acknowledged')
  })

  it('answers unknown incidents with 404 and bad filters with a 400 naming the parameter', async () => {
    expect((await fetch(`${p.url}/api/v1/incidents/inc-nope`)).status).toBe(404)
    const r = await fetch(`${p.url}/api/v1/incidents?severity=apocalyptic`)
    expect(r.status).toBe(400)
    expect(((await r.json()) as { error: string }).error).toMatch(/parameter severity/)
  })
})
