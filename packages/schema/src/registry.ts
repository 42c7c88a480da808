import { z } from 'zod'
import { DeviceKind, Ward } from './kinds.ts'
import { DEVICE_ID_PATTERN } from './topics.ts'
import { CITY_BOUNDS } from './city.ts'

export { CITY_BOUNDS }

export const DeviceRecord = z
  .strictObject({
    id: z.string().regex(DEVICE_ID_PATTERN, 'lower-case letters, digits and dashes, 3–64 characters, not starting with mytho- or svc-'),
    kind: DeviceKind,
    /** Vietnamese name first: it is what operators read. */
    nameVi: z.string().min(1),
    nameEn: z.string().min(1),
    lat: z.number().min(CITY_BOUNDS.south).max(CITY_BOUNDS.north),
    lon: z.number().min(CITY_BOUNDS.west).max(CITY_BOUNDS.east),
    ward: Ward,
    /** Nominal seconds between readings; "silent" alerts are multiples of it. */
    intervalS: z.number().int().min(1).max(86_400),
    batteryPowered: z.boolean(),
    /** Water-level gauges: on the Tiền River or on a canal (Bảo Định). */
    waterBody: z.enum(['river', 'canal']).optional(),
    /** Traffic counters: the road segment alerts group by. */
    road: z.string().optional(),
    /** A gateway device allowed to publish this device's readings. */
    gatewayId: z.string().regex(DEVICE_ID_PATTERN).optional(),
    /** Confidence of the coordinates as in the facts sheet (A dataset, B single source, C estimate). */
    locationConfidence: z.enum(['A', 'B', 'C']),
    /** false: left out of the open-data export (issue #22); absent or true: published. Agency keys still read it. */
    public: z.boolean().optional(),
  })
  .refine((d) => (d.kind === 'water_level') === (d.waterBody !== undefined), {
    message: 'waterBody is required for water_level gauges and only for them',
    path: ['waterBody'],
  })
export type DeviceRecord = z.infer<typeof DeviceRecord>

/** Where an admin places (moves) a provisioned device: the map follows within seconds (registry-follow.ts). */
export const DevicePlacement = z.strictObject({
  lat: DeviceRecord.shape.lat,
  lon: DeviceRecord.shape.lon,
  /** The ward it is in now; unchanged when left out. */
  ward: Ward.optional(),
})
export type DevicePlacement = z.infer<typeof DevicePlacement>

/** POST /admin/devices/{id}/public: whether the open-data export publishes the device's readings. */
export const DevicePublicRequest = z.strictObject({ public: z.boolean() })

export const DeviceRegistryFile = z
  .array(DeviceRecord)
  .min(1)
  .superRefine((devices, ctx) => {
    const seen = new Set<string>()
    devices.forEach((d, i) => {
      if (seen.has(d.id)) ctx.addIssue({ code: 'custom', message: `duplicate device id ${d.id}`, path: [i, 'id'] })
      seen.add(d.id)
    })
    const ids = new Set(devices.map((d) => d.id))
    devices.forEach((d, i) => {
      if (d.gatewayId !== undefined && !ids.has(d.gatewayId))
        ctx.addIssue({ code: 'custom', message: `gatewayId ${d.gatewayId} is not a device in the registry`, path: [i, 'gatewayId'] })
    })
  })

export class RegistryError extends Error {
  override name = 'RegistryError'
}

/** Validates a registry document; the error names the entry and field that is wrong. */
export function parseRegistry(json: unknown, source = 'registry'): DeviceRecord[] {
  const result = DeviceRegistryFile.safeParse(json)
  if (!result.success) throw new RegistryError(`${source} is invalid:\n${z.prettifyError(result.error)}`, { cause: result.error })
  return result.data
}

/** A record's fields are all primitives: a shallow compare says whether it changed (cheaper than JSON at 5,000 devices). */
function sameRecord(a: DeviceRecord, b: DeviceRecord): boolean {
  const keys = Object.keys(a) as (keyof DeviceRecord)[]
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((k) => a[k] === b[k])
}

/** Lookup by id, built once; the hot path of ingest asks it for every message. */
export class DeviceRegistry {
  readonly #byId: Map<string, DeviceRecord>
  readonly #devices: DeviceRecord[]
  readonly #lookup: ((id: string) => DeviceRecord | undefined) | undefined
  readonly #misses = new Map<string, number>()
  readonly #listeners = new Set<(ids: readonly string[]) => void>()

  /**
   * `lookup` is asked for ids not known at start (a device an admin provisioned since), so a running ingest
   * accepts a new device's first reading instead of dead-lettering it as unknown; a miss is not asked again
   * for 30 s, so an unknown id cannot turn every message into a database read.
   */
  constructor(devices: readonly DeviceRecord[], lookup?: (id: string) => DeviceRecord | undefined) {
    this.#devices = [...devices]
    this.#byId = new Map(devices.map((d) => [d.id, d]))
    this.#lookup = lookup
  }
  get(id: string): DeviceRecord | undefined {
    const known = this.#byId.get(id)
    if (known || !this.#lookup) return known
    const missedAt = this.#misses.get(id)
    if (missedAt !== undefined && Date.now() - missedAt < 30_000) return undefined
    const found = this.#lookup(id)
    if (!found) {
      if (this.#misses.size > 10_000) this.#misses.clear()
      this.#misses.set(id, Date.now())
      return undefined
    }
    this.#byId.set(id, found)
    this.#devices.push(found)
    return found
  }
  /**
   * Makes `devices` the known set, as the metadata store has it now (registry-follow.ts re-reads it): new ids join,
   * a moved or renamed device's record is replaced, an id no longer listed (a disabled device) is forgotten, so its
   * readings are refused. Listeners hear the ids that changed; returns them.
   */
  replace(devices: readonly DeviceRecord[]): string[] {
    const next = new Map(devices.map((d) => [d.id, d]))
    const changed: string[] = []
    for (const [id, d] of next) {
      const before = this.#byId.get(id)
      if (!before || !sameRecord(before, d)) changed.push(id)
    }
    for (const id of this.#byId.keys()) if (!next.has(id)) changed.push(id)
    if (changed.length === 0) return changed
    this.#byId.clear()
    for (const [id, d] of next) this.#byId.set(id, d)
    this.#devices.splice(0, this.#devices.length, ...next.values())
    for (const id of changed) this.#misses.delete(id)
    for (const l of this.#listeners) l(changed)
    return changed
  }
  /** Called with the ids `replace` added, changed or forgot. */
  onChange(listener: (ids: readonly string[]) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
  /** Every device known so far (those found by `lookup` included). */
  get devices(): readonly DeviceRecord[] {
    return this.#devices
  }
  get size(): number {
    return this.#byId.size
  }
}
