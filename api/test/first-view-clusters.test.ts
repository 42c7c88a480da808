import Supercluster from 'supercluster'
import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CITY_BOUNDS, deviceKinds, deviceStatuses, type LiveDeviceState, type ViewSubscription } from '@mytho/schema'
import { CLUSTER_OPTIONS, type FirstViewClusters } from '@mytho/schema/first-view'
import { decodeSnapshot, type SnapshotColumns } from '@mytho/schema/live-snapshot'
import { waitFor } from '@mytho/testing'
import { startLivePlatform, type LivePlatform } from './live-harness.ts'

/*
 * The first view's clusters (issue #4): the API sends, as a `firstView` event just before the handshake view's first
 * columnar snapshot, what that view shows at its zoom. They must be what the map's own index gives for the same devices (web/src/cluster-layer.ts
 * builds it from the snapshot, in its order, with the same options), every device under its status at the answer.
 */
const city: ViewSubscription = { bbox: [CITY_BOUNDS.west, CITY_BOUNDS.south, CITY_BOUNDS.east, CITY_BOUNDS.north], zoom: 13 }
const level = (cm: number) => ({ kind: 'water_level', ts: Date.now(), waterLevelCm: cm })

interface Row {
  lon: number
  lat: number
  id: string | null
  counts: number[]
}

/** The map's index over a snapshot's devices, as cluster-layer.ts builds it, read as rows. */
function browserRows(devices: readonly LiveDeviceState[], v: ViewSubscription): Row[] {
  const sc = new Supercluster<{ id: string; s: number }, { c: number[] }>({
    ...CLUSTER_OPTIONS,
    map: (p) => ({ c: deviceStatuses.map((_, k) => (k === p.s ? 1 : 0)) }),
    reduce: (acc, p) => {
      acc.c = acc.c.map((n, k) => n + p.c[k]!)
    },
  })
  sc.load(
    devices.map((d) => ({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [d.lon, d.lat] },
      properties: { id: d.deviceId, s: deviceStatuses.indexOf(d.status) },
    })),
  )
  return sc.getClusters(v.bbox, v.zoom).map((f) => {
    const [lon, lat] = f.geometry.coordinates as [number, number]
    const p = f.properties as { cluster?: boolean; c?: number[]; id?: string; s?: number }
    return p.cluster ? { lon, lat, id: null, counts: p.c! } : { lon, lat, id: p.id!, counts: deviceStatuses.map((_, k) => (k === p.s ? 1 : 0)) }
  })
}

const serverRows = (c: FirstViewClusters): Row[] => c.id.map((id, r) => ({ lon: c.lon[r]!, lat: c.lat[r]!, id, counts: c.counts.slice(5 * r, 5 * r + 5) }))
const byPosition = (rows: Row[]) => [...rows].sort((a, b) => a.lon - b.lon || a.lat - b.lat)
const total = (c: FirstViewClusters, status: string) => {
  const k = deviceStatuses.indexOf(status as (typeof deviceStatuses)[number])
  return c.id.reduce((n, _, r) => n + c.counts[5 * r + k]!, 0)
}

