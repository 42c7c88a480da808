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
