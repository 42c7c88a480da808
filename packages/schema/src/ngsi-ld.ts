import { z } from 'zod'
import { WATER_LEVEL_ALARMS_CM } from './alarm-levels.ts'
import type { DeviceKind } from './kinds.ts'
import type { DeviceRecord } from './registry.ts'

/*
 * The city's readings as NGSI-LD entities (ETSI GS CIM 009) in FIWARE Smart Data Models: the one home of the mapping
 * ../shared/conventions.md asks the schema to keep. Each kind is one model; each metric that a model names becomes
 * that model's attribute, with its UN/CEFACT unit code and, where the model's unit differs from the field's, a scale
 * (the model's value = field × scale). Metrics a model has no name for (batteryV, rainRateMmH, the traffic class
 * counts) are not shared: an agency reads the model, not our device contract.
 *
 * Water level is FloodMonitoring, not WaterObserved: FloodMonitoring carries the alarm thresholds beside the level
 * (currentLevel with alertLevel and dangerLevel), which is what a hydro-meteorological station or a disaster
 * committee reads a gauge for; WaterObserved describes flow and height of a water body without any alarm level.
 * Values stay in the unit we store (cm on the national datum, unitCode CMT) so an entity's numbers are the history
 * route's numbers: NGSI-LD carries the unit in unitCode rather than fixing one.
 */

export interface NgsiAttributeMapping {
  /** Our field (`waterLevelCm`). */
  metric: string
  /** The Smart Data Model's attribute (`currentLevel`). */
  attribute: string
  /** UN/CEFACT Common Code of the value as served. */
  unitCode: string
  /** model value = field value × scale (percent → fraction 0..1); 1 when absent. */
  scale?: number
}

export interface SmartDataModelMapping {
  type: string
  /** Where the model is published (its schema.json and licence), for docs and the shipped README. */
  modelUrl: string
  attributes: readonly NgsiAttributeMapping[]
}

export const SMART_DATA_MODELS = {
  water_level: {
    type: 'FloodMonitoring',
    modelUrl: 'https://github.com/smart-data-models/dataModel.Environment/tree/master/FloodMonitoring',
    attributes: [{ metric: 'waterLevelCm', attribute: 'currentLevel', unitCode: 'CMT' }],
  },
  traffic: {
    type: 'TrafficFlowObserved',
    modelUrl: 'https://github.com/smart-data-models/dataModel.Transportation/tree/master/TrafficFlowObserved',
    attributes: [
      { metric: 'vehicleCount', attribute: 'intensity', unitCode: 'C62' },
      { metric: 'avgSpeedKmh', attribute: 'averageVehicleSpeed', unitCode: 'KMH' },
      { metric: 'occupancyPct', attribute: 'occupancy', unitCode: 'C62', scale: 0.01 },
    ],
  },
  air_quality: {
    type: 'AirQualityObserved',
    modelUrl: 'https://github.com/smart-data-models/dataModel.Environment/tree/master/AirQualityObserved',
    attributes: [
      { metric: 'pm25UgM3', attribute: 'pm25', unitCode: 'GQ' },
      { metric: 'pm10UgM3', attribute: 'pm10', unitCode: 'GQ' },
      { metric: 'tempC', attribute: 'temperature', unitCode: 'CEL' },
      { metric: 'humidityPct', attribute: 'relativeHumidity', unitCode: 'C62', scale: 0.01 },
    ],
  },
  rain: {
    type: 'WeatherObserved',
    modelUrl: 'https://github.com/smart-data-models/dataModel.Weather/tree/master/WeatherObserved',
    attributes: [{ metric: 'rainMm', attribute: 'precipitation', unitCode: 'MMT' }],
  },
  salinity: {
    type: 'WaterQualityObserved',
    modelUrl: 'https://github.com/smart-data-models/dataModel.WaterQuality/tree/master/WaterQualityObserved',
    attributes: [
      { metric: 'salinityGL', attribute: 'salinity', unitCode: 'GL' },
      { metric: 'waterTempC', attribute: 'temperature', unitCode: 'CEL' },
    ],
  },
} as const satisfies Record<DeviceKind, SmartDataModelMapping>

