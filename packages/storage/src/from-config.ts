import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { CommonEnv } from '@mytho/runtime'
import { createInfluxStore } from './influx-store.ts'
import type { ReadingStore } from './port.ts'
import { createSqliteStore } from './sqlite-store.ts'

export type StoreConfig = Pick<CommonEnv, 'DATA_DIR' | 'INFLUX_URL' | 'INFLUX_DB' | 'INFLUX_TOKEN' | 'INFLUX_USERNAME' | 'INFLUX_PASSWORD'>

/** File name of the SQLite database inside DATA_DIR. */
export const SQLITE_FILE = 'readings.sqlite'

/** InfluxDB when INFLUX_URL is set, else SQLite at `${DATA_DIR}/readings.sqlite` (the directory is created). */
export function createStoreFromConfig(cfg: StoreConfig): ReadingStore {
  if (cfg.INFLUX_URL !== undefined) {
    return createInfluxStore({
      url: cfg.INFLUX_URL,
      database: cfg.INFLUX_DB,
      ...(cfg.INFLUX_TOKEN === undefined ? {} : { token: cfg.INFLUX_TOKEN }),
      ...(cfg.INFLUX_USERNAME === undefined ? {} : { username: cfg.INFLUX_USERNAME }),
      ...(cfg.INFLUX_PASSWORD === undefined ? {} : { password: cfg.INFLUX_PASSWORD }),
    })
  }
  mkdirSync(cfg.DATA_DIR, { recursive: true })
  return createSqliteStore({ path: join(cfg.DATA_DIR, SQLITE_FILE) })
}
