import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it, onTestFinished } from 'vitest'
import { makeTempDir } from '@mytho/testing'
import { openIncidentStore } from '../src/index.ts'

/*
 * An alerts.sqlite written before anonymous acknowledgements kept their claimed name (issue #15) opens as it is: its
 * incidents and events read as before, and the next anonymous acknowledgement keeps its claim. Two processes (the
 * ingest and the API) open the file at once, so the upgrade must be safe to run twice.
 */
const BEFORE = `
  CREATE TABLE incidents (
    id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, subject TEXT NOT NULL, subject_type TEXT NOT NULL,
    device_ids TEXT NOT NULL, kind TEXT, level INTEGER NOT NULL, peak_level INTEGER NOT NULL, severity TEXT NOT NULL,
    title TEXT NOT NULL, state TEXT NOT NULL, metric TEXT, last_value REAL, peak_value REAL,
    raised_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    acknowledged_at INTEGER, acknowledged_by TEXT, ack_note TEXT, cleared_at INTEGER, closed_at INTEGER);
  CREATE TABLE incident_devices (incident_id TEXT NOT NULL, device_id TEXT NOT NULL, PRIMARY KEY (device_id, incident_id));
  CREATE TABLE incident_events (
    incident_id TEXT NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, type TEXT NOT NULL,
    level INTEGER NOT NULL, value REAL, by TEXT, note TEXT);
  CREATE TABLE rule_holds (rule_id TEXT NOT NULL, subject TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (rule_id, subject));
`
const T0 = Date.UTC(2026, 9, 8, 22, 0, 0)

describe('an incident store file from before claimedBy', () => {
  it('opens in two handles, reads its old acknowledgement unchanged, and keeps the claim of a new anonymous one', () => {
    const dir = makeTempDir('mytho-incidents-upgrade-')
    onTestFinished(() => dir.cleanup())
    const path = join(dir.path, 'alerts.sqlite')
    const old = new Database(path)
    old.exec(BEFORE)
    const row = (id: string, acked: boolean) =>
      old
        .prepare(
          `INSERT INTO incidents VALUES (?, 'flood', 'wl-1', 'device', '["wl-1"]', 'water_level', 1, 1, 'warning', '{"vi":"Báo động I","en":"Alarm I"}', ?, 'waterLevelCm', 141, 141, ?, ?, ?, ?, NULL, NULL, NULL)`,
        )
        .run(id, acked ? 'acknowledged' : 'open', T0, T0, acked ? T0 + 1 : null, acked ? 'Trần Văn Minh' : null)
    row('inc-old', true)
    row('inc-new', false)
    const event = old.prepare('INSERT INTO incident_events (incident_id, at, type, level, value, by, note) VALUES (?, ?, ?, 1, ?, ?, NULL)')
    event.run('inc-old', T0, 'raised', 141, null)
    event.run('inc-old', T0 + 1, 'acknowledged', null, 'Trần Văn Minh')
    event.run('inc-new', T0, 'raised', 141, null)
    old.close()

    const engine = openIncidentStore(path)
    const api = openIncidentStore(path)
    onTestFinished(() => {
      engine.close()
      api.close()
    })
    expect(api.get('inc-old')).toMatchObject({
      acknowledgedBy: 'Trần Văn Minh',
      events: [{ type: 'raised' }, { at: T0 + 1, type: 'acknowledged', level: 1, value: null, by: 'Trần Văn Minh' }],
    })
    expect(api.get('inc-old')!.events[1]).not.toHaveProperty('claimedBy')
    const acked = api.acknowledge('inc-new', 'anonymous@127.0.0.1', undefined, T0 + 2, 'mallory')!
    expect(acked.events[1]).toEqual({ at: T0 + 2, type: 'acknowledged', level: 1, value: null, by: 'anonymous@127.0.0.1', claimedBy: 'mallory' })
    expect(engine.get('inc-new')!.events[1]).toEqual(acked.events[1])
  })
})
