import { z } from 'zod'
import {
  AcknowledgeRequest,
  AgencyKeyCreated,
  AgencyKeyCreateRequest,
  AgencyKeyIdPath,
  AgencyKeyUse,
  AgencyKeyUsesParams,
  AgencyKeyView,
  DevicePublicRequest,
  AlarmLinesResponse,
  BulkAcknowledgeRequest,
  BulkAcknowledgeResult,
  AuditEntry,
  AuditListParams,
  DevicePlacement,
  DeviceRecord,
  DeviceSecretResponse,
  ImportReport,
  LoginRequest,
  MeResponse,
  OperatorCreateRequest,
  OperatorNamePath,
  OperatorPasswordRequest,
  OperatorRoleRequest,
  OperatorView,
  PasswordChangeRequest,
  ProvisionedDeviceView,
  SessionResponse,
  type Role,
  DeadLetterBucketCount,
  DeadLetterCountParams,
  DeadLetterParams,
  Incident,
  IncidentIdPath,
  IncidentListParams,
  MapConfigResponse,
  OverlayCollection,
  OverlayIdPath,
  OverlayListResponse,
  TilePath,
  DeviceFeatureCollection,
  DeviceHistoryParams,
  DeviceIdPath,
  DeviceView,
  ErrorResponse,
  HealthResponse,
  HistoryCsvParams,
  HistoryParams,
  HistoryResponse,
  HistorySeries,
  ReadyResponse,
  Rejection,
  RedriveRequest,
  RedriveResult,
  RedriveStatus,
  RedriveStatusParams,
  ReplayChanges,
  ReplayChangesParams,
  ReplayState,
  ReplayStateParams,
} from '@mytho/schema'

/*
 * The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with (OpenAPI 3.1 uses
 * JSON Schema 2020-12, zod's default target), so the document cannot drift from the code's shapes.
 * test/openapi.test.ts walks the express router and holds this list and the routes to each other.
 */

export interface RouteDoc {
  method: 'get' | 'post' | 'patch'
  /** OpenAPI path template relative to /api/v1, e.g. /devices/{id}. */
  path: string
  summary: string
  path_params?: z.ZodObject
  query?: z.ZodObject | z.ZodType
  response: z.ZodType
  body?: z.ZodType
  /** Request body media types when not JSON (the device import). */
  bodyContentTypes?: string[]
  contentType?: string
  /** Least role that may call it; undefined = public. Enforced by the routes; test/auth-roles.test.ts holds the two together. */
  role?: Role
}

export const API_PREFIX = '/api/v1'

