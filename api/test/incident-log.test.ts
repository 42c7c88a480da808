import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { parse } from 'csv-parse/sync'
import { openIncidentStore, type NewIncident } from '@mytho/alerts'
import type { Incident } from '@mytho/schema'
import { startSecuredApi } from './auth-harness.ts'

/*
 * Issue #17, finding 7: an acknowledged and cleared incident closed and left the console with no way back to it. The
 * incident log lists every incident, closed ones too, by time (raised in, or alive in, [from, to)), ward, rule,
 * severity and state, and exports the same list as CSV; viewers may read it, callers without a session may not.
 */

const H = 3600_000
const NOW = Date.now()
const FORMULA_NOTE = '=HYPERLINK("http://evil.example","bấm")'

function incident(id: string, over: Partial<NewIncident>): NewIncident {
  return {
    id,
    ruleId: 'flood',
    subject: 'wl-my-phong-riverside',
    subjectType: 'device',
    deviceIds: ['wl-my-phong-riverside'],
    kind: 'water_level',
    level: 3,
    peakLevel: 3,
    severity: 'critical',
    title: { vi: 'Ngập do triều cường / lũ: Báo động III', en: 'Flood (high water): Alarm level III' },
    state: 'open',
    metric: 'waterLevelCm',
    lastValue: 164,
    peakValue: 164,
    ward: null,
    action: null,
    raisedAt: NOW - H,
    updatedAt: NOW - H,
    ...over,
  }
}

/** Incidents as the ingest's engine writes them into DATA_DIR/alerts.sqlite, the file the API reads. */
function seed(dataDir: string) {
  const store = openIncidentStore(join(dataDir, 'alerts.sqlite'))
  onTestFinished(() => store.close())
  // closed in the last 8 h: raised 6 h ago, cleared 5 h ago; acknowledged through the API below
  const closed = incident('inc-closed', { ward: 'my-phong', raisedAt: NOW - 6 * H, updatedAt: NOW - 6 * H })
  store.create(closed, { at: closed.raisedAt, type: 'raised', level: 3, value: 164 })
  store.update(
    'inc-closed',
    { level: 0, severity: 'critical', title: closed.title, value: 120, at: NOW - 5 * H, cleared: true },
    { at: NOW - 5 * H, type: 'cleared', level: 0, value: 120 },
  )
  // stored before incidents kept a ward: placed by its device (wl-thoi-son-islet is in Thới Sơn)
  const old = incident('inc-old-row', {
    subject: 'wl-thoi-son-islet',
    deviceIds: ['wl-thoi-son-islet'],
    level: 1,
    peakLevel: 1,
    severity: 'warning',
    raisedAt: NOW - 2 * H,
    updatedAt: NOW - 2 * H,
  })
  store.create(old, { at: old.raisedAt, type: 'raised', level: 1, value: 131 })
  // a jam raised 20 h ago and still open: alive in the last 8 h though raised before them
  const jam = incident('inc-jam', {
    ruleId: 'congestion',
    subject: 'tc-ql1-trung-luong',
    deviceIds: ['tc-ql1-trung-luong'],
    kind: 'traffic',
    level: 1,
    peakLevel: 1,
    severity: 'warning',
    title: { vi: 'Ùn tắc giao thông', en: 'Traffic congestion' },
    metric: 'avgSpeedKmh',
    ward: 'trung-an',
    raisedAt: NOW - 20 * H,
    updatedAt: NOW - 20 * H,
  })
  store.create(jam, { at: jam.raisedAt, type: 'raised', level: 1, value: 14.8 })
  // yesterday's: raised 30 h ago, cleared, and closed by its acknowledgement 28 h ago
  const yesterday = incident('inc-yesterday', {
    subject: 'wl-bao-dinh-mid',
    deviceIds: ['wl-bao-dinh-mid'],
    level: 1,
    peakLevel: 1,
    severity: 'warning',
    ward: 'dao-thanh',
    raisedAt: NOW - 30 * H,
    updatedAt: NOW - 30 * H,
  })
  store.create(yesterday, { at: yesterday.raisedAt, type: 'raised', level: 1, value: 131 })
  store.update(
    'inc-yesterday',
    { level: 0, severity: 'warning', title: yesterday.title, value: 110, at: NOW - 29 * H, cleared: true },
    { at: NOW - 29 * H, type: 'cleared', level: 0, value: 110 },
  )
  store.acknowledge('inc-yesterday', 'operator1', 'đã kiểm tra cống', NOW - 28 * H)
}