export type NgsiEntityType = (typeof SMART_DATA_MODELS)[DeviceKind]['type']
export const ngsiEntityTypes = Object.values(SMART_DATA_MODELS).map((m) => m.type) as NgsiEntityType[]

/** The kind an entity type stands for. */
export const kindOfEntityType = (type: string): DeviceKind | undefined =>
  (Object.keys(SMART_DATA_MODELS) as DeviceKind[]).find((k) => SMART_DATA_MODELS[k].type === type)

/** Flood thresholds a FloodMonitoring entity carries: BĐ II is the alert level, BĐ III the danger level (cm). */
export const FLOOD_ALERT_LEVEL_CM = WATER_LEVEL_ALARMS_CM.find((s) => s.level === 'BĐ II')!.min
export const FLOOD_DANGER_LEVEL_CM = WATER_LEVEL_ALARMS_CM.find((s) => s.level === 'BĐ III')!.min

/** Our namespace inside NGSI-LD ids: `urn:ngsi-ld:<Type>:mytho:<deviceId>`. */
export const NGSI_ID_NAMESPACE = 'mytho'
export const ngsiEntityId = (kind: DeviceKind, deviceId: string): string => `urn:ngsi-ld:${SMART_DATA_MODELS[kind].type}:${NGSI_ID_NAMESPACE}:${deviceId}`
export const ngsiDeviceRef = (deviceId: string): string => `urn:ngsi-ld:Device:${NGSI_ID_NAMESPACE}:${deviceId}`

/** The device an entity id names, with the type it claims; undefined for an id that is not one of ours. */
export function parseNgsiEntityId(id: string): { type: string; deviceId: string } | undefined {
  const m = /^urn:ngsi-ld:([A-Za-z]+):mytho:([a-z0-9-]{3,64})$/.exec(id)
  return m ? { type: m[1]!, deviceId: m[2]! } : undefined
}

/** What an entity's values come from: a reading, or a roll-up window's means (ts = the window's start). */
export interface NgsiObservation {
  ts: number
  fields: Record<string, number>
}

/** The attribute's value as served: the field scaled, rounded off float noise past 6 significant decimals. */
export const ngsiValue = (a: NgsiAttributeMapping, v: number): number => (a.scale === undefined ? v : Number((v * a.scale).toPrecision(12)))

export type NgsiForm = 'normalized' | 'keyValues'
export const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * One device as its model's entity: normalized (each attribute a Property with observedAt and unitCode; CIM 009
 * §4.5.1) or keyValues (plain values, the shape the Smart Data Models' JSON Schemas describe). Attributes without a
 * value in `obs` are left out, as NGSI-LD leaves out attributes that have none.
 */
export function toNgsiEntity(device: DeviceRecord, obs: NgsiObservation | undefined, form: NgsiForm, attrs?: readonly string[]): Record<string, unknown> {
  const model: SmartDataModelMapping = SMART_DATA_MODELS[device.kind]
  const keep = (name: string) => attrs === undefined || attrs.includes(name)
  const kv = form === 'keyValues'
  const prop = (value: unknown, extra: Record<string, unknown> = {}) => (kv ? value : { type: 'Property', value, ...extra })
  const e: Record<string, unknown> = { id: ngsiEntityId(device.kind, device.id), type: model.type }
  if (keep('name')) e['name'] = prop(device.nameVi)
  if (keep('alternateName')) e['alternateName'] = prop(device.nameEn)
  if (keep('location'))
    e['location'] = kv
      ? { type: 'Point', coordinates: [device.lon, device.lat] }
      : { type: 'GeoProperty', value: { type: 'Point', coordinates: [device.lon, device.lat] } }
  if (keep('areaServed')) e['areaServed'] = prop(device.ward)
  if (keep('refDevice')) e['refDevice'] = kv ? ngsiDeviceRef(device.id) : { type: 'Relationship', object: ngsiDeviceRef(device.id) }
  if (device.kind === 'water_level') {
    if (keep('alertLevel')) e['alertLevel'] = prop(FLOOD_ALERT_LEVEL_CM, { unitCode: 'CMT' })
    if (keep('dangerLevel')) e['dangerLevel'] = prop(FLOOD_DANGER_LEVEL_CM, { unitCode: 'CMT' })
  }
  if (obs) {
    const at = iso(obs.ts)
    if (keep('dateObserved')) e['dateObserved'] = kv ? at : { type: 'Property', value: { '@type': 'DateTime', '@value': at } }
    for (const a of model.attributes) {
      const v = obs.fields[a.metric]
      if (v === undefined || !keep(a.attribute)) continue
      e[a.attribute] = prop(ngsiValue(a, v), { observedAt: at, unitCode: a.unitCode })
    }
  }
  return e
}

/** The entity's attributes a query or a subscription may name (and their values to compare), keyValues-like. */
export function ngsiAttributeValues(device: DeviceRecord, obs: NgsiObservation | undefined): Record<string, unknown> {
  return toNgsiEntity(device, obs, 'keyValues')
}

/** NGSI-LD ProblemDetails types (CIM 009 §5.5.2). */
export const NGSI_ERROR_BASE = 'https://uri.etsi.org/ngsi-ld/errors/'
export const ngsiErrorTypes = ['BadRequestData', 'InvalidRequest', 'ResourceNotFound', 'AlreadyExists', 'OperationNotSupported', 'InternalError'] as const
export type NgsiErrorType = (typeof ngsiErrorTypes)[number]

export const NgsiProblem = z.object({ type: z.string(), title: z.string(), status: z.number().int(), detail: z.string().optional() })
export type NgsiProblem = z.infer<typeof NgsiProblem>

const csv = (what: string) =>
  z
    .string()
    .max(2000)
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    )
    .describe(`comma-separated ${what}`)

