import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { openIncidentStore } from '@mytho/alerts'
import { openCredentialStore, openDeviceDirectory, openMetaSqlite, openOperatorStore } from '@mytho/directory'
import { openSpool } from '@mytho/ingest'
import { migrateSqlite, SchemaVersionError, type SqliteMigration } from '@mytho/runtime'
import type { StoredReading } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'

/*
 * Versioned schemas: the runner (runtime's migrateSqlite) on its own, then every SQLite file of DATA_DIR as written
 * by main at bfc347d (fixtures/main-bfc347d, made by that commit's own stores; see its README): opened by today's
 * stores it is adopted as version 1 without a change to its schema, keeps every row, reads and takes writes; a file
 * from a newer version is refused by name; opening twice changes nothing.
 */

const FIXTURES = join(import.meta.dirname, 'fixtures', 'main-bfc347d')
/** When the fixtures were written (their T); the session in meta.sqlite lasts ten years from it. */
const T = Date.UTC(2026, 11, 5, 3, 0, 0)
const FIXTURE_SESSION_TOKEN = 'RY7Nse5cRIit4F8Or_LEqNS3IXxFPwW9-VoLijjlB9Q'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

function tempDir(): string {
  const tmp = makeTempDir('mytho-schema-')
  cleanups.push(tmp.cleanup)
  return tmp.path
}

/** A copy of the fixtures in a fresh DATA_DIR: the committed files are never opened for writing. */
function dataDirFromMain(): string {
  const dir = tempDir()
  for (const f of ['readings.sqlite', 'meta.sqlite', 'alerts.sqlite', 'spool.sqlite']) copyFileSync(join(FIXTURES, f), join(dir, f))
  return dir
}

function inspect(path: string): { version: number; schema: string[] } {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    return {
      version: Number(db.pragma('user_version', { simple: true })),
      schema: db
        .prepare<[], { sql: string | null }>("SELECT sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .all()
        .map((r) => r.sql ?? ''),
    }
  } finally {
    db.close()
  }
}

function setVersion(path: string, version: number): void {
  const db = new Database(path)
  db.pragma(`user_version = ${version}`)
  db.close()
}

describe('migrateSqlite, the one runner of every store', () => {
  const log: string[] = []
  const migrations: SqliteMigration<Database.Database>[] = [
    { version: 1, description: 'a table', up: (db) => void db.exec('CREATE TABLE IF NOT EXISTS t (a INTEGER)') },
    { version: 2, description: 'a column', up: (db) => void (db.exec('ALTER TABLE t ADD COLUMN b TEXT'), log.push('2')) },
    { version: 3, description: 'an index', up: (db) => void (db.exec('CREATE INDEX t_b ON t (b)'), log.push('3')) },
  ]

  it('runs the missing migrations in order, setting user_version after each, and nothing on a second run', () => {
    const path = join(tempDir(), 'x.sqlite')
    const db = new Database(path)
    cleanups.push(() => db.close())
    log.length = 0
    expect(migrateSqlite(db, migrations.slice(0, 2))).toEqual({ from: 0, to: 2, applied: [1, 2] })
    db.prepare('INSERT INTO t (a, b) VALUES (1, ?)').run('kept')
    expect(migrateSqlite(db, migrations)).toEqual({ from: 2, to: 3, applied: [3] })
    expect(migrateSqlite(db, migrations)).toEqual({ from: 3, to: 3, applied: [] })
    expect(log).toEqual(['2', '3'])
    expect(db.pragma('user_version', { simple: true })).toBe(3)
    expect(db.prepare('SELECT a, b FROM t').all()).toEqual([{ a: 1, b: 'kept' }])
  })

  it('rolls a failing migration back whole and keeps the version of the last one that finished', () => {
    const path = join(tempDir(), 'x.sqlite')
    const db = new Database(path)
    cleanups.push(() => db.close())
    const failing: SqliteMigration<Database.Database> = {
      version: 3,
      description: 'half done',
      up: (d) => {
        d.exec('CREATE TABLE half (x INTEGER)')
        throw new Error('disk on fire')
      },
    }
    expect(() => migrateSqlite(db, [migrations[0]!, migrations[1]!, failing])).toThrow(
      new SchemaVersionError(`${path}: migration to schema version 3 (half done) failed: disk on fire`),
    )
    expect(db.pragma('user_version', { simple: true })).toBe(2)
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get()).toEqual({ n: 0 })
  })

  it('refuses a file from a newer version, naming the file and both versions, and leaves it untouched', () => {
    const path = join(tempDir(), 'x.sqlite')
    setVersion(path, 7)
    const db = new Database(path)
    cleanups.push(() => db.close())
    expect(() => migrateSqlite(db, migrations)).toThrow(SchemaVersionError)
    expect(() => migrateSqlite(db, migrations)).toThrow(`${path} has schema version 7, newer than version 3 that this version of the platform knows`)
    expect(db.pragma('user_version', { simple: true })).toBe(7)
  })

  it('rejects a list with a gap or out of order (a programming error, caught before any file is touched)', () => {
    const db = new Database(':memory:')
    cleanups.push(() => db.close())
    expect(() => migrateSqlite(db, [migrations[0]!, migrations[2]!])).toThrow('entry 1 is version 3, expected 2')
    expect(db.pragma('user_version', { simple: true })).toBe(0)
  })

  it('two handles on one file: the second finds the work done and applies nothing', () => {
    const path = join(tempDir(), 'x.sqlite')
    const a = new Database(path)
    const b = new Database(path)
    cleanups.push(() => (a.close(), b.close()))
    expect(migrateSqlite(a, migrations).applied).toEqual([1, 2, 3])
    expect(migrateSqlite(b, migrations).applied).toEqual([])
  })
})

