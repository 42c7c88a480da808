import { describe, expect, it } from 'vitest'
import { DeviceRegistry, loadRegistryFile, readingsTopic, type DeviceRecord } from '@mytho/schema'
import { validateMessage } from './validate-message.ts'

const seed = loadRegistryFile()
const gateway: DeviceRecord = { ...seed.get('rg-my-tho')!, id: 'gw-test', kind: 'rain' }
const behindGateway: DeviceRecord = { ...seed.get('rg-dao-thanh')!, id: 'rg-behind-gw', gatewayId: 'gw-test' }
const registry = new DeviceRegistry([...seed.devices, gateway, behindGateway])
const now = Date.UTC(2026, 10, 25, 3, 0, 0)
const gauge = 'wl-hydro-station'
const run = (payload: string | Buffer, topic = readingsTopic(gauge)) =>
  validateMessage(topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), now, registry)
const codeOf = (payload: string | Buffer, topic?: string) => run(payload, topic).rejections.map((r) => r.code)

describe('validateMessage', () => {
  it('accepts a good reading and tags it from the registry', () => {
    const { readings, rejections } = run(JSON.stringify({ kind: 'water_level', ts: now - 1000, seq: 7, waterLevelCm: 152.5, batteryV: 12.6 }))
    expect(rejections).toEqual([])
    expect(readings).toEqual([
      {
        deviceId: gauge,
        kind: 'water_level',
        ward: 'my-tho',
        ts: now - 1000,
        tsSource: 'device',
        receivedAt: now,
        seq: 7,
        fields: { waterLevelCm: 152.5, batteryV: 12.6 },
      },
    ])
  })

  it('uses the broker stamp, else the receive time, when the device sends no ts', () => {
    expect(run(JSON.stringify({ kind: 'water_level', waterLevelCm: 100, rxTs: now - 5 })).readings[0]).toMatchObject({ ts: now - 5, tsSource: 'broker' })
    expect(run(JSON.stringify({ kind: 'water_level', waterLevelCm: 100 })).readings[0]).toMatchObject({ ts: now, tsSource: 'ingest' })
  })

  it('names the reason for each kind of bad input', () => {
    expect(codeOf('{"kind":"water_level","waterLevelCm":1}', 'mytho/v1/devices/wl-hydro-station/status')).toEqual(['bad_topic'])
    expect(codeOf('{"kind":"water_level","waterLevelCm":1}', 'other/topic')).toEqual(['bad_topic'])
    expect(codeOf('not json at all')).toEqual(['not_json'])
    expect(codeOf('{"kind":"water_level","waterLevelCm":NaN}')).toEqual(['non_finite'])
    expect(codeOf('{"kind":"water_level","waterLevelCm":Infinity}')).toEqual(['non_finite'])
    expect(codeOf('{"kind":"water_level","waterLevelCm":1e999}')).toEqual(['non_finite'])
    expect(codeOf('{"kind":"water_level","waterLevelCm":"152"}')).toEqual(['invalid_reading'])
    expect(codeOf('{"kind":"water_level","waterLevelCm":9000}')).toEqual(['out_of_range'])
    expect(codeOf('{"kind":"water_level","waterLevelCm":100,"extra":1}')).toEqual(['invalid_reading'])
    expect(codeOf('{"kind":"traffic","vehicleCount":1,"avgSpeedKmh":30,"occupancyPct":5,"intervalS":60}')).toEqual(['kind_mismatch'])
    expect(codeOf('{"kind":"water_level","waterLevelCm":1}', readingsTopic('wl-nowhere'))).toEqual(['unknown_device'])
    expect(codeOf(JSON.stringify({ kind: 'water_level', waterLevelCm: 1, ts: now + 6 * 60_000 }))).toEqual(['future_timestamp'])
    expect(codeOf(Buffer.alloc(70_000, 0x20))).toEqual(['oversized'])
    expect(codeOf('[]')).toEqual(['invalid_reading'])
    expect(codeOf('42')).toEqual(['invalid_reading'])
  })

  it('explains a schema refusal in words an installer can act on', () => {
    const [r] = run('{"kind":"water_level","waterLevelCm":"152","batteryV":-1}').rejections
    expect(r!.message).toMatchInlineSnapshot(`
      "✖ Too small: expected number to be >=0
        → at batteryV
      ✖ Invalid input: expected number, received string
        → at waterLevelCm"
    `)
    expect(r).toMatchObject({ deviceId: gauge, topic: readingsTopic(gauge), receivedAt: now, rawBytes: 57 })
  })

  it('keeps the good readings of an array and rejects the bad ones one by one', () => {
    const { readings, rejections } = run(
      JSON.stringify([
        { kind: 'water_level', ts: now - 2000, waterLevelCm: 150 },
        { kind: 'water_level', ts: now - 1000, waterLevelCm: 'x' },
        { kind: 'water_level', ts: now, waterLevelCm: 151 },
      ]),
    )
    expect(readings.map((r) => r.fields['waterLevelCm'])).toEqual([150, 151])
    expect(rejections.map((r) => [r.code, r.raw])).toEqual([['invalid_reading', `{"kind":"water_level","ts":${now - 1000},"waterLevelCm":"x"}`]])
  })

  it('lets a gateway speak only for the devices registered behind it', () => {
    const ok = run(JSON.stringify([{ deviceId: 'rg-behind-gw', kind: 'rain', rainMm: 2 }]), readingsTopic('gw-test'))
    expect(ok.readings.map((r) => r.deviceId)).toEqual(['rg-behind-gw'])
    expect(codeOf(JSON.stringify([{ deviceId: 'rg-my-tho', kind: 'rain', rainMm: 2 }]), readingsTopic('gw-test'))).toEqual(['not_gateway'])
  })

  it('dead-letters a payload that is not well-formed UTF-8 as not_utf8, whatever its text would parse as', () => {
    const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))
    expect(codeOf(bytes([0xff, 0xfe]))).toEqual(['not_utf8'])
    // decoded leniently these parse as JSON: a device id with U+FFFD in it, a reading with a stray byte in a string
    expect(codeOf(bytes('[{"deviceId":"rg-behind-gw', [0xff], '","kind":"rain","rainMm":2}]'), readingsTopic('gw-test'))).toEqual(['not_utf8'])
    expect(codeOf(bytes('{"kind":"water_level","waterLevelCm":150,"note":"', [0xc3, 0x28], '"}'))).toEqual(['not_utf8'])
    // an overlong encoding and a UTF-16 surrogate are not UTF-8 either
    expect(codeOf(bytes('{"kind":"water_level","waterLevelCm":150', [0xc0, 0xaf], '}'))).toEqual(['not_utf8'])
    expect(codeOf(bytes('{"kind":"water_level","waterLevelCm":150', [0xed, 0xa0, 0x80], '}'))).toEqual(['not_utf8'])
    // well-formed UTF-8 that is not JSON stays not_json
    expect(codeOf('mực nước 152cm')).toEqual(['not_json'])
    const [r] = run(bytes([0xff, 0xfe])).rejections
    expect(r).toMatchObject({ code: 'not_utf8', deviceId: gauge, rawBytes: 2, raw: '\ufffd\ufffd', message: expect.stringMatching(/not well-formed UTF-8/) })
  })

  it('bounds the raw payload kept in a dead letter', () => {
    const [r] = run(Buffer.alloc(70_000, 0x61)).rejections
    expect(r!.raw.length).toBe(4096)
    expect(r!.rawBytes).toBe(70_000)
  })
})
