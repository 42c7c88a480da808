import { describe, expect, it } from 'vitest'
import { CITY_BOUNDS } from '@mytho/schema/city'
import { estimateView } from './early-view.ts'

describe('the view the entry sends before Leaflet is loaded', () => {
  it('is the map’s size around the link’s position, padded by one view on every side', () => {
    const v = estimateView('#lat=10.35500&lon=106.36000&z=14', 1046, 720)!
    // 1,046 px at zoom 14 = 1046 / (256 · 2^14) of 360°; three views wide once padded
    const width = (1046 / (256 * 2 ** 14)) * 360
    expect(v.bbox[2] - v.bbox[0]).toBeCloseTo(3 * width, 6)
    expect((v.bbox[0] + v.bbox[2]) / 2).toBeCloseTo(106.36, 6)
    // Mercator: a little less than 720 px of latitude at 10° N is still close to the same scale
    expect(v.bbox[3] - v.bbox[1]).toBeGreaterThan(3 * (720 / (256 * 2 ** 14)) * 360 * 0.98)
    expect(v.bbox[1]).toBeLessThan(10.355)
    expect(v.bbox[3]).toBeGreaterThan(10.355)
    expect(v.zoom).toBe(14)
  })

  it('rounds and bounds the zoom as the map does, and takes zoom 14 for a position without one', () => {
    expect(estimateView('#lat=10.355&lon=106.36&z=3', 800, 600)!.zoom).toBe(10)
    expect(estimateView('#lat=10.355&lon=106.36&z=15.6', 800, 600)!.zoom).toBe(16)
    expect(estimateView('#lat=10.355&lon=106.36', 800, 600)!.zoom).toBe(14)
  })

  it('frames the city box (padded by itself) without a position, or with a bad one', () => {
    const b = CITY_BOUNDS
    const city = [b.west - (b.east - b.west), b.south - (b.north - b.south), b.east + (b.east - b.west), b.north + (b.north - b.south)]
    for (const hash of ['', '#z=13', '#lat=95&lon=106.36', '#d=wl-hydro-station']) {
      const v = estimateView(hash, 1046, 720)!
      for (const [i, x] of v.bbox.entries()) expect(x).toBeCloseTo(city[i]!, 9)
    }
    // 0.16° × 0.12° fit whole in a 1,046 × 720 px map at zoom 13, not at 14
    expect(estimateView('', 1046, 720)!.zoom).toBe(13)
  })

  it('leaves filtered links and a map without size to the map’s own code', () => {
    expect(estimateView('#lat=10.355&lon=106.36&z=14&k=traffic', 1046, 720)).toBeUndefined()
    expect(estimateView('#w=my-tho', 1046, 720)).toBeUndefined()
    expect(estimateView('#lat=10.355&lon=106.36&z=14', 0, 720)).toBeUndefined()
  })
})