describe('every DATA_DIR database written by main at bfc347d (user_version 0) opens as version 1', () => {
  it('adopts each file as version 1 without changing its schema', async () => {
    const dir = dataDirFromMain()
    const before = Object.fromEntries(['readings', 'meta', 'alerts', 'spool'].map((n) => [n, inspect(join(dir, `${n}.sqlite`))]))
    for (const b of Object.values(before)) expect(b.version).toBe(0)

    const store = createSqliteStore({ path: join(dir, 'readings.sqlite') })
    await store.init()
    await store.close()
    openMetaSqlite(dir).close()
    openIncidentStore(join(dir, 'alerts.sqlite')).close()
    openSpool({ path: join(dir, 'spool.sqlite'), maxItems: 100 }).close()

    for (const [n, b] of Object.entries(before)) if (n !== 'meta') expect(inspect(join(dir, `${n}.sqlite`)), n).toEqual({ version: 1, schema: b.schema })
    // meta.sqlite goes on to version 2 (issue #22: agency keys), which only adds tables: everything main wrote is as it was.
    const meta = inspect(join(dir, 'meta.sqlite'))
    expect(meta.version).toBe(2)
    expect(meta.schema).toEqual(expect.arrayContaining(before['meta']!.schema))
    expect(meta.schema.filter((sql) => !before['meta']!.schema.includes(sql)).map((sql) => /^CREATE \w+ (\w+)/.exec(sql)?.[1])).toEqual([
      'agency_key_uses_key',
      'agency_key_uses',
      'agency_keys',
      'ngsi_deliveries',
      'ngsi_subscriptions',
    ])
  })

  it('readings.sqlite: every reading, roll-up and dead letter is there, and it takes new ones', async () => {
    const dir = dataDirFromMain()
    const store = createSqliteStore({ path: join(dir, 'readings.sqlite') })
    try {
      const latest = await store.latest()
      expect(latest.map((r) => [r.deviceId, r.ts, r.fields])).toEqual([
        ['aq-my-tho', T + 30_000, { pm25UgM3: 31, pm10UgM3: 50 }],
        ['wl-bao-dinh-mouth', T + 60_000, { waterLevelCm: 155 }],
      ])
      const raw = await store.history({ deviceIds: ['wl-bao-dinh-mouth'], metric: 'waterLevelCm', from: T - 1, to: T + 3_600_000, window: 'raw' })
      expect(raw[0]!.points.map((p) => [p.ts, p.mean])).toEqual([
        [T, 152.4],
        [T + 60_000, 155],
      ])
      const letters = await store.deadLetters()
      expect(letters.map((l) => [l.code, l.deviceId, l.raw])).toEqual([['invalid_reading', 'wl-bao-dinh-mouth', '{"kind":"water_level","waterLevelCm":"x"}']])

      const next: StoredReading = {
        deviceId: 'wl-bao-dinh-mouth',
        ts: T + 120_000,
        kind: 'water_level',
        ward: 'my-tho',
        tsSource: 'device',
        receivedAt: T + 120_050,
        seq: 3,
        fields: { waterLevelCm: 160 },
      } as StoredReading
      await store.writeReadings([next])
      const hourly = await store.history({ deviceIds: ['wl-bao-dinh-mouth'], metric: 'waterLevelCm', from: T, to: T + 3_600_000, window: '1h' })
      // The roll-ups written by main and the new reading's: one hour, three readings.
      expect(hourly[0]!.points).toMatchObject([{ ts: T, count: 3, min: 152.4, max: 160 }])
    } finally {
      await store.close()
    }
  })

  it('meta.sqlite: credentials, devices, operators, a live session and the audit log are there, and it takes new ones', async () => {
    const dir = dataDirFromMain()
    const creds = openCredentialStore(dir)
    const devices = openDeviceDirectory(dir)
    const ops = openOperatorStore(dir)
    try {
      expect(await creds.verify('wl-bao-dinh-mouth', 'fixture-secret-wl-0001')).toBe('ok')
      expect(await creds.verify('svc-ingest', 'fixture-secret-svc-0001')).toBe('ok')
      expect((await devices.list()).map((d) => d.id)).toEqual(['tc-ql1-kp2-p10', 'tc-ql1-trung-an', 'tc-ql1-trung-luong'])
      expect(await ops.verify('admin', 'fixture-admin-password-1')).toEqual({ username: 'admin', role: 'admin' })
      expect((await ops.session(FIXTURE_SESSION_TOKEN, T + 86_400_000))?.username).toBe('ca-truc')
      expect((await ops.auditLog({ limit: 10 })).map((e) => [e.actor, e.action])).toEqual([['admin', 'sign-in']])

      await creds.setSecret('wl-new-gauge', 'device', 'fixture-secret-new-0001')
      expect(await creds.verify('wl-new-gauge', 'fixture-secret-new-0001')).toBe('ok')
      expect(await ops.create('truc-dem', 'fixture-night-shift-1', 'viewer', T)).toBe(true)
      expect((await ops.list()).map((o) => o.username)).toEqual(['admin', 'ca-truc', 'truc-dem'])
    } finally {
      await creds.close()
      await devices.close()
      await ops.close()
    }
  })

  it('alerts.sqlite: the incident with its events, acknowledgement and hold is there, and it takes new ones', () => {
    const dir = dataDirFromMain()
    const incidents = openIncidentStore(join(dir, 'alerts.sqlite'))
    try {
      const inc = incidents.get('inc-fixture-1')!
      expect(inc).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'ca-truc', ackNote: 'đã báo phường', level: 2, ward: 'my-tho' })
      expect(inc.events.map((e) => e.type)).toEqual(['raised', 'acknowledged'])
      expect(incidents.getHold('flood', 'wl-bao-dinh-mouth')).toMatchObject({ incidentId: 'inc-fixture-1', extra: { n: 1 } })
      incidents.recordEvent('inc-fixture-1', { at: T + 200_000, type: 'reminded', level: 2, value: null })
      expect(incidents.get('inc-fixture-1')!.events.map((e) => e.type)).toEqual(['raised', 'acknowledged', 'reminded'])
      expect(incidents.list().map((i) => i.id)).toEqual(['inc-fixture-1'])
    } finally {
      incidents.close()
    }
  })

  it('spool.sqlite: the spooled batch is still there to drain, and it takes new ones', () => {
    const dir = dataDirFromMain()
    const spool = openSpool({ path: join(dir, 'spool.sqlite'), maxItems: 100 })
    try {
      expect(spool.items).toBe(1)
      const batch = spool.peek()!
      expect(batch.readings.map((r) => [r.deviceId, r.fields])).toEqual([['aq-my-tho', { pm25UgM3: 40 }]])
      spool.remove(batch.id)
      expect(spool.append([{ ...batch.readings[0]!, ts: T + 400_000 }], [])).toBe(true)
      expect(spool.items).toBe(1)
    } finally {
      spool.close()
    }
  })

  it('refuses, by file name and both versions, a file written by a newer version of the platform', async () => {
    const dir = dataDirFromMain()
    // meta.sqlite knows version 2 (issue #22): a newer one for it is 3.
    const newerVersion = (f: string) => (f === 'meta.sqlite' ? 3 : 2)
    for (const f of ['readings.sqlite', 'meta.sqlite', 'alerts.sqlite', 'spool.sqlite']) setVersion(join(dir, f), newerVersion(f))
    const newer = (f: string) =>
      `${join(dir, f)} has schema version ${newerVersion(f)}, newer than version ${newerVersion(f) - 1} that this version of the platform knows`
    const store = createSqliteStore({ path: join(dir, 'readings.sqlite') })
    await expect(store.latest()).rejects.toThrow(newer('readings.sqlite'))
    await store.close()
    expect(() => openMetaSqlite(dir)).toThrow(newer('meta.sqlite'))
    expect(() => openOperatorStore(dir)).toThrow(newer('meta.sqlite'))
    expect(() => openIncidentStore(join(dir, 'alerts.sqlite'))).toThrow(newer('alerts.sqlite'))
    expect(() => openSpool({ path: join(dir, 'spool.sqlite'), maxItems: 100 })).toThrow(newer('spool.sqlite'))
    for (const f of ['readings.sqlite', 'meta.sqlite', 'alerts.sqlite', 'spool.sqlite']) expect(inspect(join(dir, f)).version, f).toBe(newerVersion(f))
  })

  it('a new meta.sqlite starts at its newest version with every table of the file, whichever store opens it', () => {
    const dir = tempDir()
    const a = openMetaSqlite(dir)
    a.close()
    const b = openMetaSqlite(dir)
    try {
      expect(b.pragma('user_version', { simple: true })).toBe(2)
      expect(
        b
          .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
          .all()
          .map((r) => r.name),
      ).toEqual(['agency_key_uses', 'agency_keys', 'audit_log', 'credentials', 'devices', 'ngsi_deliveries', 'ngsi_subscriptions', 'operators', 'sessions'])
    } finally {
      b.close()
    }
  })
})
