import { severityRank, type Incident, type IncidentChange } from './schema.ts'

/** Event types that make an incident newly worth an operator's eyes (a reminder is not new). */
const FRESH = new Set(['raised', 'escalated', 'reopened'])

export type IncidentStoreEvent =
  | { type: 'replaced' }
  /** `fresh`: the change raised, escalated or reopened it (what the severe-incident cue reacts to). */
  | { type: 'changed'; incident: Incident; fresh: boolean; reminded: boolean }

/** Worst severity first, then the oldest first: the one waiting longest at the top of its severity. */
export const compareIncidents = (a: Incident, b: Incident): number =>
  severityRank[b.severity] - severityRank[a.severity] || a.raisedAt - b.raisedAt || a.id.localeCompare(b.id)

/** An incident counts as an alarm on the map while it is critical and its condition still holds (not cleared). */
export const isAlarming = (i: Incident): boolean => i.severity === 'critical' && (i.state === 'open' || i.state === 'acknowledged')

/** The device an incident is about (road incidents name their devices too; the first one stands for the road). */
export const deviceOf = (i: Incident): string | undefined => (i.subjectType === 'device' ? i.subject : i.deviceIds[0])

/**
 * Active incidents keyed by id: `incidents` (sent on every connect) replaces them all, each `incident` change
 * upserts one; a closed incident leaves the list. A change carrying fewer events than the one held (a push that
 * arrives after the REST answer of the same acknowledgement) is ignored, so the panel never steps back; events
 * only grow, while updatedAt may follow device clocks.
 */
export class IncidentStore {
  readonly active = new Map<string, Incident>()
  readonly #listeners = new Set<(e: IncidentStoreEvent) => void>()

  on(f: (e: IncidentStoreEvent) => void): () => void {
    this.#listeners.add(f)
    return () => this.#listeners.delete(f)
  }
  #emit(e: IncidentStoreEvent): void {
    for (const f of this.#listeners) f(e)
  }

  replaceAll(list: readonly Incident[]): void {
    this.active.clear()
    for (const i of list) if (i.state !== 'closed') this.active.set(i.id, i)
    this.#emit({ type: 'replaced' })
  }

  apply(change: IncidentChange): void {
    this.upsert(change.incident, FRESH.has(change.event.type), change.event.type === 'reminded')
  }

  /** `reminded`: the engine repeats an unacknowledged critical incident (its reminder), which the cue sounds again. */
  upsert(incident: Incident, fresh = false, reminded = false): void {
    const held = this.active.get(incident.id)
    if (held && held.events.length > incident.events.length) return
    if (incident.state === 'closed') this.active.delete(incident.id)
    else this.active.set(incident.id, incident)
    this.#emit({ type: 'changed', incident, fresh, reminded })
  }

  sorted(): Incident[] {
    return [...this.active.values()].sort(compareIncidents)
  }

  /** Devices with an alarming incident (drawn with a halo on the map). */
  alarmedDevices(): Set<string> {
    const s = new Set<string>()
    for (const i of this.active.values()) if (isAlarming(i)) for (const d of i.subjectType === 'device' ? [i.subject] : i.deviceIds) s.add(d)
    return s
  }
}
