import { describe, expect, it } from 'vitest'
import { passwordInUrl, redactUrl } from './secret-strength.ts'

describe('URLs in logs', () => {
  it('drops the user-info of a URL, so a password in REDIS_URL or MQTT_URL never reaches a log line', () => {
    expect(redactUrl('redis://:Xk3v9Qm2L8pZ4rT7@redis:6379/1')).toBe('redis://***@redis:6379/1')
    expect(redactUrl('mqtt://svc:pw@broker:1884,mqtt://broker-2:1884')).toBe('mqtt://***@broker:1884,mqtt://broker-2:1884')
    expect(redactUrl('mqtt://broker:1884,mqtt://svc:pw@broker-2:1884')).toBe('mqtt://broker:1884,mqtt://***@broker-2:1884')
    expect(redactUrl('http://influxdb:8086')).toBe('http://influxdb:8086')
    expect(passwordInUrl('redis://:a%40b@h:1')).toBe('a@b')
    expect(passwordInUrl('redis://h:1')).toBeUndefined()
  })
})
