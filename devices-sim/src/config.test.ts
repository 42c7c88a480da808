import { describe, expect, it } from 'vitest'
import { loadSimConfig } from './config.ts'

describe('devices-sim configuration', () => {
  it('has defaults for a local demo', () => {
    const c = loadSimConfig({})
    expect(c).toMatchObject({ MQTT_URL: 'mqtt://127.0.0.1:1883', SIM_DEVICES: 'all', SIM_SPEED: 1, SIM_SEED: 1, SIM_CONNECT_CONCURRENCY: 20 })
    expect(c.SIM_START).toBeUndefined() // the simulated clock starts at the real now
  })

  it('reads lists, fractions and Mỹ Tho dates; empty strings are unset', () => {
    const c = loadSimConfig({ SIM_DEVICES: ' rg-my-tho, wl-tan-long ,rg-my-tho', SIM_SPEED: '0.5', SIM_START: '2025-10-07', SIM_SEED: '' })
    expect(c.SIM_DEVICES).toEqual(['rg-my-tho', 'wl-tan-long'])
    expect(c.SIM_SPEED).toBe(0.5)
    expect(c.SIM_SEED).toBe(1)
    expect(new Date(c.SIM_START!).toISOString()).toBe('2025-10-06T17:00:00.000Z') // 00:00 at UTC+7
    expect(loadSimConfig({ SIM_START: '2025-10-07T18:00:00+07:00' }).SIM_START).toBe(Date.parse('2025-10-07T11:00:00Z'))
  })

  it('names every bad variable at once', () => {
    expect(() => loadSimConfig({ MQTT_URL: 'http://x', SIM_DEVICES: 'Not An Id', SIM_SPEED: '0', SIM_START: 'tomorrow' })).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: invalid environment:
        MQTT_URL: expected mqtt://host:port
        SIM_DEVICES: expected "all" or a comma list of device ids; not ids: Not An Id
        SIM_SPEED: Too small: expected number to be >0
        SIM_START: expected an ISO date (2025-10-07) or date-time with offset (2025-10-07T17:00:00+07:00)]
    `)
  })
})
