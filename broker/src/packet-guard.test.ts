import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { createPacketScanner, type PacketLimits } from './packet-guard.ts'

const limits: PacketLimits = { maxPacketBytes: 1024, maxPreconnectBytes: 256, maxTopicBytes: 32, maxTopicLevels: 4 }
const gen = (p: mqttPacket.Packet) => mqttPacket.generate(p)
const connect = gen({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clientId: 'dev-1',
  clean: true,
  keepalive: 60,
  username: 'dev-1',
  password: Buffer.from('pw'),
  will: { topic: 'a/b/status', payload: Buffer.from('offline'), qos: 1, retain: true },
})
const publish = (topic: string | Buffer, payload = Buffer.from('{"v":1}')) => {
  const t = Buffer.isBuffer(topic) ? topic : Buffer.from(topic)
  const body = Buffer.concat([Buffer.from([t.length >> 8, t.length & 0xff]), t, payload])
  return Buffer.concat([Buffer.from([0x30]), varint(body.length), body])
}
function varint(n: number): Buffer {
  const out: number[] = []
  do {
    out.push((n % 128) | (n >= 128 ? 0x80 : 0))
    n = Math.floor(n / 128)
  } while (n > 0)
  return Buffer.from(out)
}
const subscribe = gen({
  cmd: 'subscribe',
  messageId: 1,
  subscriptions: [
    { topic: 'a/+/c', qos: 1 },
    { topic: 'ü/#', qos: 0 },
  ],
})

/** Feeds `bytes` cut at the given offsets; returns the refusal message, or 'ok'. */
function scan(bytes: Buffer, cuts: number[] = []): string {
  const s = createPacketScanner(limits)
  let from = 0
  for (const at of [...cuts, bytes.length]) {
    const r = s.feed(bytes.subarray(from, at))
    if (r) return `${r.reason}${r.beforeConnect ? ' (before CONNECT)' : ''}: ${r.message}`
    from = at
  }
  return 'ok'
}
const everyCut = (bytes: Buffer) => Array.from({ length: bytes.length - 1 }, (_, i) => [i + 1])

