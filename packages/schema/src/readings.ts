import { z } from 'zod'
import { metricsByKind, metricUnits } from './lists.ts'

/*
 * What a device sends, one branch per kind, units in the field names.
 * Ranges are physical limits of the quantity at Mỹ Tho with sensor head-room, not alarm levels:
 * a value outside them is a broken sensor or a bad encoder, never weather.
 * Sources: ../shared/data/mytho-facts.md (§2 water and rain, §3 traffic, §4 salinity and PM2.5).
 */

/** ms since epoch; 2020-01-01 .. 2100-01-01 so seconds-instead-of-ms mistakes are rejected, not stored in 1970. */
export const EpochMs = z.number().int().min(1_577_836_800_000).max(4_102_444_800_000)

const common = {
  /** Device clock, ms since epoch (UTC). Optional: the broker's receive time is used and recorded when absent. */
  ts: EpochMs.optional(),
  /** Device sequence number, lets an operator see gaps. */
  seq: z
    .number()
    .int()
    .min(0)
    .max(2 ** 53 - 1)
    .optional(),
  /** Battery voltage where battery powered (a 12 V lead-acid pack at most reads ~14.8 V on charge). */
  batteryV: z.number().min(0).max(16).optional(),
}

export const TrafficReading = z.strictObject({
  kind: z.literal('traffic'),
  ...common,
  /** Length of the counting interval the counts cover, seconds. */
  intervalS: z.number().int().min(1).max(3600),
  /** Vehicles in the interval, all classes (QL1 peaks ~50/min/lane, §3). */
  vehicleCount: z.number().int().min(0).max(20_000),
  motorbikeCount: z.number().int().min(0).max(20_000).optional(),
  carCount: z.number().int().min(0).max(20_000).optional(),
  truckBusCount: z.number().int().min(0).max(20_000).optional(),
  /** Mean speed, km/h; 0 in a standstill jam (Rạch Miễu, Tết 2024, §3). */
  avgSpeedKmh: z.number().min(0).max(200),
  /** Share of time the detector is occupied, percent. */
  occupancyPct: z.number().min(0).max(100),
})

export const WaterLevelReading = z.strictObject({
  kind: z.literal('water_level'),
  ...common,
  /** Level on the national datum (Hòn Dấu), cm. Mỹ Tho BĐ III = 160 cm; record nearby 217 cm (§2). */
  waterLevelCm: z.number().min(-400).max(600),
})

export const RainReading = z.strictObject({
  kind: z.literal('rain'),
  ...common,
  /** Rain in the reporting interval, mm. */
  rainMm: z.number().min(0).max(500),
  /** Current intensity, mm/h; bursts of 30–80 mm/h, rarely > 100 (§2). */
  rainRateMmH: z.number().min(0).max(400).optional(),
})

export const SalinityReading = z.strictObject({
  kind: z.literal('salinity'),
  ...common,
  /** Salinity, g/L; 6.82 g/L peak at Mỹ Tho in Mar 2024, sea water ~35 (§4). */
  salinityGL: z.number().min(0).max(45),
  waterTempC: z.number().min(0).max(45).optional(),
})

export const AirQualityReading = z.strictObject({
  kind: z.literal('air_quality'),
  ...common,
  /** PM2.5, µg/m³; HCMC daily 10–111, QCVN 05 24-h limit 50 (§4). */
  pm25UgM3: z.number().min(0).max(1000),
  pm10UgM3: z.number().min(0).max(2000).optional(),
  tempC: z.number().min(-10).max(60).optional(),
  humidityPct: z.number().min(0).max(100).optional(),
})

export const DeviceReading = z.discriminatedUnion('kind', [TrafficReading, WaterLevelReading, RainReading, SalinityReading, AirQualityReading])
export type DeviceReading = z.infer<typeof DeviceReading>

/**
 * Envelope keys a published element may carry besides the reading itself. A gateway (or a device
 * flushing its own buffer) may send a JSON array of readings; `deviceId` names the device when a
 * gateway speaks for another one. `rxTs` is stamped by our broker on readings without `ts`, so a
 * redelivered copy keeps the same storage key.
 */
export const ReadingEnvelope = z.object({ deviceId: z.string().optional(), rxTs: EpochMs.optional() })
export type ReadingEnvelope = z.infer<typeof ReadingEnvelope>

export { metricsByKind, metricUnits }
// The kinds of the readings' union and of metricsByKind are the same set, and each kind's list names exactly its
// shape's numeric fields (readings.test.ts checks the same at run time, and that no name is listed twice).
metricsByKind satisfies Record<DeviceReading['kind'], readonly string[]>
type Envelope = 'kind' | 'ts' | 'seq'
type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type MetricsOf<K extends DeviceReading['kind']> = Exclude<keyof Extract<DeviceReading, { kind: K }>, Envelope>
type ListsMatchShapes = { [K in DeviceReading['kind']]: SameSet<(typeof metricsByKind)[K][number], MetricsOf<K>> }[DeviceReading['kind']] extends true
  ? true
  : false
true satisfies ListsMatchShapes

export const allMetrics = [...new Set(Object.values(metricsByKind).flat())] as const
export const Metric = z.enum(allMetrics as unknown as [string, ...string[]])