export const routeDocs: RouteDoc[] = [
  { method: 'get', path: '/health', summary: 'Liveness: the process answers', response: HealthResponse },
  {
    method: 'get',
    path: '/ready',
    summary: 'Readiness: storage reachable, live feed subscribed, device state loaded (503 otherwise)',
    response: ReadyResponse,
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/devices',
    summary: 'Every registry device with status, last-seen time and last reading (from memory)',
    response: z.array(DeviceView),
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/devices.geojson',
    summary: 'The devices as a GeoJSON FeatureCollection ([lon, lat])',
    response: DeviceFeatureCollection,
    contentType: 'application/geo+json',
  },
  { method: 'get', role: 'viewer', path: '/devices/{id}', summary: 'One device', path_params: DeviceIdPath, response: DeviceView },
  {
    method: 'get',
    role: 'viewer',
    path: '/devices/{id}/alarm-lines',
    summary: "The levels of the rules that judge this device, as its chart's lines (ALERT_RULES_FILE or the built-in rules)",
    path_params: DeviceIdPath,
    response: AlarmLinesResponse,
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/devices/{id}/history',
    summary: 'History of one metric of one device',
    path_params: DeviceIdPath,
    query: DeviceHistoryParams,
    response: HistorySeries,
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/history',
    summary: 'History of one metric for one or many devices, one series each in request order',
    query: HistoryParams,
    response: HistoryResponse,
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/replay/state',
    summary:
      "Replay: every registry device (of the kinds and wards asked, by id) at a past instant up to 30 days back, each row its status by the live judge, reading time and fields (raw, or the 5-minute bucket's means judged on its worst value), and the incidents active then as they stood",
    query: ReplayStateParams,
    response: ReplayState,
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/replay/changes',
    summary:
      'Replay: the rows that changed in [from, to) (at most 24 h; raw up to 6 h, else 5-minute buckets), in frames oldest first, a device going offline where its silence limit runs out, and every incident with an event in the window',
    query: ReplayChangesParams,
    response: ReplayChanges,
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/history.csv',
    summary:
      'The same history as CSV, streamed (UTF-8 with BOM), for up to 8 devices: device id and Vietnamese name, time in UTC+7 (ISO, +07:00) and UTC, mean/min/max/count (value when raw) and unit; the range is at most 31 days raw or 1m, 366 days 5m, 5 years 1h, 20 years 1d',
    query: HistoryCsvParams,
    response: z.string(),
    contentType: 'text/csv',
  },
  {
    method: 'get',
    role: 'operator',
    path: '/dead-letters',
    summary: 'Rejected messages, newest first, by device and reason',
    query: DeadLetterParams,
    response: z.array(Rejection),
  },
  {
    method: 'get',
    role: 'operator',
    path: '/dead-letters/counts',
    summary:
      'Dead letters counted by reason, of one device and received in [from, to) when given; with bucket=hour or day (local day, UTC+7; from and to needed, hourly at most 31 days) the counts per window instead, oldest first, empty windows left out',
    query: DeadLetterCountParams,
    response: z.union([z.record(z.string(), z.number().int()), z.array(DeadLetterBucketCount)]),
  },
  {
    method: 'get',
    role: 'operator',
    path: '/dead-letters/redrive',
    summary:
      'Whether a re-drive of the device can store anything now: in the registry (provisioned since the start included), disabled, and its unknown_device letters kept',
    query: RedriveStatusParams,
    response: RedriveStatus,
  },
  {
    method: 'post',
    role: 'operator',
    path: '/dead-letters/redrive',
    summary:
      "Re-drive: the unknown_device dead letters of a device now provisioned (all, or those of `ids`, up to 1000 at a time) run through ingest's validation again, by the ingest (asked over MQTT: the API only reads storage); the valid readings are stored (once per device and ts) and their letters removed, the rest answered in stillRejected with today's reason; audited (dead-letter-redrive, actor and counts). 404: the device is not in the registry; 409: it is disabled; 503: no broker link, or the ingest could not write; 504: the ingest did not answer in REDRIVE_TIMEOUT_MS",
    body: RedriveRequest,
    response: RedriveResult,
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/incidents',
    summary:
      'Incidents, worst severity first then oldest; active ones unless active=false; by ward, rule, severity, state and time (range=active: alive in [from, to))',
    query: IncidentListParams,
    response: z.array(Incident),
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/incidents/export.csv',
    summary: 'The incident log as CSV (the filters of GET /incidents): Vietnamese / English headers, times in UTC ISO and UTC+7, the timeline',
    query: IncidentListParams,
    response: z.string(),
    contentType: 'text/csv',
  },
  { method: 'get', role: 'viewer', path: '/incidents/{id}', summary: 'One incident with its events', path_params: IncidentIdPath, response: Incident },
  {
    method: 'post',
    role: 'operator',
    path: '/incidents/{id}/acknowledge',
    summary:
      'Acknowledge an incident as the signed-in operator (note); a cleared incident closes with it. `by` only without sign-in (AUTH_DISABLED): kept as the unchecked `claimedBy`, the actor being `anonymous@ADDRESS`',
    path_params: IncidentIdPath,
    body: AcknowledgeRequest,
    response: Incident,
  },
  {
    method: 'post',
    role: 'operator',
    path: '/incidents/acknowledge',
    summary:
      'Acknowledge several incidents with one note: the listed `ids` (up to 500) or every unacknowledged (open or cleared) incident of `ruleId`, exactly one of the two; each audited and announced as a single acknowledge; what is missing or was already acknowledged comes back in `skipped` with the reason',
    body: BulkAcknowledgeRequest,
    response: BulkAcknowledgeResult,
  },
  {
    method: 'post',
    path: '/auth/login',
    summary: 'Sign in: sets the HttpOnly session cookie mytho_session and the mytho_csrf cookie; 401 wrong, 429 throttled (Retry-After)',
    body: LoginRequest,
    response: SessionResponse,
  },
  { method: 'post', path: '/auth/logout', summary: 'Sign out: ends the session and clears its cookies', response: MeResponse },
  { method: 'get', path: '/auth/me', summary: 'Who is calling: signed in or not, role (null: sign-in needed), CSRF token', response: MeResponse },
  { method: 'get', role: 'admin', path: '/operators', summary: 'Operators and their roles', response: z.array(OperatorView) },
  {
    method: 'post',
    role: 'admin',
    path: '/operators',
    summary: 'Create an operator (409 when the name is taken)',
    body: OperatorCreateRequest,
    response: OperatorView,
  },
  {
    method: 'post',
    role: 'admin',
    path: '/operators/{username}/disable',
    summary: 'Disable an operator; their sessions and live sockets end. 409: the last enabled admin',
    path_params: OperatorNamePath,
    response: OperatorView,
  },
  {
    method: 'post',
    role: 'admin',
    path: '/operators/{username}/enable',
    summary: 'Enable a disabled operator again (their old sessions stay ended)',
    path_params: OperatorNamePath,
    response: OperatorView,
  },
  {
    method: 'post',
    role: 'admin',
    path: '/operators/{username}/role',
    summary: "Change an operator's role; it holds for their open sessions at once. 409: would demote the last enabled admin",
    path_params: OperatorNamePath,
    body: OperatorRoleRequest,
    response: OperatorView,
  },
  {
    method: 'post',
    role: 'admin',
    path: '/operators/{username}/password',
    summary: "Reset an operator's password (the password policy applies; 400 names the rule broken); their sessions and live sockets end",
    path_params: OperatorNamePath,
    body: OperatorPasswordRequest,
    response: OperatorView,
  },
  {
    method: 'post',
    role: 'viewer',
    path: '/auth/password',
    summary:
      "Change one's own password (signed in, any role): `current` must match (wrong: 400; repeated failures: 429 as sign-in); the policy applies; the operator's other sessions end, this one stays",
    body: PasswordChangeRequest,
    response: OperatorView,
  },
  {
    method: 'get',
    role: 'admin',
    path: '/audit',
    summary: 'Audit log of operator actions, newest first; filters actor, action, from/to (UTC ms); page back with `before` = the last id of the previous page',
    query: AuditListParams,
    response: z.array(AuditEntry),
  },
  { method: 'get', role: 'admin', path: '/admin/devices', summary: 'Provisioned devices with their disabled flag', response: z.array(ProvisionedDeviceView) },
  {
    method: 'post',
    role: 'admin',
    path: '/admin/devices',
    summary: 'Provision a device; its secret is in this answer only',
    body: DeviceRecord,
    response: DeviceSecretResponse,
  },
  {
    method: 'post',
    role: 'admin',
    path: '/admin/devices/import',
    summary: 'Bulk import from CSV (header of DeviceRecord fields) or a GeoJSON FeatureCollection; per-row report, secrets of created devices shown once',
    body: z.string(),
    bodyContentTypes: ['text/csv', 'application/geo+json'],
    response: ImportReport,
  },
  {
    method: 'post',
    role: 'admin',
    path: '/admin/devices/{id}/rotate-secret',
    summary: 'New secret (shown once); the old one stops and the live connection is dropped',
    path_params: DeviceIdPath,
    response: DeviceSecretResponse,
  },
  {
    method: 'post',
    role: 'admin',
    path: '/admin/devices/{id}/disable',
    summary: 'Disable a device; the broker drops its live connection at once',
    path_params: DeviceIdPath,
    response: ProvisionedDeviceView,
  },
  {
    method: 'post',
    role: 'admin',
    path: '/admin/devices/{id}/enable',
    summary: 'Enable a disabled device again',
    path_params: DeviceIdPath,
    response: ProvisionedDeviceView,
  },
  {
    method: 'patch',
    role: 'admin',
    path: '/admin/devices/{id}',
    summary: 'Move a device (lat, lon, optionally its ward); every map and ingest has the new place within seconds',
    path_params: DeviceIdPath,
    body: DevicePlacement,
    response: ProvisionedDeviceView,
  },
  {
    method: 'post',
    role: 'admin',
    path: '/admin/devices/{id}/public',
    summary: 'Whether the open-data export publishes the device (public: false leaves it out; agency keys still read it); audited',
    path_params: DeviceIdPath,
    body: DevicePublicRequest,
    response: ProvisionedDeviceView,
  },
  {
    method: 'get',
    role: 'admin',
    path: '/admin/agency-keys',
    summary: 'Agency keys for the NGSI-LD sharing interface (docs/sharing.md), newest first, without their secrets',
    response: z.array(AgencyKeyView),
  },
  {
    method: 'post',
    role: 'admin',
    path: '/admin/agency-keys',
    summary:
      'Issue an agency key scoped to kinds, wards, raw or aggregated access and a rate a minute; the key is in this answer only (stored as sha256); audited',
    body: AgencyKeyCreateRequest,
    response: AgencyKeyCreated,
  },
  {
    method: 'post',
    role: 'admin',
    path: '/admin/agency-keys/{id}/revoke',
    summary: 'Revoke an agency key at once, on every node; audited',
    path_params: AgencyKeyIdPath,
    response: AgencyKeyView,
  },
  {
    method: 'get',
    role: 'admin',
    path: '/admin/agency-keys/{id}/uses',
    summary: "A key's newest uses (every request made with it, refused ones too), newest first",
    path_params: AgencyKeyIdPath,
    query: AgencyKeyUsesParams,
    response: z.array(AgencyKeyUse),
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/config',
    summary: 'Runtime settings of the map: tile URL template and its attribution',
    response: MapConfigResponse,
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/overlays',
    summary: "The city's map overlays (MAP_OVERLAYS_DIR): names, style, source, licence and attribution of each; empty without the folder",
    response: OverlayListResponse,
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/overlays/{id}',
    summary: "One overlay's GeoJSON (ETag; 304 to a matching If-None-Match)",
    path_params: OverlayIdPath,
    response: OverlayCollection,
    contentType: 'application/geo+json',
  },
  {
    method: 'get',
    role: 'viewer',
    path: '/basemap/{z}/{x}/{y}',
    summary:
      "A tile of the city's basemap file (MAP_BASEMAP_FILE, MBTiles raster): PNG, JPEG or WebP, cached a day with an ETag; 404 outside the file or without one. Counted against TILE_RATE_LIMIT_PER_MIN per address, not the API's request limit",
    path_params: TilePath,
    response: z.string(),
    contentType: 'image/png',
  },
  {
    method: 'get',
    role: 'operator',
    path: '/mqtt-ca.pem',
    summary:
      "The CA certificate devices trust for the broker's MQTT over TLS (MQTT_PUBLIC_CA_FILE), saved as mytho-mqtt-ca.pem for mosquitto_pub --cafile; 404 when none is configured",
    response: z.string(),
    contentType: 'application/x-pem-file',
  },
  { method: 'get', role: 'viewer', path: '/openapi.json', summary: 'This document', response: z.object({ openapi: z.string() }).loose() },
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
      ...(r.role ? { 'x-required-role': r.role } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries((r.bodyContentTypes ?? ['application/json']).map((t) => [t, { schema: jsonSchema(r.body!, 'input') }])),
            },
          }
        : {}),
      responses: {
        '200': { description: 'OK', content: { [r.contentType ?? 'application/json']: { schema: jsonSchema(r.response, 'output') } } },
        ...(params.length > 0 || r.body ? { '400': { description: 'A parameter is invalid; the message names it', ...error } } : {}),
        ...(r.path_params ? { '404': { description: 'Not found', ...error } } : {}),
        ...(r.role
          ? {
              '401': { description: 'Sign-in required', ...error },
              '403': { description: `Needs role ${r.role} (or a missing X-CSRF-Token on a POST)`, ...error },
            }
          : {}),
        ...(r.path === '/ready'
          ? { '503': { description: 'Not ready', content: { 'application/json': { schema: jsonSchema(ReadyResponse, 'output') } } } }
          : {}),
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Mỹ Tho telemetry API',
      version: '1',
      description:
        'Devices, history, dead letters and health of the Mỹ Tho smart-city telemetry platform. Times are UTC ms; 1d windows start at local midnight (Asia/Ho_Chi_Minh, UTC+7). Live updates come over Socket.IO at /socket.io (events typed in packages/schema/src/live-events.ts). Not described here (docs/sharing.md): the NGSI-LD interface for other agencies at /ngsi-ld/v1 (agency keys; entities, temporal, subscriptions with PATCH, expiresAt, throttling, isActive, idPattern), and the daily open-data files at /open-data/ (no auth; an index of days and files) when OPEN_DATA_DIR is set.',
    },
    servers: [{ url: API_PREFIX }],
    paths,
  }
}