/** GET /ngsi-ld/v1/entities query (CIM 009 §6.4.3.2). */
export const NgsiEntitiesQuery = z.object({
  type: csv('entity types').optional(),
  id: csv('entity ids').optional(),
  idPattern: z.string().max(200).optional(),
  attrs: csv('attribute names').optional(),
  q: z.string().max(1000).optional().describe('query language: attr==value;attr>=value|…'),
  georel: z.string().max(100).optional().describe('near;maxDistance==METRES or within'),
  geometry: z.enum(['Point', 'Polygon']).optional(),
  coordinates: z.string().max(4000).optional().describe('GeoJSON coordinates, JSON text'),
  geoproperty: z.literal('location').optional(),
  limit: z.coerce.number().int().min(0).max(1000).default(20),
  offset: z.coerce.number().int().min(0).default(0),
  count: z.enum(['true', 'false']).default('false'),
  options: csv('options (keyValues, sysAttrs)').optional(),
  format: z.enum(['normalized', 'keyValues', 'simplified']).optional(),
})
export type NgsiEntitiesQuery = z.infer<typeof NgsiEntitiesQuery>

/** ISO 8601 durations the roll-ups answer, as aggrPeriodDuration takes them. */
export const ngsiAggrPeriods = { PT1M: '1m', PT5M: '5m', PT1H: '1h', P1D: '1d' } as const
export const ngsiAggrMethods = ['avg', 'min', 'max', 'totalCount'] as const

/** GET /ngsi-ld/v1/temporal/entities/{id} query (CIM 009 §6.19.3.1). */
export const NgsiTemporalQuery = z.object({
  timerel: z.enum(['between', 'after', 'before']).default('between'),
  timeAt: z.iso.datetime({ offset: true }).optional().describe('start, ISO 8601; default endTimeAt minus 24 h'),
  endTimeAt: z.iso.datetime({ offset: true }).optional().describe('end (exclusive), ISO 8601; default now'),
  attrs: csv('attribute names').optional(),
  options: csv('options (temporalValues, aggregatedValues)').optional(),
  format: z.enum(['normalized', 'temporalValues', 'aggregatedValues']).optional(),
  aggrMethods: csv('aggregation methods (avg, min, max, totalCount)').optional(),
  aggrPeriodDuration: z.enum(Object.keys(ngsiAggrPeriods) as [keyof typeof ngsiAggrPeriods, ...(keyof typeof ngsiAggrPeriods)[]]).optional(),
  lastN: z.coerce.number().int().min(1).max(100_000).optional(),
})
export type NgsiTemporalQuery = z.infer<typeof NgsiTemporalQuery>