describe('packet scanner', () => {
  const session = Buffer.concat([connect, subscribe, publish('a/b/readings'), gen({ cmd: 'pingreq' }), publish('a/b/readings', Buffer.alloc(900))])

  it('passes a well-formed session whole, byte by byte, and cut anywhere', () => {
    expect(scan(session)).toBe('ok')
    expect(
      scan(
        session,
        Array.from({ length: session.length - 1 }, (_, i) => i + 1),
      ),
    ).toBe('ok')
    for (const cuts of everyCut(session)) expect(scan(session, cuts)).toBe('ok')
  })

  it('refuses on the header, whatever follows', () => {
    const huge = Buffer.concat([connect, Buffer.from([0x30, 0x80, 0x80, 0x80, 0x05])]) // announces ~10 MB, no body yet
    expect(scan(huge)).toMatchInlineSnapshot(`"packet-too-large: PUBLISH of 10485765 bytes announced, more than 1024"`)
    expect(scan(Buffer.concat([connect, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])]))).toMatchInlineSnapshot(
      `"malformed-length: remaining length longer than four bytes [MQTT-2.2.3]"`,
    )
  })

  it('refuses before CONNECT completes: a first packet that is not CONNECT, a CONNECT over the pre-connect limit', () => {
    expect(scan(publish('a/b'))).toMatchInlineSnapshot(`"first-packet-not-connect (before CONNECT): first packet is PUBLISH, not CONNECT [MQTT-3.1.0-1]"`)
    const big = gen({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'x',
      clean: true,
      keepalive: 60,
      will: { topic: 't', payload: Buffer.alloc(300), qos: 0, retain: false },
    })
    expect(scan(big.subarray(0, 3))).toMatchInlineSnapshot(
      `"preconnect-limit (before CONNECT): CONNECT of 321 bytes, more than the 256 bytes allowed before CONNECT completes"`,
    )
  })

  it('refuses topics that are not UTF-8 or hold U+0000, wherever the chunk boundaries fall', () => {
    const cases = {
      '0xFF': Buffer.from([0x61, 0xff]),
      'overlong /': Buffer.from([0x61, 0xc0, 0xaf]),
      'surrogate U+D800': Buffer.from([0x61, 0xed, 0xa0, 0x80]),
      'truncated €': Buffer.from([0x61, 0xe2, 0x82]),
      'U+0000': Buffer.from([0x61, 0x00, 0x62]),
    }
    const verdicts = Object.fromEntries(
      Object.entries(cases).map(([name, topic]) => {
        const bytes = Buffer.concat([connect, publish(topic)])
        const all = new Set(everyCut(bytes).map((cuts) => scan(bytes, cuts)))
        return [name, [...all]]
      }),
    )
    expect(verdicts).toMatchInlineSnapshot(`
      {
        "0xFF": [
          "invalid-utf8: PUBLISH topic is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]",
        ],
        "U+0000": [
          "null-character: PUBLISH topic is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]",
        ],
        "overlong /": [
          "invalid-utf8: PUBLISH topic is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]",
        ],
        "surrogate U+D800": [
          "invalid-utf8: PUBLISH topic is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]",
        ],
        "truncated €": [
          "invalid-utf8: PUBLISH topic is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]",
        ],
      }
    `)
    expect(scan(Buffer.concat([connect, publish('Mỹ Tho/€/读数')]))).toBe('ok')
  })

  it('holds PUBLISH topics to the length and level limits, exactly at the bound', () => {
    expect(scan(Buffer.concat([connect, publish('x'.repeat(32))]))).toBe('ok')
    expect(scan(Buffer.concat([connect, publish('x'.repeat(33))]))).toMatchInlineSnapshot(`"topic-too-long: PUBLISH topic is 33 bytes, more than 32"`)
    expect(scan(Buffer.concat([connect, publish('a/b/c/d')]))).toBe('ok')
    expect(scan(Buffer.concat([connect, publish('a/b/c/d/e')]))).toMatchInlineSnapshot(`"topic-too-deep: PUBLISH topic has 5 levels, more than 4"`)
  })

  it('checks the strings of CONNECT (client id, Will topic, user name) and SUBSCRIBE/UNSUBSCRIBE filters', () => {
    const bad = Buffer.from([0x61, 0xff])
    const str = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b])
    const connectWith = (clientId: Buffer, willTopic?: Buffer, username?: Buffer) => {
      const flags = 0x02 | (willTopic ? 0x04 : 0) | (username ? 0x80 : 0)
      const body = Buffer.concat([
        str(Buffer.from('MQTT')),
        Buffer.from([4, flags, 0, 60]),
        str(clientId),
        ...(willTopic ? [str(willTopic), str(Buffer.from('x'))] : []),
        ...(username ? [str(username)] : []),
      ])
      return Buffer.concat([Buffer.from([0x10, body.length]), body])
    }
    const ok = Buffer.from('ok')
    expect(scan(connectWith(ok, ok, ok))).toBe('ok')
    expect(scan(connectWith(bad))).toMatchInlineSnapshot(
      `"invalid-utf8 (before CONNECT): CONNECT client id is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]"`,
    )
    expect(scan(connectWith(ok, bad))).toMatchInlineSnapshot(
      `"invalid-utf8 (before CONNECT): CONNECT Will topic is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]"`,
    )
    expect(scan(connectWith(ok, Buffer.from('a/b/c/d/e')))).toMatchInlineSnapshot(
      `"topic-too-deep (before CONNECT): CONNECT Will topic has 5 levels, more than 4"`,
    )
    expect(scan(connectWith(ok, undefined, bad))).toMatchInlineSnapshot(
      `"invalid-utf8 (before CONNECT): CONNECT user name is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]"`,
    )

    const sub = Buffer.concat([Buffer.from([0, 1]), str(Buffer.from('a/#')), Buffer.from([1]), str(bad), Buffer.from([0])])
    expect(scan(Buffer.concat([connect, Buffer.from([0x82, sub.length]), sub]))).toMatchInlineSnapshot(
      `"invalid-utf8: SUBSCRIBE topic filter is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]"`,
    )
    const unsub = Buffer.concat([Buffer.from([0, 2]), str(Buffer.from('a/b\u0000'))])
    expect(scan(Buffer.concat([connect, Buffer.from([0xa2, unsub.length]), unsub]))).toMatchInlineSnapshot(
      `"null-character: UNSUBSCRIBE topic filter is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]"`,
    )
  })

  it('refuses bodies their own fields overrun; leaves MQTT 5 CONNECT to Aedes (which answers CONNACK 0x01 itself)', () => {
    expect(scan(Buffer.concat([connect, Buffer.from([0x30, 0x01, 0x00])]))).toMatchInlineSnapshot(
      `"protocol-violation: PUBLISH of 1 body bytes has no room for a topic"`,
    )
    expect(scan(Buffer.concat([connect, Buffer.from([0x32, 0x04, 0x00, 0x02, 0x61, 0x62])]))).toMatchInlineSnapshot(
      `"protocol-violation: PUBLISH of 4 body bytes is too short for its 2-byte topic and packet id"`,
    )
    expect(scan(Buffer.concat([connect, Buffer.from([0x82, 0x06, 0x00, 0x01, 0x00, 0x09, 0x61, 0x62])]))).toMatchInlineSnapshot(
      `"protocol-violation: SUBSCRIBE body ends inside a topic filter or its requested QoS"`,
    )
    expect(scan(Buffer.concat([connect, Buffer.from([0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 0x61])]))).toMatchInlineSnapshot(
      `"protocol-violation: SUBSCRIBE body ends inside a topic filter or its requested QoS"`,
    )
    expect(scan(Buffer.concat([connect, Buffer.from([0x40, 0x03, 0x00, 0x01, 0x00])]))).toMatchInlineSnapshot(
      `"protocol-violation: PUBACK has 3 body bytes, not 2"`,
    )
    expect(scan(Buffer.concat([connect, Buffer.from([0xc0, 0x01, 0x00])]))).toMatchInlineSnapshot(`"protocol-violation: PINGREQ has 1 body bytes, not 0"`)
    expect(scan(Buffer.from([0x10, 0x02, 0x00, 0x00]))).toMatchInlineSnapshot(
      `"protocol-violation (before CONNECT): CONNECT of 2 body bytes is too short for its variable header and client id"`,
    )
    expect(scan(gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'v5', clean: true, keepalive: 60 }))).toBe('ok')
  })
})

