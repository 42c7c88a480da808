import type { Incident, IncidentChange } from '@mytho/schema'
import type { OperatorIncidents } from '@mytho/alerts'
import type { Logger } from '@mytho/runtime'

/*
 * The active incidents a browser gets as it connects. Live push asks for them synchronously, and on Redis the
 * incident store answers asynchronously, so each node keeps them in memory: read at start, every change it hears
 * of (the ingest's announcements, acknowledgements) applied at once, and read again every `everyMs` (default
 * 5,000) for what it could not hear (an acknowledgement on another node while its feed was down).
 */
export function activeIncidentsCache(incidents: OperatorIncidents, opts: { logger: Logger; everyMs?: number }) {
  const active = new Map<string, Incident>()
  let timer: NodeJS.Timeout | undefined
  let reading: Promise<void> | undefined
  const order = (a: Incident, b: Incident) => severityOrder(b) - severityOrder(a) || a.raisedAt - b.raisedAt
  const refresh = (): Promise<void> =>
    (reading ??= incidents
      .list({ active: true, limit: 1000 })
      .then((list) => {
        active.clear()
        for (const i of list) active.set(i.id, i)
      })
      .catch((err: unknown) => opts.logger.warn('active incidents not read', { err: (err as Error).message }))
      .finally(() => (reading = undefined)))
  return {
    list: (): Incident[] => [...active.values()].sort(order),
    apply(change: IncidentChange): void {
      const i = change.incident
      // An older copy (announcements cross the cluster by two paths) must not undo a newer one.
      const had = active.get(i.id)
      if (had && had.updatedAt > i.updatedAt) return
      if (i.state === 'closed') active.delete(i.id)
      else active.set(i.id, i)
    },
    async start(): Promise<void> {
      await refresh()
      timer = setInterval(() => void refresh(), opts.everyMs ?? 5_000)
      timer.unref()
    },
    stop(): Promise<void> | undefined {
      clearInterval(timer)
      return reading
    },
  }
}
export type ActiveIncidentsCache = ReturnType<typeof activeIncidentsCache>

const severityOrder = (i: Incident) => (i.severity === 'critical' ? 3 : i.severity === 'warning' ? 2 : 1)
