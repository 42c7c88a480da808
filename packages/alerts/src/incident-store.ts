import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { migrateSqlite, type SqliteMigration } from '@mytho/runtime'
import type { Incident, IncidentEvent, IncidentState, Severity } from '@mytho/schema'
import type { HoldState } from './hold-machine.ts'

/*
 * Incidents and the rule engine's hold state in one SQLite file (DATA_DIR/alerts.sqlite, WAL), so active
 * incidents, hold timers in progress and acknowledgements survive a restart of any process. The ingest's
 * engine writes levels and states; the API writes acknowledgements. Each side updates only its own columns,
 * and events are append-only rows, so the two processes never overwrite each other.
 */

export interface HoldRecord {
  hold: HoldState
  incidentId: string | null
  /** Rule-specific memory (e.g. which counters on a road are congested, a mean window). */
  extra: Record<string, unknown>
}

/** A new incident as the engine writes it; `ward` and `action` left out (callers from before them) are stored as null. */
export type NewIncident = Omit<Incident, 'events' | 'acknowledgedAt' | 'acknowledgedBy' | 'ackNote' | 'clearedAt' | 'closedAt' | 'ward' | 'action'> &
  Partial<Pick<Incident, 'ward' | 'action'>>

export interface IncidentQuery {
  active?: boolean
  deviceId?: string
  ruleId?: string
  severity?: Severity
  state?: IncidentState
  from?: number
  to?: number
  /**
   * What from/to bound: `raised` (default) the raise time; `active` the incident's life (raised before `to`, not closed
   * before `from`); `replay` what a replay of [from, to) needs: raised before `to` and either not cleared or updated at
   * or after `from` (every incident alive at `from` or with an event in the range, and a few more the caller drops).
   */
  range?: 'raised' | 'active' | 'replay'
  /** A ward id: incidents with that ward, or without a ward (stored before wards were kept) on one of `wardDeviceIds`. */
  ward?: string
  /** The registry's devices in `ward` now: how an incident without a ward of its own is placed. */
  wardDeviceIds?: readonly string[]
  limit?: number
}

export class IncidentStoreError extends Error {
  override name = 'IncidentStoreError'
}

interface Row {
  id: string
  rule_id: string
  subject: string
  subject_type: 'device' | 'road'
  device_ids: string
  kind: Incident['kind']
  level: number
  peak_level: number
  severity: Severity
  title: string
  state: IncidentState
  metric: string | null
  last_value: number | null
  peak_value: number | null
  raised_at: number
  updated_at: number
  acknowledged_at: number | null
  acknowledged_by: string | null
  ack_note: string | null
  cleared_at: number | null
  closed_at: number | null
  /** Null in rows written before wards and actions were kept. */
  ward: string | null
  action: string | null
}

/**
 * alerts.sqlite's schema versions (runtime's migrateSqlite). Version 1 is the schema of every file written before
 * versions were kept (user_version 0): the tables created when absent, and the columns added since (claimed_by,
 * issue #15; ward and action, issue #17) added to a file from before them. New versions go at the end.
 */
export const INCIDENT_MIGRATIONS: readonly SqliteMigration<Database.Database>[] = [
  {
    version: 1,
    description: 'incidents, their devices and events, rule holds',
    up(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS incidents (
          id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, subject TEXT NOT NULL, subject_type TEXT NOT NULL,
          device_ids TEXT NOT NULL, kind TEXT, level INTEGER NOT NULL, peak_level INTEGER NOT NULL, severity TEXT NOT NULL,
          title TEXT NOT NULL, state TEXT NOT NULL, metric TEXT, last_value REAL, peak_value REAL,
          raised_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
          acknowledged_at INTEGER, acknowledged_by TEXT, ack_note TEXT, cleared_at INTEGER, closed_at INTEGER);
        CREATE INDEX IF NOT EXISTS incidents_state ON incidents (state, raised_at);
        CREATE INDEX IF NOT EXISTS incidents_subject ON incidents (subject, raised_at);
        CREATE TABLE IF NOT EXISTS incident_devices (incident_id TEXT NOT NULL, device_id TEXT NOT NULL, PRIMARY KEY (device_id, incident_id));
        CREATE TABLE IF NOT EXISTS incident_events (
          incident_id TEXT NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, type TEXT NOT NULL,
          level INTEGER NOT NULL, value REAL, by TEXT, note TEXT);
        CREATE INDEX IF NOT EXISTS incident_events_incident ON incident_events (incident_id, seq);
        CREATE TABLE IF NOT EXISTS rule_holds (rule_id TEXT NOT NULL, subject TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (rule_id, subject));
      `)
      const columns = (table: string) =>
        new Set(
          db
            .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`)
            .all()
            .map((c) => c.name),
        )
      if (!columns('incident_events').has('claimed_by')) db.exec('ALTER TABLE incident_events ADD COLUMN claimed_by TEXT')
      const cols = columns('incidents')
      if (!cols.has('ward')) db.exec('ALTER TABLE incidents ADD COLUMN ward TEXT')
      if (!cols.has('action')) db.exec('ALTER TABLE incidents ADD COLUMN action TEXT')
    },
  },
]

