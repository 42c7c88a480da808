import { createRequire } from 'node:module'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createLogger } from '@mytho/runtime'
import { startRedisServer, type RedisServer } from '@mytho/testing'
import { decode } from './pooled-msgpack.ts'
import { batchQueueSteps } from './redis-outgoing.ts'

const fromLibrary = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-redis'))
const msgpack = fromLibrary('msgpack-lite') as { encode(value: unknown): Buffer }
const { Packet } = fromLibrary('aedes-persistence') as { Packet: new (packet: object, broker?: object) => Record<string, unknown> }

interface Queue {
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: object): Promise<void>
  outgoingUpdate(client: { id: string }, packet: object): Promise<void>
  outgoingClearMessageId(client: { id: string }, packet: object): Promise<Record<string, unknown> | undefined>
}

/*
 * The queue steps of a cluster node (redis-outgoing.ts) on a real redis-server, read back with the library's decoder:
 * what a node taking over the session would read.
 */
describe("a cluster node's QoS 1 queue in Redis", () => {
  let redis: RedisServer
  let db: Redis
  let queue: Queue
  const warnings: string[] = []
  const client = { id: 'mytho-ingest-1' }
  const list = 'outgoing:mytho-ingest-1'

  beforeAll(async () => {
    redis = await startRedisServer()
    db = new Redis(redis.url)
    const library = () => Promise.reject(new Error("the library's own path was taken"))
    const persistence: Record<string, unknown> = { outgoingUpdate: library, outgoingClearMessageId: library }
    const logger = createLogger('warn', {}, (line) => warnings.push(line))
    batchQueueSteps(persistence, db, logger)
    queue = persistence as unknown as Queue
  })
  afterAll(async () => {
    db?.disconnect()
    await redis?.stop()
  })
  beforeEach(async () => {
    await db.flushall()
    warnings.length = 0
  })

  const published = (counter: number, payload: Buffer) =>
    new Packet({ cmd: 'publish', topic: 'mytho/v1/devices/wl-01/readings', payload, qos: 1, retain: false }, { id: 'node-a', counter: counter - 1 })
  // An enqueue resolves once its batch has run: the update made before it (same or earlier batch) has run too.
  let settles = 1000
  const settle = () => queue.outgoingEnqueueCombi([{ clientId: 'settle' }], published(++settles, Buffer.from('s')))
  const ours = async () => (await db.keys('*')).filter((k) => k !== 'outgoing:settle' && !/^packet:node-a:1\d{3}/.test(k))
  const stored = async (key: string) => {
    const bytes = await db.getBuffer(key)
    return bytes ? (decode(bytes) as Record<string, unknown>) : undefined
  }

  it('stores each delivery under its packet id, whatever its size, and keeps the rest of the packet as queued', async () => {
    // A payload ending as the packet's own messageId entry does: the id is found after it, not in it.
    const payload = Buffer.concat([Buffer.from('{"waterLevelCm":151.5}'), Buffer.from([0xa9]), Buffer.from('messageId'), Buffer.from([0xc0])])
    await queue.outgoingEnqueueCombi([{ clientId: client.id }], published(7, payload))
    const key = 'packet:node-a:7'
    expect(await db.lrange(list, 0, -1)).toEqual([key])
    expect(await db.get(`${key}:offlineCount`)).toBe('1')
    const queued = await stored(key)
    expect(queued).toMatchObject({ cmd: 'publish', brokerId: 'node-a', brokerCounter: 7, qos: 1, dup: false, messageId: null })

    // Redelivered under a new id each time (a session resumed on another node): 1-byte, 2-byte and 3-byte ids.
    for (const messageId of [5, 200, 1000, 65535, 1]) {
      await queue.outgoingUpdate(client, { ...published(7, payload), messageId })
      await settle()
      expect(await stored(key)).toEqual({ ...queued, messageId })
    }
    expect(Buffer.compare((await stored(key))!['payload'] as Buffer, payload)).toBe(0)
    expect(warnings).toEqual([])
  })

  it('updates a packet the library stored (its layout has a writeCallback after the id), and recreates none that is gone', async () => {
    const key = 'packet:node-a:9'
    const libraryStored = { ...published(9, Buffer.from('x')), messageId: 12, writeCallback: () => {} }
    await db.set(key, msgpack.encode(libraryStored))
    await db.set(`${key}:offlineCount`, 1)
    await db.rpush(list, key)
    await queue.outgoingUpdate(client, { ...published(9, Buffer.from('x')), messageId: 4000 })
    await settle()
    expect(await stored(key)).toMatchObject({ brokerCounter: 9, messageId: 4000, writeCallback: null })

    // Acknowledged: the queue entry, the packet and its count are gone, and the packet Aedes reports comes from memory.
    expect(await queue.outgoingClearMessageId(client, { messageId: 4000 })).toMatchObject({ brokerCounter: 9, messageId: 4000 })
    expect(await ours()).toEqual([])
    // A late update of the acknowledged packet (its delivery raced the PUBACK) does not bring it back.
    await queue.outgoingUpdate(client, { ...published(9, Buffer.from('x')), messageId: 4001 })
    await settle()
    expect(await ours()).toEqual([])
    expect(warnings).toEqual([])
  })

  it('warns, and changes nothing, when a queued packet is not in the layout it knows', async () => {
    const key = 'packet:node-a:11'
    await db.set(key, msgpack.encode({ cmd: 'publish', topic: 't', qos: 1 }))
    await queue.outgoingUpdate(client, { ...published(11, Buffer.from('x')), messageId: 3 })
    await settle()
    expect(await stored(key)).toEqual({ cmd: 'publish', topic: 't', qos: 1 })
    expect(warnings.join('\n')).toContain('could not store packet ids in redis')
  })
})
