import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { DeviceRegistry, loadRegistryFile } from '@mytho/schema'
import { makeTempDir, startRedisServer, type RedisServer } from '@mytho/testing'
import {
  metaStoreWhere,
  openCredentialsFromConfig,
  openDeviceDirectoryFromConfig,
  openOperatorStoreFromConfig,
  openProvisionedRegistryFromConfig,
} from './from-config.ts'
import { META_SQLITE_FILE } from './meta-sqlite.ts'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server?.stop())

const seed = loadRegistryFile().devices.slice(0, 2)

/** Opens every metadata store from `config`, writes one row in each, and closes them. */
async function useEveryStore(config: { DATA_DIR: string; REDIS_URL?: string }) {
  const credentials = openCredentialsFromConfig(config)
  const directory = openDeviceDirectoryFromConfig(config)
  const operators = openOperatorStoreFromConfig(config)
  const provisioned = await openProvisionedRegistryFromConfig(config, new DeviceRegistry(seed))
  try {
    await credentials.setSecret(seed[0]!.id, 'device', 'device-secret-0')
    expect(await operators.create('admin1', 'correct horse battery staple', 'admin', 1000)).toBe(true)
    expect((await directory.get(seed[0]!.id))?.hasSecret).toBe(true)
    expect(provisioned.registry.get(seed[1]!.id)?.id).toBe(seed[1]!.id)
  } finally {
    await Promise.all([credentials.close(), directory.close(), operators.close(), provisioned.close()])
  }
}

describe('opening the metadata stores from the services’ config', () => {
  it('without REDIS_URL: every store in DATA_DIR/meta.sqlite, the folder created', async () => {
    const tmp = makeTempDir('mytho-meta-config-')
    onTestFinished(() => tmp.cleanup())
    const config = { DATA_DIR: join(tmp.path, 'nested', 'data') }
    await useEveryStore(config)
    expect(readdirSync(config.DATA_DIR)).toContain(META_SQLITE_FILE)
    expect(metaStoreWhere(config)).toBe(join(config.DATA_DIR, META_SQLITE_FILE))
  })

  it('with REDIS_URL: every store on Redis and nothing in DATA_DIR; the message names Redis without its password', async () => {
    const tmp = makeTempDir('mytho-meta-config-')
    onTestFinished(() => tmp.cleanup())
    const config = { DATA_DIR: join(tmp.path, 'unused'), REDIS_URL: server.url }
    await useEveryStore(config)
    expect(existsSync(config.DATA_DIR)).toBe(false)
    const redis = new Redis(server.url)
    onTestFinished(() => void redis.disconnect())
    expect((await redis.keys('mytho:meta:*')).sort()).toEqual(
      expect.arrayContaining([`mytho:meta:cred:${seed[0]!.id}`, 'mytho:meta:devices', 'mytho:meta:operator:admin1']),
    )
    expect(metaStoreWhere({ DATA_DIR: '/data', REDIS_URL: 'redis://:s3cret@redis:6379' })).toBe('redis://***@redis:6379')
  })
})
