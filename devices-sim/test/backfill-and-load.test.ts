import { describe, expect, it } from 'vitest'
import { DeviceReading, loadRegistryFile } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { backfill, loadSimConfig, runLoad, syntheticFleet } from '../src/index.ts'
import { startBroker, subscribe } from './harness.ts'

describe('backfill on a real broker', () => {
  it('publishes a past window as arrays of readings with device timestamps; a rerun repeats the same keys', async () => {
    const broker = await startBroker()
    const watcher = await subscribe(broker.url)
    const reg = loadRegistryFile()
    const devices = ['tc-ql1-trung-luong', 'wl-hydro-station', 'aq-my-tho'].map((id) => reg.get(id)!)
    const toMs = Date.now()
    const fromMs = toMs - 12 * 3_600_000
    const run = () => backfill({ url: broker.url, devices, seed: 4, fromMs, toMs, password: () => undefined, maxReadingsPerMessage: 100 })
    const first = await run()
    // 12 h: 720 traffic, 144 water, 360 air readings; nothing left unacknowledged.
    expect(first).toMatchObject({ devices: 3, readings: 720 + 144 + 360, errors: 0 })
    expect(first.acked).toBe(first.messages)
    await waitFor(() => watcher.messages.length === first.messages, { what: 'every backfill message' })
    const keysOf = (msgs: typeof watcher.messages) =>
      msgs.flatMap((m) =>
        (JSON.parse(m.payload) as unknown[]).map((r) => {
          const parsed = DeviceReading.safeParse(r)
          expect(parsed.success).toBe(true)
          expect(parsed.data!.ts).toBeGreaterThanOrEqual(fromMs)
          expect(parsed.data!.ts).toBeLessThan(toMs)
          return `${m.deviceId}@${parsed.data!.ts}`
        }),
      )
    const firstKeys = keysOf(watcher.messages)
    expect(new Set(firstKeys).size).toBe(first.readings)
    expect(Math.max(...watcher.messages.map((m) => (JSON.parse(m.payload) as unknown[]).length))).toBe(100)

    await run()
    await waitFor(() => watcher.messages.length === 2 * first.messages, { what: 'the rerun' })
    expect(keysOf(watcher.messages.slice(first.messages))).toEqual(firstKeys)
  })
})

describe('load mode', () => {
  it('runs 300 synthetic devices on their own connections and accounts for every reading', async () => {
    const broker = await startBroker()
    const fleet = syntheticFleet(300, 5)
    expect(syntheticFleet(300, 5)).toEqual(fleet)
    expect(fleet[0]!.id).toBe('load-00001')
    const lines: string[] = []
    const config = { ...loadSimConfig({ DATA_DIR: '/nonexistent', MQTT_URL: broker.url, SIM_SEED: '5', SIM_CONNECT_CONCURRENCY: '100' }), anonymous: true }
    const summary = await runLoad(config, fleet, { ratePerS: 2000, durationS: 1.5, progress: (l) => lines.push(l) })
    expect(summary).toMatchObject({ devices: 300, connected: 300, errors: 0, reconnects: 0, targetPerS: 2000 })
    expect(summary.sent).toBeGreaterThan(0)
    expect(summary.acked).toBe(summary.sent)
    for (const l of lines) expect(l).toMatch(/^\[(connect|load)\] connected \d+\/300 {2}sent\/s \d+ {2}acked\/s \d+ {2}errors \d+/)
    // The simulator said goodbye: only the broker-side count is left to settle.
    await waitFor(() => broker.aedes.connectedClients === 0, { what: 'all load connections closed' })
  })
})
