import { io } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LiveDeviceState, LiveFeedStatus, ViewSubscription } from '@mytho/schema'
import { CITY_BOUNDS } from '@mytho/schema'
import { decodeReadings, decodeSnapshot, type SnapshotColumns } from '@mytho/schema/live-snapshot'
import { waitFor } from '@mytho/testing'
import { startLivePlatform, type LivePlatform } from './live-harness.ts'

const city: ViewSubscription = { bbox: [CITY_BOUNDS.west, CITY_BOUNDS.south, CITY_BOUNDS.east, CITY_BOUNDS.north], zoom: 13 }
/** Around the Rạch Miễu bridge approach and spans, far from Trung Lương (10.39 N). */
const rachMieu: ViewSubscription = { bbox: [106.335, 10.32, 106.344, 10.35], zoom: 15 }
const now = () => Date.now()
const level = (cm: number, ts = now()) => ({ kind: 'water_level', ts, waterLevelCm: cm })
const traffic = (vehicleCount: number, ts = now()) => ({ kind: 'traffic', ts, intervalS: 60, vehicleCount, avgSpeedKmh: 32, occupancyPct: 20 })
const air = (pm25UgM3: number, ts = now()) => ({ kind: 'air_quality', ts, pm25UgM3 })

describe('live push: device → broker → ingest → SQLite → API → Socket.IO browser', () => {
  let p: LivePlatform
  beforeAll(async () => {
    p = await startLivePlatform()
  })
  afterAll(async () => {
    await p?.stop()
  })

  it('sends the state in view on connect, then the new reading as an update', async () => {
    const b = p.browser(city)
    const [snapshot] = [await b.waitForSnapshots(1)]
    expect(snapshot).toHaveLength(p.registry.size)
    expect(snapshot.find((d) => d.deviceId === 'wl-hydro-station')).toMatchObject({ status: 'never_seen', lastReading: null, lat: 10.3515, lon: 106.3645 })
    expect(b.acks).toEqual([{ ok: true, devices: p.registry.size }])
    expect(b.feed[0]).toMatchObject({ connected: true })

    const gauge = await p.device('wl-hydro-station')
    await p.publish(gauge, 'wl-hydro-station', level(152.5))
    const u = await b.waitForUpdate('wl-hydro-station')
    // 152.5 cm is past BĐ II (150 cm), below BĐ III (160 cm).
    expect(u).toMatchObject({ status: 'warning', kind: 'water_level', ward: 'my-tho', lastReading: { fields: { waterLevelCm: 152.5 }, tsSource: 'device' } })
    expect(u.lastSeen).toEqual(u.lastReading?.receivedAt)
  })

  it('sends a browser only the devices inside its bounding box', async () => {
    const bridge = p.browser(rachMieu)
    const all = p.browser(city)
    const inBridge = await bridge.waitForSnapshots(1)
    expect(inBridge.map((d) => d.deviceId).sort()).toEqual(['tc-ql60-rach-mieu-north', 'tc-rach-mieu-span1', 'tc-rach-mieu-span2'])
    await all.waitForSnapshots(1)

    const trungLuong = await p.device('tc-ql1-trung-luong')
    await p.publish(trungLuong, 'tc-ql1-trung-luong', traffic(41))
    await all.waitForUpdate('tc-ql1-trung-luong')
    const span = await p.device('tc-rach-mieu-span1')
    await p.publish(span, 'tc-rach-mieu-span1', traffic(77))
    await bridge.waitForUpdate('tc-rach-mieu-span1', (d) => d.lastReading?.fields['vehicleCount'] === 77)
    // One socket delivers in order: an update of Trung Lương sent to the bridge view would have come first.
    expect(bridge.updates.flat().map((d) => d.deviceId)).toEqual(['tc-rach-mieu-span1'])
  })

  it('filters by kind and by ward', async () => {
    const water = p.browser({ ...city, kinds: ['water_level'] })
    const trungAn = p.browser({ ...city, wards: ['trung-an'] })
    expect((await water.waitForSnapshots(1)).every((d) => d.kind === 'water_level')).toBe(true)
    expect(water.snapshots[0]).toHaveLength(p.registry.devices.filter((d) => d.kind === 'water_level').length)
    expect((await trungAn.waitForSnapshots(1)).every((d) => d.ward === 'trung-an')).toBe(true)

    const aq = await p.device('aq-trung-an')
    await p.publish(aq, 'aq-trung-an', air(31))
    await trungAn.waitForUpdate('aq-trung-an')
    const wl = await p.device('wl-tan-long')
    await p.publish(wl, 'wl-tan-long', level(120))
    await water.waitForUpdate('wl-tan-long')
    const tc = await p.device('tc-ql1-trung-an')
    await p.publish(tc, 'tc-ql1-trung-an', traffic(12))
    await trungAn.waitForUpdate('tc-ql1-trung-an')

    expect(water.updates.flat().map((d) => d.deviceId)).toEqual(['wl-tan-long'])
    expect(trungAn.updates.flat().map((d) => d.deviceId)).toEqual(['aq-trung-an', 'tc-ql1-trung-an'])
  })

  it('coalesces a burst from one device: the latest value wins, in a few entries at most', async () => {
    const b = p.browser({ ...city, kinds: ['salinity'] })
    await b.waitForSnapshots(1)
    const sal = await p.device('sal-lac-hong')
    const t0 = now() - 60_000
    const burst = Array.from({ length: 50 }, (_, i) => ({ kind: 'salinity', ts: t0 + i * 1000, salinityGL: 0.1 + i * 0.1 }))
    await p.publish(sal, 'sal-lac-hong', burst)
    const last = burst[49]!.salinityGL
    await b.waitForUpdate('sal-lac-hong', (d) => d.lastReading?.fields['salinityGL'] === last)
    const entries = b.updatesOf('sal-lac-hong')
    expect(entries.length).toBeLessThanOrEqual(3)
    expect(entries.at(-1)).toMatchObject({ status: 'alarm', lastReading: { ts: t0 + 49_000, fields: { salinityGL: last } } })
    expect(p.api.state.get('sal-lac-hong')?.lastReading?.fields['salinityGL']).toBe(last)
  })

  it('gives a reconnecting browser the current state without a page reload', async () => {
    const b = p.browser(city)
    await b.waitForSnapshots(1)
    const gauge = await p.device('wl-bao-dinh-mid')
    await p.publish(gauge, 'wl-bao-dinh-mid', level(130))
    await b.waitForUpdate('wl-bao-dinh-mid')

    // Drop the link the way a flaky network does (not a client-side disconnect, which would not reconnect).
    const dropped = new Promise<void>((resolve) => b.socket.once('disconnect', () => resolve()))
    b.socket.io.engine.close()
    await dropped
    // Nothing arrives while the link is down: every update from here on came after the reconnect.
    const updatesAtDrop = b.updates.length
    await p.publish(gauge, 'wl-bao-dinh-mid', level(141))
    await waitFor(() => p.api.state.get('wl-bao-dinh-mid')?.lastReading?.fields['waterLevelCm'] === 141, {
      what: 'the reading stored while the browser was away',
    })

    // The link comes back by itself with a fresh snapshot. It may come back before or after the reading is stored: the
    // browser then has 141 from that snapshot, or from the update that follows it; either way without a reload.
    await b.waitForSnapshots(2)
    const current = await waitFor(
      () =>
        [...b.updates.slice(updatesAtDrop).flat(), ...b.snapshots.slice(1).flat()].find(
          (d) => d.deviceId === 'wl-bao-dinh-mid' && d.lastReading?.fields['waterLevelCm'] === 141,
        ),
      { what: 'the reading stored while away, in the browser after the reconnect' },
    )
    expect(current).toMatchObject({ status: 'warning', lastReading: { fields: { waterLevelCm: 141 } } })
  })

  it("pushes offline when a device's connection dies (its Last Will)", async () => {
    const b = p.browser({ ...city, kinds: ['rain'] })
    await b.waitForSnapshots(1)
    const rg = await p.device('rg-my-tho')
    await p.publish(rg, 'rg-my-tho', { kind: 'rain', ts: now(), rainMm: 0.4 })
    await b.waitForUpdate('rg-my-tho', (d) => d.status === 'ok')
    rg.stream.destroy()
    const off = await b.waitForUpdate('rg-my-tho', (d) => d.status === 'offline', 'rg-my-tho offline')
    expect(off).toMatchObject({ connection: 'offline', lastReading: { fields: { rainMm: 0.4 } } })
    const rest = (await (await fetch(`${p.url}/api/v1/devices/rg-my-tho`)).json()) as { status: string }
    expect(rest.status).toBe('offline')
  })

  it('subscribes a view sent in the handshake: the snapshot comes with the connection, no view event needed', async () => {
    const snapshots: LiveDeviceState[][] = []
    const feed: LiveFeedStatus[] = []
    const s = io(p.url, { path: '/socket.io', transports: ['websocket'], auth: { view: rachMieu } })
    s.on('feed', (f: LiveFeedStatus) => feed.push(f))
    s.on('snapshot', (d: LiveDeviceState[]) => snapshots.push(d))
    try {
      const first = await waitFor(() => snapshots[0], { what: 'the snapshot of the handshake view' })
      expect(first.map((d) => d.deviceId).sort()).toEqual(['tc-ql60-rach-mieu-north', 'tc-rach-mieu-span1', 'tc-rach-mieu-span2'])
      // the feed status comes first, so the map knows whether the snapshot is live
      expect(feed).toHaveLength(1)
      // and the socket is subscribed: its updates follow
      const span = await p.device('tc-rach-mieu-span2')
      await p.publish(span, 'tc-rach-mieu-span2', traffic(12))
      const updates: LiveDeviceState[][] = []
      s.on('updates', (d: LiveDeviceState[]) => updates.push(d))
      await waitFor(() => updates.flat().find((d) => d.deviceId === 'tc-rach-mieu-span2' && d.lastReading?.fields['vehicleCount'] === 12), {
        what: 'the update in the handshake view',
      })
    } finally {
      s.close()
    }
  })

  it('sends a handshake that asks for columns the same devices in columns, for the first view and every later one', async () => {
    // The browser is subscribed (its first snapshot in) before the reading is published, so the reading reaches it as
    // an update, whichever of the two is faster.
    const json = p.browser(city)
    await json.waitForSnapshots(1)
    const gauge = await p.device('wl-hydro-station')
    await p.publish(gauge, 'wl-hydro-station', level(131))
    await json.waitForUpdate('wl-hydro-station', (d) => d.lastReading?.fields['waterLevelCm'] === 131)
    json.close()
    // a fresh JSON snapshot after the reading, to compare with
    const reference = p.browser(city)
    const objects = await reference.waitForSnapshots(1)
    const columns: SnapshotColumns[] = []
    const plain: unknown[] = []
    const s = io(p.url, { path: '/socket.io', transports: ['websocket'], auth: { view: city, snapshot: 'columns' } })
    s.on('snapshotColumns', (c: SnapshotColumns) => columns.push(c))
    s.on('snapshot', (d: unknown) => plain.push(d))
    try {
      const first = await waitFor(() => columns[0], { what: 'the columnar snapshot of the handshake view' })
      const devices = decodeSnapshot(first)
      const readings = decodeReadings(first)
      const whole = devices.map((d, i) => ({ ...d, lastReading: readings[i] }))
      expect(whole).toEqual(objects)
      // what the map's first draw needs is there before the readings are read
      const gaugeThen = objects.find((d) => d.deviceId === 'wl-hydro-station')!
      expect(devices.find((d) => d.deviceId === 'wl-hydro-station')).toEqual({ ...gaugeThen, lat: 10.3515, lon: 106.3645, lastReading: null })
      expect(whole.find((d) => d.deviceId === 'wl-hydro-station')?.lastReading).toMatchObject({ fields: { waterLevelCm: 131 } })
      // a later view keeps the format the handshake chose
      expect(await s.emitWithAck('view', rachMieu)).toEqual({ ok: true, devices: 3 })
      expect(
        decodeSnapshot(columns[1]!)
          .map((d) => d.deviceId)
          .sort(),
      ).toEqual(['tc-ql60-rach-mieu-north', 'tc-rach-mieu-span1', 'tc-rach-mieu-span2'])
      expect(plain).toEqual([])
    } finally {
      s.close()
      reference.close()
    }
  })

  it('serves a handshake with a bad view without a snapshot, until a good view event', async () => {
    const snapshots: LiveDeviceState[][] = []
    const s = io(p.url, { path: '/socket.io', transports: ['websocket'], auth: { view: { bbox: [106.3, 10.3], zoom: 13 } } })
    s.on('snapshot', (d: LiveDeviceState[]) => snapshots.push(d))
    try {
      await waitFor(() => s.connected, { what: 'the connection' })
      expect(await s.emitWithAck('view', rachMieu)).toEqual({ ok: true, devices: 3 })
      // the bad handshake view sent nothing: the only snapshot is the view event's
      expect(snapshots).toHaveLength(1)
    } finally {
      s.close()
    }
  })

  it('answers a bad view with an error ack and keeps serving', async () => {
    const b = p.browser(city)
    await b.waitForSnapshots(1)
    const bad = await b.socket.emitWithAck('view', { bbox: [106.3, 10.3, 106.4], zoom: 99, kinds: ['tram'] } as unknown as ViewSubscription)
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.error).toMatchInlineSnapshot(`
      "✖ Too small: expected array to have >=4 items
        → at bbox
      ✖ Too big: expected number to be <=22
        → at zoom
      ✖ Invalid option: expected one of "traffic"|"water_level"|"rain"|"salinity"|"air_quality"
        → at kinds[0]"
    `)
    const good = await b.socket.emitWithAck('view', rachMieu)
    expect(good).toEqual({ ok: true, devices: 3 })
    expect(b.snapshots.at(-1)).toHaveLength(3)
    const ready = await fetch(`${p.url}/api/v1/ready`)
    // the ingest's retained health comes with the feed's subscription
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      storage: 'ok',
      feed: 'connected',
      hydrated: true,
      pipeline: { service: 'ingest', status: 'ok' },
    })
  })
})
