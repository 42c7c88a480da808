import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { makeTempDir } from '@mytho/testing'
import { loadEmbeddedConfig } from './embedded.ts'

describe('loadEmbeddedConfig', () => {
  it('reads both services from one environment', () => {
    const c = loadEmbeddedConfig({ MQTT_PORT: '0', INGEST_BATCH_MAX: '200' })
    expect(c.broker.MQTT_PORT).toBe(0)
    expect(c.ingest.INGEST_BATCH_MAX).toBe(200)
  })

  it('names every bad variable of either service, and what only a cluster may set', () => {
    expect(() =>
      loadEmbeddedConfig({ MQTT_PORT: 'abc', INGEST_BATCH_MAX: '0', REDIS_URL: 'redis://127.0.0.1:6379', INGEST_PARTITIONS: '4' }),
    ).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: invalid environment:
        MQTT_PORT: Invalid input: expected number, received NaN
        INGEST_BATCH_MAX: Too small: expected number to be >=1
        REDIS_URL: the embedded ingest runs broker and ingest on one machine; unset it (a cluster runs them apart)
        INGEST_PARTITIONS: the embedded ingest is one worker; set 0 or unset]
    `)
  })

  it('refuses REDIS_URL given as a file too (compose hands secrets/redis_url to every node), and takes an empty one', () => {
    const dir = makeTempDir('mytho-embedded-redis-')
    onTestFinished(() => dir.cleanup())
    const file = join(dir.path, 'redis_url')
    writeFileSync(file, 'redis://:4f1c7a9e2b6d8035c1e7f4a2b9d6c3e8@redis:6379\n')
    expect(() => loadEmbeddedConfig({ REDIS_URL_FILE: file })).toThrow(/^ {2}REDIS_URL: the embedded ingest runs broker and ingest on one machine/m)
    writeFileSync(file, '')
    expect(loadEmbeddedConfig({ REDIS_URL_FILE: file }).broker.REDIS_URL).toBeUndefined()
  })
})
