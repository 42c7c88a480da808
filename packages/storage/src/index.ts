export * from './port.ts'
export { createSqliteStore, type SqliteStoreOptions } from './sqlite-store.ts'
export { createInfluxStore, type InfluxStoreOptions } from './influx-store.ts'
export { createStoreFromConfig, SQLITE_FILE, type StoreConfig } from './from-config.ts'