describe('first view clusters: the API clusters the handshake view', () => {
  let p: LivePlatform
  const sockets: Socket[] = []
  beforeAll(async () => {
    p = await startLivePlatform()
  })
  afterAll(async () => {
    for (const s of sockets) s.close()
    await p?.stop()
  })

  /** A map's handshake: the view, columns, clusters; resolves with its first snapshot and the firstView that came before it. */
  const open = (auth: unknown): { socket: Socket; first: Promise<SnapshotColumns & { firstView?: FirstViewClusters | undefined }> } => {
    const s = io(p.url, { path: '/socket.io', transports: ['websocket'], auth: auth as Record<string, unknown> })
    sockets.push(s)
    const views: FirstViewClusters[] = []
    const got: (SnapshotColumns & { firstView?: FirstViewClusters | undefined })[] = []
    s.on('firstView', (c: FirstViewClusters) => views.push(c))
    s.on('snapshotColumns', (c: SnapshotColumns) => got.push({ ...c, firstView: views.shift() }))
    return { socket: s, first: waitFor(() => got[0], { what: 'the first columnar snapshot' }) }
  }

  it('equals what the map index gives for the same view, every device under its status', async () => {
    const gauge = await p.device('wl-hydro-station')
    await p.publish(gauge, 'wl-hydro-station', level(152.5))
    await waitFor(() => p.api.state.get('wl-hydro-station')?.status === 'warning', { what: 'the gauge in warning' })
    for (const v of [city, { ...city, zoom: 10 }, { bbox: [106.3, 10.3, 106.45, 10.42], zoom: 15 } satisfies ViewSubscription]) {
      const snap = await open({ view: v, snapshot: 'columns', clusters: true }).first
      // their own event, before the snapshot, which carries none
      const clusters = snap.firstView!
      expect((snap as object as Record<string, unknown>)['clusters']).toBeUndefined()
      expect(clusters.zoom).toBe(v.zoom)
      const devices = decodeSnapshot(snap)
      // a single device's icon is drawn from its row: its kind is there
      const kindOf = new Map(devices.map((d) => [d.deviceId, d.kind]))
      expect(clusters.id.map((id, r) => (id === null ? clusters.kind[r] === -1 : deviceKinds[clusters.kind[r]!] === kindOf.get(id)))).not.toContain(false)
      expect(byPosition(serverRows(clusters))).toEqual(byPosition(browserRows(devices, v)))
      // every device of the snapshot in one row, under its status; the worst status is each row's colour
      for (const st of deviceStatuses) expect(total(clusters, st)).toBe(devices.filter((d) => d.status === st).length)
      expect(clusters.worst.map((w) => deviceStatuses[w])).toContain('warning')
    }
  })

  it('counts a status changed after the index was built under its new status', async () => {
    const fv = p.api.push!.firstView
    // after a build, nothing pending: the next answer is a correction of this build
    await waitFor(() => fv.stats.builds > 0, { what: 'the index built at start' })
    const builds = fv.stats.builds
    const gauge = await p.device('wl-bao-dinh-mouth')
    await p.publish(gauge, 'wl-bao-dinh-mouth', level(171))
    await waitFor(() => p.api.state.get('wl-bao-dinh-mouth')?.status === 'alarm', { what: 'the gauge in alarm' })
    const snap = await open({ view: city, snapshot: 'columns', clusters: true }).first
    const devices = decodeSnapshot(snap)
    expect(devices.find((d) => d.deviceId === 'wl-bao-dinh-mouth')?.status).toBe('alarm')
    expect(total(snap.firstView!, 'alarm')).toBe(devices.filter((d) => d.status === 'alarm').length)
    expect(byPosition(serverRows(snap.firstView!))).toEqual(byPosition(browserRows(devices, city)))
    // from the index built before the change, corrected, or from a background build since: never built on the answer
    expect(fv.stats.builds === builds ? fv.stats.corrected : fv.stats.builds).toBeGreaterThan(0)
    expect(fv.stats.buildsOnAnswer).toBe(0)
  })

  it('sends no clusters to a handshake that did not ask, filters its view, or wants JSON', async () => {
    const plain = await open({ view: city, snapshot: 'columns' }).first
    expect(plain.firstView).toBeUndefined()
    const filtered = await open({ view: { ...city, kinds: ['water_level'] }, snapshot: 'columns', clusters: true }).first
    expect(filtered.firstView).toBeUndefined()
    const json = io(p.url, { path: '/socket.io', transports: ['websocket'], auth: { view: city, clusters: true } })
    sockets.push(json)
    const objects: LiveDeviceState[][] = []
    json.on('snapshot', (d: LiveDeviceState[]) => objects.push(d))
    expect((await waitFor(() => objects[0], { what: 'the JSON snapshot' })).length).toBe(p.registry.size)
  })

  it('refuses a bad handshake view without crashing, and keeps serving', async () => {
    const bad = [
      { view: { bbox: [106.3, 10.3], zoom: 13 }, snapshot: 'columns', clusters: true },
      { view: { ...city, zoom: 'x' }, snapshot: 'columns', clusters: true },
      { view: { ...city, zoom: 1e9 }, snapshot: 'columns', clusters: true },
      { view: city, snapshot: 'columns', clusters: 'yes' },
      { view: { bbox: [-1e308, 10, 1e308, 11], zoom: 13 }, snapshot: 'columns', clusters: true },
    ]
    const before = p.api.push!.stats.badViews
    for (const auth of bad) {
      const { socket } = open(auth)
      await waitFor(() => socket.connected, { what: 'the connection' })
    }
    await waitFor(() => p.api.push!.stats.badViews === before + bad.length, { what: 'every bad handshake counted' })
    // odd but valid views are answered: a box across the antimeridian, the highest zoom, a fractional zoom
    for (const v of [
      { bbox: [170, -90, -170, 90], zoom: 22 },
      { bbox: [-180, -90, 180, 90], zoom: 0 },
      { bbox: [106.3, 10.3, 106.45, 10.42], zoom: 12.6 },
    ] satisfies ViewSubscription[]) {
      const snap = await open({ view: v, snapshot: 'columns', clusters: true }).first
      expect(snap.firstView!.zoom).toBe(Math.min(CLUSTER_OPTIONS.maxZoom + 1, Math.round(v.zoom)))
      expect(snap.firstView!.id.length * 5).toBe(snap.firstView!.counts.length)
    }
    expect(p.api.push!.stats.firstViewErrors).toBe(0)
    const ready = await fetch(`${p.url}/api/v1/ready`)
    expect(ready.status).toBe(200)
  })
})
