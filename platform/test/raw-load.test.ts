import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Aedes } from 'aedes'
import mqttPacket from 'mqtt-packet'
import { afterEach, describe, expect, it } from 'vitest'
import { readingsTopic } from '@mytho/schema'
import { body } from '../bench/publish.ts'
import { connectRaw, encodeConnect, encodePublish, encodeRun, messageIdOf, startRawLoad, type RawDevice } from '../bench/raw-mqtt.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

function parseAll(buf: Buffer): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const out: mqttPacket.Packet[] = []
  parser.on('packet', (p) => out.push(p))
  parser.on('error', (err) => {
    throw err
  })
  parser.parse(buf)
  return out
}

describe('raw-socket load generator: packet encoding', () => {
  it('encodes CONNECT with the device as username and its secret as password, clean session, MQTT 3.1.1', () => {
    const [p] = parseAll(encodeConnect('wl-001', 'wl-001', 's3cret'))
    expect(p).toMatchObject({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'wl-001', username: 'wl-001' })
    expect(String((p as mqttPacket.IConnectPacket).password)).toBe('s3cret')
    expect(parseAll(encodeConnect('anon'))[0]).not.toHaveProperty('username')
  })

  it('encodes PUBLISH QoS 1 with its packet id and payload, across the 127/128-byte remaining-length boundary', () => {
    for (const size of [10, 110, 113, 114, 200, 20_000]) {
      const payload = Buffer.alloc(size, 'x')
      const [p] = parseAll(encodePublish('mytho/v1/devices/a/readings', payload, 65_535))
      expect(p).toMatchObject({ cmd: 'publish', qos: 1, dup: false, retain: false, topic: 'mytho/v1/devices/a/readings', messageId: 65_535 })
      expect(Buffer.compare((p as mqttPacket.IPublishPacket).payload as Buffer, payload)).toBe(0)
    }
  })

  it('pre-encodes a run as the MQTT.js devices send it: every reading once, distinct timestamps, ids 1, 2, 3 …', () => {
    const devices: RawDevice[] = [
      { id: 'dev-a', kind: 'rain', password: 'pa' },
      { id: 'dev-b', kind: 'traffic', password: 'pb' },
    ]
    const encoded = encodeRun(devices, 5, 1_000_000)
    expect(encoded.map((e) => e.offsets.length - 1)).toEqual([3, 2])
    const a = parseAll(encoded[0]!.publishes) as mqttPacket.IPublishPacket[]
    expect(a.map((p) => p.messageId)).toEqual([1, 2, 3])
    expect(a.map((p) => JSON.parse(String(p.payload)))).toEqual([0, 1, 2].map((i) => body('rain', 1_000_000 - 3 + i)))
    expect(new Set(a.map((p) => p.topic))).toEqual(new Set([readingsTopic('dev-a')]))
    expect(parseAll(encoded[1]!.connect)[0]).toMatchObject({ clientId: 'dev-b', username: 'dev-b' })
    expect(messageIdOf(65_535)).toBe(1)
  })
})

describe('raw-socket load generator against a real Aedes broker', () => {
  const devices: RawDevice[] = [
    { id: 'dev-a', kind: 'rain', password: 'pa' },
    { id: 'dev-b', kind: 'water_level', password: 'pb' },
    { id: 'dev-c', kind: 'salinity', password: 'pc' },
  ]
  let stop: (() => Promise<void>) | undefined
  afterEach(async () => {
    await stop?.()
    stop = undefined
  })

  async function startAedes() {
    const secrets = new Map(devices.map((d) => [d.id, d.password!]))
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => done(null, username === client.id && secrets.get(client.id) === String(password)),
    })
    const received: string[] = []
    aedes.on('publish', (packet, client) => {
      if (client) received.push(`${client.id} ${packet.topic} ${String(packet.payload)}`)
    })
    const server = createServer(aedes.handle)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    stop = async () => {
      await new Promise<void>((r) => aedes.close(() => r()))
      await new Promise<void>((r) => server.close(() => r()))
    }
    return { port: (server.address() as AddressInfo).port, received }
  }

  it('authenticates each device and gets a PUBACK for every publish, with a window smaller than the run', async () => {
    const { port, received } = await startAedes()
    const conns = await connectRaw(port, encodeRun(devices, 300, 2_000_000))
    expect(await conns.run(7)).toBe(300)
    conns.close()
    expect(received).toHaveLength(300)
    expect(new Set(received).size).toBe(300)
    expect(received.filter((r) => r.startsWith(`dev-b ${readingsTopic('dev-b')} `))).toHaveLength(100)
  })

  it('is refused on a wrong secret', async () => {
    const { port } = await startAedes()
    await expect(connectRaw(port, encodeRun([{ ...devices[0]!, password: 'wrong' }], 1, 0))).rejects.toThrow(/CONNACK return code [1-5]/)
  })

  it('runs in its own process and reports the PUBACKs counted', async () => {
    const { port, received } = await startAedes()
    const load = await startRawLoad(root, { port, devices, n: 90, window: 5, runStart: 3_000_000 })
    const { acked, t0, tAcked } = await load.go()
    await load.stop()
    expect(acked).toBe(90)
    expect(tAcked).toBeGreaterThanOrEqual(t0)
    expect(received).toHaveLength(90)
  })
})
