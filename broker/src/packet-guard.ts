import { isUtf8 } from 'node:buffer'
import type { RefusalReason } from './refusals.ts'

/**
 * The limits Aedes lacks, checked on the raw byte stream before mqtt-packet sees it. The scanner reads
 * each fixed header as bytes arrive and skips bodies by count; it copies nothing except the few
 * bytes it must inspect (a PUBLISH topic, a CONNECT or (UN)SUBSCRIBE body) when they straddle two chunks.
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

export type GuardReason = Extract<
  RefusalReason,
  'packet-too-large' | 'malformed-length' | 'preconnect-limit' | 'first-packet-not-connect' | 'invalid-utf8' | 'null-character' | 'topic-too-long' | 'topic-too-deep'
>

export class PacketRefusedError extends Error {
  override name = 'PacketRefusedError'
  constructor(
    readonly reason: GuardReason,
    message: string,
    /** True when the refusal came before the session started (at or before CONNECT). */
    readonly beforeConnect: boolean,
  ) {
    super(message)
  }
}

const CONNECT = 1
const PUBLISH = 3
const SUBSCRIBE = 8
const UNSUBSCRIBE = 10
const packetNames = ['reserved', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'reserved']

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

/**
 * Levels of a topic held in bytes[start, end), or NUL_IN_TOPIC / INVALID_TOPIC. One pass over ASCII
 * topics (all of ours); the UTF-8 validator runs only when a byte ≥ 0x80 shows up. Multi-byte UTF-8
 * sequences never contain 0x2F or 0x00, so counting on bytes is exact.
 */
