import { describe, expect, it } from 'vitest'
import { loadApiConfig } from '../src/config.ts'

// The live feed's failover itself runs with real brokers in ingest/test/broker-list-failover.test.ts.
describe('MQTT_URL of an API node', () => {
  it('takes one broker or a comma-separated list, and names MQTT_URL when an entry is bad', () => {
    expect(loadApiConfig({}).MQTT_URL).toBe('mqtt://127.0.0.1:1883')
    expect(loadApiConfig({ MQTT_URL: 'mqtt://broker:1883, mqtt://broker-2:1883' }).MQTT_URL).toBe('mqtt://broker:1883,mqtt://broker-2:1883')
    expect(() => loadApiConfig({ MQTT_URL: 'mqtt://broker:1883,broker-2:1883' })).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: invalid environment:
        MQTT_URL: expected mqtt://host:port or a comma-separated list of them]
    `)
  })
})
