import type { BulkAcknowledgeResult, Incident } from '@mytho/schema'
import type { IncidentQuery, IncidentStore } from './incident-store.ts'

/*
 * The two sides of the shared incident store. The rule engine runs inside the ingest's batch loop and is
 * synchronous (one evaluation per reading), so it gets a synchronous store: the SQLite file itself, or a Redis
 * mirror of the alert state this worker owns whose writes are committed once per batch (redis-engine-store.ts).
 * The API reads and acknowledges on requests, so it gets an asynchronous one: SQLite wrapped, or Redis itself.
 */

/** What the rule engine uses of an incident store. */
export type EngineIncidentStore = Pick<
  IncidentStore,
  'getHold' | 'putHold' | 'transaction' | 'create' | 'update' | 'get' | 'list' | 'lastEventAt' | 'recordEvent' | 'addDevice' | 'touchValue'
>

/** What the API does with incidents: list, read, and acknowledge (its only write, to its own fields). */
export interface OperatorIncidents {
  get(id: string): Promise<Incident | undefined>
  list(q?: IncidentQuery): Promise<Incident[]>
  /**
   * The operator's acknowledgement; a cleared incident closes with it. Undefined when there is no such incident.
   * `by` is who acted (an operator, or anonymous@ADDRESS); `claimedBy` the name an anonymous caller gave, kept apart.
   */
  acknowledge(id: string, by: string, note: string | undefined, at: number, claimedBy?: string): Promise<Incident | undefined>
  /**
   * One acknowledgement, one note, for several incidents: those named, or every unacknowledged one (open or cleared)
   * of a rule. Each is acknowledged exactly as acknowledge() does it; what is missing or was already acknowledged is
   * skipped with the reason.
   */
  acknowledgeMany(target: BulkAcknowledgeTarget, by: string, note: string | undefined, at: number, claimedBy?: string): Promise<BulkAcknowledgeResult>
  close(): Promise<void> | void
}

export type BulkAcknowledgeTarget = { ids: readonly string[] } | { ruleId: string }

/** An incident waits for an acknowledgement while open or cleared (acknowledged and cleared is closed; an escalation reopens). */
export const UNACKNOWLEDGED_STATES = ['open', 'cleared'] as const
/** Incidents of a rule taken per round; each acknowledged one leaves the open and cleared states, so the rounds end. */
export const BULK_PAGE = 1000

type AckOutcome = Incident | 'not found' | 'already acknowledged'
const collect = (result: BulkAcknowledgeResult, id: string, r: AckOutcome) =>
  typeof r === 'string' ? result.skipped.push({ id, reason: r }) : result.acknowledged.push(r)

/** The SQLite store as the API uses it (the file is opened per process, so close() closes it). */
export function sqliteOperatorIncidents(store: IncidentStore): OperatorIncidents {
  return {
    get: async (id) => store.get(id),
    list: async (q) => store.list(q),
    acknowledge: async (id, by, note, at, claimedBy) => store.acknowledge(id, by, note, at, claimedBy),
    // One write transaction: another operator's acknowledgement lands before or after all of these, never between.
    acknowledgeMany: async (target, by, note, at, claimedBy) =>
      store.transaction(() => {
        const result: BulkAcknowledgeResult = { acknowledged: [], skipped: [] }
        const one = (id: string): AckOutcome => {
          const before = store.get(id)
          if (!before) return 'not found'
          if (before.acknowledgedAt !== null || before.state === 'closed') return 'already acknowledged'
          return store.acknowledge(id, by, note, at, claimedBy)!
        }
        if ('ids' in target) for (const id of new Set(target.ids)) collect(result, id, one(id))
        else
          for (let full = true; full; ) {
            full = false
            for (const state of UNACKNOWLEDGED_STATES) {
              const ids = store.list({ ruleId: target.ruleId, state, limit: BULK_PAGE }).map((i) => i.id)
              for (const id of ids) collect(result, id, one(id))
              full ||= ids.length === BULK_PAGE
            }
          }
        return result
      }),
    close: () => store.close(),
  }
}
