import { describe, expect, it } from 'vitest'
import { loadRegistryFile } from '@mytho/schema'
import { SimulatorError } from '../src/index.ts'
import { simulator, startBroker } from './harness.ts'

describe('connecting the fleet', () => {
  it('opens at most SIM_CONNECT_CONCURRENCY connections at a time, so the broker is not stampeded', async () => {
    let inFlight = 0
    let peak = 0
    let logins = 0
    // The broker takes 20 ms per login, as a scrypt hash would.
    const broker = await startBroker({
      authenticate: (_client, _u, _p, done) => {
        inFlight++
        logins++
        peak = Math.max(peak, inFlight)
        setTimeout(() => {
          inFlight--
          done(null, true)
        }, 20)
      },
    })
    const sim = simulator({ MQTT_URL: broker.url, SIM_DEVICES: 'all', SIM_CONNECT_CONCURRENCY: '5' }, {}, { secrets: {} })
    const fleet = loadRegistryFile().size
    await expect(sim.start()).resolves.toEqual({ devices: fleet })
    expect(logins).toBe(fleet)
    expect(peak).toBeLessThanOrEqual(5)
    expect(peak).toBeGreaterThanOrEqual(4)
  })

  it('refuses to start with devices the registry does not know', async () => {
    const sim = simulator({ SIM_DEVICES: 'rg-my-tho,no-such-device' })
    await expect(sim.start()).rejects.toThrow(new SimulatorError('SIM_DEVICES names devices not in the registry: no-such-device'))
  })
})
