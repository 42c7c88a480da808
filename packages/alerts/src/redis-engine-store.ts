import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { severityRank, type Incident, type IncidentEvent } from '@mytho/schema'
import { IncidentStoreError, type HoldRecord, type IncidentQuery, type NewIncident } from './incident-store.ts'
import type { EngineIncidentStore } from './incident-ports.ts'
import { DEFAULT_ALERTS_PREFIX, incidentFields, parseHold, redisIncidentReads, type EngineOp } from './redis-incidents.ts'

/*
 * The rule engine's store on Redis: a synchronous mirror of the alert state of the subjects (devices, roads) this
 * worker owns, so the engine's per-reading getHold/putHold stay in memory. It holds their hold records and the
 * incidents those point to; every write changes the mirror at once and joins a list that `commit()` sends as one
 * Lua script (atomic, like the SQLite transaction per batch). The ingest awaits commit() before it acknowledges a
 * batch, so what was acknowledged is in Redis even if the worker is SIGKILLed the next moment.
 *
 * Subjects are loaded when their partition is taken and unloaded when it goes, so a device's state moves with it;
 * a subject neither loaded nor owned (`owns`) is refused, so a worker never writes state it does not hold.
 * The API's acknowledgements reach the mirror through refresh() (each tick), and the scripts never let the
 * engine's writes touch the acknowledgement fields, so a stale mirror cannot overwrite one.
 */

export interface RedisEngineStoreOptions {
  /** Key prefix shared with the API. Default `mytho:alerts`. */
  prefix?: string
  /**
   * Whether this worker may start with empty state a subject it has not loaded (a device added to a partition
   * it holds, a new road). Default: every subject (one worker owns every device; call loadAll() first).
   */
  owns?: (subject: string) => boolean
  /**
   * The lease a subject's writes depend on (its partition's: key and this worker's token), checked in Redis as they
   * are applied: writes under a lease that passed to another worker are refused, so a worker frozen past its lease
   * and waking up cannot overwrite the new owner's state. Default none (roads, a worker without partitions).
   */
  fence?: (subject: string) => { key: string; token: string } | undefined
}

const holdId = (ruleId: string, subject: string) => `${ruleId}\u0000${subject}`

/** The engine's update applied to a mirrored incident: the same rules as the SQLite UPDATE and the apply script. */
export function applyEngineUpdate(
  inc: Incident,
  patch: {
    level: number
    severity: Incident['severity']
    title: Incident['title']
    value: number | null
    at: number
    cleared?: boolean
    reopen?: boolean
    action?: Incident['action'] | undefined
  },
  event: IncidentEvent,
): Incident {
  const acked = inc.acknowledgedAt !== null && !patch.reopen
  const peakValue =
    patch.value === null
      ? inc.peakValue
      : inc.peakValue === null || (patch.level >= inc.peakLevel && Math.abs(patch.value) > Math.abs(inc.peakValue))
        ? patch.value
        : inc.peakValue
  const state: Incident['state'] =
    patch.cleared && acked ? 'closed' : patch.cleared ? 'cleared' : patch.reopen || inc.acknowledgedAt === null ? 'open' : 'acknowledged'
  return {
    ...inc,
    level: patch.level,
    title: patch.title,
    action: patch.action === undefined ? inc.action : patch.action,
    peakLevel: Math.max(inc.peakLevel, patch.level),
    severity: patch.severity,
    lastValue: patch.value,
    peakValue,
    updatedAt: patch.at,
    ...(patch.reopen ? { acknowledgedAt: null, acknowledgedBy: null, ackNote: null } : {}),
    clearedAt: patch.cleared ? patch.at : inc.clearedAt,
    state,
    closedAt: state === 'closed' ? patch.at : inc.closedAt,
    events: [...inc.events, event],
  }
}

