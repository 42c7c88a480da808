import { redactUrl } from '@mytho/runtime'
import type { DeviceRegistry } from '@mytho/schema'
import { openCredentialStore, type CredentialStore, type CredentialStoreOptions } from './credential-store.ts'
import { openRedisCredentialStore } from './credential-store-redis.ts'
import { loadProvisionedRegistry, openDeviceDirectory, type DeviceDirectory } from './device-directory.ts'
import { followRedisDirectory, openRedisDeviceDirectory, type FollowedRegistry } from './device-directory-redis.ts'
import type { MetaRedisOptions } from './meta-redis.ts'
import { followDirectory } from './registry-follow.ts'
import { metaSqlitePath } from './meta-sqlite.ts'
import { openOperatorStore, type OperatorStore } from './operator-store.ts'
import { openAgencyKeyStore, type AgencyKeyStore } from './agency-keys.ts'
import { openRedisAgencyKeyStore } from './agency-keys-redis.ts'
import { openRedisOperatorStore } from './operator-store-redis.ts'

/**
 * Where the metadata lives, in the services' env names: `${DATA_DIR}/meta.sqlite` on one host, the cluster's
 * Redis when REDIS_URL is set (then nothing is written to DATA_DIR: a node on another host has no meta.sqlite).
 */
export interface MetaConfig {
  DATA_DIR: string
  REDIS_URL?: string | undefined
}

/** The single-host or cluster choice, made here and nowhere else for the metadata stores. */
function onHostOrCluster<T>(config: MetaConfig, oneHost: (dataDir: string) => T, cluster: (redisUrl: string) => T): T {
  return config.REDIS_URL !== undefined ? cluster(config.REDIS_URL) : oneHost(config.DATA_DIR)
}

/*
 * Each opener below gives a store that owns its connection (Redis: opened lazily on first use, so opening stays
 * synchronous like SQLite; released by the store's close()). `logger` takes the Redis connection's errors
 * (default silent) and `prefix` is for tests; SQLite needs neither.
 */

/** Device and service-account credentials: what the broker authenticates against and the API provisions. */
export function openCredentialsFromConfig(config: MetaConfig, options: CredentialStoreOptions & MetaRedisOptions = {}): CredentialStore {
  return onHostOrCluster(
    config,
    (dataDir) => openCredentialStore(dataDir, options.cacheEntries === undefined ? {} : { cacheEntries: options.cacheEntries }),
    (url) => openRedisCredentialStore(url, options),
  )
}

/** The provisioned devices, as the API lists and writes them. */
export function openDeviceDirectoryFromConfig(config: MetaConfig, options: MetaRedisOptions = {}): DeviceDirectory {
  return onHostOrCluster(config, openDeviceDirectory, (url) => openRedisDeviceDirectory(url, options))
}

/** Operators, their sessions and the audit log. */
export function openOperatorStoreFromConfig(config: MetaConfig, options: MetaRedisOptions = {}): OperatorStore {
  return onHostOrCluster(config, openOperatorStore, (url) => openRedisOperatorStore(url, options))
}

/** Agency keys, their use log and the NGSI-LD subscriptions made with them (issue #22). */
export function openAgencyKeysFromConfig(config: MetaConfig, options: MetaRedisOptions = {}): AgencyKeyStore {
  return onHostOrCluster(config, openAgencyKeyStore, (url) => openRedisAgencyKeyStore(url, options))
}

/**
 * The device registry a service starts with: the provisioned devices, topped up from the registry file
 * (`fromFile`). One host: read from meta.sqlite, a device provisioned later found by a lookup when first met
 * (close() leaves that lookup working: the handle lives as long as the process). Cluster: the directory on
 * Redis, followed live (followRedisDirectory). Both re-read the directory every few seconds and on resync()
 * (registry-follow.ts), so moves, disables and enables reach a running service; close() ends that.
 */
export async function openProvisionedRegistryFromConfig(
  config: MetaConfig,
  fromFile: DeviceRegistry,
  options: MetaRedisOptions & { intervalMs?: number } = {},
): Promise<FollowedRegistry> {
  return onHostOrCluster<Promise<FollowedRegistry>>(
    config,
    async (dataDir) => {
      const registry = loadProvisionedRegistry(dataDir, fromFile)
      const directory = openDeviceDirectory(dataDir)
      const follower = followDirectory(directory, registry, { ...options, closeDirectory: () => directory.close() })
      return { registry, resync: follower.resync, close: follower.close }
    },
    (url) => followRedisDirectory(url, fromFile, options),
  )
}

/** Where the metadata stores are, fit for a message: the meta.sqlite path, or REDIS_URL without its password. */
export function metaStoreWhere(config: MetaConfig): string {
  return onHostOrCluster(config, metaSqlitePath, redactUrl)
}
