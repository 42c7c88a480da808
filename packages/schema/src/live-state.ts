import { z } from 'zod'
import { DeviceKind, Ward } from './kinds.ts'
import { StoredReading } from './stored-reading.ts'
import { connectionStatuses } from './topics.ts'
import { deviceStatuses } from './lists.ts'

/*
 * The live state the API pushes and the map draws: a device now, the view a browser subscribes to, the handshake.
 * The events that carry them are typed in live-events.ts; live-snapshot.ts and first-view.ts encode them, so this
 * module imports neither (no cycle).
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
