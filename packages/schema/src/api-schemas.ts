import { z } from 'zod'
import { deviceNowShape } from './live-events.ts'
import { PipelineHealth } from './pipeline-health.ts'
import { BasemapInfo } from './overlays.ts'
import { DeviceRecord } from './registry.ts'
import { RejectReason } from './rejection.ts'
import { StorageStatus } from './storage-status.ts'
import { AggregationWindow, HISTORY_COMPARE_MAX_DEVICES, HistorySeries } from './stored-reading.ts'

/*
 * REST shapes of the API under /api/v1: query parameters as they arrive (strings, coerced here) and the
 * bodies the API answers with. The API validates with them and generates its OpenAPI document from them,
 * and the map can parse responses with them, so no shape is written twice.
 */

/** Longest metric (field) name: storage refuses longer ones, and the API refuses them at its edge. */
export const METRIC_NAME_MAX_LENGTH = 64

/** A metric or field name: an ASCII identifier of at most METRIC_NAME_MAX_LENGTH characters (storage checks readings with it). */
export const METRIC_NAME_PATTERN = new RegExp(`^[A-Za-z][A-Za-z0-9]{0,${METRIC_NAME_MAX_LENGTH - 1}}$`)

/** Metric names are field names of the device contract (`waterLevelCm`), never free text that reaches a query. */
export const MetricName = z
  .string()
  .max(METRIC_NAME_MAX_LENGTH, { error: `at most ${METRIC_NAME_MAX_LENGTH} characters`, abort: true })
  .regex(METRIC_NAME_PATTERN, 'a metric name such as waterLevelCm')

/** Most devices one history request may name. */
export const HISTORY_MAX_DEVICES = 100

const epochMsParam = z.coerce.number().int().describe('UTC milliseconds since the epoch')

export const DeviceIdPath = z.object({ id: z.string().describe('device id, e.g. wl-hydro-station') })

export const DeviceHistoryParams = z.object({
  metric: MetricName,
  from: epochMsParam.optional().describe('start, inclusive, UTC ms; default `to` minus 24 h'),
  to: epochMsParam.optional().describe('end, exclusive, UTC ms; default now'),
  window: AggregationWindow.default('raw').describe('aggregation window; 1d windows start at local midnight (Asia/Ho_Chi_Minh)'),
})

/** `a,b,c`: at least one device id, at most `max`. */
const deviceIdList = (max: number) =>
  z
    .string()
    .describe(`comma-separated device ids, at most ${max}`)
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    )
    .pipe(z.array(z.string()).min(1, 'at least one device id').max(max, `at most ${max} device ids`))

export const HistoryParams = DeviceHistoryParams.extend({ deviceIds: deviceIdList(HISTORY_MAX_DEVICES) })

/** GET /history.csv: the query of GET /history, at most as many devices as the explorer compares. */
export const HistoryCsvParams = DeviceHistoryParams.extend({
  deviceIds: deviceIdList(HISTORY_COMPARE_MAX_DEVICES),
})

export const DeadLetterParams = z.object({
  deviceId: z.string().optional(),
  code: RejectReason.optional().describe('reject reason'),
  from: epochMsParam.optional().describe('receivedAt from, inclusive, UTC ms'),
  to: epochMsParam.optional().describe('receivedAt to, exclusive, UTC ms'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

/** A registry device with what the platform knows of it now (served from memory, not storage). */
export const DeviceView = z.object({ ...DeviceRecord.shape, ...deviceNowShape })
export type DeviceView = z.infer<typeof DeviceView>

export const DeviceFeatureCollection = z.object({
  type: z.literal('FeatureCollection'),
  features: z.array(
    z.object({
      type: z.literal('Feature'),
      id: z.string(),
      geometry: z.object({ type: z.literal('Point'), coordinates: z.tuple([z.number(), z.number()]).describe('[lon, lat]') }),
      properties: DeviceView.omit({ lat: true, lon: true }),
    }),
  ),
})

export const HistoryResponse = z.array(HistorySeries)

export const HealthResponse = z.object({ status: z.literal('ok'), uptimeS: z.number() })

export const ReadyResponse = z.object({
  status: z.enum(['ready', 'not_ready']),
  storage: z.string().describe('ok, or the error'),
  feed: z.enum(['connected', 'disconnected', 'disabled']),
  hydrated: z.boolean(),
  /** The ingest's last announced pipeline health; null before the first (or without a live feed). Reported, not part of `status`. */
  pipeline: PipelineHealth.nullable(),
  /** What storage could set up of what it was asked (retention, roll-ups) and warnings; null when the store does not say. Reported, not part of `status`. */
  storageStatus: StorageStatus.nullable(),
})
export type ReadyResponse = z.infer<typeof ReadyResponse>

export const ErrorResponse = z.object({ error: z.string(), details: z.unknown().optional() })

/** GET /api/v1/config: runtime settings of the map (the tile server is the city's choice, not the build's). */
export const MapConfigResponse = z.object({
  /** Leaflet tile URL template, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png */
  tileUrl: z.string(),
  /** Attribution the tile source requires, plain text. */
  tileAttribution: z.string(),
  /** The broker as device installers reach it (env MQTT_PUBLIC_URL), for the admin page's mosquitto_pub line; absent: the page's host, port 1883. */
  mqttUrl: z.string().optional(),
  /**
   * The CA certificate devices trust for the broker's TLS (env MQTT_PUBLIC_CA_FILE): where signed-in operators and
   * admins download it and the file name it is saved under, which the admin page's line gives `--cafile`. Absent:
   * the line trusts the system's authorities.
   */
  mqttCa: z.object({ url: z.string(), fileName: z.string() }).optional(),
  /** The basemap from the city's own file (env MAP_BASEMAP_FILE), drawn instead of tileUrl's server: no internet needed. */
  basemap: BasemapInfo.optional(),
})
export type MapConfigResponse = z.infer<typeof MapConfigResponse>
