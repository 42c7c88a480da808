import { z } from 'zod'

/**
 * What the reading store could set up of what it was asked for (retention, roll-ups), as the ingest's /health and the
 * API's /ready report it. An operator reads `warnings`: each names what was asked, why it cannot be done here and
 * what to do instead. Never holds a secret.
 *
 * rollups:
 *   continuous_queries  the server computes them (InfluxDB 1.x continuous queries this store created)
 *   computed            this process computes them from the raw points it writes (the server refused continuous queries)
 *   read                this process only reads roll-ups another one writes (the API)
 *   pending             the roll-up retention policies exist but hold nothing yet: history reads raw points for now
 *   built_in            kept current on every write (SQLite)
 *   none                none at all: history past raw retention comes back empty
 * retention:
 *   policy              set by this store on the server (1.x retention policies)
 *   server              the server's own (a 2.x/3.x bucket, or set by someone else) and it matches what was asked
 *   built_in            enforced by the store itself (SQLite)
 *   not_set             asked for, and neither set here nor seen on the server
 */
export const StorageStatus = z.object({
  backend: z.enum(['influxdb', 'sqlite']),
  rollups: z.enum(['continuous_queries', 'computed', 'read', 'pending', 'built_in', 'none']),
  retention: z.enum(['policy', 'server', 'built_in', 'not_set']),
  warnings: z.array(z.string()),
})
export type StorageStatus = z.infer<typeof StorageStatus>
