import mqtt from 'mqtt'
import { describe, expect, it, onTestFinished } from 'vitest'
import { waitFor } from '@mytho/testing'
import { collect, connect, rawConnect, startBroker, subscribeCodes, type RunningBroker } from './harness.ts'

/*
 * The scenarios of Eclipse Paho's MQTT 3.1.1 interoperability suite (client_test.py), run against the
 * broker as that suite runs it: MQTT_ALLOW_ANONYMOUS=true. MQTT.js plays the clients, except where it
 * refuses to send what the scenario needs; there a raw socket does.
 */
const anonymous = () => startBroker({ MQTT_ALLOW_ANONYMOUS: 'true' })

/** CONNECT with an empty client id, by hand: mqtt-packet will not generate one with CleanSession=0. */
const emptyIdConnect = (clean: boolean) => Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, clean ? 0x02 : 0x00, 0, 60, 0, 0])

async function rawConnack(b: RunningBroker, connect: Buffer) {
  const raw = await rawConnect(b.mqttPort)
  raw.send(connect)
  const connack = await waitFor(() => raw.packets().find((p) => p.cmd === 'connack'), { what: 'CONNACK' })
  return { raw, returnCode: connack.cmd === 'connack' ? connack.returnCode : undefined }
}

describe('MQTT 3.1.1 interoperability (Paho client_test scenarios, anonymous)', () => {
  it('refuses a zero-length client id with CleanSession=0 with CONNACK 0x02 and closes [MQTT-3.1.3-8]', async () => {
    const b = await anonymous()
    const { raw, returnCode } = await rawConnack(b, emptyIdConnect(false))
    expect(returnCode).toBe(2)
    await raw.closed
    expect(b.broker.stats.connectionsRefused).toEqual({ 'client-id-rejected': 1 })
  })

  it('accepts a zero-length client id with CleanSession=1 and gives it an id [MQTT-3.1.3-6]', async () => {
    const b = await anonymous()
    const { raw, returnCode } = await rawConnack(b, emptyIdConnect(true))
    expect(returnCode).toBe(0)
    expect(raw.isClosed()).toBe(false)
    expect(b.broker.aedes.connectedClients).toBe(1)
  })

  it('basic: QoS 0, 1 and 2 round trips', async () => {
    const b = await anonymous()
    const c = await connect(b.url, { clientId: 'myclientid' })
    const got = collect(c)
    await c.subscribeAsync('TopicA', { qos: 2 })
    for (const qos of [0, 1, 2] as const) await c.publishAsync('TopicA', `qos ${qos}`, { qos })
    await waitFor(() => got.length === 3, { what: 'three messages' })
    expect(got.map((m) => [m.payload, m.qos])).toEqual([
      ['qos 0', 0],
      ['qos 1', 1],
      ['qos 2', 2],
    ])
  })

  it('retained messages: delivered on subscribe, cleared by an empty retained publish [MQTT-3.3.1-10]', async () => {
    const b = await anonymous()
    const pub = await connect(b.url, { clientId: 'myclientid' })
    await pub.publishAsync('TopicA/B', 'qos 0', { qos: 0, retain: true })
    await pub.publishAsync('Topic/C', 'qos 1', { qos: 1, retain: true })
    await pub.publishAsync('TopicA/C', 'qos 2', { qos: 2, retain: true })
    const sub = await connect(b.url, { clientId: 'clientid2' })
    const got = collect(sub)
    await sub.subscribeAsync('+/+', { qos: 2 })
    await waitFor(() => got.length === 3, { what: 'three retained messages' })
    expect(got.every((m) => m.retain)).toBe(true)

    for (const t of ['TopicA/B', 'Topic/C', 'TopicA/C']) await pub.publishAsync(t, '', { qos: 1, retain: true })
    const late = await connect(b.url, { clientId: 'clientid3' })
    const none = collect(late)
    await late.subscribeAsync(['+/+', 'marker'], { qos: 2 })
    await late.publishAsync('marker', 'm', { qos: 1 })
    await waitFor(() => none.length > 0, { what: 'the marker' })
    expect(none.map((m) => m.topic)).toEqual(['marker'])
  })

  it('offline message queueing: QoS 1 and 2 kept for a persistent session', async () => {
    const b = await anonymous()
    const a = await connect(b.url, { clientId: 'myclientid', clean: false })
    await a.subscribeAsync('+/+', { qos: 2 })
    await a.endAsync()
    const other = await connect(b.url, { clientId: 'clientid2' })
    await other.publishAsync('TopicA/B', 'qos 0', { qos: 0 })
    await other.publishAsync('Topic/C', 'qos 1', { qos: 1 })
    await other.publishAsync('TopicA/C', 'qos 2', { qos: 2 })
    const back = mqtt.connect(b.url, { clientId: 'myclientid', clean: false, reconnectPeriod: 0 })
    onTestFinished(() => back.endAsync(true))
    const got = collect(back) // listening before CONNACK: the queue arrives right after it
    await waitFor(() => got.length >= 2, { what: 'queued messages' })
    expect(got.map((m) => m.payload).filter((p) => p !== 'qos 0')).toEqual(['qos 1', 'qos 2'])
  })

  it('will message: published when the connection drops', async () => {
    const b = await anonymous()
    const watcher = await connect(b.url, { clientId: 'clientid2' })
    const got = collect(watcher)
    await watcher.subscribeAsync('TopicA', { qos: 2 })
    const dying = await connect(b.url, {
      clientId: 'myclientid',
      will: { topic: 'TopicA', payload: Buffer.from('client not disconnected'), qos: 0, retain: false },
    })
    dying.stream.destroy()
    await waitFor(() => got.length === 1, { what: 'the will' })
    expect(got[0]!.payload).toBe('client not disconnected')
  })

  it('overlapping subscriptions: one message at the highest QoS [MQTT-3.3.5-1]', async () => {
    const b = await anonymous()
    const c = await connect(b.url, { clientId: 'myclientid' })
    const got = collect(c)
    await c.subscribeAsync({ 'TopicA/#': { qos: 2 }, 'TopicA/+': { qos: 1 }, marker: { qos: 2 } })
    await c.publishAsync('TopicA/C', 'overlapping topic filters', { qos: 2 })
    await c.publishAsync('marker', 'm', { qos: 2 }) // arrives after any second copy of the first message
    await waitFor(() => got.some((m) => m.topic === 'marker'), { what: 'the marker' })
    expect(got.map((m) => [m.topic, m.qos])).toEqual([
      ['TopicA/C', 2],
      ['marker', 2],
    ])
  })

  it('delivers at the QoS granted to a wildcard subscription, not the published QoS [MQTT-3.8.4-6]', async () => {
    const b = await anonymous()
    const c = await connect(b.url, { clientId: 'myclientid' })
    const got = collect(c)
    await c.subscribeAsync({ 'TopicA/+': { qos: 1 }, 'Topic/#': { qos: 0 } })
    await c.publishAsync('TopicA/C', 'two', { qos: 2 })
    await c.publishAsync('Topic/C', 'one', { qos: 1 })
    await waitFor(() => got.length === 2, { what: 'two messages' })
    expect(got.map((m) => [m.topic, m.qos])).toEqual([
      ['TopicA/C', 1],
      ['Topic/C', 0],
    ])
  })

  it('overlapping subscriptions granted QoS 0 and 2: the one copy goes out at QoS 2, whichever matches first [MQTT-3.3.5-1]', async () => {
    const b = await anonymous()
    for (const [first, second] of [
      [{ 'T/#': { qos: 0 } }, { 'T/+': { qos: 2 } }],
      [{ 'T/+': { qos: 2 } }, { 'T/#': { qos: 0 } }],
    ] as const) {
      const c = await connect(b.url)
      const got = collect(c)
      await c.subscribeAsync(first)
      await c.subscribeAsync({ ...second, marker: { qos: 2 } })
      await c.publishAsync('T/x', 'x', { qos: 2 })
      await c.publishAsync('T/y', 'y', { qos: 1 })
      await c.publishAsync('marker', 'm', { qos: 2 }) // arrives after any stray extra copy
      await waitFor(() => got.some((m) => m.topic === 'marker'), { what: 'the marker' })
      expect(got.map((m) => [m.topic, m.qos])).toEqual([
        ['T/x', 2],
        ['T/y', 1],
        ['marker', 2],
      ])
      await c.endAsync()
    }
  })

  it('keepalive: a silent client is dropped after 1.5 × keepalive and its will published [MQTT-3.1.2-24]', async () => {
    const b = await anonymous()
    const watcher = await connect(b.url, { clientId: 'clientid2' })
    const got = collect(watcher)
    await watcher.subscribeAsync('TopicA', { qos: 2 })
    const raw = await rawConnect(b.mqttPort)
    raw.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'myclientid',
      clean: true,
      keepalive: 1,
      will: { topic: 'TopicA', payload: Buffer.from('keepalive expiry'), qos: 0, retain: false },
    })
    await raw.closed
    await waitFor(() => got.length === 1, { what: 'the will' })
    expect(got[0]!.payload).toBe('keepalive expiry')
  })

  it('redelivery on reconnect: an unacknowledged QoS 1 message comes again, with DUP [MQTT-4.4.0-1]', async () => {
    const b = await anonymous()
    const first = await rawConnect(b.mqttPort)
    first.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'myclientid', clean: false, keepalive: 60 })
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'TopicA/#', qos: 2 }] })
    await waitFor(() => first.packets().some((p) => p.cmd === 'suback'), { what: 'SUBACK' })
    const pub = await connect(b.url, { clientId: 'clientid2' })
    await pub.publishAsync('TopicA/B', 'qos 1', { qos: 1 })
    await waitFor(() => first.packets().some((p) => p.cmd === 'publish'), { what: 'the first delivery' })
    first.socket.destroy() // no PUBACK sent
    await waitFor(() => b.broker.aedes.connectedClients === 1, { what: 'the broker to see the drop' })
    await pub.publishAsync('TopicA/C', 'while away', { qos: 1 })

    const second = await rawConnect(b.mqttPort)
    second.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'myclientid', clean: false, keepalive: 60 })
    await waitFor(() => second.packets().filter((p) => p.cmd === 'publish').length === 2, { what: 'the redelivery and the queued message' })
    // Sent before: DUP=1 with its original packet id [MQTT-3.3.1-1]; never sent: DUP=0.
    const firstId = first.packets().find((p) => p.cmd === 'publish')?.messageId
    expect(second.packets().filter((p) => p.cmd === 'publish')).toMatchObject([
      { topic: 'TopicA/B', qos: 1, dup: true, messageId: firstId },
      { topic: 'TopicA/C', qos: 1, dup: false },
    ])
    expect(second.packets().find((p) => p.cmd === 'connack')).toMatchObject({ returnCode: 0, sessionPresent: true })
  })

  it('$-topics: not matched by filters starting with a wildcard [MQTT-4.7.2-1]', async () => {
    const b = await anonymous()
    const c = await connect(b.url, { clientId: 'myclientid' })
    const got = collect(c)
    await c.subscribeAsync(['#', '+/+'], { qos: 2 })
    await c.publishAsync('$TopicA/B', 'dollar', { qos: 1 })
    await c.publishAsync('marker', 'm', { qos: 1 })
    await waitFor(() => got.some((m) => m.topic === 'marker'), { what: 'the marker' })
    expect(got.filter((m) => m.topic.startsWith('$'))).toEqual([])
  })

  it('unsubscribe: no more messages on the filters unsubscribed', async () => {
    const b = await anonymous()
    const c = await connect(b.url, { clientId: 'myclientid' })
    const got = collect(c)
    await c.subscribeAsync(['TopicA/B', 'Topic/C', 'TopicA/C'], { qos: 2 })
    await c.unsubscribeAsync(['TopicA/B', 'Topic/C'])
    for (const t of ['TopicA/B', 'Topic/C', 'TopicA/C']) await c.publishAsync(t, t, { qos: 1 })
    await waitFor(() => got.length > 0, { what: 'TopicA/C' })
    await c.publishAsync('TopicA/C', 'again', { qos: 1 })
    await waitFor(() => got.length > 1, { what: 'the second TopicA/C' })
    expect(got.map((m) => m.topic)).toEqual(['TopicA/C', 'TopicA/C'])
  })

  it('subscribe failure: SUBACK 0x80 is a per-filter answer; the session carries on', async () => {
    const b = await anonymous()
    const c = await connect(b.url, { clientId: 'myclientid' })
    // Anonymous may subscribe to anything; a filter past the level limit is what it is refused.
    expect(await subscribeCodes(c, ['a/b/c/d/e/f/g/h/i', 'TopicA'], 2)).toEqual([128, 2])
    expect(c.connected).toBe(true)
  })
})
