import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { createPacketScanner, type PacketLimits } from './packet-guard.ts'

const limits: PacketLimits = { maxPacketBytes: 1024, maxPreconnectBytes: 256, maxTopicBytes: 32, maxTopicLevels: 4 }
const gen = (p: mqttPacket.Packet) => mqttPacket.generate(p)
const connect = gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'dev-1', clean: true, keepalive: 60, username: 'dev-1', password: Buffer.from('pw'), will: { topic: 'a/b/status', payload: Buffer.from('offline'), qos: 1, retain: true } })
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
const subscribe = gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+/c', qos: 1 }, { topic: 'ü/#', qos: 0 }] })

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
    expect(scan(session, Array.from({ length: session.length - 1 }, (_, i) => i + 1))).toBe('ok')
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
    const big = gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'x', clean: true, keepalive: 60, will: { topic: 't', payload: Buffer.alloc(300), qos: 0, retain: false } })
    expect(scan(big.subarray(0, 3))).toMatchInlineSnapshot(`"preconnect-limit (before CONNECT): CONNECT of 321 bytes, more than the 256 bytes allowed before CONNECT completes"`)
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
      const body = Buffer.concat([str(Buffer.from('MQTT')), Buffer.from([4, flags, 0, 60]), str(clientId), ...(willTopic ? [str(willTopic), str(Buffer.from('x'))] : []), ...(username ? [str(username)] : [])])
      return Buffer.concat([Buffer.from([0x10, body.length]), body])
    }
    const ok = Buffer.from('ok')
    expect(scan(connectWith(ok, ok, ok))).toBe('ok')
    expect(scan(connectWith(bad))).toMatchInlineSnapshot(`"invalid-utf8 (before CONNECT): CONNECT client id is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]"`)
    expect(scan(connectWith(ok, bad))).toMatchInlineSnapshot(`"invalid-utf8 (before CONNECT): CONNECT Will topic is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]"`)
    expect(scan(connectWith(ok, Buffer.from('a/b/c/d/e')))).toMatchInlineSnapshot(`"topic-too-deep (before CONNECT): CONNECT Will topic has 5 levels, more than 4"`)
    expect(scan(connectWith(ok, undefined, bad))).toMatchInlineSnapshot(`"invalid-utf8 (before CONNECT): CONNECT user name is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]"`)

    const sub = Buffer.concat([Buffer.from([0, 1]), str(Buffer.from('a/#')), Buffer.from([1]), str(bad), Buffer.from([0])])
    expect(scan(Buffer.concat([connect, Buffer.from([0x82, sub.length]), sub]))).toMatchInlineSnapshot(`"invalid-utf8: SUBSCRIBE topic filter is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]"`)
    const unsub = Buffer.concat([Buffer.from([0, 2]), str(Buffer.from('a/b\u0000'))])
    expect(scan(Buffer.concat([connect, Buffer.from([0xa2, unsub.length]), unsub]))).toMatchInlineSnapshot(`"null-character: UNSUBSCRIBE topic filter is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]"`)
  })

  it('leaves malformed bodies and MQTT 5 CONNECT to Aedes (which refuses them itself)', () => {
    expect(scan(Buffer.concat([connect, Buffer.from([0x30, 0x01, 0x00])]))).toBe('ok') // PUBLISH too short for a topic
    expect(scan(gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'v5', clean: true, keepalive: 60 }))).toBe('ok')
  })
})
