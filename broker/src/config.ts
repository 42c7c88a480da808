import { z } from 'zod'
import { isIP } from 'node:net'
import { commonEnv, env, parseEnv } from '@mytho/runtime'

/** A comma list of CIDRs (`10.0.0.0/8`, `::1/128`; a bare address is /32 or /128), or `none`. */
function serviceNets(fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      if (v === 'none') return []
      const nets: { address: string; prefix: number; family: 'ipv4' | 'ipv6' }[] = []
      for (const entry of v
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '')) {
        const [address = '', bits] = entry.split('/')
        const version = isIP(address)
        const prefix = bits === undefined ? (version === 6 ? 128 : 32) : Number(bits)
        if (version === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (version === 6 ? 128 : 32)) {
          ctx.addIssue({ code: 'custom', message: 'expected none or a comma-separated list of addresses or CIDR ranges (127.0.0.0/8,::1/128)' })
          return z.NEVER
        }
        nets.push({ address, prefix, family: version === 6 ? 'ipv6' : 'ipv4' })
      }
      return nets
    })
}

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
  /**
   * A second TCP listener for the platform's own services (svc-ingest, svc-api), which are accepted there from any
   * address; keep it off the devices' network (compose: not published). Default unset: no such listener.
   */
  MQTT_INTERNAL_PORT: env.optionalPort(),
  /** Interface the internal listener binds to. Default 127.0.0.1 (compose: 0.0.0.0 inside its network, unpublished). */
  MQTT_INTERNAL_HOST: z.string().default('127.0.0.1'),
  /**
   * Addresses (CIDR, comma-separated) from which service accounts are accepted on the TCP and TLS listeners too; `none`
   * = only on MQTT_INTERNAL_PORT. Never over WebSocket: a WebSocket proxy on the same host would make every browser
   * and device look local. Default 127.0.0.0/8,::1/128 (one host, `npm start`). Behind a TCP proxy on the same host set
   * `none` and use MQTT_INTERNAL_PORT, for the same reason.
   */
  MQTT_SERVICE_NETS: serviceNets('127.0.0.0/8,::1/128'),
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
  INGEST_MQTT_PASSWORD: env.secret(),
  /** svc-api's password; when set, its hash is (re)written at every start. */
  API_MQTT_PASSWORD: env.secret(),
  /** Optional device registry file; default the seed fleet. */
  DEVICE_REGISTRY_FILE: z.string().optional(),
  /** Sessions, QoS 1 queues, retained messages and wills: `level` (on disk, DATA_DIR/broker-sessions) or `memory` (lost on restart). Default level. */
  MQTT_PERSISTENCE: z.enum(['level', 'memory']).default('level'),
  /** MQTT over TLS (mqtts://), listened on only when MQTT_TLS_CERT and MQTT_TLS_KEY are set. Default 8883; 0 picks a free port. */
  MQTT_TLS_PORT: env.port(8883),
  /** PEM certificate chain file of the TLS listener. Default unset (no TLS listener). */
  MQTT_TLS_CERT: z.string().optional(),
  /** PEM private key file of the TLS listener. Default unset. */
  MQTT_TLS_KEY: z.string().optional(),
  /** Publishes a device connection may send per second, sustained; one over closes that connection. 0 = no limit. Default 20. */
  MQTT_MAX_PUBLISH_PER_S: env.int(20, 0, 1_000_000),
  /** Publishes a device may send at once above the rate (token bucket size). Default 100. */
  MQTT_PUBLISH_BURST: env.int(100, 1, 1_000_000),
  /**
   * Redis of a broker cluster (`redis://[:password@]host:port[/db]`, `rediss://` for TLS). When set, this node shares
   * sessions, subscriptions, QoS 1 queues, retained messages and wills with every node on the same Redis (and
   * MQTT_PERSISTENCE is not used). Default unset: a standalone broker. The API reads the same variable.
   */
  REDIS_URL: env.redisUrl(),
  /** Cluster heartbeat, ms: a node silent for 3 beats is dead and its devices' Last Wills are published. Default 15,000 (only with REDIS_URL). */
  MQTT_CLUSTER_HEARTBEAT_MS: z.coerce.number().int().min(100).max(600_000).optional(),
})
export type BrokerConfig = z.infer<typeof brokerEnv>

/** Both or neither: half a TLS setup would silently leave devices on plain TCP. */
export const checkTlsPair = (c: { MQTT_TLS_CERT?: string | undefined; MQTT_TLS_KEY?: string | undefined }): void => {
  if ((c.MQTT_TLS_CERT === undefined) !== (c.MQTT_TLS_KEY === undefined)) throw new Error('MQTT_TLS_CERT and MQTT_TLS_KEY: set both or neither')
}

export const loadBrokerConfig = (e: Record<string, string | undefined> = process.env): BrokerConfig => parseEnv(brokerEnv, e)
