import type { Redis } from 'ioredis'
import { severities, severityRank, type BulkAcknowledgeResult, type Incident, type IncidentEvent, type IncidentState, type Severity } from '@mytho/schema'
import { IncidentStoreError, type HoldRecord, type IncidentQuery, type NewIncident } from './incident-store.ts'
import { BULK_PAGE, UNACKNOWLEDGED_STATES, type OperatorIncidents } from './incident-ports.ts'
import { APPLY_LUA, ACK_LUA, LIST_LUA } from './redis-scripts.ts'

/*
 * Incidents, their events and the rule engine's hold records in Redis (REDIS_URL), so ingest workers and API
 * nodes on different hosts share them. Keys, under a prefix (default `mytho:alerts`):
 *
 *   PREFIX:inc:ID            hash, one field per Incident field (absent = null; title and deviceIds as JSON),
 *                            plus `last:TYPE` = time of the latest event of that type (reminders)
 *   PREFIX:inc:ID:ev         list of the incident's events as JSON, append-only
 *   PREFIX:idx:all|active    sorted sets of incident ids scored by raisedAt; `active` = not closed
 *   PREFIX:idx:state:S  :sev:S  :rule:R  :dev:D     the same, one per state, severity, rule, device
 *   PREFIX:hold:SUBJECT      hash rule id → HoldRecord JSON (one hash per device or road)
 *
 * Every change is one Lua script, so it reads and writes an incident atomically: the engine's (apply) sets only
 * level, value and clearing fields, the API's (acknowledge) only the acknowledgement, and each derives the state
 * from what the other left, as the SQLite store's UPDATEs do. Lists are answered from the indexes: the smallest
 * index matching the filters is walked in raisedAt order within from/to and the others are probed, once per
 * severity from the worst, until `limit` (never a scan of every incident). The scripts build key names from the
 * prefix, so they need one Redis (a primary with replicas), not Redis Cluster.
 */

export const DEFAULT_ALERTS_PREFIX = 'mytho:alerts'

/**
 * One write of the engine, in the form the apply script takes (numbers as strings: Lua's cjson would round them).
 * `s` is the subject it belongs to, `f` the fence (lease) it is applied under.
 */
export type EngineOp = { f?: number } & (
  | { t: 'hold'; s: string; r: string; j: string }
  | {
      t: 'create'
      s: string
      id: string
      fields: string[]
      raised: string
      state: IncidentState
      sev: Severity
      rule: string
      devs: string[]
      ev: string
      et: string
      at: string
    }
  | {
      t: 'update'
      s: string
      id: string
      level: string
      sev: Severity
      title: string
      value: string
      at: string
      cleared: boolean
      reopen: boolean
      /** The new level's action as JSON, '' for none; absent: keep the one there. */
      action?: string
      ev: string
      et: string
    }
  | { t: 'touch'; s: string; id: string; value: string; worst: string; at: string; above: boolean }
  | { t: 'device'; s: string; id: string; d: string }
  | { t: 'event'; s: string; id: string; ev: string; et: string; at: string }
)

const scripts = { mythoAlertsApply: APPLY_LUA, mythoAlertsAck: ACK_LUA, mythoAlertsList: LIST_LUA } as const
type ScriptName = keyof typeof scripts

/** Defines the scripts on this connection once (EVALSHA, loaded again by ioredis after a Redis restart). */
function scriptsOn(redis: Redis): (name: ScriptName, args: string[]) => Promise<unknown> {
  for (const [name, lua] of Object.entries(scripts)) if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 0, lua })
  return (name, args) => (redis as unknown as Record<ScriptName, (...a: string[]) => Promise<unknown>>)[name](...args)
}

export const incidentKey = (prefix: string, id: string) => `${prefix}:inc:${id}`
export const holdKey = (prefix: string, subject: string) => `${prefix}:hold:${subject}`

const num = (v: string | undefined): number | null => (v === undefined ? null : Number(v))

/** The hash fields of a new incident (nulls left out). */
export function incidentFields(inc: NewIncident): string[] {
  const f: string[] = []
  const put = (k: string, v: string | number | null) => {
    if (v !== null) f.push(k, String(v))
  }
  put('id', inc.id)
  put('ruleId', inc.ruleId)
  put('subject', inc.subject)
  put('subjectType', inc.subjectType)
  put('deviceIds', JSON.stringify(inc.deviceIds))
  put('kind', inc.kind)
  put('level', inc.level)
  put('peakLevel', inc.peakLevel)
  put('severity', inc.severity)
  put('title', JSON.stringify(inc.title))
  put('state', inc.state)
  put('metric', inc.metric)
  put('lastValue', inc.lastValue)
  put('peakValue', inc.peakValue)
  put('ward', inc.ward ?? null)
  put('action', inc.action ? JSON.stringify(inc.action) : null)
  put('raisedAt', inc.raisedAt)
  put('updatedAt', inc.updatedAt)
  return f
}

