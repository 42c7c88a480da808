import mqtt from 'mqtt'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { validateMessage } from '@mytho/ingest'
import { SERVICE_ACCOUNTS, readDemoSecrets } from '@mytho/runtime'
import { ALL_READINGS_FILTER, type RejectReason, loadRegistryFile } from '@mytho/schema'
import { makeTempDir, waitFor } from '@mytho/testing'
import { type FaultMix, createSimulator, faultExpectation, writeFleet } from '../src/index.ts'

/**
 * The platform's own broker (device auth, topic ACLs) over a fleet written by `--write-fleet`: the
 * broker seeds the written secrets, the simulator's devices log in with them, and what arrives is
 * run through ingest's own validator, the way the platform would store or dead-letter it.
 */
async function platformBroker(devices: number) {
  const dir = makeTempDir('mytho-sim-fleet-')
  const { registryFile } = writeFleet(dir.path, devices, 9)
  const registry = loadRegistryFile(registryFile)
  const broker = await createBroker(
    loadBrokerConfig({ DATA_DIR: dir.path, DEVICE_REGISTRY_FILE: registryFile, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }),
    { registry },
  )
  onTestFinished(async () => {
    await broker.stop()
    dir.cleanup()
  })
  const { mqttPort } = await broker.start()
  const url = `mqtt://127.0.0.1:${mqttPort}`
  // What ingest sees: its own service account on every device's readings.
  const watcher = await mqtt.connectAsync(url, {
    clientId: 'mytho-ingest-watcher',
    username: SERVICE_ACCOUNTS.ingest,
    password: readDemoSecrets(dir.path)!.services[SERVICE_ACCOUNTS.ingest]!,
    reconnectPeriod: 0,
  })
  onTestFinished(() => watcher.endAsync(true))
  const received: Array<{ topic: string; payload: Buffer; at: number }> = []
  watcher.on('message', (topic, payload) => received.push({ topic, payload, at: Date.now() }))
  await watcher.subscribeAsync(ALL_READINGS_FILTER, { qos: 1 })
  return { broker, registry, url, dataDir: dir.path, received }
}

function simulatorOn(p: Awaited<ReturnType<typeof platformBroker>>, faults: FaultMix) {
  const sim = createSimulator(
    {
      MQTT_URL: p.url,
      SIM_DEVICES: 'all',
      SIM_SPEED: 600,
      SIM_SEED: 9,
      DATA_DIR: p.dataDir,
      SIM_START: Date.UTC(2025, 9, 6),
      intervalScale: 0.1,
      minIntervalMs: 50,
      reconnectMinMs: 50,
      reconnectMaxMs: 500,
      statsLogEveryMs: 0,
      faults,
    },
    { registry: p.registry },
  )
  onTestFinished(() => sim.stop())
  return sim
}

describe('faults against the platform broker', () => {
  it('dead-letters exactly the planned malformed messages, by reason, and every other message passes the shared schema', async () => {
    const p = await platformBroker(20)
    const mix: FaultMix = {
      not_json: 0.04,
      wrong_type: 0.04,
      out_of_range: 0.04,
      non_finite: 0.03,
      future_timestamp: 0.03,
      stuck: 0.04,
      spike: 0.04,
      duplicate: 0.05,
      out_of_order: 0.04,
    }
    const sim = simulatorOn(p, mix)
    await expect(sim.start()).resolves.toEqual({ devices: 20 })
    const total = () => [...sim.sentPerDevice.values()].reduce((a, b) => a + b, 0)
    await waitFor(() => total() >= 800, { timeoutMs: 20_000, what: '800 readings' })
    await sim.stop()
    expect(sim.stats.errors).toBe(0)
    expect(sim.stats.acked).toBe(sim.stats.published)
    await waitFor(() => p.received.length === sim.stats.published, { what: 'every acknowledged message at the watcher' })

    const registry = p.registry
    const deadLetters: Partial<Record<RejectReason, number>> = {}
    const keys = new Set<string>()
    for (const m of p.received) {
      const r = validateMessage(m.topic, m.payload, m.at, registry)
      for (const rej of r.rejections) deadLetters[rej.code] = (deadLetters[rej.code] ?? 0) + 1
      for (const s of r.readings) keys.add(`${s.deviceId}@${s.ts}`)
    }
    const expected = faultExpectation(9, sim.sentPerDevice, mix)
    const nonzero = (o: Partial<Record<string, number>>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0))
    expect(nonzero(deadLetters)).toEqual(nonzero(expected.deadLetters))
    expect(sim.faultCounts).toEqual(expected.faults)
    // Every other message was one well-formed reading (duplicates share a key; a reading still held back by out_of_order at stop was never sent).
    const deadTotal = Object.values(deadLetters).reduce((a, b) => a + b, 0)
    expect(keys.size).toBe(p.received.length - deadTotal - expected.faults.duplicate)
  })

  it('wrong-topic faults are refused by the broker, once each, and the device reconnects', async () => {
    const p = await platformBroker(10)
    const sim = simulatorOn(p, { wrong_topic: 0.05 })
    await sim.start()
    await waitFor(() => sim.faultCounts.wrong_topic >= 3 && sim.stats.reconnects >= 1, {
      timeoutMs: 20_000,
      what: 'three wrong-topic publishes and a reconnect',
    })
    await sim.stop()
    await waitFor(() => p.broker.stats.packetsRefused['publish-denied'] === sim.faultCounts.wrong_topic, { what: 'one refusal per wrong-topic fault' })
    expect(p.received.every((m) => m.topic.endsWith('/readings'))).toBe(true)
    expect(p.broker.stats.connectionsRefused).toEqual({})
  })
})