export function openIncidentStore(path: string) {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('busy_timeout = 5000')
  try {
    migrateSqlite(db, INCIDENT_MIGRATIONS)
  } catch (err) {
    db.close()
    throw err
  }

  const st = {
    getHold: db.prepare<[string, string], { record: string }>('SELECT record FROM rule_holds WHERE rule_id = ? AND subject = ?'),
    putHold: db.prepare(
      'INSERT INTO rule_holds (rule_id, subject, record) VALUES (?, ?, ?) ON CONFLICT (rule_id, subject) DO UPDATE SET record = excluded.record',
    ),
    insert:
      db.prepare(`INSERT INTO incidents (id, rule_id, subject, subject_type, device_ids, kind, level, peak_level, severity, title, state, metric, last_value, peak_value, raised_at, updated_at, ward, action)
      VALUES (@id, @ruleId, @subject, @subjectType, @deviceIds, @kind, @level, @peakLevel, @severity, @title, @state, @metric, @lastValue, @peakValue, @raisedAt, @updatedAt, @ward, @action)`),
    insertDevice: db.prepare('INSERT OR IGNORE INTO incident_devices (incident_id, device_id) VALUES (?, ?)'),
    // Prepared once: it runs for every reading of a device with an open incident (a flood: every gauge).
    touchValue: db.prepare(
      `UPDATE incidents SET last_value = @value, updated_at = max(updated_at, @at),
         peak_value = CASE WHEN peak_value IS NULL OR (@above AND @value > peak_value) OR (NOT @above AND @value < peak_value) THEN @value ELSE peak_value END
       WHERE id = @id`,
    ),
    deviceIdsOf: db.prepare(`UPDATE incidents SET device_ids = (SELECT json_group_array(device_id) FROM incident_devices WHERE incident_id = ?) WHERE id = ?`),
    event: db.prepare('INSERT INTO incident_events (incident_id, at, type, level, value, by, note, claimed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    get: db.prepare<[string], Row>('SELECT * FROM incidents WHERE id = ?'),
    events: db.prepare<
      [string],
      { at: number; type: IncidentEvent['type']; level: number; value: number | null; by: string | null; claimed_by: string | null; note: string | null }
    >('SELECT at, type, level, value, by, claimed_by, note FROM incident_events WHERE incident_id = ? ORDER BY seq'),
    lastEventAt: db.prepare<[string, string], { at: number | null }>('SELECT max(at) AS at FROM incident_events WHERE incident_id = ? AND type = ?'),
  }

  const toIncident = (r: Row): Incident => ({
    id: r.id,
    ruleId: r.rule_id,
    subject: r.subject,
    subjectType: r.subject_type,
    deviceIds: JSON.parse(r.device_ids) as string[],
    kind: r.kind,
    level: r.level,
    peakLevel: r.peak_level,
    severity: r.severity,
    title: JSON.parse(r.title) as Incident['title'],
    state: r.state,
    metric: r.metric,
    lastValue: r.last_value,
    peakValue: r.peak_value,
    ward: r.ward ?? null,
    action: r.action === null || r.action === undefined ? null : (JSON.parse(r.action) as Incident['title']),
    raisedAt: r.raised_at,
    updatedAt: r.updated_at,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    ackNote: r.ack_note,
    clearedAt: r.cleared_at,
    closedAt: r.closed_at,
    events: st.events.all(r.id).map((e) => ({
      at: e.at,
      type: e.type,
      level: e.level,
      value: e.value,
      ...(e.by !== null ? { by: e.by } : {}),
      ...(e.claimed_by !== null ? { claimedBy: e.claimed_by } : {}),
      ...(e.note !== null ? { note: e.note } : {}),
    })),
  })

  const addEvent = (id: string, e: IncidentEvent) => st.event.run(id, e.at, e.type, e.level, e.value, e.by ?? null, e.note ?? null, e.claimedBy ?? null)

  const get = (id: string): Incident | undefined => {
    const r = st.get.get(id)
    return r ? toIncident(r) : undefined
  }

  let closed = false
  return {
    path,
    getHold(ruleId: string, subject: string): HoldRecord | undefined {
      const r = st.getHold.get(ruleId, subject)
      return r ? (JSON.parse(r.record) as HoldRecord) : undefined
    },
    putHold(ruleId: string, subject: string, record: HoldRecord): void {
      st.putHold.run(ruleId, subject, JSON.stringify(record))
    },
    /**
     * Runs several writes as one durable transaction. BEGIN IMMEDIATE: the write lock is taken at the start, waiting
     * up to busy_timeout, so processes sharing the file (the API, several ingest workers) queue instead of failing;
     * a deferred transaction that read first fails at once with "database is locked" when another one writes.
     */
    transaction<T>(fn: () => T): T {
      return db.transaction(fn).immediate()
    },
    create(inc: NewIncident, event: IncidentEvent): void {
      st.insert.run({
        ...inc,
        deviceIds: JSON.stringify(inc.deviceIds),
        title: JSON.stringify(inc.title),
        ward: inc.ward ?? null,
        action: inc.action ? JSON.stringify(inc.action) : null,
      })
      for (const d of inc.deviceIds) st.insertDevice.run(inc.id, d)
      addEvent(inc.id, event)
    },
    /**
     * The engine's update: level, value and state changes. `reopen` clears the acknowledgement (escalation);
     * `action` is the new level's (undefined: keep the one there).
     */
    update(
      id: string,
      patch: {
        level: number
        severity: Severity
        title: Incident['title']
        value: number | null
        at: number
        cleared?: boolean
        reopen?: boolean
        action?: Incident['action'] | undefined
      },
      event: IncidentEvent,
    ): void {
      db.prepare(
        `UPDATE incidents SET level = @level, title = @title, action = CASE WHEN @keepAction THEN action ELSE @action END, peak_level = max(peak_level, @level), severity = @severity, last_value = @value,
           peak_value = CASE WHEN @value IS NULL THEN peak_value WHEN peak_value IS NULL OR (@level >= peak_level AND abs(@value) > abs(peak_value)) THEN @value ELSE peak_value END,
           updated_at = @at,
           acknowledged_at = CASE WHEN @reopen THEN NULL ELSE acknowledged_at END,
           acknowledged_by = CASE WHEN @reopen THEN NULL ELSE acknowledged_by END,
           ack_note = CASE WHEN @reopen THEN NULL ELSE ack_note END,
           cleared_at = CASE WHEN @cleared THEN @at ELSE cleared_at END,
           state = CASE
             WHEN @cleared AND acknowledged_at IS NOT NULL AND NOT @reopen THEN 'closed'
             WHEN @cleared THEN 'cleared'
             WHEN @reopen OR acknowledged_at IS NULL THEN 'open'
             ELSE 'acknowledged' END,
           closed_at = CASE WHEN @cleared AND acknowledged_at IS NOT NULL AND NOT @reopen THEN @at ELSE closed_at END
         WHERE id = @id`,
      ).run({
        id,
        level: patch.level,
        title: JSON.stringify(patch.title),
        severity: patch.severity,
        value: patch.value,
        at: patch.at,
        cleared: patch.cleared ? 1 : 0,
        reopen: patch.reopen ? 1 : 0,
        keepAction: patch.action === undefined ? 1 : 0,
        action: patch.action ? JSON.stringify(patch.action) : null,
      })
      addEvent(id, event)
    },
    /**
     * The operator's acknowledgement; a cleared incident closes with it. Undefined when there is no such incident.
     * `by` is the actor (an operator, or anonymous@ADDRESS); `claimedBy` the name an anonymous one gave, kept apart.
     */
    acknowledge(id: string, by: string, note: string | undefined, at: number, claimedBy?: string): Incident | undefined {
      return db.transaction(() => {
        const row = st.get.get(id)
        if (!row) return undefined
        if (row.state === 'closed' || row.acknowledged_at !== null) return toIncident(row)
        const closes = row.state === 'cleared'
        db.prepare(`UPDATE incidents SET acknowledged_at = ?, acknowledged_by = ?, ack_note = ?, updated_at = ?, state = ?, closed_at = ? WHERE id = ?`).run(
          at,
          by,
          note ?? null,
          at,
          closes ? 'closed' : 'acknowledged',
          closes ? at : null,
          id,
        )
        addEvent(id, {
          at,
          type: 'acknowledged',
          level: row.level,
          value: null,
          by,
          ...(claimedBy !== undefined ? { claimedBy } : {}),
          ...(note !== undefined ? { note } : {}),
        })
        if (closes) addEvent(id, { at, type: 'closed', level: 0, value: null })
        return get(id)
      })()
    },
    /** Tracks the latest and the worst value while an incident is open (no event: levels did not change). */
    touchValue(id: string, value: number, direction: 'above' | 'below', at: number): void {
      st.touchValue.run({ id, value, at, above: direction === 'above' ? 1 : 0 })
    },
    /** Adds a device to an incident about a road segment (idempotent). */
    addDevice(id: string, deviceId: string): void {
      if (st.insertDevice.run(id, deviceId).changes === 0) return
      st.deviceIdsOf.run(id, id)
    },
    recordEvent(id: string, event: IncidentEvent): void {
      addEvent(id, event)
    },
    lastEventAt(id: string, type: IncidentEvent['type']): number | undefined {
      return st.lastEventAt.get(id, type)?.at ?? undefined
    },
    get,
    list(q: IncidentQuery = {}): Incident[] {
      const where: string[] = []
      const params: Record<string, unknown> = {}
      if (q.active) where.push(`state IN ('open', 'acknowledged', 'cleared')`)
      if (q.state) where.push('state = @state'), (params['state'] = q.state)
      if (q.ruleId) where.push('rule_id = @ruleId'), (params['ruleId'] = q.ruleId)
      if (q.severity) where.push('severity = @severity'), (params['severity'] = q.severity)
      if (q.deviceId) where.push('id IN (SELECT incident_id FROM incident_devices WHERE device_id = @deviceId)'), (params['deviceId'] = q.deviceId)
      if (q.ward !== undefined) {
        where.push(
          '(ward = @ward OR (ward IS NULL AND id IN (SELECT incident_id FROM incident_devices WHERE device_id IN (SELECT value FROM json_each(@wardDevices)))))',
        )
        params['ward'] = q.ward
        params['wardDevices'] = JSON.stringify(q.wardDeviceIds ?? [])
      }
      if (q.range === 'active') {
        if (q.from !== undefined) where.push('(closed_at IS NULL OR closed_at >= @from)'), (params['from'] = q.from)
      } else if (q.range === 'replay') {
        if (q.from !== undefined) where.push('(cleared_at IS NULL OR updated_at >= @from)'), (params['from'] = q.from)
      } else if (q.from !== undefined) where.push('raised_at >= @from'), (params['from'] = q.from)
      if (q.to !== undefined) where.push('raised_at < @to'), (params['to'] = q.to)
      const sql = `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END DESC, raised_at ASC LIMIT ${Math.min(Math.max(q.limit ?? 200, 1), 1000)}`
      return db.prepare<Record<string, unknown>, Row>(sql).all(params).map(toIncident)
    },
    close(): void {
      if (closed) return
      closed = true
      db.close()
    },
  }
}
export type IncidentStore = ReturnType<typeof openIncidentStore>
