import { isUtf8 } from 'node:buffer'
import type { GuardReason } from './refusals.ts'

/**
 * The limits Aedes lacks, checked on the raw byte stream before mqtt-packet sees it. The scanner reads
 * each fixed header as bytes arrive and skips bodies by count; it copies nothing except the few
 * bytes it must inspect (a PUBLISH topic and packet id, an ack's packet id, a CONNECT or (UN)SUBSCRIBE body)
 * when they straddle two chunks.
 *
 * It also refuses what MQTT 3.1.1 says a server MUST refuse and Aedes 1.2 / mqtt-packet 9 let through (or refuse
 * without our counters seeing it): see the reasons in refusals.ts. A protocol violation closes the connection
 * [MQTT-4.8.0-1]; before the session starts that is without CONNACK, except an unsupported protocol level, which is
 * answered CONNACK 0x01 first [MQTT-3.1.2-2] (`connackCode`).
 */
export interface PacketLimits {
  /** Largest whole packet (fixed header included), bytes. */
  maxPacketBytes: number
  /** Most bytes a client may send before its CONNECT packet is complete, bytes. */
  maxPreconnectBytes: number
  /** Longest PUBLISH topic or Will topic, UTF-8 bytes. */
  maxTopicBytes: number
  /** Most `/`-separated levels in a PUBLISH topic or Will topic. */
  maxTopicLevels: number
}

export type { GuardReason }

export class PacketRefusedError extends Error {
  override name = 'PacketRefusedError'
  constructor(
    readonly reason: GuardReason,
    message: string,
    /** True when the refusal came before the session started (at or before CONNECT). */
    readonly beforeConnect: boolean,
    /** Set when the client is owed a CONNACK with this return code before the connection is closed. */
    readonly connackCode?: number,
  ) {
    super(message)
  }
}

const CONNECT = 1
const PUBLISH = 3
const PUBACK = 4
const PUBCOMP = 7
const SUBSCRIBE = 8
const UNSUBSCRIBE = 10
const PINGREQ = 12
const DISCONNECT = 14
const packetNames = [
  'reserved',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'reserved',
]

/**
 * The fixed-header flags (low nibble) of each packet type a client may send [MQTT-2.2.2-1]: -1 for PUBLISH (DUP,
 * QoS, RETAIN), -2 for a type no client sends (MQTT 2.2.1): reserved 0 and 15 and the server's CONNACK, SUBACK,
 * UNSUBACK and PINGRESP.
 */
const CLIENT_FLAGS = Int8Array.of(-2, 0, -2, -1, 0, 0, 2, 0, 2, -2, 2, -2, 0, -2, 0, -2)
/** The rule naming the flags of a type, besides [MQTT-2.2.2-2]. */
const FLAG_RULES: Record<number, string> = { 6: ' [MQTT-3.6.1-1]', 8: ' [MQTT-3.8.1-1]', 10: ' [MQTT-3.10.1-1]' }
const MQTT_NAME = Buffer.from('MQTT')
const MQISDP_NAME = Buffer.from('MQIsdp')
/** Shortest CONNECT body of 3.1.1: name MQTT (6), level, flags, keep alive (4), empty client id (2). */
const MIN_CONNECT_BODY = 12

const AT_HEADER = 0
const AT_LENGTH = 1
const AT_BODY = 2

/** Well-formed UTF-8 without U+0000, as every MQTT string must be. */
export function checkMqttString(bytes: Uint8Array): 'invalid-utf8' | 'null-character' | undefined {
  // isUtf8 is the allocation-free form of `new TextDecoder('utf-8', { fatal: true })`: it refuses
  // overlong forms and UTF-16 surrogates (U+D800–U+DFFF) as the spec requires [MQTT-1.5.3-1].
  if (!isUtf8(bytes)) return 'invalid-utf8'
  // A 0x00 byte only ever encodes U+0000 in well-formed UTF-8 [MQTT-1.5.3-2].
  if (bytes.indexOf(0) !== -1) return 'null-character'
  return undefined
}

