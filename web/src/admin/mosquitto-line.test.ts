import { describe, expect, it } from 'vitest'
import { DeviceReading } from '@mytho/schema'
import { deviceKinds } from '@mytho/schema/lists'
import { brokerOf, mosquittoPub } from './mosquitto-line.ts'

describe('the mosquitto_pub line shown with a new device secret', () => {
  it('uses the page’s host on port 1883 unless the API names the public broker', () => {
    expect(brokerOf(undefined, '10.20.0.5')).toEqual({ host: '10.20.0.5', port: 1883, tls: false })
    expect(brokerOf('mqtt://mqtt.mytho.example:1884', '10.20.0.5')).toEqual({ host: 'mqtt.mytho.example', port: 1884, tls: false })
    expect(brokerOf('mqtts://mqtt.mytho.example', 'x')).toEqual({ host: 'mqtt.mytho.example', port: 8883, tls: true })
    expect(mosquittoPub('rain-a', 's', 'rain', brokerOf('mqtts://mqtt.mytho.example', 'x'))).toContain(' -p 8883 --capath /etc/ssl/certs ')
  })

  it('checks the broker against the platform’s CA (MQTT_PUBLIC_CA_FILE) with --cafile of the downloaded file, over TLS only', () => {
    const ca = { url: '/api/v1/mqtt-ca.pem', fileName: 'mytho-mqtt-ca.pem' }
    const tls = brokerOf('mqtts://mqtt.mytho.example:8883', 'x', ca)
    expect(tls).toEqual({ host: 'mqtt.mytho.example', port: 8883, tls: true, ca })
    const line = mosquittoPub('rain-a', 's', 'rain', tls)
    expect(line).toContain(` -p 8883 --cafile 'mytho-mqtt-ca.pem' -i 'rain-a' `)
    expect(line).not.toContain('--capath')
    // plain MQTT has no certificate to check: no CA option at all
    expect(brokerOf('mqtt://mqtt.mytho.example:1883', 'x', ca)).toEqual({ host: 'mqtt.mytho.example', port: 1883, tls: false })
    expect(mosquittoPub('rain-a', 's', 'rain', brokerOf('mqtt://mqtt.mytho.example:1883', 'x', ca))).not.toMatch(/--ca(file|path)/)
  })

  it('quotes the secret for the shell, whatever it holds', () => {
    const line = mosquittoPub('rain-a', `a'b$c "d`, 'rain', brokerOf(undefined, 'h'))
    expect(line).toContain(` -P 'a'\\''b$c "d' `)
  })

  it('sends a sample reading the kind’s contract accepts, on the device’s own topic, QoS 1', () => {
    for (const kind of deviceKinds) {
      const line = mosquittoPub('dev-1', 's', kind, brokerOf(undefined, 'h'))
      const sample = JSON.parse(/ -m '([^']*)'$/.exec(line)![1]!) as unknown
      expect(DeviceReading.parse(sample).kind).toBe(kind)
      expect(line).toContain(` -i 'dev-1' -u 'dev-1' -P 's' -q 1 -t 'mytho/v1/devices/dev-1/readings' `)
    }
  })
})
