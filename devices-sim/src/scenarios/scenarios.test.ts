import { describe, expect, it } from 'vitest'
import { type DeviceReading, WATER_LEVEL_ALARMS_CM, loadRegistryFile } from '@mytho/schema'
import { initialState, nextReading } from '../generators/index.ts'
import { localHour } from '../generators/time.ts'
import { KING_TIDE_DURATION_MS, KING_TIDE_START_MS, kingTide } from './king-tide.ts'
import { realOffset } from './timeline.ts'
import { CONGESTED_KMH, RUSH_HOUR_JAMS, RUSH_HOUR_START_MS, rushHour } from './rush-hour.ts'

const fleet = loadRegistryFile().devices
const MIN = 60_000

describe('king-tide', () => {
  for (const seed of [1, 42]) {
    it(`crosses each declared alarm level by the declared time, and not long before it (seed ${seed})`, () => {
      const sc = kingTide({ seed, fleet })
      const gauges = fleet.filter((d) => d.kind === 'water_level')
      // Every river station reaches BĐ I, II and III on the afternoon of 7 Oct, in that order.
      for (const d of gauges.filter((g) => g.waterBody === 'river')) {
        const mine = sc.expectations.filter((e) => e.deviceId === d.id)
        expect(
          mine.map((e) => e.level),
          d.id,
        ).toEqual(['BĐ I', 'BĐ II', 'BĐ III'])
        for (const e of mine) {
          expect(e.by - e.notBefore, `${d.id} ${e.level} window`).toBeLessThanOrEqual(26 * 3_600_000)
          expect(localHour(e.by)).toBeGreaterThanOrEqual(14)
          expect(localHour(e.by)).toBeLessThan(19)
        }
      }
      // Canal gauges follow the river later, damped: the mouth reaches BĐ I after the river has.
      const first = (id: string, level: string) => sc.expectations.find((e) => e.deviceId === id && e.level === level)?.by ?? Infinity
      expect(first('wl-bao-dinh-mouth', 'BĐ I')).toBeGreaterThan(first('wl-hydro-station', 'BĐ I'))

      // The readings the simulator sends (noise included, the scenario's surge applied), minute by minute.
      for (const e of sc.expectations) {
        const d = gauges.find((g) => g.id === e.deviceId)!
        const at = (t: number) =>
          (sc.adjust!(d, t, nextReading(d, t, initialState(seed)).reading) as Extract<DeviceReading, { kind: 'water_level' }>).waterLevelCm
        expect(at(e.by), `${e.deviceId} ${e.level} at by`).toBeGreaterThanOrEqual(e.min)
        // The first reading at or above the threshold falls inside the declared window.
        let firstCross = Infinity
        for (let t = KING_TIDE_START_MS; t <= e.by; t += MIN)
          if (at(t) >= e.min) {
            firstCross = t
            break
          }
        expect(firstCross, `${e.deviceId} ${e.level}`).toBeGreaterThanOrEqual(e.notBefore)
        expect(firstCross, `${e.deviceId} ${e.level}`).toBeLessThanOrEqual(e.by)
        expect(e.realOffsetMs).toBe(realOffset(KING_TIDE_START_MS, e.by, sc.speed, sc.pace))
      }
      // Nothing is declared that the story does not reach: the highest step is BĐ III.
      expect(new Set(sc.expectations.map((e) => e.min))).toEqual(new Set(WATER_LEVEL_ALARMS_CM.map((s) => s.min)))
      expect(Math.max(...sc.expectations.map((e) => e.by))).toBeLessThanOrEqual(KING_TIDE_START_MS + KING_TIDE_DURATION_MS)
    })
  }
})

describe("king-tide incidents (paced for the rules' holds on wall time)", () => {
  for (const seed of [1, 42]) {
    it(`declares BĐ I → II → III on every river station within 10 minutes, and their clearing (seed ${seed})`, () => {
      const sc = kingTide({ seed, fleet })
      const rivers = fleet.filter((d) => d.kind === 'water_level' && d.waterBody === 'river').map((d) => d.id)
      for (const id of rivers) {
        const mine = sc.incidents.filter((i) => i.subject === id)
        expect(mine.map((i) => ({ ruleId: i.ruleId, levels: i.levels, inTime: i.byRealMs <= 10 * 60_000 }))).toEqual([
          { ruleId: 'flood', levels: [1, 2, 3], inTime: true },
        ])
        expect(mine[0]!.clearedByRealMs).toBeGreaterThan(mine[0]!.byRealMs + 15 * 60_000)
      }
      // A speed given by hand is one speed throughout: the pacing (and so the promise) is for the scenario's own.
      expect(kingTide({ seed, fleet, speed: 720 }).pace).toEqual([])
    })
  }
})