export function incidentFromHash(h: Record<string, string>, events: readonly string[]): Incident {
  return {
    id: h['id']!,
    ruleId: h['ruleId']!,
    subject: h['subject']!,
    subjectType: h['subjectType'] as Incident['subjectType'],
    deviceIds: JSON.parse(h['deviceIds'] ?? '[]') as string[],
    kind: (h['kind'] ?? null) as Incident['kind'],
    level: Number(h['level']),
    peakLevel: Number(h['peakLevel']),
    severity: h['severity'] as Severity,
    title: JSON.parse(h['title']!) as Incident['title'],
    state: h['state'] as IncidentState,
    metric: h['metric'] ?? null,
    lastValue: num(h['lastValue']),
    peakValue: num(h['peakValue']),
    ward: h['ward'] ?? null,
    action: h['action'] === undefined ? null : (JSON.parse(h['action']) as Incident['title']),
    raisedAt: Number(h['raisedAt']),
    updatedAt: Number(h['updatedAt']),
    acknowledgedAt: num(h['acknowledgedAt']),
    acknowledgedBy: h['acknowledgedBy'] ?? null,
    ackNote: h['ackNote'] ?? null,
    clearedAt: num(h['clearedAt']),
    closedAt: num(h['closedAt']),
    events: events.map((e) => JSON.parse(e) as IncidentEvent),
  }
}

/** Incidents and hold records as stored, read in one round trip per call. */
export function redisIncidentReads(redis: Redis, prefix = DEFAULT_ALERTS_PREFIX) {
  const run = scriptsOn(redis)
  const check = <T>(res: [Error | null, unknown][] | null): T[] =>
    (res ?? []).map(([err, v]) => {
      if (err) throw new IncidentStoreError(`redis read failed: ${err.message}`, { cause: err })
      return v as T
    })
  return {
    run,
    async incidents(ids: readonly string[]): Promise<Map<string, Incident>> {
      const out = new Map<string, Incident>()
      if (ids.length === 0) return out
      const pipe = redis.pipeline()
      for (const id of ids) pipe.hgetall(incidentKey(prefix, id)).lrange(`${incidentKey(prefix, id)}:ev`, 0, -1)
      const res = check<Record<string, string> | string[]>(await pipe.exec())
      ids.forEach((id, i) => {
        const h = res[2 * i] as Record<string, string>
        if (h['id'] !== undefined) out.set(id, incidentFromHash(h, res[2 * i + 1] as string[]))
      })
      return out
    },
    /** Each subject's hold records (rule id → record JSON); a subject without any gets an empty map. */
    async holds(subjects: readonly string[]): Promise<Map<string, Map<string, string>>> {
      const out = new Map<string, Map<string, string>>()
      if (subjects.length === 0) return out
      const pipe = redis.pipeline()
      for (const s of subjects) pipe.hgetall(holdKey(prefix, s))
      for (const [i, h] of check<Record<string, string>>(await pipe.exec()).entries()) out.set(subjects[i]!, new Map(Object.entries(h)))
      return out
    },
    /** Every subject that has hold records (a SCAN, for a worker that owns every device). */
    async holdSubjects(): Promise<string[]> {
      const subjects: string[] = []
      const head = holdKey(prefix, '')
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 1000)
        cursor = next
        for (const k of keys) subjects.push(k.slice(head.length))
      } while (cursor !== '0')
      return subjects
    },
    async list(q: IncidentQuery = {}): Promise<Incident[]> {
      const limit = Math.min(Math.max(q.limit ?? 200, 1), 1000)
      if (q.ward !== undefined || q.range === 'active' || q.range === 'replay') return this.listByLife(q, limit)
      const sevs = q.severity ? [q.severity] : [...severities].sort((a, b) => severityRank[b] - severityRank[a])
      const filters: string[] = []
      if (q.active) filters.push(`${prefix}:idx:active`)
      if (q.state) filters.push(`${prefix}:idx:state:${q.state}`)
      if (q.ruleId) filters.push(`${prefix}:idx:rule:${q.ruleId}`)
      if (q.deviceId) filters.push(`${prefix}:idx:dev:${q.deviceId}`)
      const min = q.from !== undefined ? String(q.from) : '-inf'
      const max = q.to !== undefined ? `(${q.to}` : '+inf'
      const ids = (await run('mythoAlertsList', [prefix, min, max, String(limit), String(sevs.length), ...sevs, ...filters])) as string[]
      const found = await this.incidents(ids)
      return ids.flatMap((id) => found.get(id) ?? [])
    },
    /**
     * The incident log's and replay's filters (ward, range=active or replay), which no index answers: the incidents raised in the range (for
     * range=active, every one raised before `to`) are read and filtered here. A log over a long history on Redis reads
     * that history; indexes by ward and by closing time would bound it.
     */
    async listByLife(q: IncidentQuery, limit: number): Promise<Incident[]> {
      const max = q.to !== undefined ? `(${q.to}` : '+inf'
      const min = q.range !== 'active' && q.range !== 'replay' && q.from !== undefined ? String(q.from) : '-inf'
      const ids = await redis.zrangebyscore(`${prefix}:idx:${q.active ? 'active' : 'all'}`, min, max)
      const found = await this.incidents(ids)
      const from = q.from
      const alive = (i: Incident) =>
        from === undefined ||
        (q.range === 'active' ? i.closedAt === null || i.closedAt >= from : q.range === 'replay' ? i.clearedAt === null || i.updatedAt >= from : true)
      return [...found.values()]
        .filter(
          (i) =>
            alive(i) &&
            (q.ward === undefined || (i.ward ?? null) === q.ward || (i.ward === null && i.deviceIds.some((d) => q.wardDeviceIds?.includes(d)))) &&
            (!q.active || i.state !== 'closed') &&
            (q.state === undefined || i.state === q.state) &&
            (q.ruleId === undefined || i.ruleId === q.ruleId) &&
            (q.severity === undefined || i.severity === q.severity) &&
            (q.deviceId === undefined || i.deviceIds.includes(q.deviceId)),
        )
        .sort((a, b) => severityRank[b.severity] - severityRank[a.severity] || a.raisedAt - b.raisedAt)
        .slice(0, limit)
    },
  }
}
export type RedisIncidentReads = ReturnType<typeof redisIncidentReads>

