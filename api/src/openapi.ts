import { z } from 'zod'
import {
  AcknowledgeRequest,
  DeadLetterParams,
  Incident,
  IncidentIdPath,
  IncidentListParams,
  MapConfigResponse,
  DeviceFeatureCollection,
  DeviceHistoryParams,
  DeviceIdPath,
  DeviceView,
  ErrorResponse,
  HealthResponse,
  HistoryParams,
  HistoryResponse,
  HistorySeries,
  ReadyResponse,
  Rejection,
} from '@mytho/schema'

/*
 * The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with (OpenAPI 3.1 uses
 * JSON Schema 2020-12, zod's default target), so the document cannot drift from the code's shapes.
 * test/openapi.test.ts walks the express router and holds this list and the routes to each other.
 */

export interface RouteDoc {
  method: 'get' | 'post'
  /** OpenAPI path template relative to /api/v1, e.g. /devices/{id}. */
  path: string
  summary: string
  path_params?: z.ZodObject
  query?: z.ZodObject | z.ZodType
  response: z.ZodType
  body?: z.ZodType
  contentType?: string
}

export const API_PREFIX = '/api/v1'

export const routeDocs: RouteDoc[] = [
  { method: 'get', path: '/health', summary: 'Liveness: the process answers', response: HealthResponse },
  { method: 'get', path: '/ready', summary: 'Readiness: storage reachable, live feed subscribed, device state loaded (503 otherwise)', response: ReadyResponse },
  { method: 'get', path: '/devices', summary: 'Every registry device with status, last-seen time and last reading (from memory)', response: z.array(DeviceView) },
  { method: 'get', path: '/devices.geojson', summary: 'The devices as a GeoJSON FeatureCollection ([lon, lat])', response: DeviceFeatureCollection, contentType: 'application/geo+json' },
  { method: 'get', path: '/devices/{id}', summary: 'One device', path_params: DeviceIdPath, response: DeviceView },
  { method: 'get', path: '/devices/{id}/history', summary: 'History of one metric of one device', path_params: DeviceIdPath, query: DeviceHistoryParams, response: HistorySeries },
  { method: 'get', path: '/history', summary: 'History of one metric for one or many devices, one series each in request order', query: HistoryParams, response: HistoryResponse },
  { method: 'get', path: '/dead-letters', summary: 'Rejected messages, newest first, by device and reason', query: DeadLetterParams, response: z.array(Rejection) },
  { method: 'get', path: '/dead-letters/counts', summary: 'Dead letters counted by reason', response: z.record(z.string(), z.number().int()) },
  { method: 'get', path: '/incidents', summary: 'Incidents, worst severity first then oldest; active ones unless active=false', query: IncidentListParams, response: z.array(Incident) },
  { method: 'get', path: '/incidents/{id}', summary: 'One incident with its events', path_params: IncidentIdPath, response: Incident },
  { method: 'post', path: '/incidents/{id}/acknowledge', summary: 'Acknowledge an incident (who, note); a cleared incident closes with it', path_params: IncidentIdPath, body: AcknowledgeRequest, response: Incident },
  { method: 'get', path: '/config', summary: 'Runtime settings of the map: tile URL template and its attribution', response: MapConfigResponse },
  { method: 'get', path: '/openapi.json', summary: 'This document', response: z.object({ openapi: z.string() }).loose() },
]

const jsonSchema = (s: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>
  return rest
}

function parameters(where: 'path' | 'query', schema: z.ZodType | undefined) {
  if (!schema) return []
  const js = jsonSchema(schema, 'input') as { properties?: Record<string, { description?: string }>; required?: string[] }
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    ...(s.description !== undefined ? { description: s.description } : {}),
    schema: s,
  }))
}

export function openApiDocument(): Record<string, unknown> {
  const error = { content: { 'application/json': { schema: jsonSchema(ErrorResponse, 'output') } } }
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of routeDocs) {
    const params = [...parameters('path', r.path_params), ...parameters('query', r.query)]
    ;(paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } } : {}),
      responses: {
        '200': { description: 'OK', content: { [r.contentType ?? 'application/json']: { schema: jsonSchema(r.response, 'output') } } },
        ...(params.length > 0 || r.body ? { '400': { description: 'A parameter is invalid; the message names it', ...error } } : {}),
        ...(r.path_params ? { '404': { description: 'Not found', ...error } } : {}),
        ...(r.path === '/ready' ? { '503': { description: 'Not ready', content: { 'application/json': { schema: jsonSchema(ReadyResponse, 'output') } } } } : {}),
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Mỹ Tho telemetry API',
      version: '1',
      description:
        'Devices, history, dead letters and health of the Mỹ Tho smart-city telemetry platform. Times are UTC ms; 1d windows start at local midnight (Asia/Ho_Chi_Minh, UTC+7). Live updates come over Socket.IO at /socket.io (events typed in packages/schema/src/live-events.ts).',
    },
    servers: [{ url: API_PREFIX }],
    paths,
  }
}
