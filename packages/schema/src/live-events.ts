import { z } from 'zod'
import { DeviceKind, Ward } from './kinds.ts'
import type { Incident, IncidentChange } from './incidents.ts'
import type { PipelineHealth } from './pipeline-health.ts'
import type { SnapshotColumns } from './live-snapshot.ts'
import type { FirstViewClusters } from './first-view.ts'
import { StoredReading } from './stored-reading.ts'
import { connectionStatuses } from './topics.ts'
import { deviceStatuses } from './lists.ts'

/*
 * Socket.IO events between the API and the operator map, typed once and used by both sides.
 * A browser receives only what it views (bounding box, zoom, kinds, wards); readings are coalesced per
 * device and sent as arrays on a short timer, never one event per reading (measured: one event per reading
 * to 20 clients at 5,000/s gave p99 36 ms; one array every 10 ms gave p99 3.4 ms).
 */

export { deviceStatuses }
export const DeviceStatus = z.enum(deviceStatuses)
export type DeviceStatus = z.infer<typeof DeviceStatus>

/** West, south, east, north in degrees (Leaflet's toBBoxString order). */
export const BBox = z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90), z.number().min(-180).max(180), z.number().min(-90).max(90)])
export type BBox = z.infer<typeof BBox>

/** What a browser views; sent on connect and whenever the operator pans, zooms or filters. */
export const ViewSubscription = z.strictObject({
  bbox: BBox,
  zoom: z.number().min(0).max(22),
  kinds: z.array(DeviceKind).max(10).optional(),
  wards: z.array(Ward).max(10).optional(),
})
export type ViewSubscription = z.infer<typeof ViewSubscription>

/** What the platform knows of a device now: one home for the live state and the REST device view. */
export const deviceNowShape = {
  status: DeviceStatus,
  /** When the platform last heard from it (UTC ms); null when never. */
  lastSeen: z.number().int().nullable(),
  /** Retained MQTT status of its connection, when known. */
  connection: z.enum(connectionStatuses).nullable(),
  lastReading: StoredReading.nullable(),
}

/** The live state of one device, as the map draws it. */
export const LiveDeviceState = z.object({
  deviceId: z.string(),
  kind: DeviceKind,
  ward: Ward,
  lat: z.number(),
  lon: z.number(),
  ...deviceNowShape,
})
export type LiveDeviceState = z.infer<typeof LiveDeviceState>

/**
 * Whether the server itself is receiving the live stream. When its broker link is down, device states stop
 * changing for a reason that is not the devices: the map must say so instead of showing them as live.
 */
export const LiveFeedStatus = z.object({
  connected: z.boolean(),
  /** Since when (UTC ms) the feed has been in this state. */
  since: z.number().int(),
})
export type LiveFeedStatus = z.infer<typeof LiveFeedStatus>

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

/**
 * The Socket.IO handshake's `auth` payload. A view in it is subscribed as the connection opens, exactly as a
 * `view` event would be (without an ack): the first snapshot then needs no extra round trip after the handshake.
 * `snapshot: 'columns'`: this connection's snapshots come as `snapshotColumns` (the map); default `objects`, the
 * `snapshot` event. `clusters`: see below.
 */
export const HandshakeAuth = z.object({
  view: ViewSubscription.optional(),
  snapshot: z.enum(['objects', 'columns']).optional(),
  /**
   * The handshake view's first columnar snapshot also carries what that view shows at its zoom (first-view.ts), so
   * the map draws before its own cluster index is built. Only for a view without kinds or wards filters.
   */
  clusters: z.boolean().optional(),
})
export type HandshakeAuth = z.infer<typeof HandshakeAuth>

export interface ClientToServerEvents {
  /** Sets what this client views; the ack reports how many devices are in it, or the validation error. */
  view: (subscription: ViewSubscription, ack?: (result: { ok: true; devices: number } | { ok: false; error: string }) => void) => void
}
