import { describe, expectTypeOf, it } from 'vitest'
import type {
  ClientToServerEvents,
  DeviceKind,
  DeviceReading,
  DeviceRecord,
  DeviceStatus,
  Incident,
  IncidentChange,
  IncidentEvent,
  LiveDeviceState,
  LiveFeedStatus,
  PipelineHealth,
  ServerToClientEvents,
  StoredReading,
  ViewSubscription,
  Ward,
} from './index.ts'
import type { SnapshotColumns } from './live-snapshot.ts'
import type { FirstViewClusters } from './first-view.ts'

/*
 * The shapes every part shares, as z.infer gives them. These assertions are checked by the compiler
 * (`npm run typecheck`, which covers test files; at run time expectTypeOf does nothing): a schema edit that changes
 * a shape the services, the map or stored data rely on fails the build here, by name, instead of somewhere downstream.
 */

describe('DeviceReading', () => {
  it('is a union discriminated on kind, one branch per device kind', () => {
    expectTypeOf<DeviceReading['kind']>().toEqualTypeOf<DeviceKind>()
    expectTypeOf<DeviceKind>().toEqualTypeOf<'traffic' | 'water_level' | 'rain' | 'salinity' | 'air_quality'>()
  })

  it('narrows on kind to the branch, units in the field names', () => {
    expectTypeOf<Extract<DeviceReading, { kind: 'traffic' }>>().toHaveProperty('avgSpeedKmh').toEqualTypeOf<number>()
    expectTypeOf<Extract<DeviceReading, { kind: 'traffic' }>>().toHaveProperty('vehicleCount').toEqualTypeOf<number>()
    expectTypeOf<Extract<DeviceReading, { kind: 'traffic' }>>().toHaveProperty('occupancyPct').toEqualTypeOf<number>()
    expectTypeOf<Extract<DeviceReading, { kind: 'water_level' }>>().toHaveProperty('waterLevelCm').toEqualTypeOf<number>()
    expectTypeOf<Extract<DeviceReading, { kind: 'rain' }>>().toHaveProperty('rainMm').toEqualTypeOf<number>()
    expectTypeOf<Extract<DeviceReading, { kind: 'salinity' }>>().toHaveProperty('salinityGL').toEqualTypeOf<number>()
    expectTypeOf<Extract<DeviceReading, { kind: 'air_quality' }>>().toHaveProperty('pm25UgM3').toEqualTypeOf<number>()
    // a field of one kind is not on another: narrowing is what keeps the ingest from reading a gauge as a counter
    expectTypeOf<Extract<DeviceReading, { kind: 'water_level' }>>().not.toHaveProperty('avgSpeedKmh')
  })

  it('carries the optional common fields on every branch', () => {
    expectTypeOf<DeviceReading['ts']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<DeviceReading['seq']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<DeviceReading['batteryV']>().toEqualTypeOf<number | undefined>()
  })
})

describe('DeviceRecord', () => {
  it('has the directory fields, Vietnamese name first', () => {
    expectTypeOf<DeviceRecord>().toMatchTypeOf<{
      id: string
      kind: DeviceKind
      nameVi: string
      nameEn: string
      lat: number
      lon: number
      ward: Ward
      intervalS: number
      batteryPowered: boolean
      locationConfidence: 'A' | 'B' | 'C'
    }>()
    expectTypeOf<DeviceRecord['waterBody']>().toEqualTypeOf<'river' | 'canal' | undefined>()
    expectTypeOf<DeviceRecord['road']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<DeviceRecord['gatewayId']>().toEqualTypeOf<string | undefined>()
  })
})

describe('StoredReading', () => {
  it('is keyed by (deviceId, ts), tagged from the directory, with numeric fields by name', () => {
    expectTypeOf<StoredReading>().toEqualTypeOf<{
      deviceId: string
      kind: DeviceKind
      ward: Ward
      ts: number
      tsSource: 'device' | 'broker' | 'ingest'
      receivedAt: number
      seq?: number | undefined
      fields: Record<string, number>
    }>()
  })
})

describe('incidents', () => {
  it('IncidentEvent: a typed step in an incident’s history', () => {
    expectTypeOf<IncidentEvent['type']>().toEqualTypeOf<
      'raised' | 'escalated' | 'deescalated' | 'acknowledged' | 'cleared' | 'closed' | 'reminded' | 'reopened'
    >()
    expectTypeOf<IncidentEvent['value']>().toEqualTypeOf<number | null>()
    expectTypeOf<IncidentEvent['by']>().toEqualTypeOf<string | undefined>()
  })

  it('IncidentChange: the incident as it is now and the event that made it so', () => {
    expectTypeOf<IncidentChange>().toEqualTypeOf<{ incident: Incident; event: IncidentEvent }>()
    expectTypeOf<Incident['events']>().toEqualTypeOf<IncidentEvent[]>()
    expectTypeOf<Incident['state']>().toEqualTypeOf<'open' | 'acknowledged' | 'cleared' | 'closed'>()
  })
})

describe('live events (Socket.IO, typed once for the API and the map)', () => {
  it('LiveDeviceState: where a device is and what the platform knows of it now', () => {
    expectTypeOf<LiveDeviceState>().toMatchTypeOf<{ deviceId: string; kind: DeviceKind; ward: Ward; lat: number; lon: number; lastSeen: number | null }>()
    expectTypeOf<LiveDeviceState['status']>().toEqualTypeOf<DeviceStatus>()
    expectTypeOf<DeviceStatus>().toEqualTypeOf<'ok' | 'warning' | 'alarm' | 'offline' | 'never_seen'>()
    expectTypeOf<LiveDeviceState['lastReading']>().toEqualTypeOf<StoredReading | null>()
  })

  it('server to client: each event’s payload', () => {
    expectTypeOf<Parameters<ServerToClientEvents['snapshot']>>().toEqualTypeOf<[devices: LiveDeviceState[]]>()
    expectTypeOf<Parameters<ServerToClientEvents['updates']>>().toEqualTypeOf<[devices: LiveDeviceState[]]>()
    expectTypeOf<Parameters<ServerToClientEvents['snapshotColumns']>>().toEqualTypeOf<[snapshot: SnapshotColumns]>()
    expectTypeOf<Parameters<ServerToClientEvents['firstView']>>().toEqualTypeOf<[clusters: FirstViewClusters]>()
    expectTypeOf<Parameters<ServerToClientEvents['feed']>>().toEqualTypeOf<[status: LiveFeedStatus]>()
    expectTypeOf<Parameters<ServerToClientEvents['incidents']>>().toEqualTypeOf<[active: Incident[]]>()
    expectTypeOf<Parameters<ServerToClientEvents['incident']>>().toEqualTypeOf<[change: IncidentChange]>()
    expectTypeOf<Parameters<ServerToClientEvents['pipeline']>>().toEqualTypeOf<[health: PipelineHealth]>()
  })

  it('client to server: a view subscription, acknowledged with a count or an error', () => {
    expectTypeOf<Parameters<ClientToServerEvents['view']>[0]>().toEqualTypeOf<ViewSubscription>()
    expectTypeOf<ViewSubscription['bbox']>().toEqualTypeOf<[number, number, number, number]>()
    type Ack = NonNullable<Parameters<ClientToServerEvents['view']>[1]>
    expectTypeOf<Parameters<Ack>[0]>().toEqualTypeOf<{ ok: true; devices: number } | { ok: false; error: string }>()
  })
})
