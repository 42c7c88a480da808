import { setImmediate as tick } from 'node:timers/promises'
import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { createLogger } from '@mytho/runtime'
import { readingsTopic } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import {
  connect,
  connectDevice,
  deviceA,
  deviceB,
  ingestListener,
  mqttString,
  rawConnect,
  rawPublish,
  rawSession,
  startBroker,
  subscribeCodes,
  varint,
} from './harness.ts'

describe('packet guard', () => {
  it('closes a connection announcing a 10 MB PUBLISH at its header, without buffering the body; others carry on', async () => {
    const lines: string[] = []
    const b = await startBroker({}, { logger: createLogger('warn', {}, (l) => lines.push(l)) })
    const got = await ingestListener(b)
    const bystander = await connectDevice(b, deviceB)
    const raw = await rawSession(b, deviceA)

    const total = 10 * 1024 * 1024
    const topic = mqttString(Buffer.from(readingsTopic(deviceA)))
    const header = Buffer.concat([Buffer.from([0x30]), varint(topic.length + total), topic])
    const chunk = Buffer.alloc(64 * 1024, 0x61) // the same 64 KiB sent over and over: the client allocates nothing
    const before = process.memoryUsage().arrayBuffers
    raw.socket.write(header)
    let sent = 0
    while (!raw.isClosed() && sent < total) {
      raw.socket.write(chunk)
      sent += chunk.length
      await tick() // let the broker (same process) read between writes, as a real network would
    }
    await raw.closed
    const grown = process.memoryUsage().arrayBuffers - before

    expect(sent).toBeLessThan(1024 * 1024) // closed at the header, not after the body
    expect(grown).toBeLessThan(2 * 1024 * 1024) // Buffers in this process (the broker included) grew by far less than 10 MB
    expect(b.broker.stats.packetsRefused).toEqual({ 'packet-too-large': 1 })
    const warning = JSON.parse(lines.find((l) => l.includes('packet guard'))!) as Record<string, unknown>
    expect(warning).toMatchObject({
      level: 'warn',
      reason: 'packet-too-large',
      clientId: `${deviceA}.raw`,
      remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    })
    expect(warning['detail']).toMatchInlineSnapshot(`"PUBLISH of 10485811 bytes announced, more than 262144"`)

    await bystander.publishAsync(readingsTopic(deviceB), '{"ts":1}', { qos: 1 })
    await waitFor(() => got.length === 1, { what: "the bystander's reading" })
  })

  it('closes a connection whose CONNECT is larger than MQTT_MAX_PRECONNECT_BYTES', async () => {
    const b = await startBroker({ MQTT_MAX_PRECONNECT_BYTES: '1024' })
    const raw = await rawConnect(b.mqttPort)
    raw.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'big',
      clean: true,
      keepalive: 60,
      will: { topic: 't', payload: Buffer.alloc(2000), qos: 0, retain: false },
    })
    await raw.closed
    expect(raw.packets()).toEqual([]) // no CONNACK: closed before authentication
    expect(b.broker.stats.connectionsRefused).toEqual({ 'preconnect-limit': 1 })
  })

  it('closes a connection whose first packet is not CONNECT [MQTT-3.1.0-1]', async () => {
    const b = await startBroker()
    const raw = await rawConnect(b.mqttPort)
    raw.send(rawPublish(Buffer.from('a/b')))
    await raw.closed
    expect(b.broker.stats.connectionsRefused).toEqual({ 'first-packet-not-connect': 1 })
  })

  it('closes a connection sending a topic that is not UTF-8, a UTF-16 surrogate, or U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]', async () => {
    const b = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true' })
    const got = await ingestListener(b)
    const bad = [
      Buffer.from([0x6d, 0x79, 0xff, 0x2f, 0x61]), // 0xFF never appears in UTF-8
      Buffer.from([0x61, 0xed, 0xa0, 0x80]), // U+D800 encoded: a surrogate
      Buffer.from('mytho/v1/devices/x\u0000/readings'),
    ]
    for (const topic of bad) {
      const raw = await rawSession(b, deviceA)
      raw.send(rawPublish(topic))
      await raw.closed
    }
    expect(b.broker.stats.packetsRefused).toEqual({ 'invalid-utf8': 2, 'null-character': 1 })
    expect(got).toEqual([])
  })

  it('closes a connection whose client id or SUBSCRIBE filter is not UTF-8', async () => {
    const b = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true' })
    const connectBody = Buffer.concat([mqttString(Buffer.from('MQTT')), Buffer.from([4, 0x02, 0, 60]), mqttString(Buffer.from([0x63, 0xc3]))])
    const first = await rawConnect(b.mqttPort)
    first.send(Buffer.concat([Buffer.from([0x10]), varint(connectBody.length), connectBody]))
    await first.closed

    const second = await rawConnect(b.mqttPort)
    second.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'ok', clean: true, keepalive: 60 })
    await waitFor(() => second.packets().some((p) => p.cmd === 'connack'), { what: 'CONNACK' })
    const subBody = Buffer.concat([Buffer.from([0, 1]), mqttString(Buffer.from([0x61, 0x2f, 0xe2, 0x82])), Buffer.from([0])])
    second.send(Buffer.concat([Buffer.from([0x82]), varint(subBody.length), subBody]))
    await second.closed
    expect(b.broker.stats).toMatchObject({ connectionsRefused: { 'invalid-utf8': 1 }, packetsRefused: { 'invalid-utf8': 1 } })
  })

  it('closes a publisher whose topic is too long or too deep; answers SUBACK 0x80 to such filters', async () => {
    const b = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true' })
    for (const topic of [`${'a/'.repeat(8)}a`, 'x'.repeat(257)]) {
      const raw = await rawSession(b, deviceA)
      raw.send(mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false }))
      await raw.closed
    }
    expect(b.broker.stats.packetsRefused).toEqual({ 'topic-too-deep': 1, 'topic-too-long': 1 })

    const c = await connect(b.url)
    expect(await subscribeCodes(c, [`${'a/'.repeat(8)}#`, 'x'.repeat(257), `${'a/'.repeat(7)}#`, 'x'.repeat(256)])).toEqual([128, 128, 0, 0])
    expect(c.connected).toBe(true)
  })
})
