import { describe, expect, it } from 'vitest'
import { waitFor } from '@mytho/testing'
import { deviceKinds, deviceStatuses, wards, type BBox, type DeviceStatus, type LiveDeviceState } from '@mytho/schema'
import type { FirstViewClusters } from '@mytho/schema/first-view'
import { createFirstViewIndex, type FirstViewSource } from './first-view-clusters.ts'

/** A fleet in memory that tells its listeners what changed, as LiveState does. */
function fleet(n: number) {
  let seed = 7
  const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647
  const devices: LiveDeviceState[] = Array.from({ length: n }, (_, i) => ({
    deviceId: `d${i}`,
    kind: deviceKinds[i % deviceKinds.length]!,
    ward: wards[i % wards.length]!,
    lat: 10.3 + r() * 0.12,
    lon: 106.3 + r() * 0.15,
    status: deviceStatuses[Math.floor(r() * 5)]!,
    lastSeen: null,
    connection: null,
    lastReading: null,
  }))
  const rowOf = new Map(devices.map((d, i) => [d.deviceId, i]))
  const listeners = new Set<(ids: Iterable<string>) => void>()
  const source: FirstViewSource = {
    all: () => devices,
    get: (id) => devices[rowOf.get(id) ?? -1],
    onChange: (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
  }
  const set = (i: number, change: Partial<LiveDeviceState>) => {
    devices[i] = { ...devices[i]!, ...change }
    for (const l of listeners) l([devices[i]!.deviceId])
  }
  return { devices, source, set }
}

const rows = (c: FirstViewClusters) =>
  c.id.map((id, r) => ({ lon: c.lon[r], lat: c.lat[r], id, counts: c.counts.slice(5 * r, 5 * r + 5), worst: deviceStatuses[c.worst[r]!] }))
const city: BBox = [106.2, 10.2, 106.5, 10.5]

describe('first view index', () => {
  it('corrects the statuses changed since its build: the same rows as a fresh build', () => {
    const f = fleet(2000)
    // no background build in this test: every answer after the first is a correction
    const idx = createFirstViewIndex(f.source, { minRebuildMs: 1e9 })
    idx.warm()
    const statuses: DeviceStatus[] = ['alarm', 'ok', 'warning', 'offline']
    for (let k = 0; k < 300; k++) f.set((k * 37) % 2000, { status: statuses[k % 4]! })
    for (const zoom of [11, 13, 15, 18]) {
      const fresh = createFirstViewIndex(f.source)
      expect(rows(idx.clusters(city, zoom))).toEqual(rows(fresh.clusters(city, zoom)))
      fresh.stop()
    }
    expect(idx.stats.builds).toBe(1)
    expect(idx.stats.corrected).toBeGreaterThan(0)
    idx.stop()
  })

  it('builds on the answer when a device moved since the build (a correction cannot place it)', () => {
    const f = fleet(500)
    const idx = createFirstViewIndex(f.source, { minRebuildMs: 1e9 })
    idx.warm()
    f.set(3, { lat: 10.31, lon: 106.31, status: 'alarm' })
    const fresh = createFirstViewIndex(f.source)
    expect(rows(idx.clusters(city, 13))).toEqual(rows(fresh.clusters(city, 13)))
    expect(idx.stats.buildsOnAnswer).toBe(1)
    fresh.stop()
    idx.stop()
  })

  it('rebuilds in the background once asked and the state changed, not on the answer', async () => {
    const f = fleet(500)
    const idx = createFirstViewIndex(f.source, { minRebuildMs: 20 })
    idx.warm()
    idx.clusters(city, 13)
    f.set(1, { status: 'alarm' })
    await waitFor(() => idx.stats.builds === 2, { what: 'a background build' })
    idx.stop()
    // stopped: changes no longer schedule builds (waited for longer than the throttle would)
    f.set(2, { status: 'alarm' })
    await new Promise((r) => setTimeout(r, Math.max(20, 10 * idx.stats.lastBuildMs) + 50))
    expect(idx.stats.builds).toBe(2)
    expect(idx.stats.buildsOnAnswer).toBe(0)
  })
})
