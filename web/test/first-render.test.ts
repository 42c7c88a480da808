import type { MqttClient } from 'mqtt'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceStatuses } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { launchChromium, mapStats, startPlatform, watchPage, type Platform } from './harness.ts'

/*
 * The map's first render (issue #4): the snapshot comes in columns (ids, one binary buffer, the readings as a string
 * read after the first paint). What is drawn must still be every device with its status, the readings must still
 * reach the store, and a status change later must move each cluster's counts once.
 */
const GAUGE = 'wl-bao-dinh-mouth'

interface FirstRender {
  fromServer: boolean
  /** Drawn from the `firstView` event, before the snapshot was read. */
  beforeSnapshot: boolean
  drawnByStatus: number[]
  drawnClusters: number
  drawnPoints: number
  byStatus: Record<string, number>
}
interface Hook {
  __mytho: {
    stats(): {
      live: boolean
      drawnByStatus: number[]
      byStatus: Record<string, number>
      devices: number
      indexed: number
      drawnFromServer: boolean
      drawnClusters: number
      drawnPoints: number
      rebuilds: number
      firstRender: FirstRender | undefined
    }
    store: { devices: Map<string, { status: string; lastReading: { fields: Record<string, number> } | null }> }
  }
}
const drawnByStatus = (s: { drawnByStatus: number[] }) => Object.fromEntries(deviceStatuses.map((st, i) => [st, s.drawnByStatus[i]]))