export function createRedisEngineStore(redis: Redis, opts: RedisEngineStoreOptions = {}) {
  const prefix = opts.prefix ?? DEFAULT_ALERTS_PREFIX
  const owns = opts.owns ?? (() => true)
  const reads = redisIncidentReads(redis, prefix)
  /** subject → rule id → record JSON, as in Redis plus what is not committed yet. */
  const holds = new Map<string, Map<string, string>>()
  /** Hold (rule, subject) → the incident it points to: the mirror keeps those incidents. */
  const refs = new Map<string, string>()
  const incidents = new Map<string, Incident>()
  let ops: EngineOp[] = []
  /** Incident → index in `ops` of its latest touch when no other op of it came after (touches merge: one per batch). */
  const lastTouch = new Map<string, number>()
  let holdWrites = new Map<string, EngineOp & { t: 'hold' }>()
  /** A script sent whose reply did not come: sent again, with its id and fences, before anything newer. */
  let unsent: { id: string; json: string; fences: string } | undefined
  let committing: Promise<void> = Promise.resolve()
  /** Undo steps of the transactions in progress (a failing evaluation leaves no half-written change). */
  let undo: (() => void)[] | undefined
  const stats = { commits: 0, ops: 0, commitErrors: 0, refused: 0 }

  const holdsOf = (subject: string): Map<string, string> => {
    let s = holds.get(subject)
    if (!s) {
      if (!owns(subject)) throw new IncidentStoreError(`alert state of ${subject} is not held by this worker`)
      s = new Map()
      holds.set(subject, s)
    }
    return s
  }
  const op = (o: EngineOp) => {
    const n = ops.length
    ops.push(o)
    if (o.t !== 'hold') lastTouch.delete(o.id)
    undo?.push(() => void (ops.length = n))
  }
  const setIncident = (inc: Incident) => {
    const before = incidents.get(inc.id)
    incidents.set(inc.id, inc)
    undo?.push(() => void (before ? incidents.set(inc.id, before) : incidents.delete(inc.id)))
  }
  const subjectOf = (id: string) => incidents.get(id)?.subject ?? ''
  const eventJson = (e: IncidentEvent) => JSON.stringify(e)

  const store: EngineIncidentStore = {
    getHold(ruleId: string, subject: string): HoldRecord | undefined {
      const j = holdsOf(subject).get(ruleId)
      return j === undefined ? undefined : parseHold(j)
    },
    putHold(ruleId: string, subject: string, record: HoldRecord): void {
      const s = holdsOf(subject)
      const key = holdId(ruleId, subject)
      const [before, beforeWrite, beforeRef] = [s.get(ruleId), holdWrites.get(key), refs.get(key)]
      const j = JSON.stringify(record)
      s.set(ruleId, j)
      holdWrites.set(key, { t: 'hold', s: subject, r: ruleId, j })
      if (record.incidentId) refs.set(key, record.incidentId)
      else refs.delete(key)
      undo?.push(() => {
        if (before === undefined) s.delete(ruleId)
        else s.set(ruleId, before)
        if (beforeWrite) holdWrites.set(key, beforeWrite)
        else holdWrites.delete(key)
        if (beforeRef) refs.set(key, beforeRef)
        else refs.delete(key)
      })
    },
    transaction<T>(fn: () => T): T {
      const outer = undo === undefined
      const steps = (undo ??= [])
      const mark = steps.length
      try {
        return fn()
      } catch (err) {
        for (const step of steps.splice(mark).reverse()) step()
        throw err
      } finally {
        if (outer) undo = undefined
      }
    },
    create(inc: NewIncident, event: IncidentEvent): void {
      setIncident({
        ...inc,
        ward: inc.ward ?? null,
        action: inc.action ?? null,
        acknowledgedAt: null,
        acknowledgedBy: null,
        ackNote: null,
        clearedAt: null,
        closedAt: null,
        events: [event],
      })
      op({
        t: 'create',
        s: inc.subject,
        id: inc.id,
        fields: incidentFields(inc),
        raised: String(inc.raisedAt),
        state: inc.state,
        sev: inc.severity,
        rule: inc.ruleId,
        devs: inc.deviceIds,
        ev: eventJson(event),
        et: event.type,
        at: String(event.at),
      })
    },
    update(id, patch, event): void {
      const inc = incidents.get(id)
      if (inc) setIncident(applyEngineUpdate(inc, patch, event))
      op({
        t: 'update',
        s: subjectOf(id),
        id,
        level: String(patch.level),
        sev: patch.severity,
        title: JSON.stringify(patch.title),
        value: patch.value === null ? '' : String(patch.value),
        at: String(patch.at),
        cleared: patch.cleared === true,
        reopen: patch.reopen === true,
        ...(patch.action !== undefined ? { action: patch.action ? JSON.stringify(patch.action) : '' } : {}),
        ev: eventJson(event),
        et: event.type,
      })
    },
    touchValue(id: string, value: number, direction: 'above' | 'below', at: number): void {
      const inc = incidents.get(id)
      if (inc) {
        const worse = inc.peakValue === null || (direction === 'above' ? value > inc.peakValue : value < inc.peakValue)
        setIncident({ ...inc, lastValue: value, updatedAt: Math.max(inc.updatedAt, at), peakValue: worse ? value : inc.peakValue })
      }
      // Every reading of a device with an open incident touches it: a batch sends the last value and the worst.
      const i = lastTouch.get(id)
      const prev = i === undefined ? undefined : ops[i]
      if (prev?.t === 'touch' && prev.id === id) {
        const before = { ...prev }
        const worse = direction === 'above' ? value > Number(prev.worst) : value < Number(prev.worst)
        Object.assign(prev, { value: String(value), at: String(Math.max(Number(prev.at), at)), ...(worse ? { worst: String(value) } : {}) })
        undo?.push(() => Object.assign(prev, before))
        return
      }
      op({ t: 'touch', s: subjectOf(id), id, value: String(value), worst: String(value), at: String(at), above: direction === 'above' })
      lastTouch.set(id, ops.length - 1)
    },
    addDevice(id: string, deviceId: string): void {
      const inc = incidents.get(id)
      if (!inc || inc.deviceIds.includes(deviceId)) return
      setIncident({ ...inc, deviceIds: [...inc.deviceIds, deviceId] })
      op({ t: 'device', s: inc.subject, id, d: deviceId })
    },
    recordEvent(id: string, event: IncidentEvent): void {
      const inc = incidents.get(id)
      if (inc) setIncident({ ...inc, events: [...inc.events, event] })
      op({ t: 'event', s: subjectOf(id), id, ev: eventJson(event), et: event.type, at: String(event.at) })
    },
    lastEventAt(id: string, type: IncidentEvent['type']): number | undefined {
      let at: number | undefined
      for (const e of incidents.get(id)?.events ?? []) if (e.type === type && (at === undefined || e.at > at)) at = e.at
      return at
    },
    get: (id: string) => incidents.get(id),
    /** The incidents of the subjects this worker holds (the engine lists them for reminders). */
    list(q: IncidentQuery = {}): Incident[] {
      const active = new Set(['open', 'acknowledged', 'cleared'])
      return [...incidents.values()]
        .filter(
          (i) =>
            (!q.active || active.has(i.state)) &&
            (!q.state || i.state === q.state) &&
            (!q.ruleId || i.ruleId === q.ruleId) &&
            (!q.severity || i.severity === q.severity) &&
            (!q.deviceId || i.deviceIds.includes(q.deviceId)) &&
            (q.from === undefined || i.raisedAt >= q.from) &&
            (q.to === undefined || i.raisedAt < q.to),
        )
        .sort((a, b) => severityRank[b.severity] - severityRank[a.severity] || a.raisedAt - b.raisedAt)
        .slice(0, Math.min(Math.max(q.limit ?? 200, 1), 1000))
    },
  }

  /** The batch as the apply script takes it: each write numbered with its subject's fence (1-based), if any. */
  function fenced(batch: EngineOp[]): { json: string; fences: string } {
    if (!opts.fence) return { json: JSON.stringify(batch), fences: '[]' }
    const fences: { k: string; t: string }[] = []
    const index = new Map<string, number>()
    for (const o of batch) {
      const f = opts.fence(o.s)
      if (!f) continue
      let i = index.get(f.key)
      if (i === undefined) {
        i = fences.push({ k: f.key, t: f.token })
        index.set(f.key, i)
      }
      o.f = i
    }
    return { json: JSON.stringify(batch), fences: JSON.stringify(fences) }
  }

  /** Reads the incidents the loaded holds point to that the mirror lacks, or all of them again (`again`). */
  async function loadIncidents(again: boolean): Promise<void> {
    const wanted = new Set(refs.values())
    for (const id of incidents.keys()) if (!wanted.has(id)) incidents.delete(id)
    const ids = [...wanted].filter((id) => again || !incidents.has(id))
    const found = await reads.incidents(ids)
    for (const id of ids) {
      const inc = found.get(id)
      if (inc) incidents.set(id, inc)
      else incidents.delete(id)
    }
  }

  return {
    ...store,
    stats,
    /** Writes not yet committed (ops + hold records). */
    get pending(): number {
      return ops.length + holdWrites.size + (unsent ? 1 : 0)
    },
    /** Loads these subjects' hold records and their incidents from Redis (a partition taken), replacing any in the mirror. */
    async load(subjects: readonly string[]): Promise<void> {
      const found = await reads.holds(subjects)
      for (const key of refs.keys()) if (found.has(key.slice(key.indexOf('\u0000') + 1))) refs.delete(key)
      for (const [subject, records] of found) {
        holds.set(subject, records)
        for (const [ruleId, j] of records) {
          const id = parseHold(j).incidentId
          if (id) refs.set(holdId(ruleId, subject), id)
        }
      }
      await loadIncidents(false)
    },
    /** Loads every subject Redis has hold records of (a worker that owns every device). */
    async loadAll(): Promise<void> {
      await this.load(await reads.holdSubjects())
    },
    /**
     * Forgets these subjects (their partition went). With `dropPending` (the lease was lost, another worker may
     * hold them now), their writes not yet committed are dropped too: this worker writes nothing more for them.
     */
    unload(subjects: Iterable<string>, o: { dropPending?: boolean } = {}): void {
      const gone = new Set(subjects)
      for (const s of gone) holds.delete(s)
      for (const [key] of refs) if (gone.has(key.slice(key.indexOf('\u0000') + 1))) refs.delete(key)
      if (o.dropPending) {
        ops = ops.filter((o) => !gone.has(o.s))
        lastTouch.clear()
        for (const [key, w] of holdWrites) if (gone.has(w.s)) holdWrites.delete(key)
      }
      for (const [id, inc] of incidents) if (gone.has(inc.subject)) incidents.delete(id)
    },
    /** Whether the mirror holds this subject. */
    holds: (subject: string) => holds.has(subject),
    /**
     * Sends every write so far as one script and resolves once Redis has applied it, with the number of writes its
     * fences refused (0 while this worker holds its leases); rejects (keeping the writes, to be sent again with the
     * same id) when Redis does not answer. One commit at a time, in order.
     */
    commit(): Promise<number> {
      const run = committing.then(async () => {
        let refused = 0
        for (;;) {
          if (!unsent) {
            if (ops.length === 0 && holdWrites.size === 0) return refused
            const batch: EngineOp[] = [...ops, ...holdWrites.values()]
            stats.ops += batch.length
            unsent = { id: randomUUID(), ...fenced(batch) }
            ops = []
            lastTouch.clear()
            holdWrites = new Map()
          }
          let n: unknown
          try {
            n = await reads.run('mythoAlertsApply', [prefix, unsent.id, unsent.json, unsent.fences])
          } catch (err) {
            stats.commitErrors++
            throw new IncidentStoreError(`alert state not committed to Redis: ${(err as Error).message}`, { cause: err })
          }
          unsent = undefined
          stats.commits++
          refused += Number(n)
          stats.refused += Number(n)
        }
      })
      committing = run.then(
        () => {},
        () => {},
      )
      return run
    },
    /**
     * Reads the mirrored incidents again (acknowledgements made on the API since), dropping those no hold points
     * to any more. Only between commits: uncommitted changes would be overwritten.
     */
    async refresh(): Promise<void> {
      if (ops.length > 0 || unsent) return
      await loadIncidents(true)
    },
    /** Incidents as Redis has them now (what is announced after a commit carries the API's acknowledgement). */
    current: (ids: readonly string[]) => reads.incidents(ids),
  }
}
export type RedisEngineStore = ReturnType<typeof createRedisEngineStore>
