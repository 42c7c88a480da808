import { existsSync, statSync } from 'node:fs'
import { z } from 'zod'
import { commonEnv, ConfigError, env, HOW_TO_GENERATE, isPlaceholder, parseEnv } from '@mytho/runtime'
import { pemCertificateProblem, pemCertificates } from './mqtt-ca.ts'

/** OpenStreetMap's tiles and the attribution they require: MAP_TILE_URL's and MAP_TILE_ATTRIBUTION's defaults. */
export const DEFAULT_MAP_TILE_URL = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png'
export const DEFAULT_MAP_TILE_ATTRIBUTION = '© OpenStreetMap contributors'

export const apiEnv = commonEnv.extend({
  /** HTTP port of the API and the map. Default 8080. */
  HTTP_PORT: env.port(8080),
  /** Interface to listen on. Default 0.0.0.0. */
  HTTP_HOST: z.string().default('0.0.0.0'),
  /** Optional registry file; default the seed fleet. */
  DEVICE_REGISTRY_FILE: z.string().optional(),
  /**
   * The alert rules the ingest runs (the same file): the map judges each device's warning or alarm on them, so marker
   * and incident agree. Default the built-in rules.
   */
  ALERT_RULES_FILE: z.string().optional(),
  /**
   * Broker the live feed subscribes to (stored readings, device status), or the brokers of a cluster as a
   * comma-separated list: the first is tried first, each reconnect tries the next, so the feed moves to a live node
   * when one dies. Default mqtt://127.0.0.1:1883.
   */
  MQTT_URL: env.mqttUrls('mqtt://127.0.0.1:1883'),
  /** Service account of the live feed. Default svc-api. */
  API_MQTT_USERNAME: z.string().default('svc-api'),
  /** Its password; unset in a demo start: read from DATA_DIR/secrets/demo-secrets.json. */
  API_MQTT_PASSWORD: env.secret(),
  /** Shortest time between two pushes to the browsers, ms (a change after a quiet spell goes at once). Default 10. */
  LIVE_FLUSH_MS: env.int(10, 5, 5_000),
  /** How often silent devices are re-checked so they turn offline without new data, ms. Default 1,000. */
  LIVE_STATUS_CHECK_MS: env.int(1_000, 50, 600_000),
  /** How long a dead-letter re-drive waits for the ingest's answer before it answers 504, ms. Default 15,000. */
  REDRIVE_TIMEOUT_MS: env.int(15_000, 100, 300_000),
  /** Map tile URL template ({z}/{x}/{y}); a city tile server or OpenStreetMap. Default OpenStreetMap's. */
  MAP_TILE_URL: z
    .string()
    .regex(/^https?:\/\/.*\{z\}.*\{x\}.*\{y\}/, 'expected an http(s) URL template with {z}, {x} and {y}')
    .default(DEFAULT_MAP_TILE_URL),
  /** Attribution the tile source requires. Default OpenStreetMap's. */
  MAP_TILE_ATTRIBUTION: z.string().default(DEFAULT_MAP_TILE_ATTRIBUTION),
  /**
   * The city's own basemap: an MBTiles file of raster tiles (PNG, JPEG or WebP), served by the API and drawn instead
   * of MAP_TILE_URL's server, so the map needs no internet. Checked at start. Default unset: MAP_TILE_URL.
   */
  MAP_BASEMAP_FILE: z.string().optional(),
  /** Attribution of the basemap file, when its metadata has none or says it wrongly. Default: the file's own. */
  MAP_BASEMAP_ATTRIBUTION: z.string().optional(),
  /**
   * Folder of map overlays (ward outlines, rivers, canals, flood-prone zones, roads): `<id>.geojson` with
   * `<id>.layer.json` (names, style, source, licence). Every file is checked at start. Default unset: no overlays.
   */
  MAP_OVERLAYS_DIR: z.string().optional(),
  /**
   * The broker as installers reach it from outside (mqtt://host:port or mqtts://…), put in the admin page's test command;
   * MQTT_URL is the API's own, often an internal name. Default none: the page's host, port 1883.
   */
  MQTT_PUBLIC_URL: z
    .string()
    // Compose builds its default from MYTHO_SITE, which may list several names (`map.mytho.local, 10.20.0.5`): the
    // line shows the first, on the port given after the last.
    .transform((v) => v.replace(/^(mqtts?:\/\/[A-Za-z0-9.-]+)(?:\s*,\s*[A-Za-z0-9.-]+)+(?=(:\d{1,5})?\/?$)/, '$1'))
    .pipe(z.string().regex(/^mqtts?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/, 'expected mqtt://host:port or mqtts://host:port'))
    .optional(),
  /**
   * The CA certificate(s) installers' devices should trust for the broker's TLS (PEM; a public certificate, never a
   * key), usually given as MQTT_PUBLIC_CA_FILE (compose: the private CA of deploy/make-secrets.sh). Served to
   * operators and admins at GET /api/v1/mqtt-ca.pem, and the admin page's test line uses `--cafile` with it. Default
   * unset: the line trusts the system's authorities (`--capath /etc/ssl/certs`).
   */
  MQTT_PUBLIC_CA: z
    .string()
    .transform((v, ctx) => {
      const problem = pemCertificateProblem(v)
      // Only the certificates are ever served: not whatever else the file held around them.
      if (problem === undefined) return `${pemCertificates(v).join('\n')}\n`
      ctx.addIssue({ code: 'custom', message: problem })
      return z.NEVER
    })
    .optional(),
  /**
   * Development only: callers without a session act as operators (view and acknowledge naming themselves
   * in \`by\`), as before sign-in existed; admin routes still need an admin's sign-in. Logged loudly.
   * Default false (sign-in required); npm start's demo defaults it to true outside NODE_ENV=production.
   */
  AUTH_DISABLED: env.bool(false),
  /** Name of the first admin, created at the first start when no operator exists. Default admin. */
  ADMIN_USERNAME: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$/, 'lower-case letters, digits, dot, dash, underscore')
    .default('admin'),
  /** The first admin's password (first start only; at least 12 characters). Default unset. */
  ADMIN_PASSWORD: z
    .string()
    .min(12, 'at least 12 characters')
    .refine((v) => !isPlaceholder(v), `is a placeholder; ${HOW_TO_GENERATE}`)
    .optional(),
  /** Demo start: with no operator and no ADMIN_PASSWORD, generate the admin's password into DATA_DIR/secrets/demo-admin.json. Default false. */
  AUTH_DEMO_ADMIN: env.bool(false),
  /** Session lifetime, hours (absolute; sign in again after). Default 12. */
  SESSION_TTL_H: env.int(12, 1, 24 * 30),
  /**
   * Failed sign-ins of one user name from one client address (IPv6: its /64) before that pair must wait: 1 s, doubling
   * with each further failure up to LOGIN_LOCKOUT_S; the name from any other address is not held up. An address is
   * locked after 4× that many failures over any names. Forgotten after 15 min without a failure. Default 5.
   */
  LOGIN_MAX_FAILURES: env.int(5, 1, 1_000),
  /** The longest wait of a (user name, address) pair, and how long an address over its limit is locked, seconds. Default 900. */
  LOGIN_LOCKOUT_S: env.int(900, 1, 86_400),
  /** API requests per minute per client address (token bucket; 429 with Retry-After beyond). 0 = no limit. Default 1,200. */
  API_RATE_LIMIT_PER_MIN: env.int(1_200, 0, 1_000_000),
  /**
   * Basemap tile requests (MAP_BASEMAP_FILE) per minute per client address, counted apart from API_RATE_LIMIT_PER_MIN:
   * the wall screens behind one NAT address each ask for dozens of tiles at every pan. 0 = no limit. Default 12,000.
   */
  TILE_RATE_LIMIT_PER_MIN: env.int(12_000, 0, 10_000_000),
  /** Origins (comma list) whose pages may call the API with credentials. Default none: same origin only. */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter((o) => o !== ''),
    ),
  /** PEM certificate and key files: when both are set the API and map are served over HTTPS. Default unset. */
  HTTPS_CERT: z.string().optional(),
  HTTPS_KEY: z.string().optional(),
  /**
   * Behind a TLS-terminating proxy: mark cookies Secure, take the client address from X-Forwarded-For (one hop) and
   * send HSTS on requests the proxy received over HTTPS (X-Forwarded-Proto). Default false.
   */
  BEHIND_PROXY: env.bool(false),
  /** Largest device import (CSV or GeoJSON), bytes. Default 5,000,000. */
  IMPORT_MAX_BYTES: env.int(5_000_000, 1_000, 100_000_000),
  /**
   * The daily open-data files (docs/sharing.md). Set: the API itself writes each local day's files shortly after
   * midnight (catching up the last 7 days on start) and serves the folder read-only at /open-data/; it must be a
   * folder the API can write (created when missing). `npm run export:open-data` writes here too. Default unset: no
   * job, nothing served; the export command writes into DATA_DIR/open-data.
   */
  OPEN_DATA_DIR: z
    .string()
    .refine((v) => !existsSync(v) || statSync(v).isDirectory(), 'expected a folder; this path is a file')
    .optional(),
  /**
   * Redis shared by the API nodes of a cluster (`redis://…`, `rediss://` for TLS; the brokers read the same variable):
   * Socket.IO's Redis adapter carries acknowledgements and ended sessions to the browsers of every node. Default unset: one node.
   */
  REDIS_URL: env.redisUrl(),
})
export type ApiConfig = z.infer<typeof apiEnv>
export const loadApiConfig = (e: Record<string, string | undefined> = process.env): ApiConfig => {
  const c = parseEnv(apiEnv, e)
  // Half an HTTPS setup would quietly serve passwords over plain HTTP.
  if ((c.HTTPS_CERT === undefined) !== (c.HTTPS_KEY === undefined)) throw new ConfigError('invalid environment:\n  HTTPS_CERT, HTTPS_KEY: set both or neither')
  return c
}
