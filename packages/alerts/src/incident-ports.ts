import type { Incident } from '@mytho/schema'
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
  close(): Promise<void> | void
}

/** The SQLite store as the API uses it (the file is opened per process, so close() closes it). */
export function sqliteOperatorIncidents(store: IncidentStore): OperatorIncidents {
  return {
    get: async (id) => store.get(id),
    list: async (q) => store.list(q),
    acknowledge: async (id, by, note, at, claimedBy) => store.acknowledge(id, by, note, at, claimedBy),
    close: () => store.close(),
  }
}