describe('the incident log: every incident, closed ones too, with filters and a CSV export (issue #17, finding 7)', () => {
  it('lists a closed incident with its timeline, filters by time, ward, rule, severity and state, and names a bad parameter', async () => {
    const api = await startSecuredApi()
    seed(api.dir)
    const operator = await api.signIn('operator')
    const ack = await api.call(operator, 'POST', '/incidents/inc-closed/acknowledge', { note: FORMULA_NOTE })
    expect(ack.body).toMatchObject({ state: 'closed' })

    const viewer = await api.signIn('viewer')
    const ids = async (q: string) => {
      const r = await api.call<Incident[]>(viewer, 'GET', `/incidents?${q}`)
      expect(r.status).toBe(200)
      return r.body.map((i) => i.id).sort()
    }
    const from = NOW - 8 * H
    const to = NOW + 60_000
    // the shift's last 8 h: the closed one and the open one raised in them; with range=active the jam raised before too
    expect(await ids(`active=false&from=${from}&to=${to}`)).toEqual(['inc-closed', 'inc-old-row'])
    expect(await ids(`active=false&range=active&from=${from}&to=${to}`)).toEqual(['inc-closed', 'inc-jam', 'inc-old-row'])
    // one closed before the range is not alive in it; over the last 29 h it is
    expect(await ids(`active=false&range=active&from=${NOW - 29 * H}&to=${to}`)).toEqual(['inc-closed', 'inc-jam', 'inc-old-row', 'inc-yesterday'])
    expect(await ids(`active=false&range=active&from=${NOW - 30 * H}&to=${NOW - 10 * H}`)).toEqual(['inc-jam', 'inc-yesterday'])
    const [closed] = (await api.call<Incident[]>(viewer, 'GET', `/incidents?active=false&state=closed&from=${from}&to=${to}`)).body
    expect(closed?.events.map((e) => e.type)).toEqual(expect.arrayContaining(['raised', 'cleared', 'acknowledged']))
    expect(closed?.events.find((e) => e.type === 'acknowledged')).toMatchObject({ by: 'operator1', note: FORMULA_NOTE })

    // the ward: the incident's own, else its device's ward in the registry
    expect(await ids('active=false&ward=my-phong')).toEqual(['inc-closed'])
    expect(await ids('active=false&ward=thoi-son')).toEqual(['inc-old-row'])
    expect(await ids('active=false&ward=trung-an&range=active')).toEqual(['inc-jam'])
    expect(await ids('active=false&ward=dao-thanh')).toEqual(['inc-yesterday'])
    expect(await ids('active=false&ward=my-tho')).toEqual([])
    expect(await ids('active=false&ruleId=congestion')).toEqual(['inc-jam'])
    expect(await ids('active=false&severity=critical')).toEqual(['inc-closed'])
    expect(await ids('active=false&state=closed')).toEqual(['inc-closed', 'inc-yesterday'])
    expect(await ids('active=false&state=open')).toEqual(['inc-jam', 'inc-old-row'])
    expect(await ids('active=true')).toEqual(['inc-jam', 'inc-old-row'])

    for (const [q, param] of [
      ['ward=atlantis', 'ward'],
      ['range=forever', 'range'],
      [`from=${to}&to=${from}`, 'to'],
      ['from=yesterday', 'from'],
    ] as const) {
      const r = await api.call<{ error: string }>(viewer, 'GET', `/incidents?${q}`)
      expect(r.status, q).toBe(400)
      expect(r.body.error).toMatch(new RegExp(`^invalid query parameter ${param}:`))
      expect((await api.call(viewer, 'GET', `/incidents/export.csv?${q}`)).status, q).toBe(400)
    }
  })

  it('exports the filtered list as CSV: Vietnamese headers, UTC and local times, a formula-looking note made text', async () => {
    const api = await startSecuredApi()
    seed(api.dir)
    const operator = await api.signIn('operator')
    await api.call(operator, 'POST', '/incidents/inc-closed/acknowledge', { note: FORMULA_NOTE })
    const viewer = await api.signIn('viewer')

    const res = await api.call<string>(viewer, 'GET', `/incidents/export.csv?active=false&range=active&from=${NOW - 8 * H}&to=${NOW + 60_000}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="su-co-\d{8}-\d{4}-\d{8}-\d{4}\.csv"$/)
    const rows = parse(res.body, { bom: true }) as string[][]
    const [header, ...body] = rows
    expect(header?.[0]).toBe('Mã sự cố / Incident id')
    expect(header).toContain('Phát sinh (UTC) / Raised (UTC)')
    expect(header).toContain('Phát sinh (giờ VN) / Raised (UTC+7)')
    expect(body.map((r) => r[0]).sort()).toEqual(['inc-closed', 'inc-jam', 'inc-old-row'])
    const col = (name: string) => header!.indexOf(name)
    const closedRow = body.find((r) => r[0] === 'inc-closed')!
    // a spreadsheet must not run the note: prefixed with an apostrophe, the rest kept as typed
    expect(closedRow[col('Ghi chú / Note')]).toBe(`'${FORMULA_NOTE}`)
    expect(closedRow[col('Trạng thái / State')]).toBe('closed')
    expect(closedRow[col('Người xác nhận / Acknowledged by')]).toBe('operator1')
    expect(closedRow[col('Tên phường / Ward name')]).toBe('Phường Mỹ Phong')
    const raisedUtc = closedRow[col('Phát sinh (UTC) / Raised (UTC)')]!
    expect(Date.parse(raisedUtc)).toBe(NOW - 6 * H)
    // Mỹ Tho time is UTC+7
    expect(closedRow[col('Phát sinh (giờ VN) / Raised (UTC+7)')]).toBe(new Date(NOW - 6 * H + 7 * H).toISOString().replace('T', ' ').slice(0, 19))
    expect(closedRow[col('Diễn biến (giờ VN) / Timeline (UTC+7)')]).toMatch(/xác nhận \/ acknowledged .*operator1: =HYPERLINK/)
    const oldRow = body.find((r) => r[0] === 'inc-old-row')!
    expect(oldRow[col('Phường / Ward')]).toBe('thoi-son')

    const filtered = parse((await api.call<string>(viewer, 'GET', '/incidents/export.csv?active=false&ward=my-phong')).body, { bom: true }) as string[][]
    expect(filtered.slice(1).map((r) => r[0])).toEqual(['inc-closed'])
  })

  it('a viewer reads the log and its CSV; a caller without a session gets neither', async () => {
    const api = await startSecuredApi()
    seed(api.dir)
    const viewer = await api.signIn('viewer')
    expect((await api.call(viewer, 'GET', '/incidents?active=false')).status).toBe(200)
    expect((await api.call(viewer, 'GET', '/incidents/export.csv?active=false')).status).toBe(200)
    const stranger = await api.call<string>(undefined, 'GET', '/incidents/export.csv?active=false')
    expect(stranger.status).toBe(401)
    expect(JSON.stringify(stranger.body)).not.toContain('inc-closed')
    expect((await api.call(undefined, 'GET', '/incidents?active=false')).status).toBe(401)
  })
})
