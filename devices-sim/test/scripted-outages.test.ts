import { describe, expect, it } from 'vitest'
import { waitFor } from '@mytho/testing'
import { latestStatus, simulator, startBroker, subscribe } from './harness.ts'

const ids = ['tc-ql1-trung-luong', 'wl-hydro-station', 'aq-my-tho'] as const
const secrets = Object.fromEntries(ids.map((id) => [id, `s-${id}`]))

describe('scripted outages', () => {
  it('offline with a Will shows `offline`; without one the status stays `online` and only silence tells; a reconnect storm brings everyone back', async () => {
    const broker = await startBroker()
    const gone: string[] = []
    broker.aedes.on('clientDisconnect', (c) => gone.push(c.id))
    const watcher = await subscribe(broker.url)
    const sim = simulator({ MQTT_URL: broker.url, SIM_DEVICES: ids.join(','), SIM_SPEED: '600' }, { reconnectMinMs: 20, reconnectMaxMs: 100 }, { secrets })
    await sim.start()
    await waitFor(() => ids.every((id) => latestStatus(watcher.messages).get(id) === 'online'), { what: 'all online' })

    expect(sim.drop(['tc-ql1-trung-luong'], { will: true, offlineMs: Infinity })).toBe(1)
    expect(sim.drop(['wl-hydro-station'], { will: false, offlineMs: Infinity })).toBe(1)
    await waitFor(() => latestStatus(watcher.messages).get('tc-ql1-trung-luong') === 'offline', { what: 'the Will' })
    await waitFor(() => gone.includes('wl-hydro-station'), { what: 'the clean disconnect' })
    const statusOf = (id: string) => watcher.messages.filter((m) => m.deviceId === id && m.topic.endsWith('/status')).map((m) => m.payload)
    expect(statusOf('wl-hydro-station')).toEqual(['online'])
    expect(sim.stats.connected).toBe(1)

    // The storm: the one still connected is cut and comes back through the gate.
    expect(sim.reconnectStorm()).toBe(1)
    await waitFor(() => sim.stats.reconnects === 1 && sim.stats.connected === 1, { what: 'aq-my-tho back' })
    // Connected on the device's side comes before its retained `online` reaches the watcher.
    await waitFor(() => statusOf('aq-my-tho').length >= 3, { what: "aq-my-tho's status after the storm" })
    expect(statusOf('aq-my-tho')).toEqual(['online', 'offline', 'online'])
  })
})
