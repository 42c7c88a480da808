/*
 * The shared schema's browser-safe parts the map's first render needs: the closed sets and tables (lists.ts,
 * city.ts) and who acted (actors.ts) as values, everything else as types only. The package index also exports the seed-fleet loader, which
 * needs node:fs; and the zod schemas (~90 kB with zod) are imported where a response is checked (chart.ts,
 * incidents-history.ts, incidents-ack.ts), which load after the first render.
 */
export * from '@mytho/schema/lists'
export { CITY_BOUNDS } from '@mytho/schema/city'
export { anonymousAddress } from '@mytho/schema/actors'
export { CLUSTER_OPTIONS, type FirstViewClusters, type StatusCountProps } from '@mytho/schema/first-view'
export { decodeReadings, decodeSnapshot, snapshotColumns, type Columns, type SnapshotColumns } from '@mytho/schema/live-snapshot'
export type { DeviceKind, Ward } from '@mytho/schema/kinds'
export type { ClientToServerEvents, DeviceStatus, HandshakeAuth, LiveDeviceState, ServerToClientEvents, ViewSubscription } from '@mytho/schema/live-events'
export type { HistorySeries, StoredReading } from '@mytho/schema/stored-reading'
export type { AcknowledgeRequest, AlarmLine, BulkAcknowledgeRequest, Incident, IncidentChange, IncidentEvent } from '@mytho/schema/incidents'
export type { PipelineHealth } from '@mytho/schema/pipeline-health'
