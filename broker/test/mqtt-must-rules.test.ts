import type mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import type { RefusalCounts } from '../src/refusals.ts'
import { deviceA, mqttString, rawConnect, startBroker, varint, type RawConnection, type RunningBroker } from './harness.ts'

/*
 * What MQTT 3.1.1 says the server MUST refuse, replayed as raw bytes on a TCP socket to a real broker (issue #15
 * item 6). A protocol violation closes the network connection [MQTT-4.8.0-1]; at CONNECT that is without a
 * CONNACK, except an unsupported protocol level, which gets CONNACK 0x01 first [MQTT-3.1.2-2]. Each refusal is
 * counted in broker.stats under its reason (refusals.ts).
 */

const anonymous = () => startBroker({ MQTT_ALLOW_ANONYMOUS: 'true' })
const str = (s: string | Buffer) => mqttString(Buffer.isBuffer(s) ? s : Buffer.from(s))
const packet = (firstByte: number, ...body: Buffer[]) => {
  const b = Buffer.concat(body)
  return Buffer.concat([Buffer.from([firstByte]), varint(b.length), b])
}
const id = (n: number) => Buffer.from([n >> 8, n & 0xff])

/** CONNECT built field by field, so each test can break exactly one thing. */
function connectBytes({ name = 'MQTT', level = 4, flags = 0x02, payload = [str('must-rules')] as Buffer[] } = {}): Buffer {
  return packet(0x10, str(name), Buffer.from([level, flags, 0, 60]), ...payload)
}

/** Resolves with the first packet from the broker that `pick` accepts; rejects if the connection closes first. */
function untilPacket<T extends mqttPacket.Packet>(raw: RawConnection, pick: (p: mqttPacket.Packet) => p is T): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = raw.packets().find(pick)
      if (!found) return false
      raw.socket.off('data', check)
      raw.socket.off('close', closed)
      resolve(found)
      return true
    }
    const closed = () => {
      raw.socket.off('data', check)
      if (!check()) reject(new Error(`connection closed; got ${JSON.stringify(raw.packets().map((p) => p.cmd))}`))
    }
    if (check()) return
    // The harness's own 'data' listener (registered first) has parsed the chunk by the time this one runs.
    raw.socket.on('data', check)
    raw.socket.once('close', closed)
  })
}
const isConnack = (p: mqttPacket.Packet): p is mqttPacket.IConnackPacket => p.cmd === 'connack'

/** A raw anonymous session that got CONNACK 0. */
async function session(b: RunningBroker, clientId = 'raw-client'): Promise<RawConnection> {
  const raw = await rawConnect(b.mqttPort)
  raw.send(connectBytes({ payload: [str(clientId)] }))
  const connack = await untilPacket(raw, isConnack)
  expect(connack.returnCode).toBe(0)
  return raw
}

/**
 * 'closed' once the broker closes the connection, 'open' as soon as it shows it kept it (`kept` matches a packet it
 * sent: CONNACK 0, PINGRESP). Both are events, so a broker that wrongly accepts fails the test at once, not at a timeout.
 */
function fate(raw: RawConnection, kept: (p: mqttPacket.Packet) => boolean): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const check = () => {
      if (!raw.packets().some(kept)) return
      raw.socket.off('data', check)
      resolve('open')
    }
    raw.socket.on('data', check)
    void raw.closed.then(() => {
      raw.socket.off('data', check)
      resolve('closed')
    })
  })
}

/** Sends `bytes` on a fresh connection; the broker must close it. */
async function refusedConnect(b: RunningBroker, bytes: Buffer): Promise<RawConnection> {
  const raw = await rawConnect(b.mqttPort)
  const outcome = fate(raw, (p) => p.cmd === 'connack' && p.returnCode === 0)
  raw.send(bytes)
  expect(await outcome).toBe('closed')
  return raw
}

const PINGREQ = Buffer.from([0xc0, 0x00])

/**
 * Sends `bytes` on an established session, then a PINGREQ (answered only if the connection survived them); the
 * broker must close it. Returns what the broker sent after its CONNACK.
 */