const NUL_IN_TOPIC = -1
const INVALID_TOPIC = -2
const CONTROL_IN_TOPIC = -3
const WILDCARD_IN_TOPIC = -4
const EMPTY_TOPIC = -5

/**
 * True when well-formed UTF-8 bytes[start, end) hold a C1 control character, U+0080–U+009F: always the two bytes
 * 0xC2 0x80–0x9F (0xC2 is only ever a lead byte, so no other sequence matches).
 */
function hasC1Control(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i + 1 < end; i++) if (bytes[i] === 0xc2 && bytes[i + 1]! <= 0x9f) return true
  return false
}

/**
 * Levels of a topic name held in bytes[start, end), or one of the negative codes above. One pass over
 * ASCII topics (all of ours): letters and digits (0x30–0x7E) cost two comparisons; '/', '#', '+' and the
 * C0 controls all lie below '0'. The UTF-8 validator and the C1 search run only when a byte ≥ 0x80 shows up.
 * Multi-byte UTF-8 sequences never contain a byte below 0x80, so counting and matching on bytes is exact.
 */
function topicLevels(bytes: Uint8Array, start: number, end: number): number {
  // [MQTT-4.7.3-1] a topic is at least one character long.
  if (start === end) return EMPTY_TOPIC
  let levels = 1
  let ascii = true
  for (let i = start; i < end; i++) {
    const c = bytes[i]!
    if (c < 0x30) {
      if (c === 0x2f) levels++
      else if (c < 0x20) return c === 0 ? NUL_IN_TOPIC : CONTROL_IN_TOPIC
      // [MQTT-3.3.2-2] a topic name (PUBLISH, Will) holds no wildcard.
      else if (c === 0x23 || c === 0x2b) return WILDCARD_IN_TOPIC
    } else if (c >= 0x7f) {
      if (c === 0x7f) return CONTROL_IN_TOPIC
      ascii = false
    }
  }
  if (!ascii) {
    if (!isUtf8(bytes.subarray(start, end))) return INVALID_TOPIC
    if (hasC1Control(bytes, start, end)) return CONTROL_IN_TOPIC
  }
  return levels
}

/**
 * Why the MQTT string bytes[start, end) is refused: not well-formed UTF-8 [MQTT-1.5.3-1], U+0000 [MQTT-1.5.3-2],
 * or a control character U+0001–U+001F / U+007F–U+009F, which 1.5.3 says SHOULD NOT be sent (Mosquitto refuses them).
 */
function textFault(bytes: Uint8Array, start: number, end: number): 'invalid-utf8' | 'null-character' | 'control-character' | undefined {
  let ascii = true
  for (let i = start; i < end; i++) {
    const c = bytes[i]!
    if (c < 0x20) return c === 0 ? 'null-character' : 'control-character'
    if (c >= 0x7f) {
      if (c === 0x7f) return 'control-character'
      ascii = false
    }
  }
  if (ascii) return undefined
  if (!isUtf8(bytes.subarray(start, end))) return 'invalid-utf8'
  return hasC1Control(bytes, start, end) ? 'control-character' : undefined
}

/** Where the topic filter bytes[start, end) breaks the wildcard rules, or undefined. */
function filterFault(bytes: Uint8Array, start: number, end: number): string | undefined {
  if (start === end) return 'is empty [MQTT-4.7.3-1]'
  for (let i = start; i < end; i++) {
    const c = bytes[i]!
    // [MQTT-4.7.1-2] '#' stands alone or after '/', and last.
    if (c === 0x23 && (i !== end - 1 || (i > start && bytes[i - 1] !== 0x2f))) return "has a '#' that is not a whole last level [MQTT-4.7.1-2]"
    // [MQTT-4.7.1-3] '+' fills a whole level.
    if (c === 0x2b && ((i > start && bytes[i - 1] !== 0x2f) || (i + 1 < end && bytes[i + 1] !== 0x2f)))
      return "has a '+' that is not a whole level [MQTT-4.7.1-3]"
  }
  return undefined
}

