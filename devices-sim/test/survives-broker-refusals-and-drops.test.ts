import { describe, expect, it } from 'vitest'
import type { AuthenticateError } from 'aedes'
import { freePort, waitFor } from '@mytho/testing'
import { captureLogs, latestStatus, simulator, startBroker, subscribe } from './harness.ts'

const ids = ['rg-my-tho', 'sal-lac-hong', 'tc-cau-quay'] as const
const fast = { reconnectMinMs: 40, reconnectMaxMs: 200 }
const refuse = (): AuthenticateError => Object.assign(new Error('bad user name or password'), { returnCode: 4 }) as AuthenticateError

describe('simulator when the broker misbehaves', () => {
  it('keeps running when the broker refuses a device, and connects it once the broker accepts', async () => {
    let accept = false
    let refusals = 0
    const broker = await startBroker({
      authenticate: (client, _u, _p, done) => {
        if (client.id === 'sal-lac-hong' && !accept) {
          refusals++
          return done(refuse(), false)
        }
        done(null, true)
      },
    })
    const watcher = await subscribe(broker.url)
    const { logger, lines } = captureLogs()
    const sim = simulator({ MQTT_URL: broker.url, SIM_DEVICES: ids.join(','), SIM_SPEED: '300' }, fast, { secrets: {}, logger })

    await expect(sim.start()).resolves.toEqual({ devices: 2 })
    await waitFor(() => refusals >= 3, { what: 'retries with backoff' })
    expect(sim.stats.errors).toBeGreaterThanOrEqual(3)
    // One warning with the broker's reason, not one per retry (those log at debug).
    const warnings = lines.filter((l) => l['level'] === 'warn')
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'device connections failing; retrying with backoff',
        reason: 'bad user name or password',
        code: 4,
        example: 'sal-lac-hong',
      }),
    ])
    expect(
      lines.filter((l) => l['level'] === 'debug' && l['deviceId'] === 'sal-lac-hong' && l['msg'] === 'device cannot connect; retrying with backoff').length,
    ).toBeGreaterThanOrEqual(3)

    accept = true
    await waitFor(() => latestStatus(watcher.messages).get('sal-lac-hong') === 'online', { what: 'the refused device online' })
    await waitFor(() => watcher.messages.some((m) => m.topic === 'mytho/v1/devices/sal-lac-hong/readings'), { what: 'its first reading' })
    expect(sim.stats.connected).toBe(3)
  })

  it('reconnects a device the broker drops; the Last Will marks it offline meanwhile', async () => {
    const broker = await startBroker()
    const watcher = await subscribe(broker.url)
    const sim = simulator({ MQTT_URL: broker.url, SIM_DEVICES: ids.join(','), SIM_SPEED: '300' }, fast, { secrets: {} })
    await sim.start()
    const statuses = () => watcher.messages.filter((m) => m.topic === 'mytho/v1/devices/tc-cau-quay/status').map((m) => m.payload)
    await waitFor(() => statuses().includes('online') && broker.clients.has('tc-cau-quay'), { what: 'online' })

    broker.clients.get('tc-cau-quay')!.close()
    await waitFor(() => statuses().join(',').endsWith('online,offline,online'), { what: 'will offline, then online again' })
    await waitFor(() => sim.stats.connected === 3 && sim.stats.reconnects === 1, { what: 'reconnected' })
    const before = watcher.messages.filter((m) => m.topic === 'mytho/v1/devices/tc-cau-quay/readings').length
    await waitFor(() => watcher.messages.filter((m) => m.topic === 'mytho/v1/devices/tc-cau-quay/readings').length > before, { what: 'readings resume' })
  })

  it('starts with the broker down, reports 0 live, and connects every device when it comes up', async () => {
    const port = await freePort()
    const sim = simulator({ MQTT_URL: `mqtt://127.0.0.1:${port}`, SIM_DEVICES: ids.join(','), SIM_SPEED: '300' }, fast, { secrets: {} })
    await expect(sim.start()).resolves.toEqual({ devices: 0 })
    expect(sim.stats.errors).toBe(3)

    const broker = await startBroker({}, port)
    await waitFor(() => sim.stats.connected === 3, { what: 'all devices connected after the broker came up' })
    const watcher = await subscribe(broker.url)
    await waitFor(() => ids.every((id) => latestStatus(watcher.messages).get(id) === 'online'), { what: 'retained online' })
  })

  it('stops cleanly while devices are still trying to connect', async () => {
    const port = await freePort()
    const sim = simulator({ MQTT_URL: `mqtt://127.0.0.1:${port}`, SIM_DEVICES: 'all' }, fast, { secrets: {} })
    const started = sim.start()
    await sim.stop()
    await expect(started).resolves.toEqual({ devices: 0 })
    expect(sim.stats).toMatchObject({ connected: 0, published: 0 })
  })
})