async function refusedInSession(b: RunningBroker, bytes: Buffer, raw?: RawConnection): Promise<string[]> {
  raw ??= await session(b)
  const outcome = fate(raw, (p) => p.cmd === 'pingresp')
  raw.send(bytes)
  raw.send(PINGREQ)
  expect(await outcome).toBe('closed')
  return raw
    .packets()
    .slice(1)
    .map((p) => p.cmd)
}

const stats = (b: RunningBroker): { connectionsRefused: RefusalCounts; packetsRefused: RefusalCounts } => ({
  connectionsRefused: b.broker.stats.connectionsRefused,
  packetsRefused: b.broker.stats.packetsRefused,
})

describe('CONNECT: what MQTT 3.1.1 says the server MUST refuse', () => {
  it('[MQTT-3.1.2-1] closes without CONNACK a CONNECT whose protocol name is neither MQTT nor MQIsdp', async () => {
    const b = await anonymous()
    const raw = await refusedConnect(b, connectBytes({ name: 'MQTX' }))
    expect(raw.packets()).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: { 'protocol-violation': 1 }, packetsRefused: {} })
  })

  it('[MQTT-3.1.2-2] answers CONNACK 0x01 and closes: protocol name MQTT with protocol level 3', async () => {
    const b = await anonymous()
    const raw = await refusedConnect(b, connectBytes({ name: 'MQTT', level: 3 }))
    expect(raw.packets()).toMatchObject([{ cmd: 'connack', returnCode: 1 }])
    expect(stats(b)).toEqual({ connectionsRefused: { 'unsupported-protocol-version': 1 }, packetsRefused: {} })
  })

  it('[MQTT-3.1.2-2] answers CONNACK 0x01 and closes: protocol name MQIsdp with protocol level 4', async () => {
    const b = await anonymous()
    const raw = await refusedConnect(b, connectBytes({ name: 'MQIsdp', level: 4 }))
    expect(raw.packets()).toMatchObject([{ cmd: 'connack', returnCode: 1 }])
    expect(stats(b)).toEqual({ connectionsRefused: { 'unsupported-protocol-version': 1 }, packetsRefused: {} })
  })

  it('[MQTT-3.1.2-2] still accepts the matching pairs MQTT/4 (3.1.1) and MQIsdp/3 (3.1)', async () => {
    const b = await anonymous()
    for (const [name, level] of [
      ['MQTT', 4],
      ['MQIsdp', 3],
    ] as const) {
      const raw = await rawConnect(b.mqttPort)
      raw.send(connectBytes({ name, level, payload: [str(`ok-${name}`)] }))
      expect(await untilPacket(raw, isConnack)).toMatchObject({ returnCode: 0 })
    }
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: {} })
  })

  it('[MQTT-3.1.2-3] closes without CONNACK a CONNECT whose reserved flag (bit 0) is set', async () => {
    const b = await anonymous()
    const raw = await refusedConnect(b, connectBytes({ flags: 0x03 }))
    expect(raw.packets()).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: { 'protocol-violation': 1 }, packetsRefused: {} })
  })

  it('[MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15] closes without CONNACK a CONNECT with Will flag 0 but Will QoS or Will Retain set', async () => {
    const b = await anonymous()
    for (const flags of [0x02 | 0x08, 0x02 | 0x10, 0x02 | 0x20]) {
      const raw = await refusedConnect(b, connectBytes({ flags }))
      expect(raw.packets()).toEqual([])
    }
    expect(stats(b)).toEqual({ connectionsRefused: { 'protocol-violation': 3 }, packetsRefused: {} })
  })

  it('[MQTT-3.1.2-14] closes without CONNACK a CONNECT with Will QoS 3', async () => {
    const b = await anonymous()
    const raw = await refusedConnect(b, connectBytes({ flags: 0x02 | 0x04 | 0x18, payload: [str('c'), str('will/topic'), str('gone')] }))
    expect(raw.packets()).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: { 'protocol-violation': 1 }, packetsRefused: {} })
  })

  it('[MQTT-3.1.2-22] closes without CONNACK a CONNECT with the Password flag set and the User Name flag not', async () => {
    const b = await anonymous()
    const raw = await refusedConnect(b, connectBytes({ flags: 0x02 | 0x40, payload: [str('c'), str('secret')] }))
    expect(raw.packets()).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: { 'protocol-violation': 1 }, packetsRefused: {} })
  })

  it('[MQTT-3.1.2-18] closes without CONNACK a CONNECT carrying a user name while the User Name flag is 0', async () => {
    const b = await anonymous()
    const raw = await refusedConnect(b, connectBytes({ flags: 0x02, payload: [str('c'), str('someone')] }))
    expect(raw.packets()).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: { 'protocol-violation': 1 }, packetsRefused: {} })
  })

  it('[MQTT-3.1.2-20] closes without CONNACK a CONNECT carrying a password while the Password flag is 0', async () => {
    const b = await anonymous()
    const raw = await refusedConnect(b, connectBytes({ flags: 0x02 | 0x80, payload: [str('c'), str('someone'), str('secret')] }))
    expect(raw.packets()).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: { 'protocol-violation': 1 }, packetsRefused: {} })
  })

  it('[MQTT-3.1.3-1] closes without CONNACK a CONNECT with bytes left over after its payload', async () => {
    const b = await anonymous()
    const fields = [str(deviceA), str(deviceA), str(b.secrets.devices[deviceA]!)]
    // The same CONNECT without the extra bytes is accepted: a device's own client id, user name and password.
    const good = await rawConnect(b.mqttPort)
    good.send(connectBytes({ flags: 0x02 | 0x80 | 0x40, payload: fields }))
    expect(await untilPacket(good, isConnack)).toMatchObject({ returnCode: 0 })
    const raw = await refusedConnect(b, connectBytes({ flags: 0x02 | 0x80 | 0x40, payload: [...fields, Buffer.from([0xde, 0xad])] }))
    expect(raw.packets()).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: { 'protocol-violation': 1 }, packetsRefused: {} })
  })

  it('[MQTT-3.1.0-2] closes the connection on a second CONNECT', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, connectBytes({ payload: [str('again')] }))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 1 } })
  })

  it('(MQTT 1.5.3: SHOULD NOT; Mosquitto refuses) closes without CONNACK a CONNECT whose client id, user name or Will topic holds a control character U+0001–U+001F or U+007F–U+009F', async () => {
    const b = await anonymous()
    const connects = [
      connectBytes({ payload: [str('dev\u0001ice')] }),
      connectBytes({ payload: [str('dev\u0085ice')] }), // U+0085 NEL: the two bytes 0xC2 0x85
      connectBytes({ flags: 0x02 | 0x80, payload: [str('c'), str('user\u007f')] }),
      connectBytes({ flags: 0x02 | 0x04, payload: [str('c'), str('will/\u001b[2J'), str('gone')] }),
    ]
    for (const bytes of connects) expect((await refusedConnect(b, bytes)).packets()).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: { 'control-character': 4 }, packetsRefused: {} })
  })
})