const textMessages = {
  'invalid-utf8': 'is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]',
  'null-character': 'is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]',
  'control-character': 'holds a control character U+0001–U+001F or U+007F–U+009F (MQTT 1.5.3: SHOULD NOT)',
} as const

/**
 * One scanner per connection. `feed` every chunk in order; it returns a PacketRefusedError as soon
 * as the bytes seen so far break a limit (the caller closes the connection), else undefined.
 * A class rather than closures: 10,000 connections each holding eight closures cost ~2.5 KiB apiece.
 */
export class PacketScanner {
  readonly #limits: PacketLimits
  #state = AT_HEADER
  #type = 0
  #length = 0
  #multiplier = 1
  #lengthBytes = 0
  /** Body bytes of the current packet not yet seen. */
  #remaining = 0
  /** Body bytes of the current packet already seen. */
  #offset = 0
  #firstPacket = true
  #connected = false
  /** QoS of the current PUBLISH. */
  #qos = 0
  #preconnectBytes = 0
  /** Body bytes wanted from offset 0 for inspection; 0 when the packet needs none (or no more). */
  #need = 0
  #publishTopicKnown = false
  /** Holds body[0, offset) while inspecting a region that straddles chunks. */
  #scratch: Buffer | undefined = undefined

  constructor(limits: PacketLimits) {
    this.#limits = limits
  }

  /** True once a whole CONNECT packet has passed. */
  get connected(): boolean {
    return this.#connected
  }

  #refuse(reason: GuardReason, message: string, connackCode?: number): PacketRefusedError {
    return new PacketRefusedError(reason, message, !this.#connected, connackCode)
  }

