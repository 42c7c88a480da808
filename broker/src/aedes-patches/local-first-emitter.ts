/*
 * Aedes patch. Patches an mqemitter-redis instance in place: its `emit`, and the handler it installs on its subscriber
 * connection's 'messageBuffer'/'pmessageBuffer' events. Why: every publish made a round trip through Redis before
 * reaching a subscriber on the same node; details below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { MQEmitterRedis } from 'mqemitter-redis'
import { createPooledEncoder, decode } from './pooled-msgpack.ts'
import { batchPerTurn, READ_PARTS } from './turn-batch.ts'

/*
 * mqemitter-redis sends every publish (readings, Aedes's $SYS heartbeats and client take-overs) to Redis and
 * delivers it to this node's own subscribers only when Redis echoes it back: on one node each message cost a
 * msgpack encode with a fresh id (hyperid), a PUBLISH, the echo's parse and decode and an LRU lookup (the LRU
 * drops the copies Redis sends once per matching pattern). Here a publish goes to this node's subscribers at
 * once, exactly as Aedes's default in-memory emitter delivers it, and to Redis for the other nodes in a frame
 * tagged with this emitter's random id and a sequence number:
 *
 *   0xc1 (a byte msgpack never uses) | 16-byte emitter id | sequence (float64 BE) | msgpack(message)
 *
 * The echo of our own frame is dropped by its id before any decoding. A frame from another node is delivered once:
 * Redis sends the copies of one PUBLISH back to back, and one node's frames arrive in its order (one publishing
 * connection), so a sequence not above the last one seen from that id is a copy. Anything else (a node still on
 * plain mqemitter-redis during an upgrade, Sentinel's hello) goes to mqemitter-redis's own handler.
 * The PUBLISHes of one event-loop turn go to Redis in one Lua call (turn-batch.ts), in order. `emit` calls back once
 * Redis has run its PUBLISH, as mqemitter-redis does, so a PUBACK sent after the publish (puback-after-publish.ts)
 * still means the other nodes' subscribers have it.
 */
const PUBLISH_ALL = `${READ_PARTS}local n = 0
while moreParts() do
  local channel = nextPart()
  redis.call('PUBLISH', channel, nextPart())
  n = n + 1
end
return n`
const MAGIC = 0xc1
const HEADER = 1 + 16 + 8

type Message = { topic: string }
type Done = (err?: Error | null) => void
interface EmitterInternals {
  subConn: Redis
  pubConn: Redis
  closed?: boolean
  /** MQEmitter's own emit: delivery to this process's listeners. */
  _emit(message: Message, done?: Done): void
  _onError(err: Error): void
}

export function deliverLocallyFirst(mq: MQEmitterRedis): void {
  const emitter = mq as unknown as EmitterInternals
  emitter.pubConn.defineCommand('mythoPublishAll', { numberOfKeys: 0, lua: PUBLISH_ALL })
  const pubConn = emitter.pubConn as Redis & { mythoPublishAll(frame: Buffer): Promise<number> }
  const publish = batchPerTurn((frame) => pubConn.mythoPublishAll(frame))
  const id = randomBytes(16)
  const encode = createPooledEncoder()
  let sequence = 0
  const lastSeen = new Map<string, number>()

  emitter.subConn.removeAllListeners('messageBuffer')
  const legacy = emitter.subConn.listeners('pmessageBuffer') as ((pattern: Buffer, channel: Buffer, message: Buffer) => void)[]
  emitter.subConn.removeAllListeners('pmessageBuffer')

  const received = (pattern: Buffer, channel: Buffer, frame: Buffer) => {
    if (frame.length < HEADER || frame[0] !== MAGIC) {
      for (const handler of legacy) handler(pattern, channel, frame)
      return
    }
    if (frame.compare(id, 0, 16, 1, 17) === 0) return
    const from = frame.toString('latin1', 1, 17)
    const seq = frame.readDoubleBE(17)
    const last = lastSeen.get(from)
    if (last !== undefined && seq <= last) return
    lastSeen.set(from, seq)
    emitter._emit(decode(frame.subarray(HEADER)) as Message)
  }
  emitter.subConn.on('messageBuffer', (channel: Buffer, frame: Buffer) => received(channel, channel, frame))
  emitter.subConn.on('pmessageBuffer', received)

  ;(mq as unknown as { emit: (message: Message, done?: Done) => void }).emit = (message, done) => {
    const callback = done ?? ((err?: Error | null) => err && emitter._onError(err))
    if (emitter.closed) return callback(new Error('mqemitter-redis is closed'))
    const header = Buffer.allocUnsafe(HEADER)
    header[0] = MAGIC
    id.copy(header, 1)
    header.writeDoubleBE(++sequence, 17)
    let frame: Buffer
    try {
      frame = encode(message, header)
    } catch (err) {
      return callback(err as Error)
    }
    // Encoded first: a local listener could change the message.
    emitter._emit(message)
    publish([message.topic, frame], callback)
  }
}