/**
 * The API's side on Redis: reads and the acknowledgement. `redis` stays the caller's (opened and quit by it).
 */
export function redisOperatorIncidents(redis: Redis, opts: { prefix?: string } = {}): OperatorIncidents {
  const prefix = opts.prefix ?? DEFAULT_ALERTS_PREFIX
  const reads = redisIncidentReads(redis, prefix)
  const get = async (id: string) => (await reads.incidents([id])).get(id)
  /** 0: no such incident, 1: acknowledged now, 2: it already was (or is closed). */
  const ack = async (id: string, by: string, note: string | undefined, at: number, claimedBy?: string): Promise<number> =>
    (await reads.run('mythoAlertsAck', [
      prefix,
      id,
      by,
      note ?? '',
      note !== undefined ? '1' : '0',
      String(at),
      ...(claimedBy !== undefined ? [claimedBy] : []),
    ])) as number
  return {
    get,
    list: (q) => reads.list(q),
    async acknowledge(id, by, note, at, claimedBy) {
      return (await ack(id, by, note, at, claimedBy)) === 0 ? undefined : get(id)
    },
    /** Each incident in its own script run (atomic with the engine's writes), as acknowledge() does it. */
    async acknowledgeMany(target, by, note, at, claimedBy) {
      const result: BulkAcknowledgeResult = { acknowledged: [], skipped: [] }
      const one = async (id: string) => {
        const done = await ack(id, by, note, at, claimedBy)
        const inc = done === 1 ? await get(id) : undefined
        if (inc) result.acknowledged.push(inc)
        else result.skipped.push({ id, reason: done === 2 ? 'already acknowledged' : 'not found' })
      }
      if ('ids' in target) for (const id of new Set(target.ids)) await one(id)
      else
        for (let full = true; full; ) {
          full = false
          for (const state of UNACKNOWLEDGED_STATES) {
            const ids = (await reads.list({ ruleId: target.ruleId, state, limit: BULK_PAGE })).map((i) => i.id)
            for (const id of ids) await one(id)
            full ||= ids.length === BULK_PAGE
          }
        }
      return result
    },
    close: () => {},
  }
}

/** A hold record as the engine reads it back. */
export const parseHold = (json: string): HoldRecord => JSON.parse(json) as HoldRecord
