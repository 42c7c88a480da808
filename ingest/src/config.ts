import { z } from 'zod'
import { commonEnv, env, parseEnv } from '@mytho/runtime'
import { MAX_PARTITIONS, serviceMayUseClientId } from '@mytho/schema'

export const ingestEnv = commonEnv
  .extend({
    /**
     * Broker to subscribe to, or the brokers of a cluster as a comma-separated list (`mqtt://b1:1883,mqtt://b2:1883`):
     * the first is tried first, each reconnect tries the next, so the worker's sessions move to a live node when one
     * dies. Default mqtt://127.0.0.1:1883.
     */
    MQTT_URL: env.mqttUrls('mqtt://127.0.0.1:1883'),
    /** Service account. Default svc-ingest. */
    INGEST_MQTT_USERNAME: z.string().default('svc-ingest'),
    /** Its password; unset in a demo start: read from DATA_DIR/secrets/demo-secrets.json. */
    INGEST_MQTT_PASSWORD: env.secret(),
    /** Persistent-session client id; one per ingest worker. Default mytho-ingest. */
    INGEST_CLIENT_ID: z
      .string()
      .min(1)
      .max(23)
      .refine((id) => serviceMayUseClientId('svc-ingest', id), 'must be mytho-ingest or start with mytho-ingest- (the broker binds svc-ingest to those ids)')
      .default('mytho-ingest'),
    /** Readings per storage write, at most. Default 5,000 (InfluxDB's sweet spot). */
    INGEST_BATCH_MAX: env.int(5000, 1, 100_000),
    /**
     * Longest a reading waits for its batch to fill, ms. Default 10: under load batches fill while the previous
     * write runs anyway, so the timer only adds latency to a quiet stream (it is part of publish → map time, whose
     * p99 target is 50 ms: BENCHMARKS.md, issue #8); at 10 ms a quiet stream costs storage at most 100 writes/s.
     */
    INGEST_BATCH_WAIT_MS: env.int(10, 0, 600_000),
    /** Largest payload accepted, bytes. Default 65,536. */
    INGEST_MAX_PAYLOAD_BYTES: env.int(65_536, 64, 16 * 1024 * 1024),
    /** Unacknowledged messages held before reading pauses (backpressure to the broker). Default 50,000. */
    INGEST_MAX_INFLIGHT: env.int(50_000, 1, 1_000_000),
    /**
     * On-disk spool (DATA_DIR/spool.sqlite) for readings accepted while storage is down or slow, in readings +
     * dead letters. When full, ingest stops acknowledging and reading (the broker holds the rest). 0 turns the
     * spool off: acknowledgements then wait for storage. Default 2,000,000 (about 400 MB of JSON).
     */
    INGEST_SPOOL_MAX_READINGS: env.int(2_000_000, 0, 1_000_000_000),
    /** How often the pipeline health is announced on mytho/v1/platform/health, ms (also at once on a status change). Default 5,000. */
    INGEST_HEALTH_INTERVAL_MS: env.int(5000, 100, 600_000),
    /**
     * Ingest partitions shared by several workers (issue #10): a device belongs to partition FNV-1a(id) % P, each
     * partition is one persistent session (`INGEST_CLIENT_ID-pNNofP`) owned by one worker at a time through a
     * lease in Redis. Every worker of a deployment must use the same P. Default 0: one worker, one session
     * (INGEST_CLIENT_ID), no Redis.
     */
    INGEST_PARTITIONS: env.int(0, 0, MAX_PARTITIONS),
    /**
     * The cluster's Redis: partition leases and worker heartbeats (with INGEST_PARTITIONS > 0), and the alert state
     * (incidents, their events, hold timers) instead of DATA_DIR/alerts.sqlite, so workers and API nodes on other
     * hosts share it; give the API nodes the same URL. Needs Redis persistence (docs/cluster.md). Default unset.
     */
    REDIS_URL: env.redisUrl(),
    /** Partition lease and worker heartbeat lifetime, ms: a dead worker's partitions are taken over after at most this. Renewed every third. Default 10,000. */
    INGEST_LEASE_TTL_MS: env.int(10_000, 300, 600_000),
    /** This worker's name in leases, logs and its spool file (spool-ID.sqlite). Default the host name and a random suffix. */
    INGEST_WORKER_ID: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (at most 64)')
      .optional(),
    /** Optional registry file; default the seed fleet. */
    DEVICE_REGISTRY_FILE: z.string().optional(),
    /** Evaluate alert rules on the stream. Default true. */
    ALERTS_ENABLED: env.bool(true),
    /** Alert rules JSON; default the built-in rules (packages/alerts/src/default-rules.ts). */
    ALERT_RULES_FILE: z.string().optional(),
    /** How often silence and reminders are checked, ms. Default 5,000. */
    ALERT_TICK_MS: env.int(5000, 100, 600_000),
    /** Incident notifications as signed JSON POSTs to this URL. */
    WEBHOOK_URL: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
    /** Shared secret for the webhook's HMAC-SHA256 signature (x-mytho-signature); required with WEBHOOK_URL. */
    WEBHOOK_SECRET: env.secret(),
    /** Telegram bot token and chat id for incident messages (both or neither). */
    TELEGRAM_BOT_TOKEN: z.string().optional(),
    TELEGRAM_CHAT_ID: z.string().optional(),
    /** Bot API base URL. Default https://api.telegram.org. */
    TELEGRAM_API_URL: z.url().optional(),
    /**
     * Zalo Official Account access token for incident messages (docs/alerts.md, "Zalo"); lasts about 25 hours,
     * so give ZALO_OA_REFRESH_TOKEN too, or renew it by hand. Default unset: no Zalo messages.
     */
    ZALO_OA_ACCESS_TOKEN: env.secret(),
    /** Comma list of the Zalo user ids (of the OA's followers) who receive incident messages; required with a Zalo token. */
    ZALO_OA_RECIPIENTS: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((e) => e.trim())
          .filter((e) => e !== ''),
      )
      .pipe(
        z
          .array(z.string().regex(/^\d{1,32}$/, 'Zalo user ids are digits'))
          .min(1)
          .max(100),
      )
      .optional(),
    /** OA API base URL. Default https://openapi.zalo.me. */
    ZALO_OA_API_URL: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
    /** Refresh token (good once, 3 months): with it the access token renews itself; its successors live in DATA_DIR/secrets/zalo-oa-tokens.json. */
    ZALO_OA_REFRESH_TOKEN: env.secret(),
    /** The Zalo app's id and secret key, needed to renew the access token. */
    ZALO_OA_APP_ID: z
      .string()
      .regex(/^\d{1,32}$/, 'the app id is digits')
      .optional(),
    ZALO_OA_APP_SECRET: env.secret(),
    /** Zalo OAuth base URL. Default https://oauth.zaloapp.com. */
    ZALO_OA_OAUTH_URL: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
    /** The map's public address (https://map.example.vn/) for the link in chat messages; unset: an OpenStreetMap link to the device. */
    NOTIFY_MAP_URL: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
    /** Language of chat messages: vi or en. Default vi. */
    NOTIFY_LANGUAGE: z.enum(['vi', 'en']).default('vi'),
  })
  .refine((c) => c.WEBHOOK_URL === undefined || c.WEBHOOK_SECRET !== undefined, { message: 'required when WEBHOOK_URL is set', path: ['WEBHOOK_SECRET'] })
  .refine((c) => (c.TELEGRAM_BOT_TOKEN === undefined) === (c.TELEGRAM_CHAT_ID === undefined), {
    message: 'set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID together',
    path: ['TELEGRAM_CHAT_ID'],
  })
  .refine((c) => (c.ZALO_OA_ACCESS_TOKEN === undefined && c.ZALO_OA_REFRESH_TOKEN === undefined) || c.ZALO_OA_RECIPIENTS !== undefined, {
    message: 'required with ZALO_OA_ACCESS_TOKEN or ZALO_OA_REFRESH_TOKEN (who receives the messages)',
    path: ['ZALO_OA_RECIPIENTS'],
  })
  .refine((c) => c.ZALO_OA_RECIPIENTS === undefined || c.ZALO_OA_ACCESS_TOKEN !== undefined || c.ZALO_OA_REFRESH_TOKEN !== undefined, {
    message: 'set ZALO_OA_ACCESS_TOKEN or ZALO_OA_REFRESH_TOKEN with ZALO_OA_RECIPIENTS',
    path: ['ZALO_OA_ACCESS_TOKEN'],
  })
  .refine((c) => c.ZALO_OA_REFRESH_TOKEN === undefined || (c.ZALO_OA_APP_ID !== undefined && c.ZALO_OA_APP_SECRET !== undefined), {
    message: 'set ZALO_OA_APP_ID and ZALO_OA_APP_SECRET with ZALO_OA_REFRESH_TOKEN (a refresh needs both)',
    path: ['ZALO_OA_APP_SECRET'],
  })
  .refine((c) => c.INGEST_PARTITIONS === 0 || c.REDIS_URL !== undefined, {
    message: 'required when INGEST_PARTITIONS > 0 (partition leases live in Redis)',
    path: ['REDIS_URL'],
  })
export type IngestConfig = z.infer<typeof ingestEnv>

export const loadIngestConfig = (e: Record<string, string | undefined> = process.env): IngestConfig => parseEnv(ingestEnv, e)
