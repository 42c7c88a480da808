import { describe, expect, it } from 'vitest'
import { DeviceReading } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { latestStatus, simulator, startBroker, subscribe } from './harness.ts'

const ids = ['tc-ql1-trung-luong', 'wl-hydro-station', 'aq-my-tho'] as const
const secrets = Object.fromEntries(ids.map((id) => [id, `secret-of-${id}`]))

describe('simulator on a real broker', () => {
  it('connects each device as itself, says online, publishes schema-valid readings stamped with real time, and says a planned offline on stop', async () => {
    const logins: Array<{ clientId: string; username: string | undefined; password: string | undefined }> = []
    const broker = await startBroker({
      authenticate: (client, username, password, done) => {
        logins.push({ clientId: client.id, username, password: password?.toString() })
        done(null, true)
      },
    })
    const offlines: string[] = []
    broker.aedes.on('publish', (packet) => {
      if (packet.topic.endsWith('/status') && packet.payload.toString().startsWith('offline')) offlines.push(`${packet.topic} ${packet.payload.toString()}`)
    })
    const watcher = await subscribe(broker.url)
    // 600× speed: traffic every ~100 ms, air every ~200 ms, water every ~500 ms; the simulated clock starts in October 2025.
    const sim = simulator({ MQTT_URL: broker.url, SIM_DEVICES: ids.join(','), SIM_SPEED: '600', SIM_START: '2025-10-07' }, {}, { secrets })
    const before = Date.now()

    await expect(sim.start()).resolves.toEqual({ devices: 3 })
    expect(sim.stats).toMatchObject({ devices: 3, connected: 3 })
    expect(logins.filter((l) => !l.clientId.startsWith('watcher-')).toSorted((a, b) => a.clientId.localeCompare(b.clientId))).toEqual(
      [...ids].sort().map((id) => ({ clientId: id, username: id, password: secrets[id] })),
    )

    const readings = (id: string) => watcher.messages.filter((m) => m.topic === `mytho/v1/devices/${id}/readings`)
    await waitFor(() => ids.every((id) => readings(id).length >= 3), { timeoutMs: 5_000, what: '3 readings from each device' })

    for (const id of ids) {
      const parsed = readings(id).map((m) => DeviceReading.safeParse(JSON.parse(m.payload)))
      for (const p of parsed) expect(p.success, JSON.stringify(p.error?.issues)).toBe(true)
      const data = parsed.map((p) => p.data!)
      // seq counts from 0 without gaps; ts is real time (not October 2025), so ingest accepts it.
      expect(data.map((d) => d.seq)).toEqual(data.map((_, i) => i))
      for (const d of data) {
        expect(d.ts).toBeGreaterThanOrEqual(before - 1)
        expect(d.ts).toBeLessThanOrEqual(Date.now())
      }
    }
    expect(sim.stats.acked).toBeGreaterThan(0)

    // Retained: a map that opens now still learns every device is online.
    const late = await subscribe(broker.url)
    await waitFor(() => ids.every((id) => late.messages.some((m) => m.deviceId === id && m.payload === 'online' && m.retain)), { what: 'retained online' })

    await sim.stop()
    await sim.stop() // twice is fine
    expect(sim.stats.connected).toBe(0)
    await waitFor(() => ids.every((id) => latestStatus(watcher.messages).get(id) === 'offline:planned'), { what: 'planned offline on stop' })
    // Retained too, and every device connection is gone: only the two watchers remain.
    const after = await subscribe(broker.url)
    await waitFor(
      () => ids.every((id) => latestStatus(after.messages).get(id) === 'offline:planned' && after.messages.some((m) => m.deviceId === id && m.retain)),
      {
        what: 'retained offline',
      },
    )
    expect(broker.aedes.connectedClients).toBe(3)
    // Exactly one goodbye each, the simulator's planned one (no incident); a clean DISCONNECT left no Will (`offline`) to fire.
    expect(offlines.toSorted()).toEqual(ids.map((id) => `mytho/v1/devices/${id}/status offline:planned`).sort())
    expect(sim.stats.published).toBe(sim.stats.acked + sim.stats.errors)
  })
})
