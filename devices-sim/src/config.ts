import { z } from 'zod'
import { commonEnv, env, parseEnv } from '@mytho/runtime'
import { DEVICE_ID_PATTERN } from '@mytho/schema'
import { FaultMixError, type FaultMix, parseFaultMix } from './faults/kinds.ts'
import { LOCAL_OFFSET_MS } from './generators/time.ts'
import { scenarioNames } from './scenarios/types.ts'

/** Device selection: every device of the registry, or the listed ids. */
export type DeviceSelection = 'all' | readonly string[]

const deviceList = z
  .string()
  .default('all')
  .transform((v, ctx): DeviceSelection => {
    if (v.trim().toLowerCase() === 'all') return 'all'
    const ids = [
      ...new Set(
        v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
    ]
    const bad = ids.filter((id) => !DEVICE_ID_PATTERN.test(id))
    if (ids.length === 0 || bad.length > 0)
      ctx.addIssue({ code: 'custom', message: `expected "all" or a comma list of device ids${bad.length ? `; not ids: ${bad.join(', ')}` : ''}` })
    return ids
  })

/** ISO date-time with offset, or a bare date meaning 00:00 in Mỹ Tho (UTC+7); to ms UTC. */
const simStart = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], {
    message: 'expected an ISO date (2025-10-07) or date-time with offset (2025-10-07T17:00:00+07:00)',
  })
  .transform((v) => (v.length === 10 ? Date.parse(`${v}T00:00:00Z`) - LOCAL_OFFSET_MS : Date.parse(v)))
  .optional()

export const simEnv = commonEnv.extend({
  /** Broker the devices connect to (mqtt://, mqtts://, ws://, wss://). Default mqtt://127.0.0.1:1883. */
  MQTT_URL: z
    .string()
    .regex(/^(mqtts?|tcp|wss?):\/\/[^/]+/, 'expected mqtt://host:port')
    .default('mqtt://127.0.0.1:1883'),
  /** Devices to run: `all` or a comma list of registry ids. Default all. */
  SIM_DEVICES: deviceList,
  /**
   * Time acceleration: simulated seconds per real second. Default 1 (real time); 60 = an hour a
   * minute. Intervals shrink by it and values follow the simulated clock, but every reading's `ts`
   * stays real time, because ingest rejects readings more than 5 minutes in the future.
   */
  SIM_SPEED: z.coerce.number().positive().max(86_400).default(1),
  /** Seed of all generated values (weather, noise); same seed, same readings. Default 1. */
  SIM_SEED: env.int(1, 0, 2 ** 32 - 1),
  /** Where the simulated clock starts (e.g. 2025-10-07 for October spring tides). Default now. */
  SIM_START: simStart,
  /** Device connections opened at a time, so the broker's password hashing is not stampeded. Default 20. */
  SIM_CONNECT_CONCURRENCY: env.int(20, 1, 1000),
  /** Named scenario (docs/simulator.md): city, king-tide, rush-hour, sensor-faults, load. Default city. */
  SIM_SCENARIO: z.enum(scenarioNames).default('city'),
  /** Per-message fault rates, e.g. `not_json=0.01,duplicate=0.02` (faults/kinds.ts); default none (a scenario's own). */
  SIM_FAULTS: z
    .string()
    .optional()
    .transform((v, ctx): FaultMix | undefined => {
      if (v === undefined) return undefined
      try {
        return parseFaultMix(v)
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof FaultMixError ? err.message : String(err) })
        return undefined
      }
    }),
  /** Hours of history published (device timestamps, grid-aligned, idempotent) before live readings start; 0 = none. Default 24. */
  SIM_BACKFILL_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 31)
    .default(24),
  /** Registry file to simulate; default the seed fleet (packages/schema/data/seed-fleet.json). */
  DEVICE_REGISTRY_FILE: z.string().optional(),
})
export type SimConfig = z.infer<typeof simEnv> & {
  /** SIM_SPEED was set; when not, a scenario runs at its own speed. */
  speedExplicit: boolean
}

export const loadSimConfig = (e: Record<string, string | undefined> = process.env): SimConfig => ({
  ...parseEnv(simEnv, e),
  speedExplicit: (e['SIM_SPEED'] ?? '').trim() !== '',
})
