import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { parse } from 'csv-parse/sync'
import { loadRegistryFile, type StoredReading } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { startSecuredApi, type Agent } from './auth-harness.ts'

/*
 * Issue #18, the history explorer's export: GET /history.csv streams one metric of up to 8 devices over a range, raw
 * or in windows, read from the store a slice at a time. Its rows must be what the store holds (no window cut in two
 * at a slice's edge, none lost or doubled), with a BOM so Excel reads the Vietnamese names, and it is a viewer's.
 */

const MIN = 60_000
const H = 60 * MIN
const A = 'wl-my-phong-riverside'
const B = 'wl-thoi-son-islet'
// on a local (UTC+7) midnight minus 3 h, so the ranges below cross the export's slice edges (local midnight + 6 h steps)
const T0 = Date.UTC(2026, 10, 24, 14, 0, 0) - 7 * H

/** A reading every 7 minutes 13.5 s (not on window edges) for 30 h, the two gauges apart. */
function readings(): StoredReading[] {
  const out: StoredReading[] = []
  for (let ts = T0, i = 0; ts < T0 + 30 * H; ts += 7 * MIN + 13_500, i++)
    for (const [deviceId, base] of [
      [A, 120],
      [B, 95],
    ] as const)
      out.push({
        deviceId,
        kind: 'water_level',
        ward: deviceId === A ? 'my-phong' : 'thoi-son',
        ts,
        tsSource: 'device',
        receivedAt: ts,
        fields: { waterLevelCm: base + ((i * 37) % 41) / 4, batteryV: 12.6 },
      })
  return out
}

const local = (ms: number) => new Date(ms + 7 * H).toISOString().replace('Z', '+07:00')

describe('GET /history.csv: the history explorer’s streamed export (issue #18)', () => {
  it('streams the rows the store holds for two devices, raw and in windows, with a BOM and both times', async () => {
    const api = await startSecuredApi()
    const store = createSqliteStore({ path: join(api.dir, 'readings.sqlite') })
    onTestFinished(() => store.close())
    await store.init()
    await store.writeReadings(readings())
    const viewer = await api.signIn('viewer')
    const names = new Map(loadRegistryFile().devices.map((d) => [d.id, d.nameVi]))

    const download = async (q: string) => {
      const res = await fetch(`${api.base}/history.csv?${q}`, { headers: { cookie: viewer.cookie } })
      expect(res.status, q).toBe(200)
      return { res, bytes: Buffer.from(await res.arrayBuffer()) }
    }
    for (const [window, from, to] of [
      ['raw', T0 + 30 * MIN, T0 + 17 * H],
      // across a local midnight (the 1m slices' edge)
      ['1m', T0 + 2 * MIN + 30_000, T0 + 30 * H],
      ['5m', T0 + 2 * MIN, T0 + 30 * H],
      ['1h', T0, T0 + 30 * H],
    ] as const) {
      const q = `deviceIds=${A},${B}&metric=waterLevelCm&from=${from}&to=${to}&window=${window}`
      const { res, bytes } = await download(q)
      expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/)
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="lich-su-waterLevelCm-\d{8}-\d{4}-\d{8}-\d{4}\.csv"$/)
      // UTF-8's byte order mark, which Excel needs to read Vietnamese as UTF-8
      expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
      const [header, ...rows] = parse(bytes, { bom: true }) as string[][]
      expect(header).toEqual([
        'Mã thiết bị / Device id',
        'Tên thiết bị / Device name',
        'Thời gian (giờ VN) / Time (UTC+7)',
        'Thời gian (UTC) / Time (UTC)',
        ...(window === 'raw' ? ['Giá trị / Value'] : ['Trung bình / Mean', 'Nhỏ nhất / Min', 'Lớn nhất / Max', 'Số mẫu / Count']),
        'Đơn vị / Unit',
      ])
      // one read of the whole range, as GET /history answers it
      const series = await store.history({ deviceIds: [A, B], metric: 'waterLevelCm', from, to, window })
      const expected = series.flatMap((s) =>
        s.points.map((p) => [
          s.deviceId,
          names.get(s.deviceId)!,
          local(p.ts),
          new Date(p.ts).toISOString(),
          ...(window === 'raw' ? [p.mean] : [p.mean, p.min, p.max, p.count]).map(String),
          'cm',
        ]),
      )
      expect(expected.length, window).toBeGreaterThan(20)
      expect(rows, window).toEqual(expected)
    }
    // Mỹ Tho time and UTC name the same instant
    const { bytes } = await download(`deviceIds=${B}&metric=waterLevelCm&from=${T0}&to=${T0 + H}&window=raw`)
    const [, first] = parse(bytes, { bom: true }) as string[][]
    expect(first?.[2]).toBe(local(T0))
    expect(Date.parse(first![2]!)).toBe(Date.parse(first![3]!))
    // the Vietnamese name, diacritics intact
    expect(first?.[1]).toBe(names.get(B))
    expect(first?.[1]).toMatch(/[^\p{ASCII}]/u)
  })

  it('names the bad parameter in a 400, and refuses a caller without a session', async () => {
    const api = await startSecuredApi()
    const viewer: Agent = await api.signIn('viewer')
    const nine = loadRegistryFile()
      .devices.filter((d) => d.kind === 'water_level')
      .slice(0, 9)
      .map((d) => d.id)
    expect(nine).toHaveLength(9)
    const now = Date.now()
    for (const [q, param] of [
      [`deviceIds=${nine.join(',')}&metric=waterLevelCm`, 'deviceIds'],
      ['deviceIds=wl-atlantis&metric=waterLevelCm', 'deviceIds'],
      [`deviceIds=${A}&metric=1cm`, 'metric'],
      [`deviceIds=${A}&metric=waterLevelCm&window=2m`, 'window'],
      [`deviceIds=${A}&metric=waterLevelCm&from=yesterday`, 'from'],
      [`deviceIds=${A}&metric=waterLevelCm&from=${now}&to=${now - H}`, 'from'],
      // 40 days of raw readings: too long a range for the window
      [`deviceIds=${A}&metric=waterLevelCm&from=${now - 40 * 24 * H}&to=${now}&window=raw`, 'from'],
    ] as const) {
      const r = await api.call<{ error: string }>(viewer, 'GET', `/history.csv?${q}`)
      expect(r.status, q).toBe(400)
      expect(r.body.error, q).toMatch(new RegExp(`^invalid query parameter ${param}:`))
    }
    // the same 40 days in hours are fine
    expect((await api.call(viewer, 'GET', `/history.csv?deviceIds=${A}&metric=waterLevelCm&from=${now - 40 * 24 * H}&to=${now}&window=1h`)).status).toBe(200)

    const stranger = await api.call(undefined, 'GET', `/history.csv?deviceIds=${A}&metric=waterLevelCm`)
    expect(stranger.status).toBe(401)
  })
})
