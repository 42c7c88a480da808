import type { Aedes } from 'aedes'

/*
 * Patches Aedes's per-client duplicate check: `Aedes.handle` is wrapped so each client's `deliver0`/`deliverQoS` and
 * `client.duplicates` (aedes/lib/client.js, `dedupe`) see which packet is being delivered. Used by every on-disk and
 * cluster persistence (persistence.ts, cluster.ts). Why: below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */

/**
 * Aedes drops a delivery whose broker counter is not above the last one it sent that client (`dedupe`
 * in aedes/lib/client.js: one copy per client for overlapping subscriptions [MQTT-3.3.5-1], and cluster
 * duplicates). That assumes packets reach delivery in counter order, true of the in-memory persistence
 * but not of an on-disk one: enqueues for different publishers finish out of order, and an overtaken
 * packet was silently discarded (about 6 % of a 1,000 msg/s load to the ingest) although its publisher
 * had its PUBACK. Here the check becomes exact: a copy is dropped only when that very (broker, counter)
 * already went to this client. Aedes reads `client.duplicates[brokerId]` inside a synchronous call of
 * deliver0/deliverQoS, so those are wrapped to tell the lookup which packet is being delivered.
 */
const RECENT_COUNTERS = 4096
type Deliver = (packet: { brokerId?: string; brokerCounter?: number }, cb: () => void) => void

/** Per client: the (broker, counter) pairs already delivered, and the packet being delivered now. */
class DeliveredCopies {
  // Created on the first delivery: most of 10,000 device connections never receive anything.
  sent: Map<string, Set<number>> | undefined = undefined
  current: { brokerCounter?: number } | undefined = undefined
}

// One handler for every client's `duplicates` proxy; the state lives in its target.
const duplicatesTraps: ProxyHandler<DeliveredCopies> = {
  // Infinity: "already sent" for the packet being delivered; undefined: never sent, deliver it.
  get: (t, brokerId) =>
    typeof brokerId === 'string' && t.current?.brokerCounter !== undefined && t.sent?.get(brokerId)?.has(t.current.brokerCounter)
      ? Number.POSITIVE_INFINITY
      : undefined,
  set: (t, brokerId, counter: number) => {
    if (typeof brokerId !== 'string') return true
    t.sent ??= new Map()
    let counters = t.sent.get(brokerId)
    if (!counters) t.sent.set(brokerId, (counters = new Set()))
    counters.add(counter)
    if (counters.size > RECENT_COUNTERS) counters.delete(counters.values().next().value!)
    return true
  },
}

export function deliverInAnyOrder(aedes: Aedes): void {
  const handle = aedes.handle.bind(aedes)
  aedes.handle = (conn, req) => {
    const client = handle(conn, req) as unknown as { duplicates: object; deliver0: Deliver; deliverQoS: Deliver }
    const copies = new DeliveredCopies()
    for (const name of ['deliver0', 'deliverQoS'] as const) {
      const deliver = client[name]
      client[name] = (packet, cb) => {
        const outer = copies.current
        copies.current = packet
        try {
          deliver(packet, cb)
        } finally {
          copies.current = outer
        }
      }
    }
    client.duplicates = new Proxy(copies, duplicatesTraps)
    return client as unknown as ReturnType<Aedes['handle']>
  }
}
