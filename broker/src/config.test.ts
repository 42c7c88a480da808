import { describe, expect, it } from 'vitest'
import { loadBrokerConfig } from './config.ts'

describe('broker config', () => {
  it('has the documented defaults', () => {
    const c = loadBrokerConfig({})
    expect({ ...c, DATA_DIR: undefined }).toEqual({
      DATA_DIR: undefined,
      LOG_LEVEL: 'info',
      INFLUX_DB: 'mytho',
      // /metrics and /health say what runs and how busy: on the loopback unless compose opens its network.
      METRICS_HOST: '127.0.0.1',
      MQTT_PORT: 1883,
      MQTT_HOST: '0.0.0.0',
      MQTT_WS_PORT: 8083,
      MQTT_INTERNAL_HOST: '127.0.0.1',
      MQTT_SERVICE_NETS: [
        { address: '127.0.0.0', prefix: 8, family: 'ipv4' },
        { address: '::1', prefix: 128, family: 'ipv6' },
      ],
      MQTT_ALLOW_ANONYMOUS: false,
      MQTT_MAX_PACKET_BYTES: 262_144,
      MQTT_MAX_PRECONNECT_BYTES: 65_536,
      MQTT_MAX_TOPIC_LENGTH: 256,
      MQTT_MAX_TOPIC_LEVELS: 8,
      RETENTION_1H_DAYS: 0,
      RETENTION_5M_DAYS: 730,
      RETENTION_RAW_DAYS: 90,
      SEED_DEMO_SECRETS: true,
      MQTT_TLS_PORT: 8883,
      MQTT_MAX_PUBLISH_PER_S: 20,
      MQTT_PUBLISH_BURST: 100,
      MQTT_PERSISTENCE: 'level',
    })
  })

  it('turns the WebSocket listener off with MQTT_WS_PORT=off, and takes 0 for a free port', () => {
    expect(loadBrokerConfig({ MQTT_WS_PORT: 'off' }).MQTT_WS_PORT).toBeUndefined()
    expect(loadBrokerConfig({ MQTT_WS_PORT: '0' }).MQTT_WS_PORT).toBe(0)
    expect(loadBrokerConfig({ MQTT_WS_PORT: '' }).MQTT_WS_PORT).toBe(8083)
  })

  it('names every bad variable', () => {
    expect(() =>
      loadBrokerConfig({ MQTT_WS_PORT: 'none', MQTT_PORT: '70000', MQTT_MAX_TOPIC_LEVELS: '101', MQTT_ALLOW_ANONYMOUS: 'sure' }),
    ).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: invalid environment:
        MQTT_PORT: Too big: expected number to be <=65535
        MQTT_WS_PORT: expected a port number or off
        MQTT_ALLOW_ANONYMOUS: expected true or false
        MQTT_MAX_TOPIC_LEVELS: Too big: expected number to be <=100]
    `)
  })
})
