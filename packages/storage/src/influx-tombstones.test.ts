import { startInfluxd, startInfluxWithoutDelete, type Influxd } from '@mytho/testing'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { rejection } from './contract.test-suite.ts'
import { createInfluxHttp } from './influx-http.ts'
import { createInfluxStore } from './influx-store.ts'

/*
 * deleteDeadLetters where the server takes no DELETE (InfluxDB 2.x/3.x over the v1 API): a real influxd 1.6.7 behind a
 * proxy that answers DELETE 501. The re-driven letters get a tombstone on their own points; lists, counts and buckets
 * leave them out, a second store (the API's, reading) too; on a server that does DELETE they are deleted.
 */
const HOUR = 3_600_000
const T = Date.UTC(2026, 10, 25, 8)
let influxd: Influxd
let noDelete: Awaited<ReturnType<typeof startInfluxWithoutDelete>>
beforeAll(async () => {
  influxd = await startInfluxd()
  noDelete = await startInfluxWithoutDelete(influxd.url)
})
afterAll(async () => {
  await noDelete?.stop()
  await influxd?.stop()
})

let n = 0
function open(url: string, database: string) {
  const store = createInfluxStore({ url, database, rollupEveryMs: 0 })
  onTestFinished(() => store.close())
  return store
}

/** Six unknown_device letters of one device, one per ms except two sharing T + 2 (one slot), and one of another device. */
async function sixLetters(url: string) {
  const db = `dl_${++n}`
  const writer = open(url, db)
  await writer.init()
  const letter = (ms: number, deviceId = 'wl-new-01') =>
    rejection({ code: 'unknown_device', deviceId, topic: `mytho/v1/devices/${deviceId}/readings`, receivedAt: T + ms, message: `at ${ms}` })
  await writer.writeDeadLetters([letter(0), letter(1), letter(2), letter(2), letter(3), letter(4), letter(1, 'wl-other-01')])
  return { db, writer }
}

describe('dead letters removed without DELETE', () => {
  it('tombstones the re-driven letters: lists (with their limit), counts and buckets leave them out, a reader too; twice is nothing', async () => {
    const { db, writer } = await sixLetters(noDelete.url)
    const all = await writer.deadLetters({ deviceId: 'wl-new-01' })
    expect(all).toHaveLength(6)
    const ids = [...new Set(all.map((l) => l.id!))]
    expect(ids).toHaveLength(5) // T + 2 is one slot
    const newest3 = ids.slice(0, 3) // T + 4, T + 3, T + 2 (two letters)
    expect(await writer.deleteDeadLetters(newest3)).toBe(3)
    expect(noDelete.refused).toHaveLength(1) // refused once; later removals go straight to tombstones

    const reader = open(noDelete.url, db)
    await reader.init()
    for (const store of [writer, reader]) {
      expect((await store.deadLetters({ deviceId: 'wl-new-01' })).map((l) => l.message)).toEqual(['at 1', 'at 0'])
      // the limit counts live letters: the tombstoned newest three do not take its places
      expect((await store.deadLetters({ limit: 2 })).map((l) => l.message).sort()).toEqual(['at 1', 'at 1'])
      expect(await store.deadLetterCounts({ deviceId: 'wl-new-01' })).toEqual({ unknown_device: 2 })
      expect(await store.deadLetterCounts()).toEqual({ unknown_device: 3 })
      expect(await store.deadLetterBuckets({ from: T - HOUR, to: T + HOUR, bucket: 'hour' })).toEqual([{ start: T, code: 'unknown_device', count: 3 }])
    }
    expect(await writer.deleteDeadLetters(newest3)).toBe(0)
    expect(await writer.deleteDeadLetters([ids[3]!, ids[4]!])).toBe(2)
    expect(await reader.deadLetterCounts({ deviceId: 'wl-new-01' })).toEqual({})
    expect(noDelete.refused).toHaveLength(1)

    // kept on the server, each with its tombstone
    const admin = createInfluxHttp({ url: influxd.url })
    onTestFinished(() => admin.close())
    const [s] = await admin.query(`SELECT count("message"), count("redrivenAt") FROM "dead_letter" WHERE "deviceId" = 'wl-new-01'`, db)
    expect(s!.values[0]!.slice(1)).toEqual([6, 6])
  })

  it('deletes them where the server takes DELETE (1.x), leaving no tombstone', async () => {
    const { db, writer } = await sixLetters(influxd.url)
    const ids = [...new Set((await writer.deadLetters({ deviceId: 'wl-new-01' })).map((l) => l.id!))]
    expect(await writer.deleteDeadLetters(ids.slice(0, 3))).toBe(3)
    expect(await writer.deadLetterCounts({ deviceId: 'wl-new-01' })).toEqual({ unknown_device: 2 })
    const admin = createInfluxHttp({ url: influxd.url })
    onTestFinished(() => admin.close())
    const [s] = await admin.query(`SELECT count("message") FROM "dead_letter" WHERE "deviceId" = 'wl-new-01'`, db)
    expect(s!.values[0]![1]).toBe(2)
    expect(await admin.query(`SELECT count("redrivenAt") FROM "dead_letter"`, db)).toEqual([])
  })
})
