import mqtt from 'mqtt'
import { describe, expect, it, onTestFinished } from 'vitest'
import { partitionClientId, partitionOf, readingsTopic } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { SERVICE_ACCOUNTS } from '@mytho/runtime'
import { collect, connect, startBroker, type RunningBroker } from './harness.ts'

/*
 * Ingest partition sessions (broker/src/aedes-patches/ingest-partitions.ts): a session named `…-pIofP` gets a device's messages
 * only when the device's partition is I, live and from its queue, and its queue holds only those (one copy per
 * message, not P); other subscribers see everything.
 */
const devices = Array.from({ length: 12 }, (_, i) => `dev-${String(i).padStart(2, '0')}`)
const P = 2
const ownedBy = (index: number) => devices.filter((d) => partitionOf(d, P) === index)
const PER_DEVICE = 5

async function publishAll(url: string): Promise<void> {
  const pub = await connect(url, { clientId: 'partition-pub' })
  await Promise.all(devices.flatMap((d) => Array.from({ length: PER_DEVICE }, (_, k) => pub.publishAsync(readingsTopic(d), JSON.stringify({ k }), { qos: 1 }))))
  await pub.endAsync()
}

const deviceOf = (topic: string) => topic.split('/')[3]!
/** `mytho-ingest-…` ids belong to svc-ingest, even on a broker that lets anonymous clients in. */
const svcIngest = (b: RunningBroker) => ({ username: SERVICE_ACCOUNTS.ingest, password: b.secrets.services[SERVICE_ACCOUNTS.ingest]! })

describe.each(['memory', 'level'] as const)('ingest partition sessions (%s persistence)', (persistence) => {
  it('delivers a device’s messages live only to its partition’s session', async () => {
    const b = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true', MQTT_PERSISTENCE: persistence })
    const parts = await Promise.all([0, 1].map((i) => connect(b.url, { clientId: partitionClientId('mytho-ingest', i, P), clean: false, ...svcIngest(b) })))
    const plain = await connect(b.url, { clientId: 'plain-sub', clean: false })
    const got = parts.map((c) => collect(c))
    const all = collect(plain)
    for (const c of [...parts, plain]) await c.subscribeAsync('mytho/v1/devices/+/readings', { qos: 1 })
    await publishAll(b.url)
    await waitFor(() => all.length === devices.length * PER_DEVICE && got[0]!.length + got[1]!.length === devices.length * PER_DEVICE, {
      what: 'every delivery',
    })
    await new Promise((r) => setTimeout(r, 100)) // nothing more arrives
    for (const i of [0, 1]) {
      expect(new Set(got[i]!.map((m) => deviceOf(m.topic)))).toEqual(new Set(ownedBy(i)))
      expect(got[i]!.length).toBe(ownedBy(i).length * PER_DEVICE)
    }
  })

  it('queues for an offline partition session only its own devices’ messages, and replays them', async () => {
    const b = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true', MQTT_PERSISTENCE: persistence })
    const ids = [0, 1].map((i) => partitionClientId('mytho-ingest', i, P))
    for (const clientId of ids) {
      const c = await connect(b.url, { clientId, clean: false, ...svcIngest(b) })
      await c.subscribeAsync('mytho/v1/devices/+/readings', { qos: 1 })
      await c.endAsync()
    }
    await publishAll(b.url)
    const persistenceOf = (b.broker.aedes as unknown as { persistence: { outgoingStream(c: { id: string }): AsyncIterable<unknown> } }).persistence
    for (const [i, id] of ids.entries()) {
      let queued = 0
      for await (const _ of persistenceOf.outgoingStream({ id })) queued++
      expect(queued).toBe(ownedBy(i).length * PER_DEVICE)
    }
    // The listener is there before CONNACK: the queue is replayed right after it.
    const back = mqtt.connect(b.url, { clientId: ids[1]!, clean: false, reconnectPeriod: 0, ...svcIngest(b) })
    onTestFinished(() => back.endAsync(true))
    const got = collect(back)
    await waitFor(() => got.length === ownedBy(1).length * PER_DEVICE, { what: 'the queue to be replayed' })
    expect(new Set(got.map((m) => deviceOf(m.topic)))).toEqual(new Set(ownedBy(1)))
  })
})