describe('packet scanner: what MQTT 3.1.1 says the server MUST refuse', () => {
  const str = (s: string | Buffer) => {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s)
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b])
  }
  const packet = (firstByte: number, ...body: Buffer[]) => {
    const b = Buffer.concat(body)
    return Buffer.concat([Buffer.from([firstByte]), varint(b.length), b])
  }
  const id = (n: number) => Buffer.from([n >> 8, n & 0xff])
  const connectOf = ({ name = 'MQTT', level = 4, flags = 0x02, payload = [str('c')] as Buffer[] } = {}) =>
    packet(0x10, str(name), Buffer.from([level, flags, 0, 60]), ...payload)
  /** The refusal (or 'ok') for `bytes` sent after a good CONNECT. */
  const after = (...bytes: Buffer[]) => scan(Buffer.concat([connect, ...bytes]))

  it('passes every packet type a client sends, and 3.1 (MQIsdp/3), cut anywhere', () => {
    const all = Buffer.concat([
      connect,
      gen({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false }),
      gen({ cmd: 'publish', topic: 'Mỹ Tho/€', payload: Buffer.from('x'), qos: 2, messageId: 65535, retain: true, dup: true }),
      gen({ cmd: 'puback', messageId: 1 }),
      gen({ cmd: 'pubrec', messageId: 2 }),
      gen({ cmd: 'pubrel', messageId: 3 }),
      gen({ cmd: 'pubcomp', messageId: 4 }),
      gen({
        cmd: 'subscribe',
        messageId: 5,
        subscriptions: [
          { topic: '#', qos: 2 },
          { topic: '+', qos: 0 },
          { topic: '+/b/#', qos: 1 },
          { topic: '/+/', qos: 0 },
        ],
      }),
      gen({ cmd: 'unsubscribe', messageId: 6, unsubscriptions: ['a/+/c', 'ü/#'] }),
      gen({ cmd: 'pingreq' }),
      gen({ cmd: 'disconnect' }),
    ])
    for (const cuts of everyCut(all)) expect(scan(all, cuts)).toBe('ok')
    const v31 = gen({
      cmd: 'connect',
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      clientId: 'old',
      clean: true,
      keepalive: 60,
      username: 'u',
      password: Buffer.from('p'),
    })
    expect(scan(v31)).toBe('ok')
  })

  it('refuses CONNECTs 3.1.1 forbids; answers an unsupported level with CONNACK 0x01', () => {
    const verdict = (bytes: Buffer) => {
      const r = createPacketScanner(limits).feed(bytes)
      return r ? `${r.reason}${r.connackCode !== undefined ? ` (CONNACK ${r.connackCode})` : ''}: ${r.message}` : 'ok'
    }
    expect({
      'name MQTX': verdict(connectOf({ name: 'MQTX' })),
      'MQTT level 3': verdict(connectOf({ level: 3 })),
      'MQIsdp level 4': verdict(connectOf({ name: 'MQIsdp', level: 4 })),
      'reserved flag': verdict(connectOf({ flags: 0x03 })),
      'Will QoS without Will': verdict(connectOf({ flags: 0x0a })),
      'Will Retain without Will': verdict(connectOf({ flags: 0x22 })),
      'Will QoS 3': verdict(connectOf({ flags: 0x1e, payload: [str('c'), str('w'), str('m')] })),
      'password without user name': verdict(connectOf({ flags: 0x42, payload: [str('c'), str('p')] })),
      'user name without its flag': verdict(connectOf({ payload: [str('c'), str('u')] })),
      'password without its flag': verdict(connectOf({ flags: 0x82, payload: [str('c'), str('u'), str('p')] })),
      'bytes after the password': verdict(connectOf({ flags: 0xc2, payload: [str('c'), str('u'), str('p'), Buffer.from([0])] })),
      'user name flag, no user name': verdict(connectOf({ flags: 0x82, payload: [str('c')] })),
      'wrong fixed-header flags': verdict(Buffer.concat([Buffer.from([0x11]), connectOf().subarray(1)])),
      'client id U+0001': verdict(connectOf({ payload: [str('a\u0001')] })),
      'client id U+009F': verdict(connectOf({ payload: [str('a\u009f')] })),
      'user name U+007F': verdict(connectOf({ flags: 0x82, payload: [str('c'), str('\u007f')] })),
      'Will topic with +': verdict(connectOf({ flags: 0x06, payload: [str('c'), str('a/+'), str('m')] })),
      'empty Will topic': verdict(connectOf({ flags: 0x06, payload: [str('c'), str(''), str('m')] })),
      'Will topic U+001B': verdict(connectOf({ flags: 0x06, payload: [str('c'), str('a/\u001b'), str('m')] })),
      'a second CONNECT': scan(Buffer.concat([connect, connect])),
    }).toMatchInlineSnapshot(`
      {
        "MQIsdp level 4": "unsupported-protocol-version (CONNACK 1): CONNECT protocol MQIsdp level 4 is not supported [MQTT-3.1.2-2]",
        "MQTT level 3": "unsupported-protocol-version (CONNACK 1): CONNECT protocol MQTT level 3 is not supported [MQTT-3.1.2-2]",
        "Will QoS 3": "protocol-violation: CONNECT Will QoS is 3 [MQTT-3.1.2-14]",
        "Will QoS without Will": "protocol-violation: CONNECT has Will QoS or Will Retain set without the Will flag [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]",
        "Will Retain without Will": "protocol-violation: CONNECT has Will QoS or Will Retain set without the Will flag [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]",
        "Will topic U+001B": "control-character: CONNECT Will topic holds a control character U+0001–U+001F or U+007F–U+009F (MQTT 1.5.3: SHOULD NOT)",
        "Will topic with +": "invalid-topic: CONNECT Will topic holds a wildcard [MQTT-3.3.2-2]",
        "a second CONNECT": "protocol-violation: a second CONNECT [MQTT-3.1.0-2]",
        "bytes after the password": "protocol-violation: CONNECT has 1 bytes after the fields its flags announce (nothing may follow the password) [MQTT-3.1.3-1]",
        "client id U+0001": "control-character: CONNECT client id holds a control character U+0001–U+001F or U+007F–U+009F (MQTT 1.5.3: SHOULD NOT)",
        "client id U+009F": "control-character: CONNECT client id holds a control character U+0001–U+001F or U+007F–U+009F (MQTT 1.5.3: SHOULD NOT)",
        "empty Will topic": "invalid-topic: CONNECT Will topic is empty [MQTT-4.7.3-1]",
        "name MQTX": "protocol-violation: CONNECT protocol name is neither MQTT nor MQIsdp [MQTT-3.1.2-1]",
        "password without its flag": "protocol-violation: CONNECT has 3 bytes after the fields its flags announce (a password without the Password flag? [MQTT-3.1.2-20]) [MQTT-3.1.3-1]",
        "password without user name": "protocol-violation: CONNECT has the Password flag set without the User Name flag [MQTT-3.1.2-22]",
        "reserved flag": "protocol-violation: CONNECT reserved flag (bit 0) is set [MQTT-3.1.2-3]",
        "user name U+007F": "control-character: CONNECT user name holds a control character U+0001–U+001F or U+007F–U+009F (MQTT 1.5.3: SHOULD NOT)",
        "user name flag, no user name": "protocol-violation: CONNECT payload is shorter than the fields its flags announce [MQTT-3.1.3-1]",
        "user name without its flag": "protocol-violation: CONNECT has 3 bytes after the fields its flags announce (a user name without the User Name flag? [MQTT-3.1.2-18]) [MQTT-3.1.3-1]",
        "wrong fixed-header flags": "protocol-violation: CONNECT fixed-header flags are 0x1, not 0x0 [MQTT-2.2.2-2]",
      }
    `)
  })

  it('refuses fixed headers 3.1.1 forbids: reserved flags, QoS 3, types only a server sends', () => {
    expect({
      'PUBLISH QoS 3': after(packet(0x36, str('a'), id(1))),
      'PUBLISH QoS 0 with DUP': after(packet(0x38, str('a'))),
      'PUBLISH QoS 1 with DUP (a resend)': after(packet(0x3a, str('a'), id(1))),
      'SUBSCRIBE flags 0': after(packet(0x80, id(1), str('a'), Buffer.from([0]))),
      'UNSUBSCRIBE flags 3': after(packet(0xa3, id(1), str('a'))),
      'PUBREL flags 0': after(packet(0x60, id(1))),
      'PUBACK flags 2': after(packet(0x42, id(1))),
      'PINGREQ flags 1': after(Buffer.from([0xc1, 0])),
      CONNACK: after(Buffer.from([0x20, 2, 0, 0])),
      SUBACK: after(packet(0x90, id(1), Buffer.from([0]))),
      PINGRESP: after(Buffer.from([0xd0, 0])),
      'reserved 0': after(Buffer.from([0x00, 0])),
      'reserved 15 (AUTH of MQTT 5)': after(Buffer.from([0xf0, 0])),
    }).toMatchInlineSnapshot(`
      {
        "CONNACK": "protocol-violation: CONNACK (type 2) is not a packet a client sends (MQTT 2.2.1: reserved, or server to client only)",
        "PINGREQ flags 1": "protocol-violation: PINGREQ fixed-header flags are 0x1, not 0x0 [MQTT-2.2.2-2]",
        "PINGRESP": "protocol-violation: PINGRESP (type 13) is not a packet a client sends (MQTT 2.2.1: reserved, or server to client only)",
        "PUBACK flags 2": "protocol-violation: PUBACK fixed-header flags are 0x2, not 0x0 [MQTT-2.2.2-2]",
        "PUBLISH QoS 0 with DUP": "protocol-violation: PUBLISH QoS 0 with DUP set [MQTT-3.3.1-2]",
        "PUBLISH QoS 1 with DUP (a resend)": "ok",
        "PUBLISH QoS 3": "protocol-violation: PUBLISH with QoS 3 [MQTT-3.3.1-4]",
        "PUBREL flags 0": "protocol-violation: PUBREL fixed-header flags are 0x0, not 0x2 [MQTT-2.2.2-2] [MQTT-3.6.1-1]",
        "SUBACK": "protocol-violation: SUBACK (type 9) is not a packet a client sends (MQTT 2.2.1: reserved, or server to client only)",
        "SUBSCRIBE flags 0": "protocol-violation: SUBSCRIBE fixed-header flags are 0x0, not 0x2 [MQTT-2.2.2-2] [MQTT-3.8.1-1]",
        "UNSUBSCRIBE flags 3": "protocol-violation: UNSUBSCRIBE fixed-header flags are 0x3, not 0x2 [MQTT-2.2.2-2] [MQTT-3.10.1-1]",
        "reserved 0": "protocol-violation: reserved (type 0) is not a packet a client sends (MQTT 2.2.1: reserved, or server to client only)",
        "reserved 15 (AUTH of MQTT 5)": "protocol-violation: reserved (type 15) is not a packet a client sends (MQTT 2.2.1: reserved, or server to client only)",
      }
    `)
  })

  it('refuses packet id 0, topics with wildcards, bad topic filters and requested QoS', () => {
    expect({
      'PUBLISH QoS 1 id 0': after(packet(0x32, str('a/b'), id(0), Buffer.from('x'))),
      'PUBLISH QoS 2 id 0': after(packet(0x34, str('a/b'), id(0))),
      'PUBLISH QoS 0 holds no id (0x00 0x00 is payload)': after(packet(0x30, str('a/b'), id(0))),
      'PUBACK id 0': after(packet(0x40, id(0))),
      'PUBREC id 0': after(packet(0x50, id(0))),
      'PUBREL id 0': after(packet(0x62, id(0))),
      'PUBCOMP id 0': after(packet(0x70, id(0))),
      'SUBSCRIBE id 0': after(packet(0x82, id(0), str('a'), Buffer.from([0]))),
      'UNSUBSCRIBE id 0': after(packet(0xa2, id(0), str('a'))),
      'PUBLISH topic a/+': after(packet(0x30, str('a/+'))),
      'PUBLISH topic #': after(packet(0x30, str('#'))),
      'PUBLISH empty topic': after(packet(0x30, str(''), Buffer.from('x'))),
      'SUBSCRIBE no filter': after(packet(0x82, id(1))),
      'UNSUBSCRIBE no filter': after(packet(0xa2, id(1))),
      'SUBSCRIBE ab/+e': after(packet(0x82, id(1), str('ab/+e'), Buffer.from([0]))),
      'SUBSCRIBE a+/b': after(packet(0x82, id(1), str('a+/b'), Buffer.from([0]))),
      'SUBSCRIBE a/#/b': after(packet(0x82, id(1), str('a/#/b'), Buffer.from([0]))),
      'SUBSCRIBE a#': after(packet(0x82, id(1), str('a#'), Buffer.from([0]))),
      'SUBSCRIBE empty filter': after(packet(0x82, id(1), str(''), Buffer.from([0]))),
      'SUBSCRIBE QoS 3': after(packet(0x82, id(1), str('a'), Buffer.from([3]))),
      'SUBSCRIBE reserved bits': after(packet(0x82, id(1), str('a'), Buffer.from([0x04]))),
      'UNSUBSCRIBE a/#/b': after(packet(0xa2, id(1), str('a/#/b'))),
      'PUBLISH topic U+0009': after(packet(0x30, str('a\tb'))),
      'PUBLISH topic U+0085': after(packet(0x30, str('a/\u0085'))),
      'SUBSCRIBE filter U+001F': after(packet(0x82, id(1), str('a/\u001f'), Buffer.from([0]))),
      'UNSUBSCRIBE filter U+0080': after(packet(0xa2, id(1), str('\u0080/#'))),
    }).toMatchInlineSnapshot(`
      {
        "PUBACK id 0": "protocol-violation: PUBACK with packet id 0 [MQTT-2.3.1-1]",
        "PUBCOMP id 0": "protocol-violation: PUBCOMP with packet id 0 [MQTT-2.3.1-1]",
        "PUBLISH QoS 0 holds no id (0x00 0x00 is payload)": "ok",
        "PUBLISH QoS 1 id 0": "protocol-violation: PUBLISH QoS 1 with packet id 0 [MQTT-2.3.1-1]",
        "PUBLISH QoS 2 id 0": "protocol-violation: PUBLISH QoS 2 with packet id 0 [MQTT-2.3.1-1]",
        "PUBLISH empty topic": "invalid-topic: PUBLISH topic is empty [MQTT-4.7.3-1]",
        "PUBLISH topic #": "invalid-topic: PUBLISH topic holds a wildcard [MQTT-3.3.2-2]",
        "PUBLISH topic U+0009": "control-character: PUBLISH topic holds a control character U+0001–U+001F or U+007F–U+009F (MQTT 1.5.3: SHOULD NOT)",
        "PUBLISH topic U+0085": "control-character: PUBLISH topic holds a control character U+0001–U+001F or U+007F–U+009F (MQTT 1.5.3: SHOULD NOT)",
        "PUBLISH topic a/+": "invalid-topic: PUBLISH topic holds a wildcard [MQTT-3.3.2-2]",
        "PUBREC id 0": "protocol-violation: PUBREC with packet id 0 [MQTT-2.3.1-1]",
        "PUBREL id 0": "protocol-violation: PUBREL with packet id 0 [MQTT-2.3.1-1]",
        "SUBSCRIBE QoS 3": "protocol-violation: SUBSCRIBE requested QoS byte 0x03: reserved bits set or QoS 3 [MQTT-3-8.3-4]",
        "SUBSCRIBE a#": "invalid-topic: SUBSCRIBE topic filter has a '#' that is not a whole last level [MQTT-4.7.1-2]",
        "SUBSCRIBE a+/b": "invalid-topic: SUBSCRIBE topic filter has a '+' that is not a whole level [MQTT-4.7.1-3]",
        "SUBSCRIBE a/#/b": "invalid-topic: SUBSCRIBE topic filter has a '#' that is not a whole last level [MQTT-4.7.1-2]",
        "SUBSCRIBE ab/+e": "invalid-topic: SUBSCRIBE topic filter has a '+' that is not a whole level [MQTT-4.7.1-3]",
        "SUBSCRIBE empty filter": "invalid-topic: SUBSCRIBE topic filter is empty [MQTT-4.7.3-1]",
        "SUBSCRIBE filter U+001F": "control-character: SUBSCRIBE topic filter holds a control character U+0001–U+001F or U+007F–U+009F (MQTT 1.5.3: SHOULD NOT)",
        "SUBSCRIBE id 0": "protocol-violation: SUBSCRIBE with packet id 0 [MQTT-2.3.1-1]",
        "SUBSCRIBE no filter": "protocol-violation: SUBSCRIBE with no topic filter [MQTT-3.8.3-3]",
        "SUBSCRIBE reserved bits": "protocol-violation: SUBSCRIBE requested QoS byte 0x04: reserved bits set or QoS 3 [MQTT-3-8.3-4]",
        "UNSUBSCRIBE a/#/b": "invalid-topic: UNSUBSCRIBE topic filter has a '#' that is not a whole last level [MQTT-4.7.1-2]",
        "UNSUBSCRIBE filter U+0080": "control-character: UNSUBSCRIBE topic filter holds a control character U+0001–U+001F or U+007F–U+009F (MQTT 1.5.3: SHOULD NOT)",
        "UNSUBSCRIBE id 0": "protocol-violation: UNSUBSCRIBE with packet id 0 [MQTT-2.3.1-1]",
        "UNSUBSCRIBE no filter": "protocol-violation: UNSUBSCRIBE with no topic filter [MQTT-3.10.3-2]",
      }
    `)
    // U+00A0 and above are not control characters; ¿ (0xC2 0xBF) shares the C1 controls' lead byte.
    expect(after(packet(0x30, str('a/\u00a0/¿/ŝ')), packet(0x82, id(1), str('¿/+'), Buffer.from([0])))).toBe('ok')
  })

  it('finds a PUBLISH packet id of 0 and an ack of 0 wherever the chunk boundaries fall', () => {
    for (const bad of [packet(0x32, str('a/b'), id(0), Buffer.from('x')), packet(0x40, id(0)), packet(0x30, str('a/\u0085'))]) {
      const bytes = Buffer.concat([connect, bad])
      expect(new Set(everyCut(bytes).map((cuts) => scan(bytes, cuts).split(':')[0]))).toEqual(
        new Set([bad[0] === 0x30 ? 'control-character' : 'protocol-violation']),
      )
    }
  })
})
