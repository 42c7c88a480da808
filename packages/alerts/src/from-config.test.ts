import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { makeTempDir, startRedisServer, type RedisServer } from '@mytho/testing'
import { ALERTS_SQLITE_FILE, openIncidentsFromConfig } from './from-config.ts'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server?.stop())

describe('openIncidentsFromConfig', () => {
  it('without REDIS_URL: DATA_DIR/alerts.sqlite, the folder created', async () => {
    const tmp = makeTempDir('mytho-incidents-config-')
    onTestFinished(() => tmp.cleanup())
    const dataDir = join(tmp.path, 'nested', 'data')
    const backend = openIncidentsFromConfig({ DATA_DIR: dataDir }, { connectionName: 'test' })
    onTestFinished(() => backend.close())
    expect(backend.kind).toBe('sqlite')
    expect(existsSync(join(dataDir, ALERTS_SQLITE_FILE))).toBe(true)
  })

  it('with REDIS_URL: a connection to Redis under its name, and no file in DATA_DIR', async () => {
    const tmp = makeTempDir('mytho-incidents-config-')
    onTestFinished(() => tmp.cleanup())
    const dataDir = join(tmp.path, 'unused')
    const backend = openIncidentsFromConfig({ DATA_DIR: dataDir, REDIS_URL: server.url }, { connectionName: 'mytho-test-incidents' })
    onTestFinished(() => backend.close())
    if (backend.kind !== 'redis') throw new Error(`expected redis, got ${backend.kind}`)
    expect(await backend.redis.client('GETNAME')).toBe('mytho-test-incidents')
    expect(existsSync(dataDir)).toBe(false)
    await backend.close()
    await backend.close()
  })

  it('with neither (a REST-only embedder of the API): nothing', () => {
    expect(openIncidentsFromConfig({}, { connectionName: 'test' })).toBeUndefined()
  })
})