describe('first render: columnar snapshot', () => {
  let p: Platform
  let browser: Browser
  let gauge: MqttClient
  beforeAll(async () => {
    ;[p, browser] = await Promise.all([startPlatform(), launchChromium()])
    // two statuses besides never_seen before the page opens: warning (152.5 cm is past BĐ II) and ok
    gauge = await p.device(GAUGE)
    await p.publish(gauge, GAUGE, { kind: 'water_level', ts: Date.now(), waterLevelCm: 152.5 })
    const rain = p.registry.devices.find((d) => d.kind === 'rain')!.id
    await p.publish(await p.device(rain), rain, { kind: 'rain', ts: Date.now(), rainMm: 0.2 })
    await waitFor(
      async () => {
        const states = (await (await fetch(`${p.url}/api/v1/devices`)).json()) as { id: string; status: string }[]
        return states.find((d) => d.id === GAUGE)?.status === 'warning' && states.find((d) => d.id === rain)?.status === 'ok'
      },
      { what: 'the gauge in warning and the rain gauge ok' },
    )
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('draws every device under its status from a columnar snapshot, and its readings follow', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    const problems = watchPage(page)
    const frames: (string | Buffer)[] = []
    page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(f.payload)))
    await page.goto(p.mapUrl())
    // live can come with the server's first-view clusters; the map's own index follows a frame (or, loaded, a few) later
    await page.waitForFunction(() => (window as unknown as Hook).__mytho?.stats().live === true && (window as unknown as Hook).__mytho.stats().indexed > 0)
    const s = await page.evaluate(() => (window as unknown as Hook).__mytho.stats())
    expect(s.indexed).toBe(p.registry.size)
    expect(s.byStatus).toMatchObject({ warning: 1, ok: 1, never_seen: p.registry.size - 2 })
    // at the city view every device is drawn, as a marker or inside a cluster, under its own status
    expect(drawnByStatus(s)).toEqual(s.byStatus)
    // it came in columns (a text frame naming the event and one binary frame), no JSON snapshot
    expect(frames.some((f) => typeof f === 'string' && f.includes('"snapshotColumns"'))).toBe(true)
    expect(frames.some((f) => typeof f !== 'string')).toBe(true)
    expect(frames.some((f) => typeof f === 'string' && f.startsWith('42["snapshot"'))).toBe(false)
    // the reading published before the page opened comes with the snapshot's readings, after the first paint
    await page.waitForFunction((id) => (window as unknown as Hook).__mytho.store.devices.get(id)?.lastReading?.fields['waterLevelCm'] === 152.5, GAUGE)
    expect(problems).toEqual([])
    await page.close()
  })

  it('moves a status change once in every cluster holding the device', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    const problems = watchPage(page)
    await page.goto(p.mapUrl())
    await page.waitForFunction(() => (window as unknown as Hook).__mytho?.stats().live === true)
    expect((await mapStats(page)).byStatus['warning']).toBe(1)
    // past BĐ III (160 cm): alarm, moved in the clusters without a rebuild
    await p.publish(gauge, GAUGE, { kind: 'water_level', ts: Date.now(), waterLevelCm: 171 })
    await page.waitForFunction((id) => (window as unknown as Hook).__mytho.store.devices.get(id)?.status === 'alarm', GAUGE)
    // the change is drawn on the next animation frame
    const s = await page.evaluate(
      () =>
        new Promise<ReturnType<Hook['__mytho']['stats']>>((resolve) =>
          requestAnimationFrame(() => requestAnimationFrame(() => resolve((window as unknown as Hook).__mytho.stats()))),
        ),
    )
    expect(s.byStatus).toMatchObject({ alarm: 1, warning: 0 })
    expect(drawnByStatus(s)).toEqual(s.byStatus)
    expect(problems).toEqual([])
    await page.close()
  })

  it('draws the first frame from the server clusters, then its own index takes over and moves a change once', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    const problems = watchPage(page)
    const frames: string[] = []
    page.on('websocket', (ws) => ws.on('framereceived', (f) => typeof f.payload === 'string' && frames.push(f.payload)))
    await page.goto(p.mapUrl())
    const first = await page.waitForFunction(() => (window as unknown as Hook).__mytho?.stats().firstRender).then((h) => h.jsonValue() as Promise<FirstRender>)
    // the first render is the API's clusters (api/src/first-view-clusters.ts), every device in view under its status
    expect(first.fromServer).toBe(true)
    expect(drawnByStatus(first)).toEqual(first.byStatus)
    expect(first.byStatus['warning']! + first.byStatus['alarm']!).toBe(1)
    // from their own event, drawn before the columnar snapshot was read; the snapshot follows it and carries none
    expect(first.beforeSnapshot).toBe(true)
    const fvFrame = frames.findIndex((f) => f.startsWith('42["firstView"'))
    const snapFrame = frames.findIndex((f) => f.includes('"snapshotColumns"'))
    expect(fvFrame).toBeGreaterThanOrEqual(0)
    expect(snapFrame).toBeGreaterThan(fvFrame)
    expect(frames[snapFrame]).not.toContain('"clusters"')
    // a frame later the map's own index draws the same clusters
    await page.waitForFunction(() => !(window as unknown as Hook).__mytho.stats().drawnFromServer)
    const own = await page.evaluate(() => (window as unknown as Hook).__mytho.stats())
    expect(own.rebuilds).toBeGreaterThanOrEqual(2)
    expect({ clusters: own.drawnClusters, points: own.drawnPoints, byStatus: own.drawnByStatus }).toEqual({
      clusters: first.drawnClusters,
      points: first.drawnPoints,
      byStatus: first.drawnByStatus,
    })
    // a live status change after the swap: moved once, from its status to the new one
    const was = await page.evaluate((id) => (window as unknown as Hook).__mytho.store.devices.get(id)!.status, GAUGE)
    const to = was === 'warning' ? 'alarm' : 'warning'
    await p.publish(gauge, GAUGE, { kind: 'water_level', ts: Date.now(), waterLevelCm: to === 'alarm' ? 171 : 152.5 })
    await page.waitForFunction(([id, st]) => (window as unknown as Hook).__mytho.store.devices.get(id!)?.status === st, [GAUGE, to])
    const s = await page.evaluate(
      () =>
        new Promise<ReturnType<Hook['__mytho']['stats']>>((resolve) =>
          requestAnimationFrame(() => requestAnimationFrame(() => resolve((window as unknown as Hook).__mytho.stats()))),
        ),
    )
    expect(s.byStatus).toMatchObject({ [was]: first.byStatus[was]! - 1, [to]: first.byStatus[to]! + 1 })
    expect(drawnByStatus(s)).toEqual(s.byStatus)
    expect(problems).toEqual([])
    await page.close()
  })
})