function topicLevels(bytes: Uint8Array, start: number, end: number): number {
  let levels = 1
  let ascii = true
  for (let i = start; i < end; i++) {
    const c = bytes[i]!
    if (c === 0x2f) levels++
    else if (c === 0) return NUL_IN_TOPIC
    else if (c >= 0x80) ascii = false
  }
  if (!ascii && !isUtf8(bytes.subarray(start, end))) return INVALID_TOPIC
  return levels
}

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

  #refuse(reason: GuardReason, message: string): PacketRefusedError {
    return new PacketRefusedError(reason, message, !this.#connected)
  }

  #checkTopic(bytes: Uint8Array, start: number, end: number, what: string): PacketRefusedError | undefined {
    const limits = this.#limits
    const levels = topicLevels(bytes, start, end)
    if (levels === NUL_IN_TOPIC) return this.#refuse('null-character', `${what} is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]`)
    if (levels === INVALID_TOPIC) return this.#refuse('invalid-utf8', `${what} is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]`)
    if (end - start > limits.maxTopicBytes) return this.#refuse('topic-too-long', `${what} is ${end - start} bytes, more than ${limits.maxTopicBytes}`)
    if (levels > limits.maxTopicLevels) return this.#refuse('topic-too-deep', `${what} has ${levels} levels, more than ${limits.maxTopicLevels}`)
    return undefined
  }

  #checkString(s: Uint8Array, what: string): PacketRefusedError | undefined {
    const bad = checkMqttString(s)
    return bad ? this.#refuse(bad, `${what} is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]`) : undefined
  }

  /**
   * Inspects body[0, need), found at bytes[start, start + need). Returns a larger `need` when more
   * bytes are wanted, a refusal, or undefined when the packet is fine. A body too short for its own
   * fields is left to mqtt-packet, which refuses malformed packets itself.
   */
  #inspect(bytes: Buffer, start: number): number | PacketRefusedError | undefined {
    switch (this.#type) {
      case PUBLISH: {
        // The hot path: read in place, no subarray, no copy.
        if (!this.#publishTopicKnown) {
          this.#publishTopicKnown = true
          const topicLength = (bytes[start]! << 8) | bytes[start + 1]!
          if (topicLength > this.#limits.maxTopicBytes) return this.#refuse('topic-too-long', `PUBLISH topic is ${topicLength} bytes, more than ${this.#limits.maxTopicBytes}`)
          if (topicLength === 0 || 2 + topicLength > this.#length) return undefined
          return 2 + topicLength
        }
        return this.#checkTopic(bytes, start + 2, start + this.#need, 'PUBLISH topic')
      }
      case CONNECT:
        return this.#inspectConnect(bytes.subarray(start, start + this.#need))
      case SUBSCRIBE:
      case UNSUBSCRIBE: {
        const region = bytes.subarray(start, start + this.#need)
        const name = this.#type === SUBSCRIBE ? 'SUBSCRIBE' : 'UNSUBSCRIBE'
        let p = 2 // packet identifier
        while (p + 2 <= region.length) {
          const n = region.readUInt16BE(p)
          if (p + 2 + n > region.length) return undefined
          const bad = this.#checkString(region.subarray(p + 2, p + 2 + n), `${name} topic filter`)
          if (bad) return bad
          p += 2 + n + (this.#type === SUBSCRIBE ? 1 : 0) // requested QoS byte
        }
        return undefined
      }
      default:
        return undefined
    }
  }

  /** CONNECT: client id, Will topic and user name are MQTT strings [MQTT-1.5.3-1]; the Will topic is a topic. */
  #inspectConnect(body: Buffer): PacketRefusedError | undefined {
    let p = 0
    const str = (): Buffer | undefined => {
      if (p + 2 > body.length) return undefined
      const n = body.readUInt16BE(p)
      if (p + 2 + n > body.length) return undefined
      const s = body.subarray(p + 2, p + 2 + n)
      p += 2 + n
      return s
    }
    if (str() === undefined || p + 4 > body.length) return undefined // protocol name: mqtt-packet checks it
    const level = body[p]!
    const flags = body[p + 1]!
    p += 4 // level, flags, keep alive
    // MQTT 5 puts properties here; Aedes answers it with CONNACK 1 (unacceptable protocol version).
    if (level !== 3 && level !== 4) return undefined
    const clientId = str()
    if (clientId === undefined) return undefined
    const badId = this.#checkString(clientId, 'CONNECT client id')
    if (badId) return badId
    if (flags & 0x04) {
      const willTopic = str()
      if (willTopic === undefined) return undefined
      const badWill = this.#checkTopic(willTopic, 0, willTopic.length, 'CONNECT Will topic')
      if (badWill) return badWill
      if (str() === undefined) return undefined // Will payload: binary, length-prefixed like a string
    }
    if (flags & 0x80) {
      const username = str()
      if (username === undefined) return undefined
      return this.#checkString(username, 'CONNECT user name')
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
        this.#type = byte >> 4
        // [MQTT-3.1.0-1] the first packet from the client MUST be CONNECT.
        if (this.#firstPacket && this.#type !== CONNECT) return this.#refuse('first-packet-not-connect', `first packet is ${packetNames[this.#type]}, not CONNECT [MQTT-3.1.0-1]`)
        this.#firstPacket = false
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
        if (total > this.#limits.maxPacketBytes) return this.#refuse('packet-too-large', `${packetNames[this.#type]} of ${total} bytes announced, more than ${this.#limits.maxPacketBytes}`)
        if (!this.#connected && this.#preconnectBytes + this.#length > this.#limits.maxPreconnectBytes)
          return this.#refuse('preconnect-limit', `CONNECT of ${total} bytes, more than the ${this.#limits.maxPreconnectBytes} bytes allowed before CONNECT completes`)
        this.#remaining = this.#length
        this.#offset = 0
        this.#publishTopicKnown = false
        // PUBLISH: its topic length first (2 bytes), then the topic; CONNECT and (UN)SUBSCRIBE: the whole body.
        this.#need = this.#type === PUBLISH ? (this.#length >= 2 ? 2 : 0) : this.#type === CONNECT || this.#type === SUBSCRIBE || this.#type === UNSUBSCRIBE ? this.#length : 0
        this.#state = AT_BODY
        if (this.#remaining === 0) this.#finishPacket()
      }
    }
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
