// What the services share about who may do what, on one host (DATA_DIR/meta.sqlite) or a cluster (Redis).
export * from './from-config.ts'
export { hashSecret, verifySecret } from './hashing.ts'
export {
  openCredentialStore,
  CredentialStoreError,
  type CredentialStore,
  type CredentialStoreOptions,
  type CredentialRole,
  type VerifyResult,
} from './credential-store.ts'
export { openRedisCredentialStore } from './credential-store-redis.ts'
export { loadProvisionedRegistry, openDeviceDirectory, recordOf, type DeviceDirectory, type ProvisionedDevice } from './device-directory.ts'
export { followRedisDirectory, openRedisDeviceDirectory, type FollowedRegistry } from './device-directory-redis.ts'
export { openOperatorStore, type AuditInput, type AuditQuery, type GuardedChange, type OperatorStore, type Session } from './operator-store.ts'
export { openRedisOperatorStore } from './operator-store-redis.ts'
export { AGENCY_KEY_PREFIX, openAgencyKeyStore, type AgencyKeyInput, type AgencyKeyStore, type StoredSubscription } from './agency-keys.ts'
export { openRedisAgencyKeyStore } from './agency-keys-redis.ts'
export { migrateMetaToRedis, type MigrationCounts } from './meta-migration.ts'
export { META_SQLITE_FILE, metaSqlitePath, openMetaSqlite } from './meta-sqlite.ts'
export { META_PREFIX, MetaStoreError, luaScript, metaRedis, type MetaRedis, type MetaRedisOptions } from './meta-redis.ts'
export { REGISTRY_NOTICE_TOPIC, RegistryNotice } from './registry-notices.ts'
export { followDirectory, REGISTRY_RESYNC_MS, type RegistryFollower } from './registry-follow.ts'
