import { describe, expect, it } from 'vitest'
import { redactRedisUrl } from './cluster.ts'
import { loadBrokerConfig } from './config.ts'

describe('cluster settings', () => {
  it('takes a redis:// or rediss:// REDIS_URL; unset or empty is a standalone broker', () => {
    expect(loadBrokerConfig({ REDIS_URL: 'redis://10.0.0.5:6379/1' }).REDIS_URL).toBe('redis://10.0.0.5:6379/1')
    expect(loadBrokerConfig({ REDIS_URL: 'rediss://:Xk3v9Qm2L8pZ4rT7@redis.example:6380' }).REDIS_URL).toBe('rediss://:Xk3v9Qm2L8pZ4rT7@redis.example:6380')
    // A weak password inside it stops the start like any weak secret, without printing it.
    expect(() => loadBrokerConfig({ REDIS_URL: 'rediss://:pw@redis.example:6380' })).toThrow(/REDIS_URL: the password in it is shorter than 16 characters/)
    expect(loadBrokerConfig({ REDIS_URL: '' }).REDIS_URL).toBeUndefined()
    expect(loadBrokerConfig({}).MQTT_CLUSTER_HEARTBEAT_MS).toBeUndefined()
  })

  it('names REDIS_URL and MQTT_CLUSTER_HEARTBEAT_MS when they are wrong', () => {
    expect(() => loadBrokerConfig({ REDIS_URL: 'http://redis:6379', MQTT_CLUSTER_HEARTBEAT_MS: '10' })).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: invalid environment:
        REDIS_URL: expected a redis:// or rediss:// URL
        MQTT_CLUSTER_HEARTBEAT_MS: Too small: expected number to be >=100]
    `)
  })

  it('masks the password in what it logs', () => {
    expect(redactRedisUrl('redis://:s3cret@redis:6379/0')).toBe('redis://***@redis:6379/0')
    expect(redactRedisUrl('redis://user:s3cret@redis:6379')).toBe('redis://***@redis:6379')
    expect(redactRedisUrl('redis://redis:6379')).toBe('redis://redis:6379')
  })
})
