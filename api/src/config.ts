import { z } from 'zod'
import { commonEnv, env, parseEnv } from '@mytho/runtime'

export const apiEnv = commonEnv.extend({
  /** HTTP port of the API and the map. Default 8080. */
  HTTP_PORT: env.port(8080),
  /** Interface to listen on. Default 0.0.0.0. */
  HTTP_HOST: z.string().default('0.0.0.0'),
  /** Optional registry file; default the seed fleet. */
  DEVICE_REGISTRY_FILE: z.string().optional(),
  /** Broker the live feed subscribes to (stored readings, device status). Default mqtt://127.0.0.1:1883. */
  MQTT_URL: z.string().regex(/^(mqtt|tcp):\/\/[^/]+$/, 'expected mqtt://host:port').default('mqtt://127.0.0.1:1883'),
  /** Service account of the live feed. Default svc-api. */
  API_MQTT_USERNAME: z.string().default('svc-api'),
  /** Its password; unset in a demo start: read from DATA_DIR/secrets/demo-secrets.json. */
  API_MQTT_PASSWORD: z.string().optional(),
  /** How often changed devices are pushed to browsers, ms (one array per browser per interval). Default 10. */
  LIVE_FLUSH_MS: env.int(10, 5, 5_000),
  /** How often silent devices are re-checked so they turn offline without new data, ms. Default 1,000. */
  LIVE_STATUS_CHECK_MS: env.int(1_000, 50, 600_000),
  /** Map tile URL template ({z}/{x}/{y}); a city tile server or OpenStreetMap. Default OpenStreetMap's. */
  MAP_TILE_URL: z
    .string()
    .regex(/^https?:\/\/.*\{z\}.*\{x\}.*\{y\}/, 'expected an http(s) URL template with {z}, {x} and {y}')
    .default('https://tile.openstreetmap.org/{z}/{x}/{y}.png'),
  /** Attribution the tile source requires. Default OpenStreetMap's. */
  MAP_TILE_ATTRIBUTION: z.string().default('© OpenStreetMap contributors'),
})
export type ApiConfig = z.infer<typeof apiEnv>
export const loadApiConfig = (e: Record<string, string | undefined> = process.env): ApiConfig => parseEnv(apiEnv, e)
