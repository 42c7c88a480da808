import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Router } from 'express'
import { stringify } from 'csv-stringify'
import {
  HISTORY_MAX_RANGE_MS,
  HistoryCsvParams,
  LOCAL_UTC_OFFSET_MS,
  metricUnits,
  type AggregationWindow,
  type DeviceRegistry,
  type HistoryPoint,
} from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import { HttpError, parseInput } from '../http-errors.ts'
import { csvSafe, localTime } from './incident-log.ts'

/*
 * The history explorer's export (issue #18): one metric of up to 8 devices over a range, raw or in windows, as CSV for
 * a spreadsheet. Streamed: the store is read a slice of time at a time and each slice written out before the next is
 * read, so a month of raw readings never sits in memory whole, and a download the browser cancels stops the reads.
 */

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
const DEFAULT_RANGE_MS = DAY_MS

/**
 * How much time one store read covers, per window: a few thousand points a device at most. Slices start at local
 * midnight plus whole multiples of their length, which are window starts of every window (1d windows start at local
 * midnight, the shorter ones on whole hours), so no window is cut in two between slices.
 */
const sliceMs: Record<AggregationWindow, number> = { raw: 6 * HOUR_MS, '1m': DAY_MS, '5m': 7 * DAY_MS, '1h': 30 * DAY_MS, '1d': 366 * DAY_MS }

/** [from, to) cut at the slice grid of `len`. */
export function slices(from: number, to: number, len: number): [number, number][] {
  const out: [number, number][] = []
  let start = from
  while (start < to) {
    const next = Math.floor((start + LOCAL_UTC_OFFSET_MS) / len) * len - LOCAL_UTC_OFFSET_MS + len
    const end = Math.min(next, to)
    out.push([start, end])
    start = end
  }
  return out
}

/** `2026-12-04T15:30:00.000+07:00`: the same instant as the UTC column, written in Mỹ Tho time. */
const localIso = (ms: number): string => new Date(ms + LOCAL_UTC_OFFSET_MS).toISOString().replace('Z', '+07:00')

/** Vietnamese header first, English after the slash, as in the incident log's export. */
const header = (window: AggregationWindow): string[] => [
  'Mã thiết bị / Device id',
  'Tên thiết bị / Device name',
  'Thời gian (giờ VN) / Time (UTC+7)',
  'Thời gian (UTC) / Time (UTC)',
  ...(window === 'raw' ? ['Giá trị / Value'] : ['Trung bình / Mean', 'Nhỏ nhất / Min', 'Lớn nhất / Max', 'Số mẫu / Count']),
  'Đơn vị / Unit',
]

/** GET /history.csv?deviceIds=&metric=&from=&to=&window= (role viewer, as GET /history). */
export function historyCsvRouter(registry: DeviceRegistry, store: ReadingStore, clock: () => number, log: Logger): Router {
  const r = Router()

  r.get('/history.csv', async (req, res) => {
    const q = parseInput(HistoryCsvParams, req.query, 'query')
    const ids = [...new Set(q.deviceIds)]
    const unknown = ids.filter((id) => !registry.get(id))
    if (unknown.length > 0) throw new HttpError(400, `invalid query parameter deviceIds: no device ${unknown.join(', ')}`)
    const to = q.to ?? clock()
    const from = q.from ?? to - DEFAULT_RANGE_MS
    if (from >= to) throw new HttpError(400, 'invalid query parameter from: must be before to')
    const max = HISTORY_MAX_RANGE_MS[q.window]
    if (to - from > max)
      throw new HttpError(
        400,
        `invalid query parameter from: with window ${q.window} a range is at most ${max / DAY_MS} days; choose a longer window or a shorter range`,
      )

    const unit = (metricUnits as Record<string, string>)[q.metric] ?? ''
    const window = q.window
    const cells = (p: HistoryPoint) => (window === 'raw' ? [p.mean] : [p.mean, p.min, p.max, p.count])
    const read = async (id: string, [a, b]: [number, number]) =>
      (await store.history({ deviceIds: [id], metric: q.metric, window, from: a, to: b }))[0]?.points ?? []
    const parts = ids.flatMap((id) => slices(from, to, sliceMs[window]).map((s) => [id, s] as const))
    // the first read before any byte goes out: a store that is down is an error answer, not an empty file
    const first = parts[0] ? await read(parts[0][0], parts[0][1]) : []
    async function* rows() {
      for (const [i, [id, s]] of parts.entries()) {
        const points = i === 0 ? first : await read(id, s)
        const name = csvSafe(registry.get(id)?.nameVi ?? '')
        for (const p of points) yield [id, name, localIso(p.ts), new Date(p.ts).toISOString(), ...cells(p), unit]
      }
    }

    // lich-su-waterLevelCm-20261204-1930-20261205-1930.csv: the range's ends in local time
    const stamp = (ms: number) => localTime(ms).replace(/[-:]/g, '').replace(' ', '-').slice(0, 13)
    res.set('Content-Disposition', `attachment; filename="lich-su-${q.metric}-${stamp(from)}-${stamp(to)}.csv"`)
    res.type('text/csv; charset=utf-8')
    try {
      // csv-stringify (as the incident log's export) quotes; a BOM first, so Excel reads the Vietnamese as UTF-8
      await pipeline(Readable.from(rows()), stringify({ header: true, columns: header(window), bom: true, record_delimiter: 'windows' }), res)
    } catch (err) {
      // the status went out with the first row: a read failing later (or the browser leaving) cuts the download off
      // instead of ending it as if complete
      if (!res.destroyed) res.destroy()
      // a browser that cancels the download is no fault
      if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE')
        log.warn('history CSV export cut off', { err: err instanceof Error ? err.message : String(err), reqId: res.locals['reqId'] })
    }
  })

  return r
}
