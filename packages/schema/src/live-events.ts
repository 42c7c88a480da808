import type { Incident, IncidentChange } from './incidents.ts'
import type { PipelineHealth } from './pipeline-health.ts'
import type { SnapshotColumns } from './live-snapshot.ts'
import type { FirstViewClusters } from './first-view.ts'
import type { LiveDeviceState, LiveFeedStatus, ViewSubscription } from './live-state.ts'

/*
 * Socket.IO events between the API and the operator map, typed once and used by both sides. What they carry is
 * in live-state.ts (re-exported here).
 * A browser receives only what it views (bounding box, zoom, kinds, wards); readings are coalesced per
 * device and sent as arrays on a short timer, never one event per reading (measured: one event per reading
 * to 20 clients at 5,000/s gave p99 36 ms; one array every 10 ms gave p99 3.4 ms).
 */

export * from './live-state.ts'

export interface ServerToClientEvents {
  /** Everything in view, sent after each `view` (also after a reconnect, so no page reload is needed). */
  snapshot: (devices: LiveDeviceState[]) => void
  /** The same snapshot in columns (live-snapshot.ts), instead of `snapshot`, to a client whose handshake asked for it. */
  snapshotColumns: (snapshot: SnapshotColumns) => void
  /**
   * The handshake view's clusters at its zoom (first-view.ts), to a client whose handshake asked for them, emitted
   * just before that view's first `snapshotColumns` in the same tick.
   */
  firstView: (clusters: FirstViewClusters) => void
  /** Changed devices in view since the last batch, coalesced per device (latest wins). */
  updates: (devices: LiveDeviceState[]) => void
  /**
   * Devices that left the registry (an admin disabled them): the map drops their markers, counts, list and search
   * entries and closes a popup on one, but keeps their incidents. City-wide, not filtered by view (a client may list
   * a device outside it). One enabled again comes back in `updates` (to clients viewing it) and in the next snapshot.
   */
  removed: (deviceIds: string[]) => void
  /** The server's own link to the live stream; sent on connect and whenever it changes. */
  feed: (status: LiveFeedStatus) => void
  /** Every active incident, city-wide (not filtered by view: an alarm is never out of sight); sent on connect. */
  incidents: (active: Incident[]) => void
  /** One incident change (raised, escalated, acknowledged, cleared, reminded…), to every client. */
  incident: (change: IncidentChange) => void
  /**
   * The ingest's last PipelineHealth (storage down, readings waiting on its spool, blocked, down): the map says
   * its data is late. Sent on connect (when one is known) and whenever what the map shows of it changes.
   */
  pipeline: (health: PipelineHealth) => void
}

export interface ClientToServerEvents {
  /** Sets what this client views; the ack reports how many devices are in it, or the validation error. */
  view: (subscription: ViewSubscription, ack?: (result: { ok: true; devices: number } | { ok: false; error: string }) => void) => void
}