  #violation(message: string): PacketRefusedError {
    return this.#refuse('protocol-violation', message)
  }

  #checkTopic(bytes: Uint8Array, start: number, end: number, what: string): PacketRefusedError | undefined {
    const limits = this.#limits
    const levels = topicLevels(bytes, start, end)
    if (levels < 0) {
      switch (levels) {
        case NUL_IN_TOPIC:
          return this.#refuse('null-character', `${what} ${textMessages['null-character']}`)
        case INVALID_TOPIC:
          return this.#refuse('invalid-utf8', `${what} ${textMessages['invalid-utf8']}`)
        case CONTROL_IN_TOPIC:
          return this.#refuse('control-character', `${what} ${textMessages['control-character']}`)
        case WILDCARD_IN_TOPIC:
          return this.#refuse('invalid-topic', `${what} holds a wildcard [MQTT-3.3.2-2]`)
        default:
          return this.#refuse('invalid-topic', `${what} is empty [MQTT-4.7.3-1]`)
      }
    }
    if (end - start > limits.maxTopicBytes) return this.#refuse('topic-too-long', `${what} is ${end - start} bytes, more than ${limits.maxTopicBytes}`)
    if (levels > limits.maxTopicLevels) return this.#refuse('topic-too-deep', `${what} has ${levels} levels, more than ${limits.maxTopicLevels}`)
    return undefined
  }

  #checkString(bytes: Uint8Array, start: number, end: number, what: string): PacketRefusedError | undefined {
    const bad = textFault(bytes, start, end)
    return bad ? this.#refuse(bad, `${what} ${textMessages[bad]}`) : undefined
  }

  /** A topic filter: an MQTT string whose wildcards are where they may be. Its length and depth are the authorizer's (SUBACK 0x80). */
  #checkFilter(bytes: Uint8Array, start: number, end: number, what: string): PacketRefusedError | undefined {
    const bad = this.#checkString(bytes, start, end, what)
    if (bad) return bad
    const fault = filterFault(bytes, start, end)
    return fault ? this.#refuse('invalid-topic', `${what} ${fault}`) : undefined
  }

  /**
   * Inspects body[0, need), found at bytes[start, start + need). Returns a larger `need` when more
   * bytes are wanted, a refusal, or undefined when the packet is fine. A body its own fields overrun is a
   * protocol violation too (mqtt-packet would close the connection on it, uncounted).
   */
  #inspect(bytes: Buffer, start: number): number | PacketRefusedError | undefined {
    switch (this.#type) {
      case PUBLISH: {
        // The hot path: read in place, no subarray, no copy.
        if (!this.#publishTopicKnown) {
          this.#publishTopicKnown = true
          const topicLength = (bytes[start]! << 8) | bytes[start + 1]!
          if (topicLength > this.#limits.maxTopicBytes)
            return this.#refuse('topic-too-long', `PUBLISH topic is ${topicLength} bytes, more than ${this.#limits.maxTopicBytes}`)
          if (topicLength === 0) return this.#refuse('invalid-topic', 'PUBLISH topic is empty [MQTT-4.7.3-1]')
          // QoS 1 and 2: the packet id follows the topic; it is read with it, and only then.
          const need = 2 + topicLength + (this.#qos > 0 ? 2 : 0)
          if (need > this.#length)
            return this.#violation(
              `PUBLISH of ${this.#length} body bytes is too short for its ${topicLength}-byte topic${this.#qos > 0 ? ' and packet id' : ''}`,
            )
          return need
        }
        const topicEnd = start + this.#need - (this.#qos > 0 ? 2 : 0)
        const bad = this.#checkTopic(bytes, start + 2, topicEnd, 'PUBLISH topic')
        if (bad) return bad
        // [MQTT-2.3.1-1] a QoS 1 or 2 PUBLISH carries a non-zero packet id (Aedes would acknowledge id 0).
        if (this.#qos > 0 && bytes[topicEnd] === 0 && bytes[topicEnd + 1] === 0)
          return this.#violation(`PUBLISH QoS ${this.#qos} with packet id 0 [MQTT-2.3.1-1]`)
        return undefined
      }
      case CONNECT:
        return this.#inspectConnect(bytes.subarray(start, start + this.#need))
      case SUBSCRIBE:
      case UNSUBSCRIBE:
        return this.#inspectSubscriptions(bytes.subarray(start, start + this.#need))
      default:
        // PUBACK, PUBREC, PUBREL, PUBCOMP: their packet id, the whole body. Packet ids are non-zero [MQTT-2.3.1-1], so
        // an ack of id 0 answers nothing the broker sent (Mosquitto closes on it too). An ack for a non-zero id not in
        // flight is let through: see "unsolicited acks" in refusals.ts.
        if (bytes[start] === 0 && bytes[start + 1] === 0) return this.#violation(`${packetNames[this.#type]} with packet id 0 [MQTT-2.3.1-1]`)
        return undefined
    }
  }

  /** SUBSCRIBE / UNSUBSCRIBE, the whole body: a non-zero packet id, then one or more well-formed filters (with a QoS byte each for SUBSCRIBE). */
  #inspectSubscriptions(body: Buffer): PacketRefusedError | undefined {
    const subscribe = this.#type === SUBSCRIBE
    const name = subscribe ? 'SUBSCRIBE' : 'UNSUBSCRIBE'
    // [MQTT-2.3.1-1] SUBSCRIBE and UNSUBSCRIBE carry a non-zero packet id.
    if (body.readUInt16BE(0) === 0) return this.#violation(`${name} with packet id 0 [MQTT-2.3.1-1]`)
    // [MQTT-3.8.3-3] [MQTT-3.10.3-2] at least one topic filter.
    if (body.length === 2) return this.#violation(`${name} with no topic filter ${subscribe ? '[MQTT-3.8.3-3]' : '[MQTT-3.10.3-2]'}`)
    let p = 2
    while (p < body.length) {
      const start = p + 2
      const end = p + 2 > body.length ? body.length + 1 : start + body.readUInt16BE(p)
      if (end + (subscribe ? 1 : 0) > body.length) return this.#violation(`${name} body ends inside a topic filter${subscribe ? ' or its requested QoS' : ''}`)
      const bad = this.#checkFilter(body, start, end, `${name} topic filter`)
      if (bad) return bad
      p = end
      if (subscribe) {
        // [MQTT-3-8.3-4] the requested QoS byte: bits 7–2 reserved (0), and QoS 3 does not exist.
        const requested = body[p++]!
        if (requested > 2)
          return this.#violation(`SUBSCRIBE requested QoS byte 0x${requested.toString(16).padStart(2, '0')}: reserved bits set or QoS 3 [MQTT-3-8.3-4]`)
      }
    }
    return undefined
  }

  /**
   * CONNECT, the whole body, field by field as 3.1.1 lays it out: the protocol name and level, flags that agree
   * with each other, and exactly the payload fields the flags announce [MQTT-3.1.3-1]. Client id, Will topic and
   * user name are MQTT strings [MQTT-1.5.3-1]; the Will topic is a topic name.
   */
  #inspectConnect(body: Buffer): PacketRefusedError | undefined {
    let p = 0
    /** The next length-prefixed field (string or binary), or undefined when it runs past the body. */
    const field = (): { start: number; end: number } | undefined => {
      if (p + 2 > body.length) return undefined
      const start = p + 2
      const end = start + body.readUInt16BE(p)
      if (end > body.length) return undefined
      p = end
      return { start, end }
    }
    const tooShort = () => this.#violation('CONNECT payload is shorter than the fields its flags announce [MQTT-3.1.3-1]')
    const name = field()
    if (name === undefined || p + 4 > body.length) return this.#violation('CONNECT is too short for its variable header')
    const nameBytes = body.subarray(name.start, name.end)
    const isMqtt = nameBytes.equals(MQTT_NAME)
    // [MQTT-3.1.2-1] 3.1.1 is "MQTT"; "MQIsdp" is 3.1's, still accepted at its own level.
    if (!isMqtt && !nameBytes.equals(MQISDP_NAME)) return this.#violation('CONNECT protocol name is neither MQTT nor MQIsdp [MQTT-3.1.2-1]')
    // Bit 7 is the bridge flag some brokers set (mqtt-packet and Mosquitto mask it off too).
    const level = body[p]! & 0x7f
    const flags = body[p + 1]!
    p += 4 // level, flags, keep alive
    // MQTT 5: its variable header carries properties; Aedes answers it CONNACK 0x01 (unacceptable protocol version) itself.
    if (isMqtt && level === 5) return undefined
    // [MQTT-3.1.2-2] name and level go together: MQTT/4 (3.1.1), MQIsdp/3 (3.1). Any other level: CONNACK 0x01, then close.
    if (level !== (isMqtt ? 4 : 3))
      return this.#refuse('unsupported-protocol-version', `CONNECT protocol ${nameBytes.toString('latin1')} level ${level} is not supported [MQTT-3.1.2-2]`, 1)
    // [MQTT-3.1.2-3] the reserved flag is 0.
    if (flags & 0x01) return this.#violation('CONNECT reserved flag (bit 0) is set [MQTT-3.1.2-3]')
    const will = (flags & 0x04) !== 0
    const willQos = (flags >> 3) & 0x03
    const willRetain = (flags & 0x20) !== 0
    // [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15] without a Will, Will QoS and Will Retain are 0.
    if (!will && (willQos !== 0 || willRetain))
      return this.#violation('CONNECT has Will QoS or Will Retain set without the Will flag [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]')
    // [MQTT-3.1.2-14] Will QoS 3 does not exist.
    if (willQos === 3) return this.#violation('CONNECT Will QoS is 3 [MQTT-3.1.2-14]')
    const hasUser = (flags & 0x80) !== 0
    const hasPassword = (flags & 0x40) !== 0
    // [MQTT-3.1.2-22] no password without a user name.
    if (hasPassword && !hasUser) return this.#violation('CONNECT has the Password flag set without the User Name flag [MQTT-3.1.2-22]')

    const clientId = field()
    if (clientId === undefined) return tooShort()
    const badId = this.#checkString(body, clientId.start, clientId.end, 'CONNECT client id')
    if (badId) return badId
    if (will) {
      const willTopic = field()
      if (willTopic === undefined) return tooShort()
      const badWill = this.#checkTopic(body, willTopic.start, willTopic.end, 'CONNECT Will topic')
      if (badWill) return badWill
      if (field() === undefined) return tooShort() // Will message: binary, length-prefixed like a string
    }
    if (hasUser) {
      const username = field()
      if (username === undefined) return tooShort()
      const badUser = this.#checkString(body, username.start, username.end, 'CONNECT user name')
      if (badUser) return badUser
    }
    if (hasPassword && field() === undefined) return tooShort() // password: binary data
    if (p !== body.length) {
      // [MQTT-3.1.2-18] [MQTT-3.1.2-20] no user name or password in the payload without its flag; nothing else after them.
      const which = !hasUser
        ? 'a user name without the User Name flag? [MQTT-3.1.2-18]'
        : !hasPassword
          ? 'a password without the Password flag? [MQTT-3.1.2-20]'
          : 'nothing may follow the password'
      return this.#violation(`CONNECT has ${body.length - p} bytes after the fields its flags announce (${which}) [MQTT-3.1.3-1]`)
    }
    return undefined
  }

  /** Body bytes body[offset, offset + avail) are chunk[pos, pos + avail). */
  #collect(chunk: Buffer, pos: number, avail: number): PacketRefusedError | undefined {
    for (;;) {
      if (this.#offset + avail < this.#need) {
        if (!this.#scratch || this.#scratch.length < this.#need) {
          const bigger = Buffer.allocUnsafe(this.#need)
          if (this.#scratch && this.#offset > 0) this.#scratch.copy(bigger, 0, 0, this.#offset)
          this.#scratch = bigger
        }
        chunk.copy(this.#scratch, this.#offset, pos, pos + avail)
        return undefined
      }
      let verdict: number | PacketRefusedError | undefined
      if (this.#offset === 0) verdict = this.#inspect(chunk, pos)
      else {
        if (this.#scratch!.length < this.#need) {
          const bigger = Buffer.allocUnsafe(this.#need)
          this.#scratch!.copy(bigger, 0, 0, this.#offset)
          this.#scratch = bigger
        }
        chunk.copy(this.#scratch!, this.#offset, pos, pos + this.#need - this.#offset)
        verdict = this.#inspect(this.#scratch!, 0)
      }
      if (typeof verdict === 'number') {
        this.#need = verdict
        continue
      }
      this.#need = 0
      this.#scratch = undefined
      return verdict
    }
  }

  feed(chunk: Buffer): PacketRefusedError | undefined {
    let pos = 0
    const end = chunk.length
    while (pos < end) {
      if (this.#state === AT_BODY) {
        const avail = Math.min(this.#remaining, end - pos)
        if (this.#need > 0) {
          const refused = this.#collect(chunk, pos, avail)
          if (refused) return refused
        }
        pos += avail
        this.#offset += avail
        this.#remaining -= avail
        if (!this.#connected) this.#preconnectBytes += avail
        if (this.#remaining === 0) this.#finishPacket()
      } else if (this.#state === AT_HEADER) {
        const byte = chunk[pos++]!
        const type = byte >> 4
        this.#type = type
        // [MQTT-3.1.0-1] the first packet from the client MUST be CONNECT.
        if (this.#firstPacket && type !== CONNECT)
          return this.#refuse('first-packet-not-connect', `first packet is ${packetNames[type]}, not CONNECT [MQTT-3.1.0-1]`)
        // [MQTT-3.1.0-2] and only the first.
        if (type === CONNECT && !this.#firstPacket) return this.#violation('a second CONNECT [MQTT-3.1.0-2]')
        this.#firstPacket = false
        const flags = CLIENT_FLAGS[type]!
        if (flags !== (byte & 0x0f)) {
          if (flags === -2)
            return this.#violation(`${packetNames[type]} (type ${type}) is not a packet a client sends (MQTT 2.2.1: reserved, or server to client only)`)
          // [MQTT-2.2.2-2] reserved flag bits other than those of the table close the connection.
          if (flags !== -1)
            return this.#violation(
              `${packetNames[type]} fixed-header flags are 0x${(byte & 0x0f).toString(16)}, not 0x${flags} [MQTT-2.2.2-2]${FLAG_RULES[type] ?? ''}`,
            )
          this.#qos = (byte >> 1) & 0x03
          // [MQTT-3.3.1-4] a PUBLISH with both QoS bits set.
          if (this.#qos === 3) return this.#violation('PUBLISH with QoS 3 [MQTT-3.3.1-4]')
          // [MQTT-3.3.1-2] DUP is 0 on every QoS 0 PUBLISH (Mosquitto closes on it too).
          if (this.#qos === 0 && byte & 0x08) return this.#violation('PUBLISH QoS 0 with DUP set [MQTT-3.3.1-2]')
        }
        this.#length = 0
        this.#multiplier = 1
        this.#lengthBytes = 0
        this.#state = AT_LENGTH
        if (!this.#connected) this.#preconnectBytes++
      } else {
        const byte = chunk[pos++]!
        this.#length += (byte & 0x7f) * this.#multiplier
        this.#multiplier *= 128
        this.#lengthBytes++
        if (!this.#connected) this.#preconnectBytes++
        if (byte & 0x80) {
          // [MQTT-2.2.3] the remaining length takes at most four bytes.
          if (this.#lengthBytes === 4) return this.#refuse('malformed-length', 'remaining length longer than four bytes [MQTT-2.2.3]')
          continue
        }
        const total = 1 + this.#lengthBytes + this.#length
        // Refused on the header alone: the body is never buffered, whatever size it announces.
        if (total > this.#limits.maxPacketBytes)
          return this.#refuse('packet-too-large', `${packetNames[this.#type]} of ${total} bytes announced, more than ${this.#limits.maxPacketBytes}`)
        if (!this.#connected && this.#preconnectBytes + this.#length > this.#limits.maxPreconnectBytes)
          return this.#refuse(
            'preconnect-limit',
            `CONNECT of ${total} bytes, more than the ${this.#limits.maxPreconnectBytes} bytes allowed before CONNECT completes`,
          )
        const shapeFault = this.#shapeFault()
        if (shapeFault) return shapeFault
        this.#remaining = this.#length
        this.#offset = 0
        this.#publishTopicKnown = false
        // PUBLISH: its topic length first (2 bytes), then the topic (and packet id); the acks: their packet id, the
        // whole body; CONNECT and (UN)SUBSCRIBE: the whole body. PINGREQ, DISCONNECT: nothing.
        const type = this.#type
        this.#need =
          type === PUBLISH || (type >= PUBACK && type <= PUBCOMP) ? 2 : type === CONNECT || type === SUBSCRIBE || type === UNSUBSCRIBE ? this.#length : 0
        this.#state = AT_BODY
        if (this.#remaining === 0) this.#finishPacket()
      }
    }
    return undefined
  }

  /** A Remaining Length no packet of this type can have: checked on the header, before any of the body. */
  #shapeFault(): PacketRefusedError | undefined {
    const type = this.#type
    const length = this.#length
    if (type === PUBLISH) return length < 2 ? this.#violation(`PUBLISH of ${length} body bytes has no room for a topic`) : undefined
    // The acks are their 2-byte packet id; PINGREQ and DISCONNECT have no body (3.1.1 fixes these Remaining Lengths).
    if (type >= PUBACK && type <= PUBCOMP) return length !== 2 ? this.#violation(`${packetNames[type]} has ${length} body bytes, not 2`) : undefined
    if (type === PINGREQ || type === DISCONNECT) return length !== 0 ? this.#violation(`${packetNames[type]} has ${length} body bytes, not 0`) : undefined
    if (type === SUBSCRIBE || type === UNSUBSCRIBE)
      return length < 2 ? this.#violation(`${packetNames[type]} of ${length} body bytes has no room for its packet id`) : undefined
    if (type === CONNECT)
      return length < MIN_CONNECT_BODY ? this.#violation(`CONNECT of ${length} body bytes is too short for its variable header and client id`) : undefined
    return undefined
  }

  #finishPacket(): void {
    if (this.#type === CONNECT) this.#connected = true
    this.#state = AT_HEADER
    this.#need = 0
    this.#scratch = undefined
  }
}

export function createPacketScanner(limits: PacketLimits): PacketScanner {
  return new PacketScanner(limits)
}
