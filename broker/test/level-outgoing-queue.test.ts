import { join } from 'node:path'
import mqtt from 'mqtt'
import { Level } from 'level'
import { describe, expect, it } from 'vitest'
import { waitFor } from '@mytho/testing'
import { collect, connect, startBroker } from './harness.ts'

/*
 * The persistent session's QoS 1 queue on LevelDB keeps only the enqueue on disk (broker/src/aedes-patches/level-outgoing.ts):
 * acknowledged messages must leave no record behind, unacknowledged ones must come back after a broker restart.
 */
async function outgoingKeys(dataDir: string): Promise<string[]> {
  const db = new Level<string, Buffer>(join(dataDir, 'broker-sessions'))
  await db.open()
  try {
    const keys: string[] = []
    for await (const key of db.keys()) if (key.startsWith('outgoing')) keys.push(key)
    return keys
  } finally {
    await db.close()
  }
}

describe('QoS 1 queue of a persistent session on LevelDB', () => {
  it('leaves no record once every message is acknowledged', async () => {
    const b = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true', MQTT_PERSISTENCE: 'level' })
    const sub = await connect(b.url, { clientId: 'queue-sub', clean: false })
    const got = collect(sub)
    await sub.subscribeAsync('q/#', { qos: 1 })
    const pub = await connect(b.url, { clientId: 'queue-pub' })
    await Promise.all(Array.from({ length: 500 }, (_, i) => pub.publishAsync(`q/${i}`, String(i), { qos: 1 })))
    await waitFor(() => got.length === 500, { what: '500 deliveries' })
    await sub.endAsync()
    await pub.endAsync()
    await b.broker.stop()
    expect(await outgoingKeys(b.dataDir)).toEqual([])
  })

  it('keeps what was not acknowledged across a broker restart, and delivers it then', async () => {
    const b = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true', MQTT_PERSISTENCE: 'level' })
    const sub = await connect(b.url, { clientId: 'queue-sub', clean: false })
    await sub.subscribeAsync('q/#', { qos: 1 })
    await sub.endAsync()
    const pub = await connect(b.url, { clientId: 'queue-pub' })
    await Promise.all(Array.from({ length: 50 }, (_, i) => pub.publishAsync(`q/${i}`, String(i), { qos: 1 })))
    await pub.endAsync()
    await b.broker.stop()
    expect(await outgoingKeys(b.dataDir)).toHaveLength(50)

    const again = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true', MQTT_PERSISTENCE: 'level', DATA_DIR: b.dataDir })
    // Listening before CONNACK: the queue follows it at once, before `await connect()` would return.
    const back = mqtt.connect(again.url, { clientId: 'queue-sub', clean: false, reconnectPeriod: 0 })
    const got = collect(back)
    await new Promise((resolve) => back.once('connect', resolve))
    await waitFor(() => got.length === 50, { what: 'the 50 queued messages after the restart' })
    expect(got.map((m) => m.topic).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `q/${i}`).sort())
    await back.endAsync()
    await again.broker.stop()
    expect(await outgoingKeys(b.dataDir)).toEqual([])
  })

  it("acknowledges a QoS 1 publish only once it is in the persistent subscriber's queue on disk", async () => {
    const b = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true', MQTT_PERSISTENCE: 'level' })
    const sub = await connect(b.url, { clientId: 'queue-sub', clean: false })
    await sub.subscribeAsync('q/#', { qos: 1 })
    await sub.endAsync()
    // The real store, made slow (a busy disk), and observed: when each enqueue has been written.
    const { persistence } = b.broker.aedes as unknown as { persistence: { outgoingEnqueueCombi(subs: unknown, packet: { topic: string }): Promise<void> } }
    const enqueue = persistence.outgoingEnqueueCombi.bind(persistence)
    const events: string[] = []
    persistence.outgoingEnqueueCombi = async (subs, packet) => {
      await new Promise((resolve) => setTimeout(resolve, 100))
      await enqueue(subs, packet)
      events.push(`stored ${packet.topic}`)
    }
    const pub = await connect(b.url, { clientId: 'queue-pub' })
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await pub.publishAsync(`q/${i}`, String(i), { qos: 1 })
        events.push(`acked q/${i}`)
      }),
    )
    await waitFor(() => events.filter((e) => e.startsWith('stored')).length === 20, { what: 'every enqueue written' })
    for (let i = 0; i < 20; i++) {
      const stored = events.indexOf(`stored q/${i}`)
      expect(stored, `q/${i}`).toBeGreaterThanOrEqual(0)
      expect(stored, `q/${i} stored before its PUBACK`).toBeLessThan(events.indexOf(`acked q/${i}`))
    }
  })
})
