import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceStatuses } from '@mytho/schema'
import { launchChromium, mapStats, startPlatform, watchPage, type Platform } from './harness.ts'

/*
 * The map's first render (issue #4): the snapshot comes in columns (ids, one binary buffer, the readings as a string
 * read after the first paint) and its cluster index is built in a worker while the map's code runs. What is drawn
 * must still be every device with its status, and the readings must still reach the store.
 */
const GAUGE = 'wl-bao-dinh-mouth'

interface Hook {
  __mytho: {
    stats(): { live: boolean; pending: boolean; adopted: number; drawnByStatus: number[]; byStatus: Record<string, number>; devices: number; indexed: number }
    store: {
      devices: Map<string, { deviceId: string; lat: number; lon: number; status: string; lastReading: { fields: Record<string, number> } | null }>
      snapshot(list: unknown[], live: boolean, index?: unknown): void
      update(list: unknown[]): void
    }
    buildInWorker(c: { lon: Float64Array; lat: Float64Array; status: Uint8Array }): Promise<unknown>
  }
}

describe('first render: columnar snapshot, cluster index from a worker', () => {
  let p: Platform
  let browser: Browser
  beforeAll(async () => {
    ;[p, browser] = await Promise.all([startPlatform(), launchChromium()])
    // two statuses besides never_seen before the page opens: warning (152.5 cm is past BĐ II) and ok
    const gauge = await p.device(GAUGE)
    await p.publish(gauge, GAUGE, { kind: 'water_level', ts: Date.now(), waterLevelCm: 152.5 })
    const rain = p.registry.devices.find((d) => d.kind === 'rain')!.id
    await p.publish(await p.device(rain), rain, { kind: 'rain', ts: Date.now(), rainMm: 0.2 })
    for (;;) {
      const states = (await (await fetch(`${p.url}/api/v1/devices`)).json()) as { id: string; status: string }[]
      if (states.find((d) => d.id === GAUGE)?.status === 'warning' && states.find((d) => d.id === rain)?.status === 'ok') break
      await new Promise((r) => setTimeout(r, 50))
    }
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('draws every device with its status from the worker’s index, and the readings follow', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    const problems = watchPage(page)
    const frames: (string | Buffer)[] = []
    page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(f.payload)))
    await page.goto(p.mapUrl())
    await page.waitForFunction(() => (window as unknown as Hook).__mytho?.stats().live === true)
    const s = await mapStats(page)
    const drawn = (await page.evaluate(() => (window as unknown as Hook).__mytho.stats())) as unknown as { adopted: number; drawnByStatus: number[] }
    // the index came from the worker, and its clusters count every device under its own status
    expect(drawn.adopted).toBe(1)
    expect(s.indexed).toBe(p.registry.size)
    expect(Object.fromEntries(deviceStatuses.map((st, i) => [st, drawn.drawnByStatus[i]]))).toEqual(s.byStatus)
    expect(s.byStatus).toMatchObject({ warning: 1, ok: 1, never_seen: p.registry.size - 2 })
    // it came in columns: one binary frame, no JSON snapshot
    expect(frames.some((f) => typeof f === 'string' && f.includes('"snapshotColumns"'))).toBe(true)
    expect(frames.some((f) => typeof f === 'string' && f.startsWith('42["snapshot"'))).toBe(false)
    // the reading published before the page opened comes with the snapshot's readings, after the first paint
    await page.waitForFunction((id) => (window as unknown as Hook).__mytho.store.devices.get(id)?.lastReading?.fields['waterLevelCm'] === 152.5, GAUGE)
    expect(problems).toEqual([])
    await page.close()
  })

  it('counts a status that changed while the worker built the index', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    const problems = watchPage(page)
    await page.goto(p.mapUrl())
    await page.waitForFunction(() => (window as unknown as Hook).__mytho?.stats().live === true)
    const before = await page.evaluate(() => (window as unknown as Hook).__mytho.stats().adopted)
    await page.evaluate((gauge) => {
      const m = (window as unknown as Hook).__mytho
      const order = ['ok', 'warning', 'alarm', 'offline', 'never_seen']
      const devices = [...m.store.devices.values()]
      const packed = m.buildInWorker({
        lon: Float64Array.from(devices, (d) => d.lon),
        lat: Float64Array.from(devices, (d) => d.lat),
        status: Uint8Array.from(devices, (d) => order.indexOf(d.status)),
      })
      m.store.snapshot(devices, true, { devices, packed })
      // before the worker can answer (its answer is a task of its own): the gauge goes to alarm
      m.store.update([{ ...m.store.devices.get(gauge)!, status: 'alarm' }])
    }, GAUGE)
    await page.waitForFunction(() => !(window as unknown as Hook).__mytho.stats().pending)
    const s = await page.evaluate(() => (window as unknown as Hook).__mytho.stats())
    expect(s.adopted).toBe(before + 1)
    expect(s.byStatus).toMatchObject({ alarm: 1, warning: 0, ok: 1 })
    expect(Object.fromEntries(deviceStatuses.map((st, i) => [st, s.drawnByStatus[i]]))).toEqual(s.byStatus)
    expect(problems).toEqual([])
    await page.close()
  })
  it('builds the index itself when a device joined while the worker built it', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    const problems = watchPage(page)
    await page.goto(p.mapUrl())
    await page.waitForFunction(() => (window as unknown as Hook).__mytho?.stats().live === true)
    const before = await page.evaluate(() => (window as unknown as Hook).__mytho.stats())
    await page.evaluate((gauge) => {
      const m = (window as unknown as Hook).__mytho
      const devices = [...m.store.devices.values()]
      const packed = m.buildInWorker({
        lon: Float64Array.from(devices, (d) => d.lon),
        lat: Float64Array.from(devices, (d) => d.lat),
        status: Uint8Array.from(devices, () => 4),
      })
      m.store.snapshot(devices, true, { devices, packed })
      // a device provisioned meanwhile, next to the gauge
      m.store.update([{ ...m.store.devices.get(gauge)!, deviceId: 'wl-new-gauge', status: 'offline', lastReading: null }])
    }, GAUGE)
    await page.waitForFunction(() => !(window as unknown as Hook).__mytho.stats().pending)
    const s = await page.evaluate(() => (window as unknown as Hook).__mytho.stats())
    expect(s.adopted).toBe(before.adopted)
    expect(s.indexed).toBe(p.registry.size + 1)
    expect(Object.fromEntries(deviceStatuses.map((st, i) => [st, s.drawnByStatus[i]]))).toEqual(s.byStatus)
    expect(s.byStatus['offline']).toBe(1)
    expect(problems).toEqual([])
    await page.close()
  })
})
