import { join } from 'node:path'
import mqtt from 'mqtt'
import { Level } from 'level'
// @ts-expect-error aedes-persistence-level ships no types
import levelPersistence from 'aedes-persistence-level'
import { afterEach, describe, expect, it } from 'vitest'
import { makeTempDir, waitFor } from '@mytho/testing'
import { indexSessions } from '../src/aedes-patches/level-session-index.ts'
import { collect, connect, startBroker } from './harness.ts'

/*
 * The in-memory index of which clients have anything in the LevelDB session store (broker/src/aedes-patches/level-session-index.ts)
 * lets a connection with nothing stored skip its reads. Its one duty: never answer "nothing" for a client
 * that has something, also right after a restart, when it is rebuilt from the keys on disk.
 */

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

type Persistence = Record<string, (...args: unknown[]) => Promise<unknown>>

async function openStore(dir: string) {
  const db = new Level<string, Buffer>(dir)
  await db.open()
  const persistence = (levelPersistence as (db: unknown) => Persistence)(db)
  await persistence['setup']!({ id: 'test-broker' })
  return { db, persistence }
}

describe('index of stored sessions', () => {
  it('is rebuilt from disk after a restart, for every kind of record and ids that need escaping', async () => {
    const tmp = makeTempDir('mytho-session-index-')
    cleanups.push(() => tmp.cleanup())
    const dir = join(tmp.path, 'sessions')
    // ':' and '/' are escaped in keys; 'dev:1' must not be taken for 'dev:10' (a prefix of its key).
    const [withAll, prefixOfIt, never] = ['dev:10/ô', 'dev:1', 'never-seen']
    {
      const { db, persistence } = await openStore(dir)
      const client = { id: withAll }
      await persistence['addSubscriptions']!(client, [{ topic: 'a/+', qos: 1 }])
      await persistence['outgoingEnqueue']!(
        { clientId: withAll },
        { cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, brokerId: 'b', brokerCounter: 1, retain: false, dup: false },
      )
      await persistence['incomingStorePacket']!(client, { cmd: 'publish', topic: 'a/b', payload: Buffer.from('y'), qos: 2, messageId: 7 })
      await persistence['putWill']!(client, { topic: 'will/t', payload: Buffer.from('gone'), qos: 1, retain: false })
      await db.close()
    }
    const { db, persistence } = await openStore(dir)
    cleanups.push(() => db.close())
    const index = await indexSessions(persistence, db)
    for (const kind of ['subscriptions', 'outgoing', 'incoming', 'will'] as const) {
      expect(index.has(kind, withAll), kind).toBe(true)
      expect(index.has(kind, prefixOfIt), kind).toBe(false)
      expect(index.has(kind, never), kind).toBe(false)
    }
    // The wrapped reads still reach the store for a known client, and answer empty for the others.
    expect(await persistence['subscriptionsByClient']!({ id: withAll })).toEqual([expect.objectContaining({ topic: 'a/+', qos: 1 })])
    expect(await persistence['subscriptionsByClient']!({ id: prefixOfIt })).toEqual([])
    expect(await persistence['getWill']!({ id: withAll })).toMatchObject({ topic: 'will/t' })
    expect(await persistence['getWill']!({ id: never })).toBeUndefined()
  })

  it('learns a client at its first write, before the write lands', async () => {
    const tmp = makeTempDir('mytho-session-index-')
    cleanups.push(() => tmp.cleanup())
    const { db, persistence } = await openStore(join(tmp.path, 'sessions'))
    cleanups.push(() => db.close())
    const index = await indexSessions(persistence, db)
    expect(index.has('subscriptions', 'late')).toBe(false)
    const written = persistence['addSubscriptions']!({ id: 'late' }, [{ topic: 't', qos: 1 }])
    expect(index.has('subscriptions', 'late')).toBe(true)
    await written
    expect(await persistence['subscriptionsByClient']!({ id: 'late' })).toHaveLength(1)
  })
})

describe('broker on LevelDB with the session index', () => {
  it('restores a persistent session after a restart, and a clean CONNECT still wipes it', async () => {
    const b = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true', MQTT_PERSISTENCE: 'level' })
    const sub = await connect(b.url, { clientId: 'kept-session', clean: false })
    await sub.subscribeAsync('kept/#', { qos: 1 })
    await sub.endAsync()
    await b.broker.stop()

    const again = await startBroker({ MQTT_ALLOW_ANONYMOUS: 'true', MQTT_PERSISTENCE: 'level', DATA_DIR: b.dataDir })
    cleanups.push(() => again.broker.stop())
    const back = mqtt.connect(again.url, { clientId: 'kept-session', clean: false, reconnectPeriod: 0 })
    const got = collect(back)
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => back.once('connect', resolve))
    expect(connack.sessionPresent).toBe(true)
    // No SUBSCRIBE on this connection: the restored subscription alone delivers it.
    const pub = await connect(again.url, { clientId: 'kept-pub' })
    await pub.publishAsync('kept/1', 'hello', { qos: 1 })
    await waitFor(() => got.length === 1, { what: 'delivery through the restored subscription' })
    await back.endAsync()

    const clean = await connect(again.url, { clientId: 'kept-session', clean: true })
    await clean.endAsync()
    const third = mqtt.connect(again.url, { clientId: 'kept-session', clean: false, reconnectPeriod: 0 })
    const ack3 = await new Promise<{ sessionPresent: boolean }>((resolve) => third.once('connect', resolve))
    expect(ack3.sessionPresent).toBe(false)
    await third.endAsync()
    await pub.endAsync()
  })
})