/** Longest `idPattern` (a regular expression, CIM 009 §5.2.8): matched under a time limit (api ngsi-id-pattern.ts). */
export const NGSI_ID_PATTERN_MAX = 200
/** Longest `throttling`, seconds (a day). */
export const NGSI_THROTTLING_MAX_S = 86_400

const subscriptionEntity = z.object({
  type: z.string().max(64),
  id: z.string().max(200).optional(),
  idPattern: z.string().min(1).max(NGSI_ID_PATTERN_MAX).optional().describe('regular expression over entity ids; ignored when id is given'),
})
const subscriptionEndpoint = z.object({
  uri: z.url({ protocol: /^https?$/ }),
  accept: z.enum(['application/json', 'application/ld+json']).default('application/json'),
})
const subscriptionNotification = z.object({
  attributes: z.array(z.string().max(64)).max(20).optional(),
  format: z.enum(['normalized', 'keyValues']).default('normalized'),
  endpoint: subscriptionEndpoint,
})

/** POST /ngsi-ld/v1/subscriptions body (CIM 009 §5.2.12), the part this platform acts on. */
export const NgsiSubscriptionRequest = z.object({
  id: z.string().max(200).optional(),
  type: z.literal('Subscription'),
  description: z.string().max(500).optional(),
  entities: z.array(subscriptionEntity).min(1).max(50),
  watchedAttributes: z.array(z.string().max(64)).max(20).optional(),
  q: z.string().max(1000).optional(),
  notification: subscriptionNotification,
  /** When it stops notifying (ISO 8601); its status then reads `expired`. A time already past is refused. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  /** At most one notification per this many seconds; later ones inside the window are dropped, not queued. */
  throttling: z.number().positive().max(NGSI_THROTTLING_MAX_S).optional(),
  /** false pauses it (status `paused`) until a PATCH sets it true again. Default true. */
  isActive: z.boolean().optional(),
  /** Where the notifications' @context is (CIM 009 1.5+); default: this platform's, as the request that made it reached it. */
  jsonldContext: z.url().optional(),
  '@context': z.unknown().optional(),
})
export type NgsiSubscriptionRequest = z.infer<typeof NgsiSubscriptionRequest>

/**
 * PATCH /ngsi-ld/v1/subscriptions/{id} body (CIM 009 §5.8.2, a Subscription fragment): each member given replaces the
 * stored one (`notification`'s members one by one, so `{"notification":{"format":"keyValues"}}` keeps the endpoint);
 * null removes an optional member. The merged subscription is checked as a new one would be.
 */
export const NgsiSubscriptionPatch = z.object({
  type: z.literal('Subscription').optional(),
  description: z.string().max(500).nullable().optional(),
  entities: z.array(subscriptionEntity).min(1).max(50).optional(),
  watchedAttributes: z.array(z.string().max(64)).max(20).nullable().optional(),
  q: z.string().max(1000).nullable().optional(),
  notification: subscriptionNotification
    .partial()
    .extend({ attributes: z.array(z.string().max(64)).max(20).nullable().optional() })
    .optional(),
  expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
  throttling: z.number().positive().max(NGSI_THROTTLING_MAX_S).nullable().optional(),
  isActive: z.boolean().optional(),
  jsonldContext: z.url().optional(),
  '@context': z.unknown().optional(),
})
export type NgsiSubscriptionPatch = z.infer<typeof NgsiSubscriptionPatch>

/** A subscription as stored and listed: the request with its id, owner key and status. */
export const NgsiSubscription = NgsiSubscriptionRequest.extend({
  id: z.string(),
  isActive: z.boolean().default(true),
  status: z.enum(['active', 'paused', 'expired']).default('active'),
})
export type NgsiSubscription = z.infer<typeof NgsiSubscription>
export type NgsiSubscriptionStatus = NgsiSubscription['status']

/** Its status at `now` (CIM 009 §5.2.12): paused while isActive is false, expired from expiresAt on, else active. */
export function ngsiSubscriptionStatus(sub: { isActive?: boolean | undefined; expiresAt?: string | undefined }, now: number): NgsiSubscriptionStatus {
  if (sub.expiresAt !== undefined && Date.parse(sub.expiresAt) <= now) return 'expired'
  return sub.isActive === false ? 'paused' : 'active'
}