describe('rush-hour', () => {
  it('declares morning and evening congestion on QL1, QL60 and Rạch Miễu, and every reading in those windows is below the speed', () => {
    const seed = 1
    const sc = rushHour({ seed, fleet })
    const roads = new Set(sc.expectations.map((e) => e.road))
    expect(roads).toEqual(new Set(['QL1', 'QL60', 'QL60-rach-mieu']))
    for (const e of sc.expectations) {
      const h = localHour(e.from)
      expect(h < 9 ? 'morning' : h > 15 ? 'evening' : 'midday', e.deviceId).not.toBe('midday')
      const d = fleet.find((x) => x.id === e.deviceId)!
      let state = initialState(seed)
      for (let t = e.from; t <= e.to; t += MIN) {
        const next = nextReading(d, t, { ...state, lastT: t - MIN })
        state = next.state
        const r = next.reading as Extract<DeviceReading, { kind: 'traffic' }>
        expect(r.avgSpeedKmh, `${e.deviceId} ${e.fromLocal}`).toBeLessThan(CONGESTED_KMH)
      }
      // Quiet at 05:00: free-flowing and the detector mostly empty.
      const night = nextReading(d, RUSH_HOUR_START_MS, { ...initialState(seed), lastT: RUSH_HOUR_START_MS - MIN }).reading as Extract<
        DeviceReading,
        { kind: 'traffic' }
      >
      const peak = nextReading(d, (e.from + e.to) / 2, { ...initialState(seed), lastT: (e.from + e.to) / 2 - MIN }).reading as Extract<
        DeviceReading,
        { kind: 'traffic' }
      >
      expect(night.avgSpeedKmh).toBeGreaterThan(CONGESTED_KMH * 1.5)
      expect(peak.occupancyPct).toBeGreaterThan(night.occupancyPct)
      expect(peak.motorbikeCount!).toBeGreaterThan(peak.vehicleCount / 2)
    }
  })
})

describe('rush-hour jams', () => {
  for (const seed of [1, 7]) {
    it(`queues the bridge below 10 km/h and Trung Lương below 15 at the jams' depth, leaves others alone (seed ${seed})`, () => {
      const sc = rushHour({ seed, fleet })
      const at = (id: string, t: number) => {
        const d = fleet.find((x) => x.id === id)!
        const plain = nextReading(d, t, { ...initialState(seed), lastT: t - MIN }).reading as Extract<DeviceReading, { kind: 'traffic' }>
        return { plain, jammed: sc.adjust!(d, t, plain) as Extract<DeviceReading, { kind: 'traffic' }> }
      }
      const [bridge, ql1] = RUSH_HOUR_JAMS
      const mid = (j: typeof bridge) => (j!.fromMs + j!.toMs) / 2
      for (const id of bridge!.devices) {
        const { plain, jammed } = at(id, mid(bridge))
        expect(jammed.avgSpeedKmh, id).toBeLessThan(10)
        // A queue over the detector: fewer vehicles pass, each covers it longer.
        expect(jammed.vehicleCount).toBeLessThanOrEqual(plain.vehicleCount)
        expect(jammed.occupancyPct).toBeGreaterThan(plain.occupancyPct)
      }
      expect(at(ql1!.devices[0]!, mid(ql1)).jammed.avgSpeedKmh).toBeLessThan(15)
      // Before the truck and on other roads, the reading is the model's.
      const before = at(bridge!.devices[0]!, bridge!.fromMs - 10 * MIN)
      expect(before.jammed).toEqual(before.plain)
      const elsewhere = at('tc-ql1-trung-an', mid(ql1))
      expect(elsewhere.jammed).toEqual(elsewhere.plain)
      expect(sc.incidents.map((i) => i.subject)).toEqual(['QL60-rach-mieu', 'QL1'])
    })
  }
})
