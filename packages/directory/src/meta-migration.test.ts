import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { loadRegistryFile } from '@mytho/schema'
import { makeTempDir, startRedisServer, type RedisServer } from '@mytho/testing'
import { openCredentialStore } from './credential-store.ts'
import { openRedisCredentialStore } from './credential-store-redis.ts'
import { openDeviceDirectory } from './device-directory.ts'
import { openRedisDeviceDirectory } from './device-directory-redis.ts'
import { openAgencyKeyStore } from './agency-keys.ts'
import { openRedisAgencyKeyStore } from './agency-keys-redis.ts'
import { migrateMetaToRedis } from './meta-migration.ts'
import { openOperatorStore } from './operator-store.ts'
import { openRedisOperatorStore } from './operator-store-redis.ts'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server?.stop())

describe('copying meta.sqlite into Redis', () => {
  it('moves credentials, devices, operators, live sessions and the audit log; a second run copies nothing', async () => {
    const dir = makeTempDir('mytho-migrate-')
    onTestFinished(() => dir.cleanup())
    const now = Date.now()
    const seed = loadRegistryFile().devices.slice(0, 3)
    const creds = openCredentialStore(dir.path)
    const directory = openDeviceDirectory(dir.path)
    const operators = openOperatorStore(dir.path)
    await directory.seedIfEmpty(seed)
    await creds.setSecret(seed[0]!.id, 'device', 'device-secret-0')
    await creds.setSecret(seed[1]!.id, 'device', 'device-secret-1')
    await creds.setDisabled(seed[1]!.id, true)
    await operators.create('admin1', 'correct horse battery staple', 'admin', 1000)
    await operators.create('gone1', 'correct horse battery staple', 'viewer', 1000)
    const live = await operators.openSession('admin1', 3_600_000, now)
    const expired = await operators.openSession('admin1', 1000, now - 5000)
    await operators.setDisabled('gone1', true)
    for (let i = 0; i < 7; i++)
      await operators.audit({ actor: i % 2 ? 'admin1' : 'system', action: i % 2 ? 'sign-in' : 'device-create', target: `t${i}`, detail: { i } }, 2000 + i)
    const logBefore = await operators.auditLog({ limit: 100 })
    const agencyKeys = openAgencyKeyStore(dir.path)
    const scope = { kinds: ['water_level' as const], wards: ['my-tho' as const], access: 'raw' as const, ratePerMinute: 60 }
    const issued = await agencyKeys.create({ name: 'hydromet', agency: 'KTTV', scope, createdBy: 'admin1' }, 1000)
    await agencyKeys.recordUse(issued.agencyKey.id, { ts: 1500, method: 'GET', path: '/ngsi-ld/v1/entities', status: 200, ip: null })
    const sub = {
      id: 'urn:ngsi-ld:Subscription:mytho:one',
      type: 'Subscription' as const,
      entities: [{ type: 'FloodMonitoring' }],
      notification: { format: 'normalized' as const, endpoint: { uri: 'http://127.0.0.1:9/n', accept: 'application/json' as const } },
      isActive: true,
      status: 'active' as const,
    }
    await agencyKeys.addSubscription(issued.agencyKey.id, sub, 1600)
    await Promise.all([creds.close(), directory.close(), operators.close(), agencyKeys.close()])

    const url = `${server.url}/3`
    expect(await migrateMetaToRedis(dir.path, url, { now })).toEqual({
      credentials: 2,
      devices: 3,
      operators: 2,
      sessions: 1,
      audit: 7,
      agencyKeys: 1,
      subscriptions: 1,
    })
    expect(await migrateMetaToRedis(dir.path, url, { now })).toEqual({
      credentials: 0,
      devices: 0,
      operators: 0,
      sessions: 0,
      audit: 0,
      agencyKeys: 0,
      subscriptions: 0,
    })

    const rc = openRedisCredentialStore(url)
    const rd = openRedisDeviceDirectory(url)
    const ro = openRedisOperatorStore(url)
    onTestFinished(() => Promise.all([rc.close(), rd.close(), ro.close()]).then(() => undefined))
    expect(await rc.verify(seed[0]!.id, 'device-secret-0')).toBe('ok')
    expect(await rc.verify(seed[1]!.id, 'device-secret-1')).toBe('disabled')
    expect((await rd.list()).map((d) => [d.id, d.hasSecret, d.disabled])).toEqual(seed.map((d, i) => [d.id, i < 2, i === 1]).sort())
    expect(await ro.verify('admin1', 'correct horse battery staple')).toEqual({ username: 'admin1', role: 'admin' })
    expect(await ro.verify('gone1', 'correct horse battery staple')).toBeUndefined()
    expect(await ro.session(live.token, now + 1)).toEqual(live.session)
    expect(await ro.session(expired.token, now + 1)).toBeUndefined()
    expect(await ro.auditLog({ limit: 100 })).toEqual(logBefore)
    expect(await ro.auditLog({ limit: 2, actor: 'system', before: logBefore[0]!.id })).toEqual(logBefore.filter((e) => e.actor === 'system').slice(1, 3))
    const rk = openRedisAgencyKeyStore(url)
    onTestFinished(() => rk.close())
    expect(await rk.authenticate(issued.key, now)).toEqual({ ...issued.agencyKey, useCount: 1, lastUsedAt: 1500 })
    expect(await rk.subscriptions()).toEqual([{ keyId: issued.agencyKey.id, subscription: sub }])
    // New entries continue after the copied ids.
    await ro.audit({ actor: 'admin1', action: 'sign-out' }, now)
    expect((await ro.auditLog({ limit: 1 }))[0]!.id).toBe(logBefore[0]!.id + 1)
  })
})
