import { z } from 'zod'
import { commonEnv, env, parseEnv } from '@mytho/runtime'

export const brokerEnv = commonEnv.extend({
  /** MQTT over TCP. Default 1883; 0 picks a free port. */
  MQTT_PORT: env.port(1883),
  /** Interface both listeners bind to. Default 0.0.0.0 (all). */
  MQTT_HOST: z.string().default('0.0.0.0'),
  /** MQTT over WebSocket at ws://host:port/mqtt. Default 8083; 0 picks a free port; `off` disables it. */
  MQTT_WS_PORT: z
    .string()
    .regex(/^(off|\d{1,5})$/, 'expected a port number or off')
    .default('8083')
    .transform((v) => (v === 'off' ? undefined : Number(v)))
    .refine((v) => v === undefined || v <= 65_535, 'expected a port number (0–65535) or off'),
  /** Development only: clients without a user name connect with full access (MQTT interoperability suites). Default false. */
  MQTT_ALLOW_ANONYMOUS: env.bool(false),
  /** Largest MQTT packet, whole (fixed header included), bytes; a larger one closes the connection. Default 262,144. */
  MQTT_MAX_PACKET_BYTES: env.int(262_144, 64, 268_435_460),
  /** Most bytes a client may send before its CONNECT packet is complete, bytes. Default 65,536. */
  MQTT_MAX_PRECONNECT_BYTES: env.int(65_536, 16, 268_435_460),
  /** Longest topic, UTF-8 bytes: a longer PUBLISH topic closes the connection, a longer filter gets SUBACK 0x80. Default 256. */
  MQTT_MAX_TOPIC_LENGTH: env.int(256, 1, 65_535),
  /** Most `/`-separated topic levels, same treatment as the length. Default 8; at most 100 (Aedes's router limit). */
  MQTT_MAX_TOPIC_LEVELS: env.int(8, 1, 100),
  /**
   * Demo and development start: every registry device and service account without a credential gets a
   * generated secret, in plain text only in DATA_DIR/secrets/demo-secrets.json (hash in the credential
   * store). Default true; set false in production, where devices are provisioned.
   */
  SEED_DEMO_SECRETS: env.bool(true),
  /** svc-ingest's password; when set, its hash is (re)written at every start. */
  INGEST_MQTT_PASSWORD: z.string().optional(),
  /** svc-api's password; when set, its hash is (re)written at every start. */
  API_MQTT_PASSWORD: z.string().optional(),
  /** Optional device registry file; default the seed fleet. */
  DEVICE_REGISTRY_FILE: z.string().optional(),
})
export type BrokerConfig = z.infer<typeof brokerEnv>

export const loadBrokerConfig = (e: Record<string, string | undefined> = process.env): BrokerConfig => parseEnv(brokerEnv, e)