describe('after CONNECT: what MQTT 3.1.1 says the server MUST refuse', () => {
  it('[MQTT-2.3.1-1] closes the connection on a QoS 1 or QoS 2 PUBLISH with packet id 0, without acknowledging it', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0x32, str('a/b'), id(0), Buffer.from('x')))).toEqual([])
    expect(await refusedInSession(b, packet(0x34, str('a/b'), id(0), Buffer.from('x')))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 2 } })
  })

  it('[MQTT-3.3.1-4] closes the connection on a PUBLISH with QoS 3', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0x36, str('a/b'), id(1), Buffer.from('x')))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 1 } })
  })

  it('[MQTT-3.3.1-2] closes the connection on a QoS 0 PUBLISH with DUP set', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0x38, str('a/b'), Buffer.from('x')))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 1 } })
  })

  it('[MQTT-3.3.2-2] closes the connection on a PUBLISH whose topic holds a wildcard', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0x32, str('a/+/c'), id(1), Buffer.from('x')))).toEqual([])
    expect(await refusedInSession(b, packet(0x30, str('a/#'), Buffer.from('x')))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'invalid-topic': 2 } })
  })

  it('(MQTT 1.5.3: SHOULD NOT; Mosquitto refuses) closes the connection on a PUBLISH topic or a SUBSCRIBE/UNSUBSCRIBE topic filter holding a control character U+0001–U+001F or U+007F–U+009F', async () => {
    const b = await anonymous()
    const sent = [
      packet(0x30, str('a/\u001f'), Buffer.from('x')),
      packet(0x32, str('a/\u009f'), id(1), Buffer.from('x')),
      packet(0x82, id(1), str('a/\u0007/#'), Buffer.from([0])),
      packet(0xa2, id(1), str('a/\u0080')),
    ]
    for (const bytes of sent) expect(await refusedInSession(b, bytes)).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'control-character': 4 } })
  })

  it('[MQTT-2.3.1-1] closes the connection on a SUBSCRIBE with packet id 0, without SUBACK', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0x82, id(0), str('a/b'), Buffer.from([0])))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 1 } })
  })

  it('[MQTT-2.3.1-1] closes the connection on an UNSUBSCRIBE with packet id 0, without UNSUBACK', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0xa2, id(0), str('a/b')))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 1 } })
  })

  it('[MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1] closes the connection on a SUBSCRIBE or UNSUBSCRIBE to an invalid topic filter (ab/+e, a/#/b, a#, empty)', async () => {
    const b = await anonymous()
    const sent = [
      packet(0x82, id(1), str('ab/+e'), Buffer.from([0])),
      packet(0x82, id(1), str('a/#/b'), Buffer.from([1])),
      packet(0x82, id(1), str('sensors/ok'), Buffer.from([0]), str('a#'), Buffer.from([0])),
      packet(0x82, id(1), str(''), Buffer.from([0])),
      packet(0xa2, id(1), str('ab/+e')),
    ]
    for (const bytes of sent) expect(await refusedInSession(b, bytes)).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'invalid-topic': 5 } })
  })

  it('[MQTT-3.8.3-3] closes the connection on a SUBSCRIBE with no topic filter', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0x82, id(1)))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 1 } })
  })

  it('[MQTT-3-8.3-4] closes the connection on a SUBSCRIBE requesting QoS 3 or setting the reserved bits of its QoS byte', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0x82, id(1), str('a/b'), Buffer.from([3])))).toEqual([])
    expect(await refusedInSession(b, packet(0x82, id(1), str('a/b'), Buffer.from([0x41])))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 2 } })
  })

  it('[MQTT-3.10.3-2] closes the connection on an UNSUBSCRIBE with no topic filter', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0xa2, id(1)))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 1 } })
  })

  it('[MQTT-3.8.1-1] closes the connection on a SUBSCRIBE whose fixed-header flags are not 0010', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0x80, id(1), str('a/b'), Buffer.from([0])))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 1 } })
  })

  it('[MQTT-3.10.1-1] closes the connection on an UNSUBSCRIBE whose fixed-header flags are not 0010', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0xa3, id(1), str('a/b')))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 1 } })
  })

  it('[MQTT-2.2.2-2] [MQTT-3.6.1-1] closes the connection on a PUBREL whose fixed-header flags are not 0010', async () => {
    const b = await anonymous()
    const raw = await session(b)
    raw.send(packet(0x34, str('a/b'), id(7), Buffer.from('x')))
    await untilPacket(raw, (p): p is mqttPacket.IPubrecPacket => p.cmd === 'pubrec')
    expect(await refusedInSession(b, packet(0x60, id(7)), raw)).toEqual(['pubrec'])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 1 } })
  })

  it('[MQTT-2.3.1-1] closes the connection on a PUBACK or PUBCOMP with packet id 0 (no packet the broker sends has it)', async () => {
    const b = await anonymous()
    expect(await refusedInSession(b, packet(0x40, id(0)))).toEqual([])
    expect(await refusedInSession(b, packet(0x70, id(0)))).toEqual([])
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: { 'protocol-violation': 2 } })
  })

  it('keeps the connection after a PUBACK or PUBCOMP for a non-zero packet id not in flight, as Mosquitto does (no MUST in 3.1.1; see unsolicited acks in refusals.ts)', async () => {
    const b = await anonymous()
    const raw = await session(b)
    raw.send(packet(0x40, id(4242)))
    raw.send(packet(0x70, id(4243)))
    raw.send(PINGREQ) // answered only if the connection survived what came before it
    await untilPacket(raw, (p): p is mqttPacket.IPingrespPacket => p.cmd === 'pingresp')
    expect(raw.isClosed()).toBe(false)
    expect(stats(b)).toEqual({ connectionsRefused: {}, packetsRefused: {} })
  })
})
