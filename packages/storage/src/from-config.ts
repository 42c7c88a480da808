import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { CommonEnv, Logger } from '@mytho/runtime'
import { createInfluxStore } from './influx-store.ts'
import type { ReadingStore } from './port.ts'
import { createSqliteStore } from './sqlite-store.ts'

export type StoreConfig = Pick<CommonEnv, 'DATA_DIR' | 'INFLUX_URL' | 'INFLUX_DB' | 'INFLUX_TOKEN' | 'INFLUX_USERNAME' | 'INFLUX_PASSWORD'> &
  Partial<Pick<CommonEnv, 'RETENTION_RAW_DAYS' | 'RETENTION_5M_DAYS' | 'RETENTION_1H_DAYS'>>

/** File name of the SQLite database inside DATA_DIR. */
export const SQLITE_FILE = 'readings.sqlite'

/**
 * InfluxDB when INFLUX_URL is set, else SQLite at `${DATA_DIR}/readings.sqlite` (the directory is created).
 * `role`: the ingest writes (and computes roll-ups InfluxDB will not), the API reads and creates nothing; `logger`
 * gets the warnings for what InfluxDB will not let the store set up.
 */
export function createStoreFromConfig(cfg: StoreConfig, opts: { role?: 'writer' | 'reader'; logger?: Logger } = {}): ReadingStore {
  // Unset here (a config built by hand) means keep everything, as the adapters' own default.
  const retention = { rawDays: cfg.RETENTION_RAW_DAYS ?? 0, fiveMinuteDays: cfg.RETENTION_5M_DAYS ?? 0, hourDays: cfg.RETENTION_1H_DAYS ?? 0 }
  if (cfg.INFLUX_URL !== undefined) {
    return createInfluxStore({
      url: cfg.INFLUX_URL,
      database: cfg.INFLUX_DB,
      retention,
      ...(opts.role === undefined ? {} : { role: opts.role }),
      ...(opts.logger === undefined ? {} : { logger: opts.logger.child({ part: 'influx' }) }),
      ...(cfg.INFLUX_TOKEN === undefined ? {} : { token: cfg.INFLUX_TOKEN }),
      ...(cfg.INFLUX_USERNAME === undefined ? {} : { username: cfg.INFLUX_USERNAME }),
      ...(cfg.INFLUX_PASSWORD === undefined ? {} : { password: cfg.INFLUX_PASSWORD }),
    })
  }
  mkdirSync(cfg.DATA_DIR, { recursive: true, mode: 0o700 })
  return createSqliteStore({ path: join(cfg.DATA_DIR, SQLITE_FILE), retention })
}
