import { freePort, makeTempDir } from '@mytho/testing'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { reading } from './contract.test-suite.ts'
import { SQLITE_FILE, createStoreFromConfig } from './from-config.ts'

const tmp = makeTempDir('mytho-store-config-')
afterAll(() => tmp.cleanup())

describe('createStoreFromConfig', () => {
  it('without INFLUX_URL: SQLite at DATA_DIR/readings.sqlite, creating the directory', async () => {
    const dataDir = join(tmp.path, 'nested', 'data')
    const store = createStoreFromConfig({ DATA_DIR: dataDir, INFLUX_DB: 'mytho' })
    onTestFinished(() => store.close())
    await store.init()
    await store.writeReadings([reading()])
    expect(existsSync(join(dataDir, SQLITE_FILE))).toBe(true)
  })

  it('with INFLUX_URL: InfluxDB over HTTP (here: nothing listening, so a retryable StorageError)', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    const store = createStoreFromConfig({ DATA_DIR: join(tmp.path, 'unused'), INFLUX_URL: url, INFLUX_DB: 'mytho', INFLUX_TOKEN: 't' })
    onTestFinished(() => store.close())
    await expect(store.writeReadings([reading()])).rejects.toMatchObject({
      name: 'StorageError',
      retryable: true,
      message: expect.stringMatching(/ECONNREFUSED/),
    })
    expect(existsSync(join(tmp.path, 'unused'))).toBe(false)
  })
})
