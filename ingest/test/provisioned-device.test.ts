import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadProvisionedRegistry, openCredentialStore, openDeviceDirectory } from '@mytho/directory'
import { loadRegistryFile, type DeviceRecord } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { waitFor } from '@mytho/testing'
import { createIngest, type Ingest } from '../src/ingest.ts'
import { connectDevice, ingestConfig, publishReading, startBroker } from './pipeline.ts'

/** A device an admin provisions while everything runs is accepted by the running ingest, not dead-lettered. */
describe('device provisioned after the ingest started', () => {
  let pipeline: Awaited<ReturnType<typeof startBroker>>
  let store: ReadingStore
  let ingest: Ingest

  beforeAll(async () => {
    pipeline = await startBroker()
    store = createSqliteStore({ path: join(pipeline.dataDir, 'readings.sqlite') })
    const registry = loadProvisionedRegistry(pipeline.dataDir, loadRegistryFile())
    ingest = createIngest(ingestConfig(pipeline.mqttUrl, pipeline.dataDir), { store, registry, logger: silentLogger })
    await ingest.start()
  })
  afterAll(async () => {
    await ingest?.stop()
    await store?.close()
    await pipeline?.cleanup()
  })

  it('stores its first reading', async () => {
    const record: DeviceRecord = {
      id: 'wl-cho-gao-canal',
      kind: 'water_level',
      nameVi: 'Mực nước kênh Chợ Gạo',
      nameEn: 'Water level Cho Gao canal',
      lat: 10.37,
      lon: 106.41,
      ward: 'my-phong',
      intervalS: 300,
      batteryPowered: true,
      waterBody: 'canal',
      locationConfidence: 'C',
    }
    const directory = openDeviceDirectory(pipeline.dataDir)
    expect(await directory.insert(record)).toBe(true)
    await directory.close()
    const credentials = openCredentialStore(pipeline.dataDir)
    await credentials.setSecret(record.id, 'device', 'a-long-device-secret-1')
    await credentials.close()

    const device = await connectDevice(pipeline.mqttUrl, record.id, 'a-long-device-secret-1')
    const ts = Date.now() - 1000
    await publishReading(device, record.id, { kind: 'water_level', ts, waterLevelCm: 98.5 })
    const [stored] = await waitFor(
      async () => {
        const l = await store.latest([record.id])
        return l.length ? l : undefined
      },
      { what: 'the new device reading' },
    )
    expect(stored).toMatchObject({ ward: 'my-phong', fields: { waterLevelCm: 98.5 } })
    expect(ingest.counters.rejectedByReason['unknown_device']).toBeUndefined()
    await device.endAsync()
  })
})
